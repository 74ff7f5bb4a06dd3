/**
 * Prints the heparin cohort's calibration: the simulated clinician's drips against the MIMIC-III
 * demo's (../shared/mimic-iii-demo/README.md), as docs/simulators.md shows it.
 *
 *   deno task calibrate [--patients 2000] [--seed 0]
 */
import { parseCli } from "./cli.ts";
import {
  createHeparinEnv,
  createRng,
  drawPopulation,
  heparinDripStats,
  MIMIC_DEMO_HEPARIN_STATS,
  traceHeparin,
} from "../mod.ts";

const { values } = parseCli("calibrate", "usage: deno task calibrate", {
  options: { patients: { type: "string", default: "2000" }, seed: { type: "string", default: "0" } },
});
const patients = Number(values.patients), seed = Number(values.seed);
if (!Number.isInteger(patients) || patients < 1 || !Number.isInteger(seed)) {
  console.error("usage: deno task calibrate [--patients N] [--seed S]");
  Deno.exit(2);
}
const env = createHeparinEnv();
const stats = heparinDripStats(traceHeparin(env, drawPopulation(env, createRng(seed), patients), { seed: seed + 1 }));
const demo = MIMIC_DEMO_HEPARIN_STATS;
const f = (x: number) => x.toFixed(2);
const rows = [
  ["aPTT on drip: n", String(demo.apttCount), String(stats.apttCount)],
  [
    "aPTT quartiles (s)",
    demo.apttQuartiles.map((x) => x.toFixed(1)).join(" / "),
    stats.apttQuartiles.map((x) => x.toFixed(1)).join(" / "),
  ],
  ["share in 60-100 s", f(demo.inRange), f(stats.inRange)],
  ["share below 60 s", f(demo.below), f(stats.below)],
  ["share above 100 s", f(demo.above), f(stats.above)],
  [
    "rate sextiles (U/kg/h)",
    demo.rateSextiles.map((x) => x.toFixed(1)).join(" / "),
    stats.rateSextiles.map((x) => x.toFixed(1)).join(" / "),
  ],
  ["median rate (U/kg/h)", demo.medianRate.toFixed(1), stats.medianRate.toFixed(1)],
  ["true time in 60-100 s", "(not observable)", f(stats.trueTimeInRange)],
];
console.log(`| statistic | MIMIC-III demo | simulated (${patients} patients, seed ${seed}) |\n| --- | --- | --- |`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
