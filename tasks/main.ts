/**
 * The kit's main job: heparin dosing on the bundled simulator with defaults that finish in about
 * five minutes on 2 cores. On each state preset (the paper's 16 variables; the clinical state with
 * the last aPTT and the dosing context; the compact dosing state) it trains OMG-RL, COMBO, behaviour cloning and
 * discrete CQL, then prints every policy's true time in the aPTT range and r_p return beside the
 * simulated clinician's, the fixed nomogram rule's and a uniform policy's; it writes
 * out/main/main.json and out/main/main.html.
 *
 *   deno task main [--out out/main] [--seed 0] [--quick] [--preset paper|clinical|dosing|all] [--parallel 2]
 */
import { parseCli } from "./cli.ts";
import {
  type ComparisonRow,
  HEPARIN_STATE_PRESETS,
  type HeparinStatePreset,
  initBackend,
  OMG_RL_MAIN,
  OMG_RL_QUICK,
  removeStaleTemps,
  runOmgRlMain,
  runRecord,
  writeFigureHtml,
  writeTextAtomic,
} from "../mod.ts";

const USAGE =
  "usage: deno task main [--out dir] [--seed n] [--quick] [--preset paper|clinical|dosing|all] [--parallel n]";
const { values } = parseCli("main", USAGE, {
  options: {
    out: { type: "string", default: "out/main" },
    seed: { type: "string", default: "0" },
    quick: { type: "boolean", default: false },
    preset: { type: "string", default: "all" },
    parallel: { type: "string", default: "2" },
  },
});
const fail = (message: string): never => {
  console.error(`main: ${message}\n${USAGE}`);
  Deno.exit(2);
};
const seed = Number(values.seed);
if (!Number.isInteger(seed)) fail(`--seed needs an integer, got ${values.seed}`);
const parallel = Number(values.parallel);
if (!Number.isInteger(parallel) || parallel < 1) fail(`--parallel needs an integer >= 1, got ${values.parallel}`);
const presets =
  (values.preset === "all" ? Object.keys(HEPARIN_STATE_PRESETS) : [values.preset!]) as HeparinStatePreset[];
for (const p of presets) {
  if (!(p in HEPARIN_STATE_PRESETS)) fail(`--preset must be paper, clinical, dosing or all, got ${values.preset}`);
}
await initBackend();
const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
const sizes = values.quick ? OMG_RL_QUICK : OMG_RL_MAIN;
const result = await runOmgRlMain(sizes, seed, (m) => console.error(`${stamp()} ${m}`), presets, parallel);
const out = values.out!;
await Deno.mkdir(out, { recursive: true });
await removeStaleTemps(out);
const { figures: _, ...parts } = result;
await writeTextAtomic(
  `${out}/main.json`,
  JSON.stringify(runRecord({ ...parts, quick: values.quick }, started), null, 1),
);
const page = await writeFigureHtml(out, "main", result.title, result.figures);
console.log(`\nTrue outcomes on ${sizes.evalPatients} simulated patients (noise-free aPTT), seed ${seed}:`);
console.log("| state preset | policy | time in aPTT 60-100 s | r_p return per stay |\n| --- | --- | --- | --- |");
for (const r of result.values.summary as ComparisonRow[]) {
  console.log(`| ${r.preset} | ${r.method} | ${r.timeInRange.mean.toFixed(3)} | ${r.rpReturn.mean.toFixed(2)} |`);
}
console.log(`\nwrote ${out}/main.json and ${page} in ${stamp()}`);
