/**
 * A cohort of adult ICU patients on an unfractionated-heparin drip, hourly from heparin start,
 * for OMG-RL (Lim & Lee, section V-A: 17 variables, 7-72 h from heparin start, 1-hour grid,
 * 6 quantile dose bins; r_p of section V-C). Every parameter, its value and its source is listed
 * in docs/simulators.md; the short version:
 *
 * Pharmacokinetics: one compartment, volume V = 0.07 L/kg x exp(eta_V) (Hirsh et al., Chest
 * 2001: heparin's volume approximates plasma volume, 40-70 mL/kg); clearance
 * CL = theta_CL x (weight / 80)^0.75 x f_age x f_renal x exp(eta_CL), eta_CL ~ N(0, 0.5^2) (about
 * 50% between-patient variability, the top of the 35-50% of published population models); optional
 * saturable elimination (dose-dependent half-life, de Swart et al., Blood 1982); boluses add to
 * the compartment. Concentration in U/mL (anti-Xa units).
 * Pharmacodynamics: aPTT = baseline + sensitivity x C_e, with C_e an effect-site concentration
 * (first-order delay, half-life 0.5 h); baseline and sensitivity log-normal between patients;
 * lab measurement noise (log-normal, 8% CV) and the lab's reporting cap (150 s).
 * Clinician: a weight-based nomogram (Raschke et al., Ann Intern Med 1993: bolus 80 U/kg,
 * 18 U/kg/h; or the lower-intensity cardiac nomogram, 60 U/kg bolus capped at 4000 U, 12 U/kg/h
 * capped at 1000 U/h) with bands retargeted to aPTT 60-100 s, aPTT drawn about every 6 h, and
 * the imperfections of real care: skipped and late adjustments, deviations to a neighbouring dose.
 * Calibrated so that aPTT while on the drip and the hourly rates match the MIMIC-III demo
 * (../shared/mimic-iii-demo/README.md); `heparinCalibrationStats` measures it.
 *
 * Actions are 6 dose bins with edges at the demo's rate sextiles (10.5, 12.2, 14.2, 17.0, 20.1
 * U/kg/h). Choosing the bin that holds the standing order follows the order exactly (the
 * clinician's continuous rate, and any re-bolus it includes); choosing another bin sets the drip
 * to that bin's typical rate and makes it the new order.
 *
 * @module
 */
import { createRng, type Rng } from "../core/random.ts";
import { quantiles, summarize } from "../core/numeric.ts";
import { apttReward } from "../data/rewards.ts";
import {
  type BehaviourPolicy,
  type Environment,
  episodeLengthOf,
  type Individual,
  type Policy,
  type PolicyChoice,
  runEpisode,
  type StepResult,
} from "./env.ts";

/** The 17 variables of OMG-RL section V-A, in the kit's order. */
export const HEPARIN_FEATURES: readonly string[] = Object.freeze([
  "age",
  "gender",
  "gcs",
  "dbp",
  "sbp",
  "rr",
  "hgb",
  "temperature",
  "wbc",
  "platelets",
  "aptt",
  "pt",
  "arterial_co2",
  "creatinine",
  "bilirubin",
  "inr",
  "weight",
]);
const F = Object.fromEntries(HEPARIN_FEATURES.map((n, i) => [n, i])) as Record<string, number>;

/**
 * The dosing context any EHR holds beside the 17 variables (issue 16; not in the paper's state):
 * the infusion rate that ran in the previous hour (U/kg/h), hours since the last measured aPTT,
 * hours since heparin started, whether a bolus was given in the previous hour (1 or 0; at hour 0,
 * the starting bolus), and the previous hour's dose bin one-hot (`prev_bin_0` ... `prev_bin_5`,
 * the bin of `prev_rate`: a network learns "keep the running dose" from it far more easily than
 * from the bin edges of a continuous rate; measured in docs/omg-rl.md). The MIMIC cohort builder
 * computes the same columns from the tables (lib/data/heparin_cohort.ts).
 */
export const HEPARIN_CONTEXT_FEATURES: readonly string[] = Object.freeze([
  "prev_rate",
  "hours_since_aptt",
  "hours_on_heparin",
  "bolus",
  ...[0, 1, 2, 3, 4, 5].map((b) => `prev_bin_${b}`),
]);

/** What the simulator records each hour: the 17 variables, then the dosing context. */
export const HEPARIN_RECORD_FEATURES: readonly string[] = Object.freeze([
  ...HEPARIN_FEATURES,
  ...HEPARIN_CONTEXT_FEATURES,
]);

/**
 * Named state presets (column lists of the records):
 * - `paper`: OMG-RL's state, the 17 variables of section V-A less aPTT (which r_p scores) - 16;
 * - `clinical`: what a clinician doses from - the 16, the last measured aPTT, and the dosing
 *   context (HEPARIN_CONTEXT_FEATURES) - 27;
 * - `dosing`: the last aPTT, the weight and the dosing context only - 12. The kit's addition: with
 *   320 training patients the networks fit the 15 patient covariates of `clinical` patient by
 *   patient, and discrete CQL on this compact state beats the clinician where it does not on
 *   `clinical` (measured in docs/omg-rl.md).
 */
export const HEPARIN_STATE_PRESETS: Readonly<Record<HeparinStatePreset, readonly string[]>> = Object.freeze({
  paper: Object.freeze(HEPARIN_FEATURES.filter((f) => f !== "aptt")),
  clinical: Object.freeze([...HEPARIN_FEATURES, ...HEPARIN_CONTEXT_FEATURES]),
  dosing: Object.freeze(["aptt", "weight", ...HEPARIN_CONTEXT_FEATURES]),
});

/** Names of the heparin state presets. */
export type HeparinStatePreset = "paper" | "clinical" | "dosing";

/** The columns of a preset; an unknown name is an error listing the presets. */
export function heparinStatePreset(name: string): readonly string[] {
  const cols = (HEPARIN_STATE_PRESETS as Record<string, readonly string[]>)[name];
  if (cols === undefined) {
    throw new RangeError(
      `heparin: unknown state preset ${JSON.stringify(name)}; presets are ${
        Object.keys(HEPARIN_STATE_PRESETS).join(", ")
      }`,
    );
  }
  return cols;
}

/** Rate-bin edges (U/kg/h): the MIMIC-III demo's sextiles of heparin drip rates. */
export const HEPARIN_DOSE_EDGES: readonly number[] = Object.freeze([10.5, 12.2, 14.2, 17.0, 20.1]);

/**
 * Typical rate of each bin (U/kg/h), applied when a policy leaves the standing order: the median
 * of the calibrated clinician's hourly rates within each bin (2000 simulated patients, seed 0;
 * a test recomputes them). Bin 0 holds the holds (rate 0) and low rates.
 */
export const HEPARIN_BIN_RATES: readonly number[] = Object.freeze([8.6, 11.3, 13.2, 15.6, 18.0, 22.0]);

/** Bin of an hourly rate (U/kg/h). */
export function heparinDoseBin(rate: number, edges: readonly number[] = HEPARIN_DOSE_EDGES): number {
  let b = 0;
  while (b < edges.length && rate >= edges[b]) b++;
  return b;
}

/** Population parameters of the cohort (defaults: the calibrated values; see docs/simulators.md). */
export interface HeparinPopulation {
  /** Typical clearance at 80 kg, age 65, normal renal function (L/h). */
  readonly clearance: number;
  /** SD of log clearance between patients. */
  readonly clearanceSd: number;
  /** Volume per kg (L/kg). */
  readonly volumePerKg: number;
  /** Log-normal spread of the distribution volume. */
  readonly volumeSd: number;
  /** Median baseline aPTT (s) and its log SD. */
  readonly apttBaseline: number;
  /** Spread of the baseline aPTT, seconds. */
  readonly apttBaselineSd: number;
  /** Median aPTT sensitivity (s per U/mL) and its log SD. */
  readonly apttSensitivity: number;
  /** Log-normal spread of the aPTT sensitivity. */
  readonly apttSensitivitySd: number;
  /** Effect-site half-life (h). */
  readonly effectHalfLife: number;
  /** Lab CV of aPTT. */
  readonly apttNoiseCv: number;
  /** Michaelis constant of saturable elimination (U/mL); Infinity = linear. */
  readonly saturableKm: number;
  /** Probability a patient is on the standard (Raschke) nomogram rather than the low-intensity one. */
  readonly standardProtocol: number;
  /** Probability of the initial bolus. */
  readonly initialBolus: number;
  /** Probability an aPTT result is not acted upon. */
  readonly skipAdjustment: number;
  /** Probability an adjustment is made 1-3 h late. */
  readonly lateAdjustment: number;
  /** Probability a scheduled aPTT draw is missed (drawn 2-4 h later). */
  readonly missedDraw: number;
  /** Probability mass the clinician puts on the neighbouring dose bins each hour. */
  readonly deviation: number;
  /** Episode length: median (h) and log SD, clipped to [minHours, maxHours]. */
  readonly stayMedianHours: number;
  /** Log-normal spread of the stay length. */
  readonly staySd: number;
  /** Shortest stay, hours. */
  readonly minHours: number;
  /** Longest stay, hours. */
  readonly maxHours: number;
}

/** The calibrated defaults (see docs/simulators.md for sources and the calibration). */
export const HEPARIN_POPULATION: HeparinPopulation = Object.freeze({
  clearance: 3.7,
  clearanceSd: 0.5,
  volumePerKg: 0.07,
  volumeSd: 0.2,
  apttBaseline: 31,
  apttBaselineSd: 0.12,
  apttSensitivity: 100,
  apttSensitivitySd: 0.45,
  effectHalfLife: 0.5,
  apttNoiseCv: 0.08,
  saturableKm: Infinity,
  standardProtocol: 0.6,
  initialBolus: 0.5,
  skipAdjustment: 0.2,
  lateAdjustment: 0.25,
  missedDraw: 0.15,
  deviation: 0.05,
  stayMedianHours: 36,
  staySd: 0.6,
  minHours: 7,
  maxHours: 72,
});

/** One patient's parameters. */
export interface HeparinParams {
  /** Age, years. */
  readonly age: number;
  /** 1 for male. */
  readonly male: number;
  /** Weight, kg. */
  readonly weight: number;
  /** 1 when mechanically ventilated. */
  readonly ventilated: number;
  /** Clearance (L/h) and volume (L). */
  readonly clearance: number;
  /** Heparin distribution volume, litres. */
  readonly volume: number;
  /** aPTT without heparin, seconds. */
  readonly apttBaseline: number;
  /** aPTT seconds per unit of effect-site concentration. */
  readonly apttSensitivity: number;
  /** The nomogram the clinician follows. */
  readonly protocol: "standard" | "low-intensity";
  /** Whether the drip starts with a bolus. */
  readonly initialBolus: boolean;
  /** Length of the stay, hours. */
  readonly hours: number;
  /** Long-run means of the drifting vitals and labs, by feature index (NaN where fixed). */
  readonly means: Float64Array;
}

/** The simulator's state (a fresh object every hour). */
export interface HeparinState {
  /** Hour of the stay. */
  readonly t: number;
  /** Heparin in the body (U), and the effect-site concentration (U/mL). */
  readonly amount: number;
  /** Effect-site concentration. */
  readonly effect: number;
  /** Drip rate of the last hour (U/kg/h). */
  readonly rate: number;
  /** Noise-free aPTT now (s). */
  readonly trueAptt: number;
  /** Latent values of the drifting variables, by feature index. */
  readonly latent: Float64Array;
  /** What the record shows (held between measurements), by feature index. */
  readonly observed: Float64Array;
  /** Hour of the next draw of each lab panel. */
  readonly nextDraw: Readonly<Record<LabPanel, number>>;
  /** The standing order: rate (U/kg/h) for the next hour, a re-bolus (U/kg) with it, and the rate to resume after a hold. */
  readonly orderRate: number;
  /** Bolus ordered for the next hour, units. */
  readonly orderBolus: number;
  /** Rate to resume after a hold (null when not held). */
  readonly resumeRate: number | null;
  /** A measured aPTT awaiting the clinician's action, and when it will be acted on. */
  readonly pending: { readonly aptt: number; readonly at: number } | null;
  /** Consecutive in-range results (two switch draws to daily). */
  readonly inRangeStreak: number;
  /** The aPTT drawn this hour (NaN when none was). */
  readonly apttDrawn: number;
  /** Hour of the last measured aPTT (the baseline draw at hour 0). */
  readonly lastApttAt: number;
  /** 1 when a bolus was given in the hour just ended (at hour 0: the starting bolus), else 0. */
  readonly bolusGiven: number;
}

/** Lab panels drawn on their own schedules: aPTT, blood count, chemistry, coagulation, blood gas, GCS. */
export type LabPanel = "aptt" | "cbc" | "chem" | "coag" | "abg" | "gcs";

/** Drift of a variable: stationary SD within a patient and hourly autocorrelation. */
const DRIFT: Readonly<Record<string, { sd: number; rho: number; lo: number; hi: number }>> = {
  gcs: { sd: 1.2, rho: 0.97, lo: 3, hi: 15 },
  dbp: { sd: 8, rho: 0.85, lo: 25, hi: 130 },
  sbp: { sd: 12, rho: 0.85, lo: 60, hi: 220 },
  rr: { sd: 3.5, rho: 0.8, lo: 6, hi: 45 },
  hgb: { sd: 0.6, rho: 0.98, lo: 5, hi: 18 },
  temperature: { sd: 0.4, rho: 0.9, lo: 34.5, hi: 41 },
  wbc: { sd: 1.8, rho: 0.98, lo: 0.5, hi: 60 },
  platelets: { sd: 25, rho: 0.99, lo: 10, hi: 800 },
  arterial_co2: { sd: 4, rho: 0.95, lo: 18, hi: 90 },
  creatinine: { sd: 0.15, rho: 0.99, lo: 0.3, hi: 12 },
  bilirubin: { sd: 0.2, rho: 0.99, lo: 0.1, hi: 30 },
  inr: { sd: 0.08, rho: 0.98, lo: 0.8, hi: 8 },
};
/** Charting noise of the hourly vitals (SD). */
const VITAL_NOISE: Readonly<Record<string, number>> = { dbp: 3, sbp: 4, rr: 1.5, temperature: 0.1 };
/** Lab panels, their members and draw interval (h). */
const PANELS: Readonly<Record<Exclude<LabPanel, "aptt">, { members: string[]; every: number }>> = {
  cbc: { members: ["hgb", "wbc", "platelets"], every: 24 },
  chem: { members: ["creatinine", "bilirubin"], every: 24 },
  coag: { members: ["inr"], every: 24 },
  abg: { members: ["arterial_co2"], every: 12 },
  gcs: { members: ["gcs"], every: 4 },
};
const SUBSTEPS = 12;

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

/** Draws a patient of the population (demographics, baselines, PK/PD parameters, care). */
export function drawHeparinPatient(rng: Rng, pop: HeparinPopulation = HEPARIN_POPULATION): HeparinParams {
  const male = rng.uniform() < 0.56 ? 1 : 0;
  const age = Math.round(clip(65 + 14 * rng.normal(), 18, 95));
  const weight = clip((male ? 86 : 74) * Math.exp(0.22 * rng.normal()), 40, 200);
  const ventilated = rng.uniform() < 0.4 ? 1 : 0;
  const means = new Float64Array(HEPARIN_FEATURES.length).fill(NaN);
  const gcsBase = ventilated ? 9 + 4 * rng.normal() : 14 + 1.5 * rng.normal();
  means[F.gcs] = clip(gcsBase, 3, 15);
  means[F.sbp] = clip(120 + 16 * rng.normal(), 85, 180);
  means[F.dbp] = clip(0.5 * means[F.sbp] + 2 + 8 * rng.normal(), 35, 100);
  means[F.rr] = clip(19 + 4 * rng.normal(), 10, 35);
  means[F.hgb] = clip(10.4 + 1.7 * rng.normal(), 6.5, 16);
  means[F.temperature] = clip(37.0 + 0.5 * rng.normal(), 35.5, 39.5);
  means[F.wbc] = clip(10 * Math.exp(0.4 * rng.normal()), 1.5, 40);
  means[F.platelets] = clip(210 * Math.exp(0.45 * rng.normal()), 30, 700);
  means[F.arterial_co2] = clip(40 + 6 * rng.normal(), 25, 70);
  means[F.creatinine] = clip(1.1 * Math.exp(0.5 * rng.normal()), 0.4, 8);
  means[F.bilirubin] = clip(0.8 * Math.exp(0.8 * rng.normal()), 0.2, 15);
  means[F.inr] = clip(1.25 * Math.exp(0.15 * rng.normal()), 0.9, 3.5);
  // Cockcroft-Gault creatinine clearance (mL/min); renal factor modest (heparin is cleared mostly
  // by the reticuloendothelial system; the renal route matters at high doses).
  const crcl = ((140 - age) * weight * (male ? 1 : 0.85)) / (72 * means[F.creatinine]);
  const fRenal = 0.8 + 0.2 * Math.min(crcl / 90, 1.5);
  const fAge = clip(1 - 0.006 * (age - 65), 0.7, 1.3);
  const clearance = pop.clearance * (weight / 80) ** 0.75 * fAge * fRenal * Math.exp(pop.clearanceSd * rng.normal());
  const volume = pop.volumePerKg * weight * Math.exp(pop.volumeSd * rng.normal());
  const apttBaseline = pop.apttBaseline * Math.exp(pop.apttBaselineSd * rng.normal());
  const apttSensitivity = pop.apttSensitivity * Math.exp(pop.apttSensitivitySd * rng.normal());
  const protocol = rng.uniform() < pop.standardProtocol ? "standard" : "low-intensity";
  const initialBolus = rng.uniform() < pop.initialBolus;
  const hours = Math.round(clip(pop.stayMedianHours * Math.exp(pop.staySd * rng.normal()), pop.minHours, pop.maxHours));
  return Object.freeze({
    age,
    male,
    weight,
    ventilated,
    clearance,
    volume,
    apttBaseline,
    apttSensitivity,
    protocol,
    initialBolus,
    hours,
    means,
  });
}

/** The nomogram's response to an aPTT result: new rate (U/kg/h), re-bolus (U/kg), hold. */
export function heparinNomogram(
  aptt: number,
  rate: number,
  protocol: "standard" | "low-intensity",
): { rate: number; bolus: number; hold: boolean } {
  const bolusScale = protocol === "standard" ? 1 : 0.75;
  if (aptt < 40) return { rate: rate + 4, bolus: 80 * bolusScale, hold: false };
  if (aptt < 60) return { rate: rate + 2, bolus: 40 * bolusScale, hold: false };
  if (aptt <= 100) return { rate, bolus: 0, hold: false };
  if (aptt <= 120) return { rate: Math.max(0, rate - 2), bolus: 0, hold: false };
  return { rate: Math.max(0, rate - 3), bolus: 0, hold: true };
}

/** Largest rate (U/kg/h) the patient's protocol allows. */
function rateCap(p: HeparinParams): number {
  return p.protocol === "standard" ? 40 : 1000 / p.weight;
}

/** Options of {@linkcode createHeparinEnv}. */
export interface HeparinOptions {
  /** Population parameters. @default HEPARIN_POPULATION */
  readonly population?: Partial<HeparinPopulation>;
  /** Longest episode (h). @default 72 */
  readonly horizon?: number;
  /** Reward on the recorded (held) aPTT, as from records, or on the noise-free aPTT. @default "observed" */
  readonly reward?: "observed" | "true";
  /** Discount. @default 0.99 */
  readonly discount?: number;
  /** Representative rate of each dose bin. @default HEPARIN_BIN_RATES */
  readonly binRates?: readonly number[];
}

/** The simulator's settings, checked: the population, horizon, reward source and bin rates. */
interface HeparinSettings {
  readonly pop: HeparinPopulation;
  readonly horizon: number;
  readonly rewardOn: "observed" | "true";
  readonly binRates: readonly number[];
  /** Effect-site equilibration rate ke0 (1/h). */
  readonly ke0: number;
}

function heparinSettings(options: HeparinOptions): HeparinSettings {
  const pop: HeparinPopulation = Object.freeze({ ...HEPARIN_POPULATION, ...options.population });
  for (const [k, v] of Object.entries(pop)) {
    if (typeof v !== "number" || Number.isNaN(v) || v < 0) {
      throw new RangeError(`heparin: population.${k} must be a non-negative number, got ${v}`);
    }
  }
  for (const k of ["standardProtocol", "initialBolus", "skipAdjustment", "lateAdjustment", "missedDraw", "deviation"]) {
    const v = pop[k as keyof HeparinPopulation];
    if (v > 1) throw new RangeError(`heparin: population.${k} is a probability, got ${v}`);
  }
  if (!(pop.clearance > 0) || !(pop.volumePerKg > 0)) {
    throw new RangeError("heparin: clearance and volumePerKg must be positive");
  }
  const horizon = options.horizon ?? 72;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`heparin: horizon must be an integer >= 1, got ${horizon}`);
  }
  const rewardOn = options.reward ?? "observed";
  if (rewardOn !== "observed" && rewardOn !== "true") {
    throw new RangeError(`heparin: reward must be "observed" or "true", got ${JSON.stringify(rewardOn)}`);
  }
  const binRates = options.binRates ?? HEPARIN_BIN_RATES;
  if (binRates.length !== HEPARIN_DOSE_EDGES.length + 1 || binRates.some((r, b) => heparinDoseBin(r) !== b)) {
    throw new RangeError(`heparin: binRates must give one rate inside each of the 6 bins, got ${binRates.join(", ")}`);
  }
  return { pop, horizon, rewardOn, binRates, ke0: Math.LN2 / pop.effectHalfLife };
}

/** An OU-type drift of a vital or lab towards the patient's mean (DRIFT's parameters). */
function drift(rng: Rng, x: number, mean: number, name: string): number {
  const d = DRIFT[name];
  return clip(mean + d.rho * (x - mean) + d.sd * Math.sqrt(1 - d.rho * d.rho) * rng.normal(), d.lo, d.hi);
}

/** A drawn aPTT: log-normal lab noise around the true value, capped at 150 s. */
function measureAptt(rng: Rng, pop: HeparinPopulation, trueAptt: number): number {
  return Math.min(150, trueAptt * Math.exp(pop.apttNoiseCv * rng.normal() - 0.5 * pop.apttNoiseCv ** 2));
}

/** PT from INR (a fixed normal PT of 12.5 s). */
const ptOf = (inr: number) => 12.5 * inr;

/** The start of a stay: observed baseline, the first lab schedule, the protocol's bolus and rate. */
function heparinReset(rng: Rng, ind: Individual<HeparinParams>, pop: HeparinPopulation): HeparinState {
  const p = ind.params;
  const latent = Float64Array.from(p.means);
  const observed = new Float64Array(HEPARIN_FEATURES.length);
  observed[F.age] = p.age;
  observed[F.gender] = p.male;
  observed[F.weight] = Math.round(p.weight * 10) / 10;
  for (const name of Object.keys(DRIFT)) observed[F[name]] = latent[F[name]];
  observed[F.gcs] = Math.round(latent[F.gcs]);
  observed[F.pt] = ptOf(latent[F.inr]);
  observed[F.aptt] = measureAptt(rng, pop, p.apttBaseline);
  const amount = p.initialBolus ? (p.protocol === "standard" ? 80 : Math.min(60, 4000 / p.weight)) * p.weight : 0;
  const startRate = Math.min(p.protocol === "standard" ? 18 : 12, rateCap(p));
  const nextDraw: Record<LabPanel, number> = { aptt: 6, cbc: 0, chem: 0, coag: 0, abg: 0, gcs: 0 };
  for (const [panel, spec] of Object.entries(PANELS)) {
    const every = panel === "abg" && !p.ventilated ? 24 : spec.every;
    nextDraw[panel as LabPanel] = 1 + rng.int(every);
  }
  return {
    t: 0,
    amount,
    effect: 0,
    rate: 0,
    trueAptt: p.apttBaseline,
    latent,
    observed,
    nextDraw,
    orderRate: startRate,
    orderBolus: 0,
    resumeRate: null,
    pending: null,
    inRangeStreak: 0,
    apttDrawn: NaN,
    lastApttAt: 0,
    bolusGiven: p.initialBolus ? 1 : 0,
  };
}

/**
 * One hour of pharmacokinetics in SUBSTEPS exact exponential pieces: heparin amount (one
 * compartment, optionally saturable clearance) and the effect site; returns both and the true aPTT.
 */
function pharmacokinetics(
  p: HeparinParams,
  s: HeparinState,
  settings: HeparinSettings,
  rate: number,
  bolus: number,
): { amount: number; effect: number; trueAptt: number } {
  const { pop, ke0 } = settings;
  let amount = s.amount + bolus * p.weight;
  let effect = s.effect;
  const dt = 1 / SUBSTEPS;
  const infusion = rate * p.weight; // U/h
  for (let k = 0; k < SUBSTEPS; k++) {
    const conc = amount / p.volume / 1000; // U/mL
    const cl = Number.isFinite(pop.saturableKm)
      ? p.clearance * (pop.saturableKm + 0.4) / (pop.saturableKm + conc)
      : p.clearance;
    const kel = cl / p.volume;
    const decay = Math.exp(-kel * dt);
    amount = amount * decay + (infusion / kel) * (1 - decay);
    effect += (1 - Math.exp(-ke0 * dt)) * (amount / p.volume / 1000 - effect);
  }
  return { amount, effect, trueAptt: p.apttBaseline + p.apttSensitivity * effect };
}

/** Vitals drift and are charted with noise; lab panels due at hour t are drawn and rescheduled. */
function vitalsAndLabs(rng: Rng, p: HeparinParams, s: HeparinState, t: number) {
  const latent = Float64Array.from(s.latent);
  const observed = Float64Array.from(s.observed);
  for (const name of Object.keys(DRIFT)) latent[F[name]] = drift(rng, latent[F[name]], p.means[F[name]], name);
  for (const [name, sd] of Object.entries(VITAL_NOISE)) observed[F[name]] = latent[F[name]] + sd * rng.normal();
  const nextDraw = { ...s.nextDraw };
  for (const [panel, spec] of Object.entries(PANELS)) {
    if (t < nextDraw[panel as LabPanel]) continue;
    for (const m of spec.members) observed[F[m]] = m === "gcs" ? Math.round(latent[F[m]]) : latent[F[m]];
    if (panel === "coag") observed[F.pt] = ptOf(latent[F.inr]);
    const every = panel === "abg" && !p.ventilated ? 24 : spec.every;
    nextDraw[panel as LabPanel] = t + every + (rng.uniform() < 0.3 ? rng.int(5) - 2 : 0);
  }
  return { latent, observed, nextDraw };
}

/**
 * One hour: the action's rate (the standing order's bolus only when the action follows it), the
 * pharmacokinetics, vitals and labs, the aPTT draw and the nomogram's next standing order, and
 * r_p on the observed (or true) aPTT.
 */
function heparinStep(
  settings: HeparinSettings,
  rng: Rng,
  ind: Individual<HeparinParams>,
  s: HeparinState,
  action: number,
): StepResult<HeparinState> {
  const { pop, binRates, rewardOn } = settings;
  if (!Number.isInteger(action) || action < 0 || action >= binRates.length) {
    throw new RangeError(`heparin: action must be an integer in [0, ${binRates.length}), got ${action}`);
  }
  const p = ind.params;
  const follows = action === heparinDoseBin(s.orderRate);
  const rate = follows ? s.orderRate : binRates[action];
  const bolus = follows ? s.orderBolus : 0;
  const { amount, effect, trueAptt } = pharmacokinetics(p, s, settings, rate, bolus);
  const t = s.t + 1;
  const { latent, observed, nextDraw } = vitalsAndLabs(rng, p, s, t);
  // The standing order for the next hour.
  let orderRate = s.resumeRate ?? (follows ? s.orderRate : rate);
  let resumeRate: number | null = null;
  let orderBolus = 0;
  let pending = s.pending;
  let inRangeStreak = s.inRangeStreak;
  let apttDrawn = NaN;
  let lastApttAt = s.lastApttAt;
  if (t >= nextDraw.aptt) {
    if (rng.uniform() < pop.missedDraw) {
      nextDraw.aptt = t + 2 + rng.int(3);
    } else {
      const aptt = measureAptt(rng, pop, trueAptt);
      observed[F.aptt] = aptt;
      apttDrawn = aptt;
      lastApttAt = t;
      const inRange = aptt >= 60 && aptt <= 100;
      inRangeStreak = inRange ? inRangeStreak + 1 : 0;
      let at = t + 1; // an hour's turnaround
      if (rng.uniform() < pop.skipAdjustment) at = Infinity;
      else if (rng.uniform() < pop.lateAdjustment) at += 1 + rng.int(3);
      pending = Number.isFinite(at) ? { aptt, at } : null;
      nextDraw.aptt = t + (inRangeStreak >= 2 ? 24 : 6) + (rng.uniform() < 0.3 ? rng.int(3) - 1 : 0);
    }
  }
  if (pending && t >= pending.at) {
    const r = heparinNomogram(pending.aptt, orderRate, p.protocol);
    const newRate = Math.min(r.rate, rateCap(p));
    if (r.hold) {
      orderRate = 0;
      resumeRate = newRate;
    } else {
      orderRate = newRate;
    }
    orderBolus = r.bolus;
    pending = null;
    if (r.rate !== orderRate || r.hold || r.bolus > 0) nextDraw.aptt = Math.min(nextDraw.aptt, t + 6);
  }
  const state: HeparinState = {
    t,
    amount,
    effect,
    rate,
    trueAptt,
    latent,
    observed,
    nextDraw,
    orderRate,
    orderBolus,
    resumeRate,
    pending,
    inRangeStreak,
    apttDrawn,
    lastApttAt,
    bolusGiven: bolus > 0 ? 1 : 0,
  };
  const reward = apttReward(rewardOn === "true" ? trueAptt : observed[F.aptt]);
  return { state, reward, terminal: false };
}

/** What the record shows at the state: the 17 variables, then the dosing context (HEPARIN_RECORD_FEATURES). */
function heparinRecord(s: HeparinState): Float64Array {
  const n = HEPARIN_FEATURES.length;
  const out = new Float64Array(n + HEPARIN_CONTEXT_FEATURES.length);
  out.set(s.observed);
  out[n] = s.rate;
  out[n + 1] = s.t - s.lastApttAt;
  out[n + 2] = s.t;
  out[n + 3] = s.bolusGiven;
  out[n + 4 + heparinDoseBin(s.rate)] = 1;
  return out;
}

/** The simulated clinician: the standing order's bin, or a neighbouring bin with probability `deviation`. */
function heparinClinician(settings: HeparinSettings): BehaviourPolicy<HeparinState> {
  const { pop, binRates } = settings;
  return (_obs, _ctx, s) => {
    if (s === undefined || typeof s.orderRate !== "number") {
      throw new Error("heparin: the clinician needs the simulator's state (its third argument)");
    }
    const b = heparinDoseBin(s.orderRate);
    const probs = new Array(binRates.length).fill(0);
    const neighbours = [b - 1, b + 1].filter((x) => x >= 0 && x < binRates.length);
    probs[b] = 1 - pop.deviation;
    for (const x of neighbours) probs[x] += pop.deviation / neighbours.length;
    return probs;
  };
}

/**
 * A fixed rule on the recorded state alone (no simulator state, no learning): in the hour an aPTT
 * is recorded (hours_since_aptt < 1), the nomogram's new rate from that aPTT and the previous
 * hour's rate (a hold becomes the rate cut, since a dose bin cannot express a one-hour hold);
 * otherwise the previous hour's bin; at hour 0, the standard nomogram's 18 U/kg/h. It reads
 * the columns `aptt`, `prev_rate`, `hours_since_aptt` and `hours_on_heparin` by name from
 * observations laid out as `featureNames` (the simulator's record by default, or a CSV's columns).
 */
export function heparinRulePolicy(featureNames: readonly string[] = HEPARIN_RECORD_FEATURES): Policy {
  const col = (name: string) => {
    const j = featureNames.indexOf(name);
    if (j < 0) throw new RangeError(`heparin rule: the state has no column "${name}" (it needs the clinical preset)`);
    return j;
  };
  const aptt = col("aptt"), prev = col("prev_rate"), since = col("hours_since_aptt"), on = col("hours_on_heparin");
  return (obs) => {
    const probs = new Array(HEPARIN_BIN_RATES.length).fill(0);
    let rate = obs[prev];
    if (obs[on] === 0) rate = 18;
    else if (obs[since] < 1) rate = heparinNomogram(obs[aptt], rate, "standard").rate;
    probs[heparinDoseBin(rate)] = 1;
    return probs;
  };
}

/** The heparin cohort as an environment (one group, "icu": heterogeneity is continuous). */
export function createHeparinEnv(options: HeparinOptions = {}): Environment<HeparinState, HeparinParams> {
  const settings = heparinSettings(options);
  const { pop, horizon, binRates } = settings;
  const clinician = heparinClinician(settings);
  const env: Environment<HeparinState, HeparinParams> = {
    name: "heparin",
    featureNames: HEPARIN_RECORD_FEATURES,
    numActions: binRates.length,
    discount: options.discount ?? 0.99,
    horizon,
    groups: Object.freeze(["icu"]),
    drawIndividual(rng, group?: string) {
      if (group !== undefined && group !== "icu") {
        throw new RangeError(`heparin: unknown group ${JSON.stringify(group)}; groups are icu`);
      }
      return { id: "icu", group: "icu", params: drawHeparinPatient(rng, pop) };
    },
    episodeLength: (ind) => ind.params.hours,
    reset: (rng, ind) => heparinReset(rng, ind, pop),
    observe: (s) => heparinRecord(s),
    step: (rng, ind, s, action) => heparinStep(settings, rng, ind, s, action),
    behaviourPolicy: () => clinician,
  };
  return Object.freeze(env);
}

/** Hour-by-hour record of heparin episodes: what the bedside and the lab saw. */
export interface HeparinTrace {
  /** Per patient, per hour: drip rate (U/kg/h), noise-free aPTT at the hour's end, aPTT drawn (NaN if none). */
  readonly rates: Float64Array[];
  /** Per patient, per hour: the noise-free aPTT at the hour's end. */
  readonly trueAptt: Float64Array[];
  /** Per patient, per hour: the aPTT drawn (NaN if none). */
  readonly drawnAptt: Float64Array[];
}

/**
 * Runs one episode per patient under `policy` (the clinician by default) and records the trace;
 * the same streams as `simulate` with the same seed, so the trace matches the simulated data.
 */
export function traceHeparin(
  env: Environment<HeparinState, HeparinParams>,
  individuals: readonly Individual<HeparinParams>[],
  options: { seed?: number; policy?: PolicyChoice } = {},
): HeparinTrace {
  const streams = createRng(options.seed ?? 0).split(individuals.length);
  const rates: Float64Array[] = [], trueAptt: Float64Array[] = [], drawnAptt: Float64Array[] = [];
  individuals.forEach((ind, k) => {
    const length = episodeLengthOf(env, ind, env.horizon);
    const rt = new Float64Array(length), ta = new Float64Array(length), da = new Float64Array(length);
    runEpisode(env, ind, k, options.policy ?? "behaviour", streams[k], length, ({ t, result }) => {
      rt[t] = result.state.rate;
      ta[t] = result.state.trueAptt;
      da[t] = result.state.apttDrawn;
    });
    rates.push(rt);
    trueAptt.push(ta);
    drawnAptt.push(da);
  });
  return { rates, trueAptt, drawnAptt };
}

/** The statistics the MIMIC-III demo reports for heparin drips (../shared/mimic-iii-demo/README.md). */
export interface HeparinDripStats {
  /** aPTT drawn while the drip ran: count, quartiles, and fractions in 60-100, below, above. */
  readonly apttCount: number;
  /** Quartiles of the aPTT drawn while the drip ran. */
  readonly apttQuartiles: readonly [number, number, number];
  /** Share of those aPTT in 60-100 s. */
  readonly inRange: number;
  /** Share below 60 s. */
  readonly below: number;
  /** Share above 100 s. */
  readonly above: number;
  /** Sextiles of the hourly drip rate (U/kg/h) while running. */
  readonly rateSextiles: readonly number[];
  /** Median hourly drip rate, U/kg/h. */
  readonly medianRate: number;
  /** Share of hours with the noise-free aPTT in 60-100 s (what no record shows). */
  readonly trueTimeInRange: number;
}

/** The MIMIC-III demo's numbers, for comparison. */
export const MIMIC_DEMO_HEPARIN_STATS: Readonly<Omit<HeparinDripStats, "trueTimeInRange">> = Object.freeze({
  apttCount: 61,
  apttQuartiles: [51.8, 65.2, 82.2] as const,
  inRange: 0.41,
  below: 0.44,
  above: 0.15,
  rateSextiles: [10.5, 12.2, 14.2, 17.0, 20.1],
  medianRate: 14.2,
});

/** The demo's statistics measured on a trace (aPTT counted while the drip ran in that hour or the one before). */
export function heparinDripStats(trace: HeparinTrace): HeparinDripStats {
  const aptt: number[] = [], rates: number[] = [];
  let inTrue = 0, hours = 0;
  trace.rates.forEach((rt, k) => {
    for (let t = 0; t < rt.length; t++) {
      const running = rt[t] > 0 || (t > 0 && rt[t - 1] > 0);
      if (rt[t] > 0) rates.push(rt[t]);
      const d = trace.drawnAptt[k][t];
      if (running && !Number.isNaN(d)) aptt.push(d);
      const ta = trace.trueAptt[k][t];
      if (ta >= 60 && ta <= 100) inTrue++;
      hours++;
    }
  });
  const n = aptt.length;
  return {
    apttCount: n,
    apttQuartiles: quantiles(aptt, [0.25, 0.5, 0.75]) as [number, number, number],
    inRange: aptt.filter((x) => x >= 60 && x <= 100).length / n,
    below: aptt.filter((x) => x < 60).length / n,
    above: aptt.filter((x) => x > 100).length / n,
    rateSextiles: quantiles(rates, [1, 2, 3, 4, 5].map((k) => k / 6)),
    medianRate: quantiles(rates, [0.5])[0],
    trueTimeInRange: inTrue / hours,
  };
}

/** What a policy achieves on the true simulator, from the noise-free aPTT. */
export interface HeparinOutcome {
  /** Share of patient-hours with the noise-free aPTT in 60-100 s. */
  readonly timeInRange: number;
  /** Mean over patients of the cumulative r_p on the noise-free aPTT, with its standard error. */
  readonly rpReturn: number;
  /** Standard error of that mean. */
  readonly rpReturnStandardError: number;
  /** Patients evaluated. */
  readonly patients: number;
}

/** The true time in range and r_p return of `policy` (the clinician by default) on `individuals`. */
export function heparinOutcome(
  env: Environment<HeparinState, HeparinParams>,
  individuals: readonly Individual<HeparinParams>[],
  options: { seed?: number; policy?: PolicyChoice } = {},
): HeparinOutcome {
  const trace = traceHeparin(env, individuals, options);
  let inRange = 0, hours = 0;
  const returns = trace.trueAptt.map((a) => {
    let g = 0;
    for (const x of a) {
      g += apttReward(x);
      if (x >= 60 && x <= 100) inRange++;
      hours++;
    }
    return g;
  });
  const s = summarize(returns);
  return {
    timeInRange: inRange / hours,
    rpReturn: s.mean,
    rpReturnStandardError: s.count > 1 ? s.standardError : 0,
    patients: s.count,
  };
}
