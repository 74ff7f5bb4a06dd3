/**
 * P4L's sepsis dataset (Miao, Shahbaba & Qu, section 7: "prepared by the same data
 * pre-processing steps used in Raghu et al. (2017)", i.e. Komorowski et al.'s AI Clinician
 * pipeline) built from raw MIMIC-III or MIMIC-IV tables.
 *
 * Cohort, in the order the report counts it:
 * 1. ICU stays of adults (18+ at ICU admission; age as in the heparin builder).
 * 2. Suspected infection (Sepsis-3, Seymour et al. 2016, as the AI Clinician): a systemic
 *    antibiotic (PRESCRIPTIONS, by drug name, {@linkcode SEPSIS_ANTIBIOTIC_PATTERN}; topical,
 *    ophthalmic and otic routes excluded) followed by a culture (MICROBIOLOGYEVENTS) within
 *    24 h, or a culture followed by an antibiotic within 72 h; onset is the first of the pair.
 *    The onset must fall between 24 h before ICU admission and ICU discharge.
 * 3. One stay per patient (the first with such an onset).
 * 4. Sepsis: SOFA >= 2 at some 4-hour step that starts within 24 h of onset (baseline SOFA
 *    taken as 0, as the AI Clinician does).
 * 5. At least `minSteps` (3, as P4L) steps in the window.
 *
 * Window and grid: onset - 24 h to onset + 48 h (the AI Clinician's), clipped to the ICU stay;
 * step k covers [start + 4k, start + 4k + 4). A variable's value in a step is the mean of its
 * measurements there, else the last value before it (sample-and-hold, looking back at most 24 h
 * before the window and without the AI Clinician's per-variable hold limits: the window is 72 h).
 * Measurements outside the plausible range ({@linkcode SEPSIS_VARIABLES}) are charting errors,
 * ignored. Derived: FiO2 as a fraction; P/F = PaO2 / FiO2; shock index = HR / SBP; SIRS
 * (0-4); SOFA ({@linkcode sofaScore}); mechanical ventilation (a ventilator setting charted in
 * the step, {@linkcode SEPSIS_VENT_ITEMS}); urine output in the step; fluid balance up to the
 * step's start (inputs before the step, so this step's fluids, the action, do not leak into
 * the state); diabetes (ICD-9 250.x, ICD-10 E08-E13). Variables missing at more than
 * `maxMissingRate` of the steps after the hold are dropped (SOFA never is); the rest is filled
 * by KNN imputation.
 *
 * Actions: per step, the tonicity-adjusted volume of IV fluids (mL; items and factors
 * {@linkcode SEPSIS_FLUID_ITEMS}, an infusion split over the steps in proportion to its time
 * there) and the highest norepinephrine-equivalent vasopressor rate (mcg/kg/min, summed over
 * drugs running in the step; {@linkcode SEPSIS_VASOPRESSORS}; 80 kg when no weight, as the AI
 * Clinician). Each is cut into 3 bins, 0 = none, then the positive doses below and above their
 * median (the cut points are reported); action = 3 x fluid bin + vasopressor bin (9 actions).
 * Reward of step t: -SOFA at step t + 1 (P4L: R_t = -s^SOFA_{t+1}).
 *
 * @module
 */
import { knnImpute, missingRates, selectFeatures } from "./preprocess.ts";
import type { StepTable } from "./steps.ts";
import {
  type CohortStep,
  mimicHours,
  type MimicLayout,
  type MimicReader,
  openMimic,
  readPatients,
} from "./mimic_tables.ts";
import { quantiles } from "../core/numeric.ts";

/** A state variable of the sepsis cohort and where it comes from. */
export interface SepsisVariable {
  /** Column name in the CSV. */
  readonly name: string;
  /** Where it comes from: measured (chart and lab items), the patient, or computed from others. */
  readonly source: "measured" | "static" | "derived";
  /** CHARTEVENTS item ids (CareVue 3-4 digit ids, MetaVision 22xxxx ids shared with MIMIC-IV). */
  readonly chartIds?: readonly number[];
  /** LABEVENTS item ids. */
  readonly labIds?: readonly number[];
  /** Items whose values are converted. */
  readonly convert?: Readonly<Record<number, "fahrenheit" | "pounds" | "percent">>;
  /** Plausible range after conversion (measured variables). */
  readonly range?: readonly [number, number];
  /** Unit after conversion. */
  readonly unit: string;
  /** Human-readable description. */
  readonly label: string;
}

const m = (
  name: string,
  unit: string,
  range: [number, number],
  chartIds: number[],
  labIds: number[],
  label: string,
  convert?: Record<number, "fahrenheit" | "pounds" | "percent">,
): SepsisVariable => ({ name, source: "measured", chartIds, labIds, range, unit, label, convert });

/**
 * The state variables, in column order. Item ids follow the AI Clinician's reference lists
 * (Komorowski et al. 2018; microsoft/mimic_sepsis ReferenceFiles): each variable's CareVue
 * and MetaVision chart items and its LABEVENTS items, adding MetaVision's arterial systolic
 * (220050) and both diastolic items (220051 arterial, 220180 non-invasive), which the reference
 * lists lack (without them diastolic BP is missing at half the demo's steps). GCS: CareVue's total (198), or
 * MetaVision's three components (220739, 223900, 223901) summed when charted together.
 */
export const SEPSIS_VARIABLES: readonly SepsisVariable[] = Object.freeze([
  { name: "age", source: "static", unit: "years", label: "age at ICU admission" },
  { name: "gender", source: "static", unit: "1 = male", label: "gender" },
  { name: "diabetes", source: "static", unit: "0/1", label: "diabetes (ICD-9 250.x, ICD-10 E08-E13)" },
  m("weight", "kg", [25, 350], [762, 763, 580, 224639, 226512, 226531], [], "weight (lb: 226531)", {
    226531: "pounds",
  }),
  m("gcs", "points", [3, 15], [198, 220739, 223900, 223901], [], "GCS (CV 198; MV 220739 + 223900 + 223901)"),
  m("hr", "/min", [1, 250], [211, 220045], [], "heart rate"),
  m("sbp", "mmHg", [20, 300], [220179, 220050, 225309, 6701, 6, 227243, 224167, 51, 455], [], "systolic BP"),
  m("map", "mmHg", [10, 200], [220181, 220052, 225312, 224322, 6702, 443, 52, 456], [], "mean BP"),
  m("dbp", "mmHg", [5, 200], [8368, 8441, 225310, 8555, 8440, 220051, 220180], [], "diastolic BP"),
  m("rr", "/min", [1, 80], [220210, 3337, 224422, 618, 3603, 615], [], "respiratory rate"),
  m("spo2", "%", [50, 100], [220277, 646, 834], [], "SpO2"),
  m("temp", "°C", [25, 45], [3655, 223762, 676, 223761, 678], [], "temperature (F: 223761, 678)", {
    223761: "fahrenheit",
    678: "fahrenheit",
  }),
  m("fio2", "fraction", [0.21, 1], [223835, 3420, 3422, 190], [], "FiO2 (percent items / 100; 190 a fraction)", {
    223835: "percent",
    3420: "percent",
    3422: "percent",
  }),
  m("potassium", "mEq/L", [1, 15], [829, 1535, 227442, 227464, 3792], [50971, 50822], "potassium"),
  m("sodium", "mEq/L", [95, 180], [837, 220645, 4194, 3725, 3803, 226534, 1536, 4195, 3726], [50983, 50824], "sodium"),
  m("chloride", "mEq/L", [70, 150], [788, 220602, 1523, 4193, 3724, 226536, 3747], [50902, 50806], "chloride"),
  m("glucose", "mg/dL", [10, 1500], [225664, 807, 811, 1529, 220621, 226537, 3744], [50809, 50931], "glucose"),
  m("bun", "mg/dL", [1, 300], [781, 1162, 225624, 3737], [51006], "blood urea nitrogen"),
  m("creatinine", "mg/dL", [0.1, 30], [791, 1525, 220615, 3750], [50912], "creatinine"),
  m("magnesium", "mg/dL", [0.1, 10], [821, 1532, 220635], [50960], "magnesium"),
  m("calcium", "mg/dL", [2, 20], [786, 225625, 1522, 3746], [50893], "total calcium"),
  m("ionized_ca", "mmol/L", [0.1, 5], [816, 225667, 3766], [50808], "ionised calcium"),
  m("co2", "mEq/L", [2, 80], [777, 787], [50804], "total CO2"),
  m("ast", "IU/L", [1, 20000], [770, 3801], [50878], "AST (SGOT)"),
  m("alt", "IU/L", [1, 20000], [769, 3802], [50861], "ALT (SGPT)"),
  m("bilirubin", "mg/dL", [0.05, 80], [1538, 848, 225690], [50885], "total bilirubin"),
  m("albumin", "g/dL", [0.5, 7], [772, 1521, 227456, 3727], [50862], "albumin"),
  m("hgb", "g/dL", [2, 25], [814, 220228], [51222, 50811], "haemoglobin"),
  m("wbc", "K/uL", [0.1, 500], [1127, 1542, 220546, 4200, 3834], [51300, 51301], "white blood cells"),
  m("platelets", "K/uL", [1, 2000], [828, 227457, 3789], [51265], "platelets"),
  m("ptt", "s", [10, 250], [825, 1533, 227466, 3796], [51275], "partial thromboplastin time"),
  m("pt", "s", [5, 150], [824, 1286], [51274], "prothrombin time"),
  m("inr", "ratio", [0.5, 20], [815, 1530, 227467], [51237], "INR"),
  m("ph", "", [6.7, 8], [780, 1126, 3839, 4753], [50820], "arterial pH"),
  m("pao2", "mmHg", [10, 700], [779, 490, 3785, 3838, 3837], [50821], "arterial pO2"),
  m("paco2", "mmHg", [5, 200], [778, 3784, 3836, 3835], [50818], "arterial pCO2"),
  m("base_excess", "mEq/L", [-40, 40], [776, 224828, 3736, 4196, 3740, 74], [50802], "arterial base excess"),
  m("hco3", "mEq/L", [2, 60], [227443], [50882, 50803], "bicarbonate"),
  m("lactate", "mmol/L", [0.1, 30], [225668, 1531], [50813], "lactate"),
  { name: "mechvent", source: "derived", unit: "0/1", label: "a ventilator setting charted in the step" },
  { name: "shock_index", source: "derived", unit: "", label: "HR / SBP" },
  { name: "pf_ratio", source: "derived", unit: "mmHg", label: "PaO2 / FiO2" },
  { name: "sirs", source: "derived", unit: "0-4", label: "SIRS criteria met" },
  { name: "urine_output", source: "derived", unit: "mL", label: "urine output in the step" },
  {
    name: "fluid_balance",
    source: "derived",
    unit: "mL",
    label: "fluids in minus urine out, window start to the step's start",
  },
  { name: "sofa", source: "derived", unit: "0-24", label: "SOFA (sofaScore)" },
] as SepsisVariable[]);

/** Ventilator settings (mode, PEEP, tidal volume, minute ventilation) whose charting marks a ventilated step. */
export const SEPSIS_VENT_ITEMS: readonly number[] = Object.freeze([
  720,
  223849,
  223848,
  220339,
  506,
  505,
  224700,
  224686,
  224684,
  684,
  224421,
  3083,
  2566,
  654,
  3050,
  681,
  2311,
  224687,
  450,
  448,
  445,
  224697,
  444,
  224695,
  535,
  224696,
  543,
]);

/** IV fluid items (CareVue and MetaVision) and their tonicity factors (AI Clinician's "total equivalent volume"). */
export const SEPSIS_FLUID_ITEMS: Readonly<Record<number, number>> = Object.freeze(
  (() => {
    const items = [
      225158,
      225943,
      226089,
      225168,
      225828,
      220862,
      220970,
      220864,
      225159,
      220995,
      225170,
      225825,
      227533,
      225161,
      227531,
      225171,
      225827,
      225941,
      225823,
      228341,
      30018,
      30021,
      30015,
      30296,
      30020,
      30066,
      30001,
      30030,
      30060,
      30005,
      30321,
      30006,
      30061,
      30009,
      30179,
      30190,
      30143,
      30160,
      30008,
      30168,
      30186,
      30211,
      30353,
      30159,
      30007,
      30185,
      30063,
      30094,
      30352,
      30014,
      30011,
      30210,
      46493,
      45399,
      46516,
      40850,
      30176,
      30161,
      30381,
      30315,
      42742,
      30180,
      46087,
      41491,
      30004,
      42698,
      42244,
    ];
    const factor: Record<number, number> = {};
    for (const i of items) factor[i] = 1;
    const set = (ids: number[], f: number) => ids.forEach((i) => (factor[i] = f));
    set([30176, 30315], 0.25);
    set([30161], 0.3);
    set([30020, 30015, 225823, 30321, 30186, 30211, 30353, 42742, 42244, 225159], 0.5);
    set([227531], 2.75);
    set([30143, 225161], 3);
    set([30009, 220862], 5);
    set([30030, 220995, 227533], 6.66);
    set([228341], 8);
    return factor;
  })(),
);

/** A vasopressor: its items and the factor to norepinephrine equivalents (AI Clinician's). */
export interface SepsisVasopressor {
  /** Drug name. */
  readonly drug: string;
  /** CareVue and MetaVision item ids. */
  readonly itemIds: readonly number[];
  /** mcg/kg/min of norepinephrine per unit of this drug's mcg/kg/min (vasopressin: per U/min). */
  readonly factor: number;
}

/** Norepinephrine-equivalent factors (Komorowski et al. 2018; vasopressin in U/min x 5). */
export const SEPSIS_VASOPRESSORS: readonly SepsisVasopressor[] = Object.freeze([
  { drug: "norepinephrine", itemIds: [30120, 221906, 30047], factor: 1 },
  { drug: "epinephrine", itemIds: [30119, 221289, 30044, 30309], factor: 1 },
  { drug: "vasopressin", itemIds: [30051, 222315], factor: 5 },
  { drug: "phenylephrine", itemIds: [30128, 221749, 30127], factor: 0.45 },
  { drug: "dopamine", itemIds: [221662, 30043, 30307], factor: 0.01 },
]);

/** Urine output items of OUTPUTEVENTS (AI Clinician's list). */
export const SEPSIS_URINE_ITEMS: readonly number[] = Object.freeze([
  40055,
  43175,
  40069,
  40094,
  40715,
  40473,
  40085,
  40057,
  40056,
  40405,
  40428,
  40096,
  40651,
  226559,
  226560,
  227510,
  226561,
  227489,
  226584,
  226563,
  226564,
  226565,
  226557,
  226558,
]);

/**
 * Systemic antibiotics, matched on PRESCRIPTIONS' drug name (case-insensitive). The AI
 * Clinician selects by First DataBank GSN codes; names work in MIMIC-III and MIMIC-IV alike and
 * can be read. Routes {@linkcode SEPSIS_EXCLUDED_ROUTES} are excluded.
 */
export const SEPSIS_ANTIBIOTIC_PATTERN: RegExp = new RegExp(
  [
    "amikacin",
    "amoxicillin",
    "ampicillin",
    "azithromycin",
    "aztreonam",
    "bactrim",
    "cefazolin",
    "cefepime",
    "cefotaxime",
    "cefotetan",
    "cefoxitin",
    "cefpodoxime",
    "ceftaroline",
    "ceftazidime",
    "ceftriaxone",
    "cefuroxime",
    "cephalexin",
    "chloramphenicol",
    "ciprofloxacin",
    "clarithromycin",
    "clindamycin",
    "colistin",
    "daptomycin",
    "doripenem",
    "doxycycline",
    "ertapenem",
    "erythromycin",
    "gentamicin",
    "imipenem",
    "levofloxacin",
    "linezolid",
    "meropenem",
    "metronidazole",
    "minocycline",
    "moxifloxacin",
    "nafcillin",
    "nitrofurantoin",
    "oxacillin",
    "penicillin",
    "piperacillin",
    "polymyxin",
    "rifampin",
    "streptomycin",
    "sulfamethoxazole",
    "tetracycline",
    "ticarcillin",
    "tigecycline",
    "tobramycin",
    "unasyn",
    "vancomycin",
    "zosyn",
  ].join("|"),
  "i",
);

/** Routes of administration that are not systemic (PRESCRIPTIONS.route, upper-cased). */
export const SEPSIS_EXCLUDED_ROUTES: readonly string[] = Object.freeze([
  "TP",
  "TOPICAL",
  "OU",
  "OS",
  "OD",
  "AU",
  "AS",
  "AD",
  "EAR",
  "OPHTHALMIC",
  "IN",
  "INHALATION",
  "NEB",
  "VG",
  "PR",
]);

/** The six organ scores of SOFA and its total. */
export interface SofaScore {
  /** Respiration: PaO2 / FiO2 (3-4 only when ventilated). */
  readonly respiration: number;
  /** Coagulation: platelets. */
  readonly coagulation: number;
  /** Liver: bilirubin. */
  readonly liver: number;
  /** Cardiovascular: MAP, norepinephrine-equivalent rate. */
  readonly cardiovascular: number;
  /** Central nervous system: GCS. */
  readonly cns: number;
  /** Renal: creatinine, urine output. */
  readonly renal: number;
  /** The sum, 0-24. */
  readonly total: number;
}

/** What {@linkcode sofaScore} reads: NaN marks a value not measured (that organ then scores 0). */
export interface SofaInputs {
  /** PaO2 / FiO2, mmHg. */
  readonly pfRatio: number;
  /** Ventilated in the step. */
  readonly ventilated: boolean;
  /** Platelets, K/uL. */
  readonly platelets: number;
  /** Total bilirubin, mg/dL. */
  readonly bilirubin: number;
  /** Mean arterial pressure, mmHg. */
  readonly map: number;
  /** Norepinephrine-equivalent rate, mcg/kg/min. */
  readonly vasopressor: number;
  /** Glasgow coma scale. */
  readonly gcs: number;
  /** Creatinine, mg/dL. */
  readonly creatinine: number;
  /** Urine output scaled to 24 h (mL/day); NaN when none was charted. */
  readonly urinePerDay: number;
}

/**
 * SOFA (Vincent et al. 1996) from one step's values. Cardiovascular from the
 * norepinephrine-equivalent rate: > 0.1 scores 4, any other vasopressor 3, else MAP < 70 scores 1
 * (dopamine <= 5 and dobutamine, scored 2 in the original, are folded into the equivalent rate,
 * as the AI Clinician does). Renal: urine output counts only in a step where urine was charted.
 * An organ with nothing measured scores 0, the usual convention.
 */
export function sofaScore(x: SofaInputs): SofaScore {
  const band = (v: number, edges: readonly number[], descending: boolean) => {
    if (!Number.isFinite(v)) return 0;
    let s = 0;
    for (const e of edges) if (descending ? v < e : v >= e) s++;
    return s;
  };
  let respiration = band(x.pfRatio, [400, 300, 200, 100], true);
  if (!x.ventilated) respiration = Math.min(respiration, 2);
  const coagulation = band(x.platelets, [150, 100, 50, 20], true);
  const liver = band(x.bilirubin, [1.2, 2, 6, 12], false);
  const cardiovascular = x.vasopressor > 0.1 ? 4 : x.vasopressor > 0 ? 3 : x.map < 70 ? 1 : 0;
  const cns = band(x.gcs, [15, 13, 10, 6], true);
  let renal = band(x.creatinine, [1.2, 2, 3.5, 5], false);
  if (Number.isFinite(x.urinePerDay)) renal = Math.max(renal, x.urinePerDay < 200 ? 4 : x.urinePerDay < 500 ? 3 : 0);
  const total = respiration + coagulation + liver + cardiovascular + cns + renal;
  return { respiration, coagulation, liver, cardiovascular, cns, renal, total };
}

/** SIRS criteria met (0-4): temperature, heart rate, respiration (or PaCO2), white cells. NaN counts as not met. */
export function sirsCount(temp: number, hr: number, rr: number, paco2: number, wbc: number): number {
  return (temp > 38 || temp < 36 ? 1 : 0) + (hr > 90 ? 1 : 0) + (rr > 20 || paco2 < 32 ? 1 : 0) +
    (wbc > 12 || wbc < 4 ? 1 : 0);
}

/** Options of {@linkcode buildSepsisCohort}. */
export interface SepsisCohortOptions {
  /** Hours of the window before onset. @default 24 */
  readonly hoursBefore?: number;
  /** Hours of the window after onset. @default 48 */
  readonly hoursAfter?: number;
  /** Step length (hours). @default 4 */
  readonly stepHours?: number;
  /** Fewest steps a stay needs. @default 3 */
  readonly minSteps?: number;
  /** Variables missing after the hold at more than this share of steps are dropped. @default 0.7 */
  readonly maxMissingRate?: number;
  /** Neighbours of the KNN imputation. @default 5 */
  readonly knn?: number;
  /** Called with progress lines. */
  readonly progress?: (message: string) => void;
}

/** The built cohort and its report. */
export interface SepsisCohort {
  /** The 4-hourly rows in the kit's step format (9 actions). */
  readonly table: StepTable;
  /** Which MIMIC. */
  readonly version: MimicLayout["version"];
  /** Counts at each inclusion step. */
  readonly steps: readonly CohortStep[];
  /** Per variable: share of steps missing after the hold, and whether it was kept. */
  readonly missing: readonly { name: string; missingRate: number; kept: boolean }[];
  /** Cut between fluid bins 1 and 2 (mL per step): the median of positive volumes. */
  readonly fluidCut: number;
  /** Cut between vasopressor bins 1 and 2 (mcg/kg/min). */
  readonly vasopressorCut: number;
  /** Fluid volume (mL, tonicity-adjusted) of every step that has an action. */
  readonly fluids: Float64Array;
  /** Norepinephrine-equivalent rate of every step that has an action. */
  readonly vasopressors: Float64Array;
  /** SOFA of every row (before imputation: organs not measured score 0). */
  readonly sofa: Int32Array;
  /** SOFA components of every row, summed over rows (which organs drive the score). */
  readonly sofaComponents: Readonly<Record<keyof Omit<SofaScore, "total">, number>>;
  /** Hours from ICU admission to onset, per stay. */
  readonly onsetHours: Float64Array;
  /** Per stay (in the table's order): its id, onset and window start (hours since the epoch), steps. */
  readonly windows: readonly { id: string; onset: number; start: number; steps: number }[];
  /** Rows read per table, and seconds. */
  readonly reads: Readonly<Record<string, { rows: number; kept: number; seconds: number }>>;
}

interface Stay {
  readonly stay: string;
  readonly subject: string;
  readonly hadm: string;
  readonly intime: number;
  readonly outtime: number;
  age: number;
  male: number;
  onset: number;
  start: number;
  end: number;
  steps: number;
  weightFromOrders: number;
}

/** A measured value: time, variable index (or -1 for GCS parts / vent items), item, value. */
type Obs = { time: number; variable: number; item: number; value: number };
/** A dose interval [start, end) with an amount (fluids, mL) or a rate (vasopressors, NE-eq). */
type Dose = { start: number; end: number; amount: number };

const LOOKBACK_HOURS = 24;
/** Column of each variable by name. */
const J = Object.fromEntries(SEPSIS_VARIABLES.map((v, j) => [v.name, j])) as Readonly<Record<string, number>>;
const GCS_PARTS = [220739, 223900, 223901];

/** Antibiotic and culture times per patient; onset per stay (module doc, step 2). */
function suspectedInfectionOnset(abx: readonly number[], cultures: readonly number[], from: number, to: number) {
  let onset = Infinity;
  for (const a of abx) {
    if (a < from || a > to || a >= onset) continue;
    if (cultures.some((c) => c >= a && c <= a + 24)) onset = a;
  }
  for (const c of cultures) {
    if (c < from || c > to || c >= onset) continue;
    if (abx.some((a) => a >= c && a <= c + 72)) onset = c;
  }
  return onset;
}

/** Resolved options of {@linkcode buildSepsisCohort}. */
interface Resolved {
  readonly before: number;
  readonly after: number;
  readonly H: number;
  readonly minSteps: number;
  readonly maxMissing: number;
  readonly knn: number;
}

function resolveOptions(options: SepsisCohortOptions): Resolved {
  const r = {
    before: options.hoursBefore ?? 24,
    after: options.hoursAfter ?? 48,
    H: options.stepHours ?? 4,
    minSteps: options.minSteps ?? 3,
    maxMissing: options.maxMissingRate ?? 0.7,
    knn: options.knn ?? 5,
  };
  for (const [k, v] of Object.entries({ hoursBefore: r.before, hoursAfter: r.after, minSteps: r.minSteps })) {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`buildSepsisCohort(${k}) must be >= 0, got ${v}`);
  }
  if (!(r.H > 0)) throw new RangeError(`buildSepsisCohort(stepHours) must be positive, got ${r.H}`);
  if (!(r.maxMissing >= 0 && r.maxMissing <= 1)) {
    throw new RangeError(`maxMissingRate must be in [0, 1], got ${r.maxMissing}`);
  }
  return r;
}

function pushTo<V>(map: Map<string, V[]>, key: string, value: V): void {
  const l = map.get(key);
  if (l) l.push(value);
  else map.set(key, [value]);
}

/** Steps 1-3 of the module doc: adult ICU stays with a suspected infection, the first per patient, and their windows. */
async function readCohortStays(mimic: MimicReader, o: Resolved, steps: CohortStep[]): Promise<Stay[]> {
  const stays: Stay[] = [];
  await mimic.read("icustays", ["subject_id", "hadm_id", "icustay_id", "intime", "outtime"], ([s, h, st, i, out]) => {
    stays.push({
      stay: st,
      subject: s,
      hadm: h,
      intime: mimicHours(i),
      outtime: mimicHours(out),
      age: NaN,
      male: NaN,
      onset: NaN,
      start: NaN,
      end: NaN,
      steps: 0,
      weightFromOrders: NaN,
    });
  });
  steps.push({ step: "ICU stays", count: stays.length });
  const patients = await readPatients(mimic);
  for (const s of stays) {
    const p = patients.get(s.subject);
    if (!p) continue;
    s.male = p.male;
    s.age = p.ageAt(s.intime);
  }
  let cohort = stays.filter((s) => s.age >= 18 && Number.isFinite(s.intime) && Number.isFinite(s.outtime));
  steps.push({ step: "adults (18+) at ICU admission", count: cohort.length });

  // Suspected infection: antibiotic and culture times per patient.
  const abx = new Map<string, number[]>(), cultures = new Map<string, number[]>();
  const excluded = new Set(SEPSIS_EXCLUDED_ROUTES);
  await mimic.read("prescriptions", ["subject_id", "startdate", "drug", "route"], ([subject, start, drug, route]) => {
    if (!SEPSIS_ANTIBIOTIC_PATTERN.test(drug) || excluded.has(route.trim().toUpperCase())) return false;
    if (/ophth|otic|cream|ointment|gel|lotion|desens|drops/i.test(drug)) return false;
    const t = mimicHours(start);
    if (!Number.isFinite(t)) return false;
    pushTo(abx, subject, t);
  });
  await mimic.read("microbiologyevents", ["subject_id", "charttime", "chartdate"], ([subject, time, date]) => {
    const t = mimicHours(time !== "" ? time : date);
    if (!Number.isFinite(t)) return false;
    pushTo(cultures, subject, t);
  });
  for (const s of cohort) {
    s.onset = suspectedInfectionOnset(
      abx.get(s.subject) ?? [],
      cultures.get(s.subject) ?? [],
      s.intime - 24,
      s.outtime,
    );
  }
  cohort = cohort.filter((s) => Number.isFinite(s.onset));
  steps.push({
    step: "suspected infection (antibiotic + culture) from 24 h before ICU admission to discharge",
    count: cohort.length,
  });

  // One stay per patient; windows.
  cohort.sort((a, b) => a.onset - b.onset);
  const seen = new Set<string>();
  cohort = cohort.filter((s) => (seen.has(s.subject) ? false : (seen.add(s.subject), true)));
  steps.push({ step: "first such stay of each patient", count: cohort.length });
  for (const s of cohort) {
    s.start = Math.max(s.onset - o.before, s.intime);
    s.end = Math.min(s.onset + o.after, s.outtime);
    s.steps = Math.max(0, Math.floor((s.end - s.start) / o.H));
  }
  return cohort.filter((s) => s.steps >= 1);
}

/** Admissions with a diabetes diagnosis (ICD-9 250.x, ICD-10 E08-E13). */
async function readDiabetes(mimic: MimicReader, cohort: readonly Stay[]): Promise<Set<string>> {
  const hadms = new Set(cohort.map((s) => s.hadm));
  const diabetic = new Set<string>();
  const iv = mimic.iv;
  await mimic.read("diagnoses_icd", iv ? ["hadm_id", "icd9_code", "icd_version"] : ["hadm_id", "icd9_code"], (v) => {
    if (!hadms.has(v[0])) return false;
    const code = v[1].trim().toUpperCase().replace(".", "");
    const ten = iv && v[2].trim() === "10";
    if (ten ? /^E(0[89]|1[0-3])/.test(code) : code.startsWith("250")) diabetic.add(v[0]);
  });
  return diabetic;
}

/** The measured variables (chart items by stay, labs by patient) and the times ventilator settings were charted. */
async function readMeasurements(mimic: MimicReader, cohort: readonly Stay[]) {
  const byStay = new Map(cohort.map((s) => [s.stay, s]));
  const bySubject = new Map(cohort.map((s) => [s.subject, s]));
  const chartVar = new Map<number, number>(), labVar = new Map<number, number>();
  SEPSIS_VARIABLES.forEach((v, j) => {
    v.chartIds?.forEach((id) => chartVar.set(id, j));
    v.labIds?.forEach((id) => labVar.set(id, j));
  });
  const vent = new Set(SEPSIS_VENT_ITEMS);
  // Kept measurements per stay, packed 4 numbers a row (time, variable, item, value): a plain
  // array of doubles costs 32 bytes a row where an object costs about 160 (measured on the 10x
  // demo), which matters on the full CHARTEVENTS (BENCHMARKS.md).
  const packed = new Map<string, number[]>();
  const inWindow = (s: Stay, t: number) => t >= s.start - LOOKBACK_HOURS && t < s.end;
  const keep = (s: Stay, time: number, item: number, j: number, raw: number) => {
    if (!inWindow(s, time) || !Number.isFinite(raw)) return false;
    const v = SEPSIS_VARIABLES[j];
    const conv = v.convert?.[item];
    let value = conv === "fahrenheit" ? (raw - 32) * 5 / 9 : conv === "pounds" ? raw * 0.45359237 : raw;
    if (v.name === "fio2" && (conv === "percent" || value > 1)) value = value / 100;
    if (!GCS_PARTS.includes(item) && !(value >= v.range![0] && value <= v.range![1])) return false;
    const l = packed.get(s.stay);
    if (l) l.push(time, j, item, value);
    else packed.set(s.stay, [time, j, item, value]);
    return true;
  };
  const ventTimes = new Map<string, number[]>();
  await mimic.read("chartevents", ["icustay_id", "itemid", "charttime", "valuenum"], ([st, item, t, value]) => {
    const s = byStay.get(st);
    if (!s) return false;
    const id = Number(item), time = mimicHours(t);
    if (vent.has(id)) {
      if (inWindow(s, time)) pushTo(ventTimes, st, time);
      return true;
    }
    const j = chartVar.get(id);
    if (j === undefined || value === "") return false;
    return keep(s, time, id, j, Number(value));
  });
  await mimic.read("labevents", ["subject_id", "itemid", "charttime", "valuenum"], ([subject, item, t, value]) => {
    const s = bySubject.get(subject);
    const j = labVar.get(Number(item));
    if (!s || j === undefined || value === "") return false;
    return keep(s, mimicHours(t), Number(item), j, Number(value));
  });
  return { packed, ventTimes };
}

/** A vasopressor rate to mcg/kg/min of norepinephrine (null when the unit is not one we know; 80 kg without a weight). */
function neEquivalent(k: number, rate: number, uom: string, weight: number): number | null {
  const u = uom.toLowerCase().replace(/[^a-z]/g, "");
  const w = weight > 0 ? weight : 80;
  const f = SEPSIS_VASOPRESSORS[k].factor;
  if (SEPSIS_VASOPRESSORS[k].drug === "vasopressin") {
    if (u === "unitsmin" || u === "umin") return rate * f;
    if (u === "unitshour" || u === "uhr" || u === "unitshr") return rate * f / 60;
    return null;
  }
  if (u === "mcgkgmin") return rate * f;
  if (u === "mcgmin") return rate * f / w;
  return null;
}

/** Per stay: IV fluid doses (tonicity-adjusted mL), vasopressor intervals per drug (NE-equivalent rate), urine outputs. */
async function readDoses(mimic: MimicReader, cohort: readonly Stay[]) {
  const byStay = new Map(cohort.map((s) => [s.stay, s]));
  const fluids = new Map<string, Dose[]>(), vaso = new Map<string, Dose[][]>(), urine = new Map<string, Dose[]>();
  const vasoOf = new Map<number, number>();
  SEPSIS_VASOPRESSORS.forEach((d, k) => d.itemIds.forEach((id) => vasoOf.set(id, k)));
  const vasoRows: { st: string; k: number; start: number; end: number; rate: number }[] = [];
  await mimic.read(
    "inputevents_mv",
    ["icustay_id", "itemid", "starttime", "endtime", "amount", "rate", "rateuom", "patientweight", "statusdescription"],
    ([st, item, start, end, amount, rate, uom, weight, status]) => {
      const s = byStay.get(st);
      if (!s || status.trim().toLowerCase() === "rewritten") return false;
      const id = Number(item), t0 = mimicHours(start), t1 = mimicHours(end);
      if (Number(weight) > 0 && !(s.weightFromOrders > 0)) s.weightFromOrders = Number(weight);
      if (!(t1 >= t0) || t1 < s.start || t0 >= s.end) return false;
      const factor = SEPSIS_FLUID_ITEMS[id];
      if (factor !== undefined && Number(amount) > 0) {
        pushTo(fluids, st, { start: t0, end: t1, amount: Number(amount) * factor });
        return true;
      }
      const k = vasoOf.get(id);
      if (k !== undefined && rate !== "") {
        const ne = neEquivalent(k, Number(rate), uom, Number(weight));
        if (ne === null || !(ne >= 0)) return false;
        vasoRows.push({ st, k, start: t0, end: t1, rate: ne });
        return true;
      }
      return false;
    },
  );
  if (!mimic.iv) {
    const cvRates: { st: string; k: number; time: number; rate: number }[] = [];
    await mimic.read(
      "inputevents_cv",
      ["icustay_id", "itemid", "charttime", "amount", "rate", "rateuom"],
      ([st, item, t, amount, rate, uom]) => {
        const s = byStay.get(st);
        if (!s) return false;
        const id = Number(item), time = mimicHours(t);
        if (!(time >= s.start - LOOKBACK_HOURS && time < s.end)) return false;
        const factor = SEPSIS_FLUID_ITEMS[id];
        if (factor !== undefined && Number(amount) > 0) {
          pushTo(fluids, st, { start: time, end: time, amount: Number(amount) * factor });
          return true;
        }
        const k = vasoOf.get(id);
        if (k !== undefined && rate !== "") {
          const ne = neEquivalent(k, Number(rate), uom, NaN);
          if (ne === null || !(ne >= 0)) return false;
          cvRates.push({ st, k, time, rate: ne });
          return true;
        }
        return false;
      },
    );
    // CareVue charts a running drip's rate about hourly: a rate holds until the drug's next row, at most 4 h.
    cvRates.sort((a, b) => (a.st === b.st ? (a.k === b.k ? a.time - b.time : a.k - b.k) : a.st < b.st ? -1 : 1));
    cvRates.forEach((c, i) => {
      const next = cvRates[i + 1];
      const until = next && next.st === c.st && next.k === c.k ? Math.min(next.time, c.time + 4) : c.time + 1;
      if (c.rate > 0) vasoRows.push({ st: c.st, k: c.k, start: c.time, end: until, rate: c.rate });
    });
  }
  for (const r of vasoRows) {
    const per = vaso.get(r.st) ?? SEPSIS_VASOPRESSORS.map(() => []);
    per[r.k].push({ start: r.start, end: r.end, amount: r.rate });
    vaso.set(r.st, per);
  }
  const urineItems = new Set(SEPSIS_URINE_ITEMS);
  await mimic.read("outputevents", ["icustay_id", "itemid", "charttime", "value"], ([st, item, t, value]) => {
    const s = byStay.get(st);
    const v = Number(value), time = mimicHours(t);
    if (!s || !urineItems.has(Number(item)) || value === "" || !(v >= 0 && v <= 5000)) return false;
    if (!(time >= s.start && time < s.end)) return false;
    pushTo(urine, st, { start: time, end: time, amount: v });
    return true;
  });
  return { fluids, vaso, urine };
}

/** A stay's measurements unpacked in time order, MetaVision's GCS components summed per time stamp. */
function stayMeasurements(packed: readonly number[]): Obs[] {
  const gcsJ = J.gcs;
  const parts = new Map<number, Map<number, number>>();
  const values: Obs[] = [];
  for (let k = 0; k < packed.length; k += 4) {
    const o = { time: packed[k], variable: packed[k + 1], item: packed[k + 2], value: packed[k + 3] };
    if (!GCS_PARTS.includes(o.item)) {
      values.push(o);
      continue;
    }
    const byItem = parts.get(o.time) ?? new Map<number, number>();
    byItem.set(o.item, o.value);
    parts.set(o.time, byItem);
  }
  for (const [time, byItem] of parts) {
    const total = [...byItem.values()].reduce((a, b) => a + b, 0);
    if (byItem.size === 3 && total >= 3 && total <= 15) values.push({ time, variable: gcsJ, item: 0, value: total });
  }
  return values.sort((a, b) => a.time - b.time);
}

/** Share of a dose's interval inside [a, b) (a point dose counts whole where it falls). */
function overlap(d: Dose, a: number, b: number): number {
  return d.end > d.start
    ? Math.max(0, Math.min(d.end, b) - Math.max(d.start, a)) / (d.end - d.start)
    : (d.start >= a && d.start < b ? 1 : 0);
}

/** One stay on the grid: each step's state row (before imputation), SOFA, fluid volume and vasopressor rate. */
interface StayGrid {
  readonly s: Stay;
  readonly rows: Float64Array[];
  readonly sofa: SofaScore[];
  readonly fluid: number[];
  readonly vaso: number[];
}

/** The window's steps of one stay (module doc: step means, sample-and-hold, derived columns, SOFA, doses). */
function stayGrid(
  s: Stay,
  values: readonly Obs[],
  doses: { fluids: readonly Dose[]; vaso?: readonly (readonly Dose[])[]; urine: readonly Dose[] },
  ventTimes: readonly number[],
  diabetic: boolean,
  H: number,
): StayGrid {
  const F = SEPSIS_VARIABLES.length;
  const last = new Float64Array(F).fill(NaN);
  let k = 0, balance = 0;
  const out: StayGrid = { s, rows: [], sofa: [], fluid: [], vaso: [] };
  for (let step = 0; step < s.steps; step++) {
    const a = s.start + step * H, b = a + H;
    while (k < values.length && values[k].time < a) last[values[k].variable] = values[k++].value;
    const sum = new Float64Array(F), count = new Float64Array(F);
    while (k < values.length && values[k].time < b) {
      sum[values[k].variable] += values[k].value;
      count[values[k].variable]++;
      k++;
    }
    for (let j = 0; j < F; j++) if (count[j] > 0) last[j] = sum[j] / count[j];
    const row = Float64Array.from(last);
    row[J.age] = s.age;
    row[J.gender] = s.male;
    row[J.diabetes] = diabetic ? 1 : 0;
    if (!Number.isFinite(row[J.weight]) && s.weightFromOrders > 0) row[J.weight] = s.weightFromOrders;
    const ventilated = ventTimes.some((t) => t >= a - H && t < b); // a setting charted in this or the previous step
    row[J.mechvent] = ventilated ? 1 : 0;
    row[J.shock_index] = row[J.hr] / row[J.sbp];
    row[J.pf_ratio] = row[J.pao2] / (Number.isFinite(row[J.fio2]) ? row[J.fio2] : ventilated ? NaN : 0.21);
    row[J.sirs] = sirsCount(row[J.temp], row[J.hr], row[J.rr], row[J.paco2], row[J.wbc]);
    const urineRows = doses.urine.filter((d) => d.start >= a && d.start < b);
    const urineStep = urineRows.reduce((t, d) => t + d.amount, 0);
    row[J.urine_output] = urineStep;
    row[J.fluid_balance] = balance;
    const fluidStep = doses.fluids.reduce((t, d) => t + d.amount * overlap(d, a, b), 0);
    let vasoStep = 0;
    for (const drug of doses.vaso ?? []) {
      vasoStep += drug.reduce((mx, d) => (d.end > a && d.start < b ? Math.max(mx, d.amount) : mx), 0);
    }
    balance += fluidStep - urineStep;
    const sofa = sofaScore({
      pfRatio: row[J.pf_ratio],
      ventilated,
      platelets: row[J.platelets],
      bilirubin: row[J.bilirubin],
      map: row[J.map],
      vasopressor: vasoStep,
      gcs: row[J.gcs],
      creatinine: row[J.creatinine],
      urinePerDay: urineRows.length > 0 ? urineStep * 24 / H : NaN,
    });
    row[J.sofa] = sofa.total;
    out.rows.push(row);
    out.sofa.push(sofa);
    out.fluid.push(fluidStep);
    out.vaso.push(vasoStep);
  }
  return out;
}

/** The kept stays as the kit's step table: sparse variables dropped (never SOFA), KNN imputation, 3 x 3 actions, -SOFA(t + 1). */
function encodeCohort(grids: readonly StayGrid[], dir: string, o: Resolved) {
  const F = SEPSIS_VARIABLES.length;
  const ids: string[] = [], times: number[] = [], rows: Float64Array[] = [];
  const stepFluid: number[] = [], stepVaso: number[] = [], sofaRows: number[] = [];
  const components = { respiration: 0, coagulation: 0, liver: 0, cardiovascular: 0, cns: 0, renal: 0 };
  for (const { s, rows: r, sofa, fluid, vaso } of grids) {
    r.forEach((row, step) => {
      ids.push(`icu-${s.stay}`);
      times.push(step);
      rows.push(row);
      const x = sofa[step];
      sofaRows.push(x.total);
      for (const c of Object.keys(components) as (keyof typeof components)[]) components[c] += x[c];
      stepFluid.push(step + 1 < r.length ? fluid[step] : NaN);
      stepVaso.push(step + 1 < r.length ? vaso[step] : NaN);
    });
  }
  const names = SEPSIS_VARIABLES.map((v) => v.name);
  const n = ids.length;
  const lastOf = Uint8Array.from(ids, (id, r) => (r + 1 === n || ids[r + 1] !== id ? 1 : 0));
  const raw: StepTable = {
    featureNames: names,
    numActions: 9,
    ids,
    times: Int32Array.from(times),
    features: new Float64Array(n * F),
    actions: Int32Array.from(ids, (_, r) => (lastOf[r] ? -1 : 0)),
    rewards: Float64Array.from(ids, (_, r) => (lastOf[r] ? NaN : 0)),
    dones: new Uint8Array(n),
    source: dir,
  };
  rows.forEach((row, r) => raw.features.set(row, r * F));
  const rates = missingRates(raw);
  const missing = names.map((name, j) => ({
    name,
    missingRate: rates[j],
    kept: name === "sofa" || rates[j] <= o.maxMissing,
  }));
  const kept = selectFeatures(raw, missing.filter((x) => x.kept).map((x) => x.name));
  let imputed: StepTable;
  try {
    imputed = knnImpute(kept, { k: o.knn });
  } catch (err) {
    throw new RangeError(
      `${dir}: cannot impute the cohort's variables (${
        (err as Error).message
      }); lower maxMissingRate (now ${o.maxMissing}) to drop more sparse variables`,
    );
  }
  const positive = (xs: number[]) => xs.filter((x) => x > 0);
  const fluidCut = quantiles(positive(stepFluid), [0.5])[0];
  const vasopressorCut = quantiles(positive(stepVaso), [0.5])[0];
  const bin = (x: number, cut: number) => (x > 0 ? (x > cut ? 2 : 1) : 0);
  const actions = Int32Array.from(raw.actions), rewards = Float64Array.from(raw.rewards);
  for (let r = 0; r < n; r++) {
    if (lastOf[r]) continue;
    actions[r] = 3 * bin(stepFluid[r], fluidCut) + bin(stepVaso[r], vasopressorCut);
    rewards[r] = -sofaRows[r + 1];
  }
  const acted = (xs: number[]) => Float64Array.from(xs.filter((_, r) => !lastOf[r]));
  return {
    table: { ...imputed, actions, rewards },
    missing,
    fluidCut,
    vasopressorCut,
    fluids: acted(stepFluid),
    vasopressors: acted(stepVaso),
    sofa: Int32Array.from(sofaRows),
    sofaComponents: components,
  };
}

/** Builds the sepsis cohort from the MIMIC folder `dir` (module doc). */
export async function buildSepsisCohort(dir: string, options: SepsisCohortOptions = {}): Promise<SepsisCohort> {
  const log = options.progress ?? (() => {});
  const o = resolveOptions(options);
  const mimic = await openMimic(dir, [
    "patients",
    "icustays",
    "prescriptions",
    "microbiologyevents",
    "diagnoses_icd",
    "inputevents_mv",
    "inputevents_cv",
    "outputevents",
    "chartevents",
    "labevents",
  ], log);
  const steps: CohortStep[] = [];
  const cohort = await readCohortStays(mimic, o, steps);
  if (cohort.length === 0) throw new RangeError(`${dir}: no ICU stay with a suspected infection (${describe(steps)})`);
  const diabetic = await readDiabetes(mimic, cohort);
  const { packed, ventTimes } = await readMeasurements(mimic, cohort);
  const doses = await readDoses(mimic, cohort);
  const grids = cohort.map((s) => {
    const values = stayMeasurements(packed.get(s.stay) ?? []);
    packed.delete(s.stay);
    return stayGrid(
      s,
      values,
      { fluids: doses.fluids.get(s.stay) ?? [], vaso: doses.vaso.get(s.stay), urine: doses.urine.get(s.stay) ?? [] },
      ventTimes.get(s.stay) ?? [],
      diabetic.has(s.hadm),
      o.H,
    );
  });
  // 4. Sepsis: SOFA >= 2 in a step starting within 24 h of onset; 5. enough steps.
  const septic = grids.filter(({ s, sofa }) =>
    sofa.some((x, step) => Math.abs(s.start + step * o.H - s.onset) <= 24 && x.total >= 2)
  );
  steps.push({ step: "SOFA >= 2 in a 4-h step within 24 h of onset", count: septic.length });
  const long = septic.filter(({ s }) => s.steps >= o.minSteps);
  steps.push({ step: `at least ${o.minSteps} steps of ${o.H} h in the window`, count: long.length });
  if (long.length === 0) {
    throw new RangeError(`${dir}: no ICU stay is left after the inclusion steps (${describe(steps)})`);
  }
  const encoded = encodeCohort(long, dir, o);
  log(`${long.length} stays, ${encoded.table.ids.length} steps`);
  const stays = long.map((g) => g.s);
  return {
    ...encoded,
    version: mimic.layout.version,
    steps,
    onsetHours: Float64Array.from(stays, (s) => s.onset - s.intime),
    windows: stays.map((s) => ({ id: `icu-${s.stay}`, onset: s.onset, start: s.start, steps: s.steps })),
    reads: mimic.reads,
  };
}

function describe(steps: readonly CohortStep[]): string {
  return steps.map((s) => `${s.step}: ${s.count}`).join("; ");
}
