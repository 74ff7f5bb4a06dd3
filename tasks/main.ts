/**
 * The kit's main job: OMG-RL on the bundled heparin simulator with defaults that finish in a few
 * minutes on 2 cores. Prints the learned policy's true time in the aPTT range and r_p return
 * beside the simulated clinician's, and writes out/main/main.json and out/main/main.html.
 *
 *   deno task main [--out out/main] [--seed 0] [--quick] [--with-aptt]
 *
 * --with-aptt adds the recorded aPTT to the state (the paper's state leaves it out).
 */
import { parseCli } from "./cli.ts";
import {
  HEPARIN_FEATURES,
  initBackend,
  OMG_RL_MAIN,
  OMG_RL_QUICK,
  removeStaleTemps,
  runOmgRlMain,
  runRecord,
  writeFigureHtml,
  writeTextAtomic,
} from "../mod.ts";

const { values } = parseCli("main", "usage: deno task main", {
  options: {
    out: { type: "string", default: "out/main" },
    seed: { type: "string", default: "0" },
    quick: { type: "boolean", default: false },
    "with-aptt": { type: "boolean", default: false },
  },
});
const seed = Number(values.seed);
if (!Number.isInteger(seed)) {
  console.error(
    `main: --seed needs an integer, got ${values.seed}\nusage: deno task main [--out dir] [--seed n] [--quick]`,
  );
  Deno.exit(2);
}
await initBackend();
const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
const sizes = values.quick ? OMG_RL_QUICK : OMG_RL_MAIN;
const state = values["with-aptt"] ? HEPARIN_FEATURES : undefined;
const result = await runOmgRlMain(sizes, seed, (m) => console.error(`${stamp()} ${m}`), state);
const out = values.out!;
await Deno.mkdir(out, { recursive: true });
await removeStaleTemps(out);
const { figures: _, ...parts } = result;
await writeTextAtomic(
  `${out}/main.json`,
  JSON.stringify(runRecord({ ...parts, quick: values.quick }, started), null, 1),
);
const page = await writeFigureHtml(out, "main", result.title, result.figures);
const outcomes = result.values.outcomes as Record<
  string,
  { timeInRange: number; rpReturn: number; rpReturnStandardError: number }
>;
console.log(`\nTrue outcomes on ${sizes.evalPatients} simulated patients (noise-free aPTT):`);
console.log("| policy | time in aPTT 60-100 s | r_p return per stay |\n| --- | --- | --- |");
for (const [name, o] of Object.entries(outcomes)) {
  console.log(
    `| ${name} | ${o.timeInRange.toFixed(3)} | ${o.rpReturn.toFixed(2)} ± ${o.rpReturnStandardError.toFixed(2)} |`,
  );
}
console.log(`\nwrote ${out}/main.json and ${page} in ${stamp()}`);
