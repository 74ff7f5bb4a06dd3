/**
 * Builds a dataset in the kit's CSV format from your own MIMIC tables (MIMIC-III or MIMIC-IV,
 * `.csv` or `.csv.gz`, layout detected), streaming every table (memory stays bounded on the full
 * CHARTEVENTS).
 *
 *   deno task cohort heparin --mimic-dir DIR [--out heparin.csv] [--max-missing 0.5]
 *   deno task cohort sepsis --mimic-dir DIR [--out sepsis.csv] [--max-missing 0.7]
 *
 * Writes the CSV (one ICU stay per patient, hourly rows: OMG-RL's variables, the dose bin as
 * action, r_p of the next aPTT as reward) and beside it <out>.report.json and
 * <out>.report.html: the count left after each inclusion step, each variable's missing rate
 * (and whether it was kept), the dose-bin edges, and the distributions of dose and aPTT. The
 * cohort's definition, item ids and units are in lib/data/heparin_cohort.ts and docs/mimic.md.
 * The sepsis cohort (P4L's section 7, as Raghu et al. / the AI Clinician) writes 4-hourly rows
 * (46 variables, 9 actions: IV fluid x vasopressor bins, reward -SOFA at t + 1) and a report
 * with the inclusion counts, missing rates, dose and SOFA histograms and the bins' cut points
 * (lib/data/sepsis_cohort.ts, docs/mimic.md).
 */
import { parseCli } from "./cli.ts";
import {
  barFigure,
  buildHeparinCohort,
  buildSepsisCohort,
  HEPARIN_VARIABLES,
  histogramFigure,
  MimicInputError,
  provenance,
  quantiles,
  SEPSIS_VARIABLES,
  type StepTable,
  tableFigure,
  writeFigureHtml,
  writeStepCsv,
  writeTextAtomic,
} from "../mod.ts";

const USAGE = "usage: deno task cohort heparin|sepsis --mimic-dir DIR [--out heparin.csv|sepsis.csv] " +
  "[--max-missing 0.5 (heparin), 0.7 (sepsis)]";
function fail(message: string, code = 2): never {
  console.error(`cohort: ${message}${code === 2 ? `\n${USAGE}` : ""}`);
  Deno.exit(code);
}
const { values, positionals } = parseCli("cohort", USAGE, {
  allowPositionals: true,
  options: {
    "mimic-dir": { type: "string" },
    out: { type: "string" },
    "max-missing": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const which = positionals[0];
if (which !== "heparin" && which !== "sepsis") fail(which ? `unknown cohort "${which}"` : "name a cohort");
if (positionals.length > 1) fail(`unexpected argument "${positionals[1]}"`);
if (!values["mimic-dir"]) fail("--mimic-dir is required");
const maxMissing = Number(values["max-missing"] ?? (which === "sepsis" ? "0.7" : "0.5"));
if (!(maxMissing >= 0 && maxMissing <= 1)) fail(`--max-missing must be in [0, 1], got "${values["max-missing"]}"`);
const out = values.out ?? `${which}.csv`;
try {
  if ((await Deno.stat(out)).isDirectory) fail(`--out ${out} is a folder (expected a CSV file name)`);
} catch (err) {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}

const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
/** Each variable's missing rate after sample-and-hold, kept or dropped (above --max-missing). */
function missingFigure(missing: readonly { name: string; missingRate: number; kept: boolean }[], unit: string) {
  const x = missing.map((m) => m.name);
  return barFigure(
    "Missing rate of each variable after sample-and-hold (dropped above the threshold)",
    "variable",
    `share of ${unit} missing`,
    [
      { name: "kept", x, y: missing.map((m) => (m.kept ? m.missingRate : 0)) },
      { name: "dropped", x, y: missing.map((m) => (m.kept ? 0 : m.missingRate)) },
    ],
  );
}

/** What both reports open with: the folder, the MIMIC version, the inclusion steps, the table's size and missing rates. */
function reportHead(cohort: {
  version: string;
  steps: readonly { step: string; count: number }[];
  table: StepTable;
  missing: readonly { name: string; missingRate: number; kept: boolean }[];
}) {
  return {
    mimicDir: values["mimic-dir"],
    version: cohort.version,
    steps: cohort.steps,
    stays: new Set(cohort.table.ids).size,
    rows: cohort.table.ids.length,
    features: cohort.table.featureNames,
    missing: cohort.missing,
  };
}

/** Runs a cohort builder on --mimic-dir, a bad folder or an empty cohort ending the task with its message. */
async function build<T>(
  builder: (dir: string, o: { maxMissingRate: number; progress: (m: string) => void }) => Promise<T>,
): Promise<T> {
  try {
    return await builder(values["mimic-dir"]!, {
      maxMissingRate: maxMissing,
      progress: (m) => console.error(`${stamp()} cohort: ${m}`),
    });
  } catch (err) {
    if (err instanceof MimicInputError || err instanceof RangeError) fail((err as Error).message, 1);
    throw err;
  }
}

/** Writes the cohort's CSV at --out (making its folder); returns the stem the reports are named after. */
async function writeTable(table: StepTable): Promise<string> {
  if (out.includes("/")) await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
  await writeStepCsv(out, table);
  return out.replace(/\.csv$/i, "");
}

if (which === "sepsis") {
  await sepsisCohort();
  Deno.exit(0);
}
const cohort = await build(buildHeparinCohort);
const stem = await writeTable(cohort.table);

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const sextiles = [1, 2, 3, 4, 5].map((k) => k / 6);
const apttQ = quantiles(cohort.windowAptt, [0.25, 0.5, 0.75]);
const report = {
  ...reportHead(cohort),
  doseEdges: cohort.doseEdges,
  hourlyDose: { hours: cohort.hourlyDoses.length, quartiles: quantiles(cohort.hourlyDoses, [0.25, 0.5, 0.75]) },
  windowAptt: { count: cohort.windowAptt.length, quartiles: apttQ },
  metavisionDripRows: {
    rows: cohort.dripRows.rows,
    stays: cohort.dripRows.stays,
    admissions: cohort.dripRows.admissions,
    ratePerKgSextiles: quantiles(cohort.dripRows.ratePerKg, sextiles, "weibull"),
    apttDuringDrips: {
      count: cohort.dripRows.apttDuringDrips.length,
      quartiles: quantiles(cohort.dripRows.apttDuringDrips, [0.25, 0.5, 0.75], "weibull"),
    },
  },
  reads: cohort.reads,
  seconds: (performance.now() - started) / 1000,
  provenance: provenance(started),
};
await writeTextAtomic(`${stem}.report.json`, JSON.stringify(report, null, 1) + "\n");
const dir = stem.includes("/") ? stem.slice(0, stem.lastIndexOf("/")) : ".";
const page = await writeFigureHtml(dir, `${stem.split("/").pop()}.report`, "Heparin cohort", [
  tableFigure("Inclusion steps", ["step", "ICU stays"], cohort.steps.map((s) => [s.step, String(s.count)])),
  missingFigure(cohort.missing, "hours"),
  histogramFigure(
    "Hourly heparin dose (U/kg/h), with the dose-bin edges",
    "U/kg/h",
    cohort.hourlyDoses,
    cohort.doseEdges.map((e, k) => ({ x: e, label: `${k}|${k + 1}` })),
  ),
  histogramFigure("aPTT measured in the windows (s), therapeutic range 60-100 s", "aPTT (s)", cohort.windowAptt, [
    { x: 60, label: "60" },
    { x: 100, label: "100" },
  ]),
  tableFigure(
    "Variables (item ids and units)",
    ["variable", "source", "unit", "items", "missing", "kept"],
    HEPARIN_VARIABLES.map((v, j) => [
      v.name,
      v.source,
      v.unit,
      v.label,
      f(cohort.missing[j].missingRate, 2),
      cohort.missing[j].kept ? "yes" : "no",
    ]),
  ),
]);
console.error(
  `${stamp()} cohort: ${report.stays} stays, ${report.rows} rows, ${report.features.length} variables (${
    cohort.missing.filter((m) => !m.kept).map((m) => m.name).join(", ") || "none"
  } dropped); dose edges ${cohort.doseEdges.map((e) => f(e)).join(", ")} U/kg/h; aPTT median ${f(apttQ[1])} s`,
);
console.log(`cohort: wrote ${out}, ${stem}.report.json and ${page}`);

/** `deno task cohort sepsis`: the CSV, <out>.report.json and <out>.report.html. */
async function sepsisCohort(): Promise<void> {
  const cohort = await build(buildSepsisCohort);
  const stem = await writeTable(cohort.table);
  const actionCounts = new Array(9).fill(0);
  for (const a of cohort.table.actions) if (a >= 0) actionCounts[a]++;
  const sofaCounts = new Array(25).fill(0);
  for (const s of cohort.sofa) sofaCounts[s]++;
  const q = (xs: ArrayLike<number>) => quantiles(xs, [0.25, 0.5, 0.75]);
  const positive = (xs: Float64Array) => xs.filter((x) => x > 0);
  const report = {
    ...reportHead(cohort),
    actions: {
      encoding: "3 x fluid bin + vasopressor bin; bin 0 none, 1 up to the cut, 2 above it",
      fluidCutMl: cohort.fluidCut,
      vasopressorCutMcgKgMin: cohort.vasopressorCut,
      counts: actionCounts,
    },
    fluidsMl: {
      steps: cohort.fluids.length,
      positive: positive(cohort.fluids).length,
      quartiles: q(positive(cohort.fluids)),
    },
    vasopressors: {
      steps: cohort.vasopressors.length,
      positive: positive(cohort.vasopressors).length,
      quartiles: q(positive(cohort.vasopressors)),
    },
    sofa: { counts: sofaCounts, quartiles: q(cohort.sofa), componentTotals: cohort.sofaComponents },
    onsetHoursFromIcuAdmission: q(cohort.onsetHours),
    windows: cohort.windows,
    reads: cohort.reads,
    seconds: (performance.now() - started) / 1000,
    provenance: provenance(started),
  };
  await writeTextAtomic(`${stem}.report.json`, JSON.stringify(report, null, 1) + "\n");
  const dir = stem.includes("/") ? stem.slice(0, stem.lastIndexOf("/")) : ".";
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
  const page = await writeFigureHtml(dir, `${stem.split("/").pop()}.report`, "Sepsis cohort", [
    tableFigure("Inclusion steps", ["step", "ICU stays"], cohort.steps.map((s) => [s.step, String(s.count)])),
    missingFigure(cohort.missing, "steps"),
    histogramFigure(
      "IV fluids per 4-h step with any (mL, tonicity-adjusted), with the cut",
      "mL",
      positive(cohort.fluids),
      [
        { x: cohort.fluidCut, label: "1|2" },
      ],
    ),
    histogramFigure(
      "Vasopressor per 4-h step with any (mcg/kg/min norepinephrine equivalent), with the cut",
      "mcg/kg/min",
      positive(cohort.vasopressors),
      [{ x: cohort.vasopressorCut, label: "1|2" }],
    ),
    barFigure("Actions (fluid bin, vasopressor bin)", "action", "steps", [{
      name: "steps",
      x: actionCounts.map((_, a) => `${a} (F${Math.floor(a / 3)} V${a % 3})`),
      y: actionCounts,
    }]),
    barFigure("SOFA per step", "SOFA", "steps", [{
      name: "steps",
      x: sofaCounts.map((_, s) => String(s)),
      y: sofaCounts,
    }]),
    tableFigure(
      "Variables (item ids, units, missing rate)",
      ["variable", "source", "unit", "chart items", "lab items", "missing", "kept"],
      SEPSIS_VARIABLES.map((v, j) => [
        v.name,
        v.source,
        v.unit,
        (v.chartIds ?? []).join(" "),
        (v.labIds ?? []).join(" "),
        f(cohort.missing[j].missingRate),
        cohort.missing[j].kept ? "yes" : "no",
      ]),
    ),
  ]);
  console.error(
    `${stamp()} cohort: ${report.stays} stays, ${report.rows} steps, ${report.features.length} variables (${
      cohort.missing.filter((m) => !m.kept).map((m) => m.name).join(", ") || "none"
    } dropped); cuts: fluids ${f(cohort.fluidCut, 0)} mL, vasopressors ${f(cohort.vasopressorCut, 3)} mcg/kg/min; ` +
      `SOFA median ${f(report.sofa.quartiles[1], 1)}`,
  );
  console.log(`cohort: wrote ${out}, ${stem}.report.json and ${page}`);
}
