/**
 * Builds a dataset in the kit's CSV format from your own MIMIC tables (MIMIC-III or MIMIC-IV,
 * `.csv` or `.csv.gz`, layout detected), streaming every table (memory stays bounded on the full
 * CHARTEVENTS).
 *
 *   deno task cohort heparin --mimic-dir DIR [--out heparin.csv] [--max-missing 0.5]
 *
 * Writes the CSV (one ICU stay per patient, hourly rows: OMG-RL's variables, the dose bin as
 * action, r_p of the next aPTT as reward) and beside it <out>.report.json and
 * <out>.report.html: the count left after each inclusion step, each variable's missing rate
 * (and whether it was kept), the dose-bin edges, and the distributions of dose and aPTT. The
 * cohort's definition, item ids and units are in lib/data/heparin_cohort.ts and docs/mimic.md.
 */
import { parseCli } from "./cli.ts";
import {
  barFigure,
  buildHeparinCohort,
  HEPARIN_VARIABLES,
  histogramFigure,
  MimicInputError,
  quantiles,
  tableFigure,
  writeFigureHtml,
  writeStepCsv,
  writeTextAtomic,
} from "../mod.ts";

const USAGE = "usage: deno task cohort heparin --mimic-dir DIR [--out heparin.csv] [--max-missing 0.5]";
function fail(message: string, code = 2): never {
  console.error(`cohort: ${message}${code === 2 ? `\n${USAGE}` : ""}`);
  Deno.exit(code);
}
const { values, positionals } = parseCli("cohort", USAGE, {
  allowPositionals: true,
  options: {
    "mimic-dir": { type: "string" },
    out: { type: "string", default: "heparin.csv" },
    "max-missing": { type: "string", default: "0.5" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (positionals[0] !== "heparin") fail(positionals[0] ? `unknown cohort "${positionals[0]}"` : "name a cohort");
if (!values["mimic-dir"]) fail("--mimic-dir is required");
const maxMissing = Number(values["max-missing"]);
if (!(maxMissing >= 0 && maxMissing <= 1)) fail(`--max-missing must be in [0, 1], got "${values["max-missing"]}"`);

const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
let cohort;
try {
  cohort = await buildHeparinCohort(values["mimic-dir"]!, {
    maxMissingRate: maxMissing,
    progress: (m) => console.error(`${stamp()} cohort: ${m}`),
  });
} catch (err) {
  if (err instanceof MimicInputError || err instanceof RangeError) fail((err as Error).message, 1);
  throw err;
}
const out = values.out!;
const stem = out.replace(/\.csv$/i, "");
if (out.includes("/")) await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
await writeStepCsv(out, cohort.table);

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const sextiles = [1, 2, 3, 4, 5].map((k) => k / 6);
const apttQ = quantiles(cohort.windowAptt, [0.25, 0.5, 0.75]);
const report = {
  mimicDir: values["mimic-dir"],
  version: cohort.version,
  steps: cohort.steps,
  stays: new Set(cohort.table.ids).size,
  rows: cohort.table.ids.length,
  features: cohort.table.featureNames,
  missing: cohort.missing,
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
};
await writeTextAtomic(`${stem}.report.json`, JSON.stringify(report, null, 1) + "\n");
const dir = stem.includes("/") ? stem.slice(0, stem.lastIndexOf("/")) : ".";
const page = await writeFigureHtml(dir, `${stem.split("/").pop()}.report`, "Heparin cohort", [
  tableFigure("Inclusion steps", ["step", "ICU stays"], cohort.steps.map((s) => [s.step, String(s.count)])),
  barFigure(
    "Missing rate of each variable after sample-and-hold (dropped above the threshold)",
    "variable",
    "share of hours missing",
    [
      {
        name: "kept",
        x: cohort.missing.map((m) => m.name),
        y: cohort.missing.map((m) => (m.kept ? m.missingRate : 0)),
      },
      {
        name: "dropped",
        x: cohort.missing.map((m) => m.name),
        y: cohort.missing.map((m) => (m.kept ? 0 : m.missingRate)),
      },
    ],
  ),
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
