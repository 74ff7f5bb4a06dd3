/**
 * OMG-RL's heparin dataset (Lim & Lee, section V-A) built from raw MIMIC-III or MIMIC-IV tables.
 *
 * Cohort, in the order the report counts it:
 * 1. ICU stays with a continuous heparin infusion: MetaVision (and MIMIC-IV `icu/inputevents`)
 *    item 225152 "Heparin Sodium", rows with a rate in units/hour, excluding statusdescription
 *    "Rewritten" (superseded orders); CareVue item 30025 "Heparin" rows with a rate (U/hr). A
 *    CareVue rate holds until the stay's next heparin rate row, at most 4 hours (CareVue charts
 *    running drips about hourly: a longer silence is taken as the drip having stopped; our
 *    choice, the paper is silent). Boluses (no rate) are not hourly doses and are left out.
 * 2. Adults: age >= 18 at ICU admission (MIMIC-III: from dob and intime, the > 89 shift capped
 *    at 91.4 years; MIMIC-IV: anchor_age + year(intime) - anchor_year).
 * 3. One stay per patient (the first with heparin), so a split by individual is a split by
 *    patient and no patient is on both sides.
 * 4. At least 7 hours from the first heparin rate to the window's end, the earliest of heparin
 *    start + 72 h, the end of the last drip, and ICU discharge; longer windows are cut at 72 h.
 * 5. At least one aPTT (lab 51275) from 24 h before heparin start to the window's end (r_p needs
 *    it): stays without are excluded and counted.
 *
 * Hourly grid: hour h spans [start + h, start + h + 1). The state at hour h holds each
 * variable's last value measured up to start + h (sample-and-hold, looking back at most 24 h
 * before heparin start); the action is the hour's time-weighted heparin rate divided by
 * weight (U/kg/h), put in 6 bins by the sextiles of the positive hourly doses (edges reported;
 * bin 0 also holds the hours without heparin, as in the simulator); the reward of hour h is
 * r_p(aPTT at hour h + 1) = 2 / (1 + e^-(aPTT - 60)) - 2 / (1 + e^-(aPTT - 100)) - 1 (OMG-RL,
 * after Nemati et al. 2016). Variables missing at more than `maxMissingRate` of the hours
 * (after the hold) are dropped (aPTT never is); the remaining gaps are filled by KNN imputation
 * (the kit's knnImpute). Measurements outside plausible ranges (HEPARIN_VARIABLES) are charting
 * errors and ignored. After them come the dosing context columns of the simulator's record
 * (HEPARIN_CONTEXT_FEATURES; never imputed, from the past only): the previous hour's rate per kg
 * and its bin one-hot, whole hours since the last aPTT (48 when none), hours on heparin, and a
 * MetaVision "Drug Push" bolus in the previous hour (CareVue's cannot be told from its charted
 * hourly drip amounts: 0 there).
 *
 * @module
 */
import { knnImpute, missingRates, selectFeatures } from "./preprocess.ts";
import type { StepTable } from "./steps.ts";
import { type CohortStep, mimicHours, type MimicLayout, openMimic, readPatients } from "./mimic_tables.ts";
import { quantiles } from "../core/numeric.ts";
import { apttReward } from "./rewards.ts";

/** Where each of OMG-RL's 17 variables comes from (MIMIC-III and MIMIC-IV item ids). */
export interface HeparinVariable {
  /** The state variable's name in the CSV. */
  readonly name: string;
  /** Which table it comes from. */
  readonly source: "chart" | "lab" | "static";
  /** MIMIC item ids (CareVue, MetaVision, MIMIC-IV). */
  readonly itemIds: readonly number[];
  /** Items whose values are converted (Fahrenheit to Celsius, pounds to kg). */
  readonly convert?: Readonly<Record<number, "fahrenheit" | "pounds">>;
  /** Plausible range after conversion; values outside are charting errors. */
  readonly range: readonly [number, number];
  /** Unit after conversion. */
  readonly unit: string;
  /** Human-readable label. */
  readonly label: string;
}

/**
 * The variables, in the kit's order (HEPARIN_FEATURES). Item ids from MIMIC-III's D_ITEMS /
 * D_LABITEMS (MetaVision 22xxxx ids are shared with MIMIC-IV; CareVue ids exist only in
 * MIMIC-III). GCS in MetaVision is charted as three components (220739 eyes, 223900 verbal,
 * 223901 motor), summed when all three share a time stamp; CareVue charts the total (198).
 */
export const HEPARIN_VARIABLES: readonly HeparinVariable[] = Object.freeze([
  { name: "age", source: "static", itemIds: [], range: [18, 120], unit: "years", label: "age at ICU admission" },
  { name: "gender", source: "static", itemIds: [], range: [0, 1], unit: "1 = male", label: "gender" },
  {
    name: "gcs",
    source: "chart",
    itemIds: [198, 220739, 223900, 223901],
    range: [3, 15],
    unit: "points",
    label: "Glasgow coma scale (CV 198; MV 220739 + 223900 + 223901)",
  },
  {
    name: "dbp",
    source: "chart",
    itemIds: [8368, 220051, 8441, 220180],
    range: [10, 200],
    unit: "mmHg",
    label: "diastolic BP: arterial (8368, 220051), else non-invasive (8441, 220180)",
  },
  {
    name: "sbp",
    source: "chart",
    itemIds: [51, 220050, 455, 220179],
    range: [30, 300],
    unit: "mmHg",
    label: "systolic BP: arterial (51, 220050), else non-invasive (455, 220179)",
  },
  {
    name: "rr",
    source: "chart",
    itemIds: [618, 615, 220210, 224690],
    range: [1, 80],
    unit: "breaths/min",
    label: "respiratory rate (618, 615, 220210, 224690)",
  },
  {
    name: "hgb",
    source: "lab",
    itemIds: [51222, 50811],
    range: [2, 25],
    unit: "g/dL",
    label: "hemoglobin (51222, blood gas 50811)",
  },
  {
    name: "temperature",
    source: "chart",
    itemIds: [676, 223762, 678, 223761],
    convert: { 678: "fahrenheit", 223761: "fahrenheit" },
    range: [25, 45],
    unit: "°C",
    label: "temperature (C: 676, 223762; F: 678, 223761)",
  },
  { name: "wbc", source: "lab", itemIds: [51300, 51301], range: [0.1, 500], unit: "K/uL", label: "WBC (51300, 51301)" },
  { name: "platelets", source: "lab", itemIds: [51265], range: [1, 2000], unit: "K/uL", label: "platelets (51265)" },
  { name: "aptt", source: "lab", itemIds: [51275], range: [10, 250], unit: "s", label: "aPTT (51275, 'PTT')" },
  { name: "pt", source: "lab", itemIds: [51274], range: [5, 150], unit: "s", label: "prothrombin time (51274)" },
  {
    name: "arterial_co2",
    source: "lab",
    itemIds: [50818],
    range: [5, 150],
    unit: "mmHg",
    label: "arterial pCO2 (50818)",
  },
  { name: "creatinine", source: "lab", itemIds: [50912], range: [0.1, 30], unit: "mg/dL", label: "creatinine (50912)" },
  {
    name: "bilirubin",
    source: "lab",
    itemIds: [50885],
    range: [0.05, 80],
    unit: "mg/dL",
    label: "total bilirubin (50885)",
  },
  { name: "inr", source: "lab", itemIds: [51237], range: [0.5, 20], unit: "ratio", label: "INR (51237)" },
  {
    name: "weight",
    source: "chart",
    itemIds: [762, 763, 224639, 226512, 226531],
    convert: { 226531: "pounds" },
    range: [25, 350],
    unit: "kg",
    label: "weight (kg: 762, 763, 224639, 226512; lb: 226531; else the drip order's patientweight)",
  },
] as HeparinVariable[]);

/** Heparin items: MetaVision / MIMIC-IV drips, CareVue drips, aPTT. */
export const HEPARIN_ITEMS: Readonly<Record<"metavision" | "carevue" | "aptt", number>> = Object.freeze({
  metavision: 225152,
  carevue: 30025,
  aptt: 51275,
});

const GCS_PARTS = [220739, 223900, 223901];

/** Options of {@linkcode buildHeparinCohort}. */
export interface HeparinCohortOptions {
  /** Variables missing (after sample-and-hold) at more than this share of hours are dropped. @default 0.5 */
  readonly maxMissingRate?: number;
  /** Longest window from heparin start (hours). @default 72 */
  readonly maxHours?: number;
  /** Shortest window (hours). @default 7 */
  readonly minHours?: number;
  /** Neighbours of the KNN imputation. @default 5 */
  readonly knn?: number;
  /** Number of dose bins. @default 6 */
  readonly numBins?: number;
  /** Called with progress lines (each table read, every million rows). */
  readonly progress?: (message: string) => void;
}

export type { CohortStep };

/** The built cohort: the step table (kit's CSV format) and the report behind it. */
export interface HeparinCohort {
  /** The hourly rows in the kit's step format. */
  readonly table: StepTable;
  /** The MIMIC version read. */
  readonly version: MimicLayout["version"];
  /** Counts at each inclusion step. */
  readonly steps: readonly CohortStep[];
  /** Per variable: share of hours with no value after the hold, and whether it was kept. */
  readonly missing: readonly { name: string; missingRate: number; kept: boolean }[];
  /** Inner edges of the dose bins (U/kg/h): sextiles of the positive hourly doses. */
  readonly doseEdges: readonly number[];
  /** Hourly doses (U/kg/h) of all cohort hours, and every aPTT measured in a window. */
  readonly hourlyDoses: Float64Array;
  /** aPTT values measured within the cohort's windows. */
  readonly windowAptt: Float64Array;
  /**
   * The MIMIC-III demo README's statistics, recomputed over MetaVision drip rows (not
   * rewritten, with a rate): drip rows, stays and admissions with one, rate per kg, aPTT
   * measured while a drip ran (up to 2 h after a row ends).
   */
  readonly dripRows: {
    readonly rows: number;
    readonly stays: number;
    readonly admissions: number;
    readonly ratePerKg: Float64Array;
    readonly apttDuringDrips: Float64Array;
  };
  /** Rows read per table, and seconds. */
  readonly reads: Readonly<Record<string, { rows: number; kept: number; seconds: number }>>;
}

interface Stay {
  readonly stay: string;
  readonly subject: string;
  readonly hadm: string;
  readonly intime: number;
  readonly outtime: number;
  /** Heparin rate intervals [start, end) in hours, rate in units/h, weight (kg, NaN if none). */
  readonly drips: { start: number; end: number; rate: number; weight: number }[];
  cvRates: { time: number; rate: number }[];
  /** Times (h) of heparin boluses. */
  readonly boluses: number[];
  start: number;
  end: number;
  age: number;
  male: number;
}

const LOOKBACK_HOURS = 24;
/** `hours_since_aptt` when no aPTT was measured yet (and its cap): two days. */
const NO_APTT_HOURS = 48;

/** What every stage of the cohort builder reads with: the folder's layout and a streaming reader. */
interface CohortContext {
  readonly dir: string;
  readonly layout: MimicLayout;
  /** MIMIC-IV rather than MIMIC-III. */
  readonly iv: boolean;
  readonly log: (message: string) => void;
  /** Rows read per table, and seconds. */
  readonly reads: Record<string, { rows: number; kept: number; seconds: number }>;
  read(table: string, columns: readonly string[], onRow: (v: readonly string[]) => boolean | void): Promise<void>;
}

/** The MetaVision drip rows, for the demo README's statistics. */
interface DripRecords {
  readonly ratePerKg: number[];
  readonly rows: { hadm: string; subject: string; start: number; end: number }[];
  readonly stays: Set<string>;
  readonly admissions: Set<string>;
}

/** A stay's measurements: time, value (converted), variable index and item id. */
type Measurement = { time: number; value: number; variable: number; item: number };

/** ICU stays with their heparin drips: MetaVision / MIMIC-IV rows, and CareVue rates (MIMIC-III). */
async function readStaysAndDrips(ctx: CohortContext): Promise<{ stays: Map<string, Stay>; drips: DripRecords }> {
  const { read, iv } = ctx;
  // ICU stays.
  const stays = new Map<string, Stay>();
  await read("icustays", ["subject_id", "hadm_id", "icustay_id", "intime", "outtime"], ([s, h, st, i, o]) => {
    stays.set(st, {
      stay: st,
      subject: s,
      hadm: h,
      intime: mimicHours(i),
      outtime: mimicHours(o),
      drips: [],
      cvRates: [],
      boluses: [],
      start: NaN,
      end: NaN,
      age: NaN,
      male: NaN,
    });
  });

  // Heparin drips (MetaVision / MIMIC-IV).
  const dripRatePerKg: number[] = [];
  const dripRows: DripRecords["rows"] = [];
  const dripStays = new Set<string>(), dripAdmissions = new Set<string>();
  await read(
    "inputevents_mv",
    [
      "icustay_id",
      "hadm_id",
      "subject_id",
      "itemid",
      "starttime",
      "endtime",
      "rate",
      "rateuom",
      "patientweight",
      "statusdescription",
      "amount",
      "amountuom",
    ],
    ([st, hadm, subject, item, start, end, rate, uom, weight, status, amount, amountUom]) => {
      if (Number(item) !== HEPARIN_ITEMS.metavision) return false;
      if (status.trim().toLowerCase() === "rewritten") return false;
      if (rate === "" && Number(amount) > 0 && /^units?$/i.test(amountUom.trim())) {
        // A bolus ("Drug Push"): an amount with no rate.
        stays.get(st)?.boluses.push(mimicHours(start));
        return true;
      }
      const r = Number(rate);
      if (rate === "" || !(r > 0) || !/units?\/h/i.test(uom)) return false;
      const stay = stays.get(st);
      const w = Number(weight);
      const interval = { start: mimicHours(start), end: mimicHours(end), rate: r, weight: w > 0 ? w : NaN };
      if (!(interval.end > interval.start)) return false;
      dripRows.push({ hadm, subject, start: interval.start, end: interval.end });
      if (w > 0) dripRatePerKg.push(r / w);
      dripStays.add(st);
      dripAdmissions.add(hadm);
      stay?.drips.push(interval);
      return true;
    },
  );
  // CareVue drips (MIMIC-III only): a rate holds until the next rate row, at most 4 h.
  if (!iv) {
    await read(
      "inputevents_cv",
      ["icustay_id", "itemid", "charttime", "rate", "rateuom"],
      ([st, item, t, rate, uom]) => {
        // CareVue's rows without a rate are the drip's charted hourly amounts (from a 25,000 U
        // bag), not boluses: CareVue boluses cannot be told apart, so `bolus` is 0 there.
        if (Number(item) !== HEPARIN_ITEMS.carevue || rate === "" || !/u/i.test(uom)) return false;
        const r = Number(rate);
        if (!(r >= 0)) return false;
        stays.get(st)?.cvRates.push({ time: mimicHours(t), rate: r });
        return true;
      },
    );
    for (const s of stays.values()) {
      s.cvRates.sort((a, b) => a.time - b.time);
      s.cvRates.forEach((c, k) => {
        if (!(c.rate > 0)) return;
        const next = s.cvRates[k + 1]?.time ?? c.time + 1;
        s.drips.push({ start: c.time, end: Math.min(next, c.time + 4), rate: c.rate, weight: NaN });
      });
    }
  }
  return {
    stays,
    drips: { ratePerKg: dripRatePerKg, rows: dripRows, stays: dripStays, admissions: dripAdmissions },
  };
}

/** Age at ICU admission (91.4 for MIMIC-III's shifted over-89s) and sex, from the patients table. */
async function addDemographics(ctx: CohortContext, cohort: readonly Stay[]): Promise<void> {
  const patients = await readPatients(ctx);
  for (const s of cohort) {
    const p = patients.get(s.subject);
    if (!p) continue;
    s.male = p.male;
    s.age = p.ageAt(s.intime);
  }
}

/** Each stay's window (heparin start to the earliest of +maxHours, the last drip, ICU discharge), first stay per patient, long enough. */
function selectWindows(
  cohort: Stay[],
  steps: CohortStep[],
  minHours: number,
  maxHours: number,
): Stay[] {
  // Windows; one stay per patient.
  for (const s of cohort) {
    s.drips.sort((a, b) => a.start - b.start);
    s.start = s.drips[0].start;
    const lastDrip = Math.max(...s.drips.map((d) => d.end));
    s.end = Math.min(s.start + maxHours, lastDrip, Number.isFinite(s.outtime) ? s.outtime : Infinity);
  }
  cohort.sort((a, b) => a.start - b.start);
  const seen = new Set<string>();
  cohort = cohort.filter((s) => (seen.has(s.subject) ? false : (seen.add(s.subject), true)));
  steps.push({ step: "first such stay of each patient", count: cohort.length });
  cohort = cohort.filter((s) => Math.floor(s.end - s.start) >= minHours);
  steps.push({
    step: `at least ${minHours} h from heparin start (windows cut at ${maxHours} h)`,
    count: cohort.length,
  });

  return cohort;
}

/** Chart items by stay and labs by patient within [start - lookback, end], converted and range-checked; GCS summed. */
async function readMeasurements(
  ctx: CohortContext,
  cohort: readonly Stay[],
): Promise<{ measurements: Map<string, Measurement[]>; allAptt: { hadm: string; time: number; value: number }[] }> {
  const { read } = ctx;
  // Measurements: chart items by stay, labs by patient, within [start - lookback, end].
  const bySubject = new Map<string, Stay>();
  for (const s of cohort) bySubject.set(s.subject, s);
  const byStay = new Map(cohort.map((s) => [s.stay, s]));
  const varIndex = new Map<number, number>();
  HEPARIN_VARIABLES.forEach((v, j) => v.itemIds.forEach((id) => varIndex.set(id, j)));
  const measurements = new Map<string, Measurement[]>();
  const keep = (s: Stay, time: number, item: number, raw: number) => {
    if (!(time >= s.start - LOOKBACK_HOURS && time <= s.end) || !Number.isFinite(raw)) return false;
    const j = varIndex.get(item)!;
    const v = HEPARIN_VARIABLES[j];
    const conv = v.convert?.[item];
    const value = conv === "fahrenheit" ? (raw - 32) * 5 / 9 : conv === "pounds" ? raw * 0.45359237 : raw;
    const isGcsPart = GCS_PARTS.includes(item);
    if (!isGcsPart && !(value >= v.range[0] && value <= v.range[1])) return false;
    const list = measurements.get(s.stay) ?? [];
    list.push({ time, value, variable: j, item });
    measurements.set(s.stay, list);
    return true;
  };
  const chartIds = new Set(HEPARIN_VARIABLES.filter((v) => v.source === "chart").flatMap((v) => v.itemIds));
  await read("chartevents", ["icustay_id", "itemid", "charttime", "valuenum"], ([st, item, t, value]) => {
    const s = byStay.get(st);
    if (!s) return false;
    const id = Number(item);
    if (!chartIds.has(id) || value === "") return false;
    return keep(s, mimicHours(t), id, Number(value));
  });
  const labIds = new Set(HEPARIN_VARIABLES.filter((v) => v.source === "lab").flatMap((v) => v.itemIds));
  const allAptt: { hadm: string; time: number; value: number }[] = [];
  await read(
    "labevents",
    ["subject_id", "hadm_id", "itemid", "charttime", "valuenum"],
    ([subject, hadm, item, t, value]) => {
      const id = Number(item);
      if (!labIds.has(id) || value === "") return false;
      const time = mimicHours(t), x = Number(value);
      if (id === HEPARIN_ITEMS.aptt && Number.isFinite(x)) allAptt.push({ hadm, time, value: x });
      const s = bySubject.get(subject);
      return s ? keep(s, time, id, x) : false;
    },
  );

  // GCS: MetaVision components summed per time stamp.
  const gcsJ = HEPARIN_VARIABLES.findIndex((v) => v.name === "gcs");
  for (const [stay, list] of measurements) {
    const parts = new Map<number, Map<number, number>>();
    const rest = list.filter((m) => {
      if (!GCS_PARTS.includes(m.item)) return true;
      const byItem = parts.get(m.time) ?? new Map<number, number>();
      byItem.set(m.item, m.value);
      parts.set(m.time, byItem);
      return false;
    });
    for (const [time, byItem] of parts) {
      if (byItem.size === 3) {
        const total = [...byItem.values()].reduce((a, b) => a + b, 0);
        if (total >= 3 && total <= 15) rest.push({ time, value: total, variable: gcsJ, item: 0 });
      }
    }
    measurements.set(stay, rest);
  }

  return { measurements, allAptt };
}

/** The hourly grid: each variable held (sample-and-hold) from its last measurement, and the heparin units of each hour. */
function hourlyGrid(cohort: readonly Stay[], measurements: Map<string, Measurement[]>) {
  const F = HEPARIN_VARIABLES.length;
  const apttJ = HEPARIN_VARIABLES.findIndex((v) => v.name === "aptt");
  // Hourly grid.
  const weightJ = HEPARIN_VARIABLES.findIndex((v) => v.name === "weight");
  const ageJ = 0, genderJ = 1;
  const ids: string[] = [], times: number[] = [];
  // Per row: heparin units given over [t, t + 1) (NaN on a stay's last row) and the weight used.
  const units: number[] = [], doseWeights: number[] = [];
  // Per row: hours since the last aPTT (whole hours, capped at NO_APTT_HOURS) and a bolus in (t - 1, t].
  const sinceAptt: number[] = [], bolus: number[] = [];
  const rows: number[][] = [];
  const windowAptt: number[] = [];
  for (const s of cohort) {
    const hours = Math.floor(s.end - s.start);
    const list = (measurements.get(s.stay) ?? []).sort((a, b) => a.time - b.time);
    for (const m of list) if (m.variable === apttJ && m.time >= s.start && m.time <= s.end) windowAptt.push(m.value);
    const orderWeight = s.drips.find((d) => d.weight > 0)?.weight ?? NaN;
    const last = new Float64Array(F).fill(NaN);
    let k = 0, lastApttTime = NaN;
    for (let h = 0; h <= hours; h++) {
      const t = s.start + h;
      while (k < list.length && list[k].time <= t) {
        if (list[k].variable === apttJ) lastApttTime = list[k].time;
        last[list[k].variable] = list[k++].value;
      }
      sinceAptt.push(
        Number.isFinite(lastApttTime) ? Math.min(NO_APTT_HOURS, Math.floor(t - lastApttTime)) : NO_APTT_HOURS,
      );
      bolus.push(s.boluses.some((b) => b > t - 1 && b <= t) ? 1 : 0);
      const row = Array.from(last);
      row[ageJ] = s.age;
      row[genderJ] = s.male;
      if (!Number.isFinite(row[weightJ]) && orderWeight > 0) row[weightJ] = orderWeight;
      rows.push(row);
      ids.push(`icu-${s.stay}`);
      times.push(h);
      let u = NaN;
      if (h < hours) {
        u = 0;
        for (const d of s.drips) u += d.rate * Math.max(0, Math.min(d.end, t + 1) - Math.max(d.start, t));
      }
      units.push(u);
      doseWeights.push(row[weightJ]);
    }
  }
  return { ids, times, rows, units, doseWeights, windowAptt, sinceAptt, bolus };
}

/**
 * Doses per kg, sparse variables dropped (never aPTT), KNN imputation, dose bins at the positive
 * doses' quantiles and r_p on the next hour's aPTT: the kit's step table.
 */
function encodeCohort(
  grid: ReturnType<typeof hourlyGrid>,
  dir: string,
  o: { numBins: number; maxMissing: number; knn: number },
) {
  const { ids, times, rows, units, doseWeights } = grid;
  const { numBins, maxMissing } = o;
  const apttJ = HEPARIN_VARIABLES.findIndex((v) => v.name === "aptt");
  // Time-weighted rate per kg; hours with no weight anywhere use the cohort's median weight.
  const medianWeight = quantiles(doseWeights.filter(Number.isFinite), [0.5])[0] || 80;
  const doses = units.map((u, r) => u / (doseWeights[r] > 0 ? doseWeights[r] : medianWeight));

  // Missing rates after the hold; drop sparse variables (never aPTT), impute the rest.
  const names = HEPARIN_VARIABLES.map((v) => v.name);
  const lastOf = new Uint8Array(ids.length);
  for (let r = 0; r < ids.length; r++) lastOf[r] = r + 1 === ids.length || ids[r + 1] !== ids[r] ? 1 : 0;
  const raw: StepTable = {
    featureNames: names,
    numActions: numBins,
    ids,
    times: Int32Array.from(times),
    features: Float64Array.from(rows.flat()),
    actions: Int32Array.from(ids, (_, r) => (lastOf[r] ? -1 : 0)),
    rewards: Float64Array.from(ids, (_, r) => (lastOf[r] ? NaN : 0)),
    dones: new Uint8Array(ids.length),
    source: dir,
  };
  const rates = missingRates(raw);
  const missing = names.map((name, j) => ({
    name,
    missingRate: rates[j],
    kept: j === apttJ || rates[j] <= maxMissing,
  }));
  const kept = selectFeatures(raw, missing.filter((m) => m.kept).map((m) => m.name));
  const imputed = knnImpute(kept, { k: o.knn });

  // Dose bins as the simulator's (HEPARIN_DOSE_EDGES): edges at the quantiles k / numBins of
  // the positive hourly doses; bin 0 holds the hours without heparin and the lowest doses.
  const positive = doses.filter((d, r) => !lastOf[r] && d > 0);
  const doseEdges = quantiles(positive, Array.from({ length: numBins - 1 }, (_, k) => (k + 1) / numBins), "weibull");
  const bin = (d: number) => {
    let b = 0;
    while (b < doseEdges.length && d > doseEdges[b]) b++;
    return b;
  };
  const aptt = imputed.featureNames.indexOf("aptt"), Fk = imputed.featureNames.length;
  const actions = Int32Array.from(raw.actions), rewards = Float64Array.from(raw.rewards);
  for (let r = 0; r < ids.length; r++) {
    if (lastOf[r]) continue;
    actions[r] = bin(doses[r]);
    rewards[r] = apttReward(imputed.features[(r + 1) * Fk + aptt]);
  }
  // The dosing context (HEPARIN_CONTEXT_FEATURES), never imputed: the previous hour's dose and
  // its bin one-hot, hours since the last aPTT, hours on heparin, a bolus in the previous hour.
  const C = 4 + numBins, Fc = Fk + C;
  const features = new Float64Array(ids.length * Fc);
  for (let r = 0; r < ids.length; r++) {
    features.set(imputed.features.subarray(r * Fk, (r + 1) * Fk), r * Fc);
    const prev = times[r] > 0 ? doses[r - 1] : 0;
    const o = r * Fc + Fk;
    features[o] = prev;
    features[o + 1] = grid.sinceAptt[r];
    features[o + 2] = times[r];
    features[o + 3] = grid.bolus[r];
    features[o + 4 + bin(prev)] = 1;
  }
  const contextNames = [
    "prev_rate",
    "hours_since_aptt",
    "hours_on_heparin",
    "bolus",
    ...Array.from({ length: numBins }, (_, b) => `prev_bin_${b}`),
  ];
  const table: StepTable = {
    ...imputed,
    featureNames: [...imputed.featureNames, ...contextNames],
    features,
    actions,
    rewards,
  };

  return { table, missing, doseEdges, hourlyDoses: Float64Array.from(doses.filter((_, r) => !lastOf[r])) };
}

/** The demo README's drip-row statistics: aPTT drawn while a MetaVision drip ran, up to 2 h after. */
function dripRowStatistics(drips: DripRecords, allAptt: { hadm: string; time: number; value: number }[]) {
  // The README's drip-row statistics (MetaVision): aPTT while a drip ran, up to 2 h after.
  const dripByAdmission = new Map<string, { start: number; end: number }[]>();
  for (const d of drips.rows) {
    const l = dripByAdmission.get(d.hadm) ?? [];
    l.push(d);
    dripByAdmission.set(d.hadm, l);
  }
  const apttDuringDrips = allAptt.filter((a) =>
    (dripByAdmission.get(a.hadm) ?? []).some((d) => a.time >= d.start && a.time <= d.end + 2)
  ).map((a) => a.value);

  return {
    rows: drips.rows.length,
    stays: drips.stays.size,
    admissions: drips.admissions.size,
    ratePerKg: Float64Array.from(drips.ratePerKg),
    apttDuringDrips: Float64Array.from(apttDuringDrips),
  };
}

/** Builds the heparin cohort from the MIMIC folder `dir` (module doc). */
export async function buildHeparinCohort(dir: string, options: HeparinCohortOptions = {}): Promise<HeparinCohort> {
  const log = options.progress ?? (() => {});
  const mimic = await openMimic(dir, [
    "patients",
    "admissions",
    "icustays",
    "inputevents_mv",
    "inputevents_cv",
    "chartevents",
    "labevents",
  ], log);
  const { layout, reads } = mimic;
  const ctx: CohortContext = { dir, layout, iv: mimic.iv, log, reads, read: mimic.read };
  const { stays, drips } = await readStaysAndDrips(ctx);
  const steps: CohortStep[] = [];
  let cohort = [...stays.values()].filter((s) => s.drips.length > 0);
  steps.push({ step: "ICU stays with a continuous heparin infusion", count: cohort.length });
  await addDemographics(ctx, cohort);
  cohort = cohort.filter((s) => s.age >= 18);
  steps.push({ step: "adults (18+) at ICU admission", count: cohort.length });
  cohort = selectWindows(cohort, steps, options.minHours ?? 7, options.maxHours ?? 72);
  const { measurements, allAptt } = await readMeasurements(ctx, cohort);
  // aPTT: exclude stays with none.
  const apttJ = HEPARIN_VARIABLES.findIndex((v) => v.name === "aptt");
  const before = cohort.length;
  cohort = cohort.filter((s) => (measurements.get(s.stay) ?? []).some((m) => m.variable === apttJ));
  steps.push({ step: "with an aPTT (lab 51275) in the window or the 24 h before", count: cohort.length });
  if (cohort.length === 0) {
    throw new RangeError(
      `${dir}: no ICU stay is left after the inclusion steps (${steps.map((s) => `${s.step}: ${s.count}`).join("; ")})`,
    );
  }
  log(`cohort: ${cohort.length} stays (${before - cohort.length} excluded for want of an aPTT)`);

  const grid = hourlyGrid(cohort, measurements);
  const encoded = encodeCohort(grid, dir, {
    numBins: options.numBins ?? 6,
    maxMissing: options.maxMissingRate ?? 0.5,
    knn: options.knn ?? 5,
  });
  return {
    ...encoded,
    version: layout.version,
    steps,
    windowAptt: Float64Array.from(grid.windowAptt),
    dripRows: dripRowStatistics(drips, allAptt),
    reads,
  };
}
