/**
 * Reproduces a figure or table of the papers.
 *
 *   deno task repro <id> [--quick | --main-sizes] [--seeds n] [--workers 2] [--preset paper] [--out dir]
 *
 * Writes <out>/<id>.json (the frozen sizes and config, the seeds, the series or table values) and
 * <out>/<id>.html (the Plotly figures, rendering offline with plotly.js copied beside them).
 * --quick runs the same pipeline at CI sizes (each under 2 minutes); without it, the paper's.
 * --main-sizes runs an OMG-RL reproduction at the main job's sizes (a few minutes a seed).
 * --preset (paper, clinical or dosing) is the heparin state of omg-fig1..4 and omg-table2
 * (omg-beyond runs every preset). An OMG-RL reproduction keeps each finished unit (one seed, one preset) in <out> as
 * unit.*.json as it completes; run the same command again and it resumes from them.
 * Independent seeds run in --workers parallel workers (default 2, the machine's cores); the
 * numbers are the same for any worker count.
 * Ids: omg-fig1 omg-fig2 omg-fig3 omg-table2 omg-fig4 omg-beyond omg-diagnosis p4l-fig1 p4l-table2 p4l-table3
 * p4l-conflict p4l-cartpole-ablation p4l-sepsis-groups p4l-critic-ablation
 * (the p4l ids are also shardable grids: deno task grid / deno task collect), and ope-validation
 * (the off-policy estimators against simulator ground truth, docs/ope.md; --env picks its settings,
 * e.g. --env heparin-paper,heparin-clinical, and --main-sizes runs it at 300 patients x 10 datasets).
 * p4l-table3 --data sepsis.csv runs Table 3 on a recorded sepsis cohort (deno task cohort sepsis)
 * instead of the simulator: subsamples of admissions, the paper's PCA state, P4L (K auto), ACPI,
 * VL, FQI and the clinicians, valued in a learned Gaussian PerSim-style simulator and by
 * off-policy estimators with intervals (writes <out>/p4l-table3-data.json).
 */
import { parseCli } from "./cli.ts";
import { gridFor } from "./grids.ts";
import {
  assembleP4lGrid,
  HEPARIN_STATE_PRESETS,
  type HeparinStatePreset,
  initBackend,
  OMG_RL_FULL,
  OMG_RL_MAIN,
  OMG_RL_QUICK,
  OMG_RL_REPRODUCTIONS,
  type OmgRlSizes,
  OPE_VALIDATION_ENVS,
  OPE_VALIDATION_FULL,
  OPE_VALIDATION_MAIN,
  OPE_VALIDATION_QUICK,
  opeValidationConfigs,
  type OpeValidationEnv,
  P4L_GRIDS,
  removeStaleTemps,
  runOmgRlReproduction,
  runOpeValidation,
  runRecord,
  writeFigureHtml,
  writeTextAtomic,
} from "../mod.ts";

const IDS: readonly string[] = [...OMG_RL_REPRODUCTIONS, ...Object.keys(P4L_GRIDS), "ope-validation"];
const USAGE =
  `usage: deno task repro <id> [--quick | --main-sizes] [--seeds n] [--workers n] [--preset paper] [--env e] [--data sepsis.csv] [--out dir]\n  ids: ${
    IDS.join(" ")
  }`;
const { values, positionals } = parseCli("repro", USAGE, {
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    "main-sizes": { type: "boolean", default: false },
    preset: { type: "string", default: "paper" },
    env: { type: "string" },
    data: { type: "string" },
    seeds: { type: "string" },
    workers: { type: "string", default: "2" },
    out: { type: "string", default: "out" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const id = positionals[0];
if (!id || !IDS.includes(id)) {
  console.error(`repro: ${id ? `unknown id ${JSON.stringify(id)}` : "name a reproduction"}\n${USAGE}`);
  Deno.exit(2);
}
if (values["main-sizes"] && (values.quick || !(id.startsWith("omg-") || id === "ope-validation"))) {
  console.error(`repro: --main-sizes is for the OMG-RL reproductions and ope-validation, without --quick\n${USAGE}`);
  Deno.exit(2);
}
if (values.data !== undefined && id !== "p4l-table3") {
  console.error(`repro: --data is for p4l-table3 (a sepsis cohort from deno task cohort sepsis)\n${USAGE}`);
  Deno.exit(2);
}
const envs = values.env?.split(",").map((e) => e.trim()) as OpeValidationEnv[] | undefined;
if (envs && (id !== "ope-validation" || envs.some((e) => !OPE_VALIDATION_ENVS.includes(e)))) {
  console.error(`repro: --env names settings of ope-validation: ${OPE_VALIDATION_ENVS.join(", ")}\n${USAGE}`);
  Deno.exit(2);
}
if (!(values.preset! in HEPARIN_STATE_PRESETS) || (values.preset !== "paper" && !/^omg-(fig|table)/.test(id))) {
  console.error(
    `repro: --preset is paper, clinical or dosing, for omg-fig1..4 and omg-table2 (got ${values.preset} for ${id})\n${USAGE}`,
  );
  Deno.exit(2);
}
const sizeName = values.quick ? "quick" : values["main-sizes"] ? "main" : "full";
let sizes: OmgRlSizes = values.quick ? OMG_RL_QUICK : values["main-sizes"] ? OMG_RL_MAIN : OMG_RL_FULL;
if (values.seeds !== undefined) {
  const n = Number(values.seeds);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`repro: --seeds needs a positive integer, got ${values.seeds}\n${USAGE}`);
    Deno.exit(2);
  }
  sizes = { ...sizes, seeds: n };
}
const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1) {
  console.error(`repro: --workers needs a positive integer, got ${values.workers}\n${USAGE}`);
  Deno.exit(2);
}
await initBackend();
const out = values.out!;
if (id === "ope-validation") {
  const base = values.quick ? OPE_VALIDATION_QUICK : values["main-sizes"] ? OPE_VALIDATION_MAIN : OPE_VALIDATION_FULL;
  const sizes = envs ? { ...base, envs } : base;
  const started = performance.now();
  const { rows, figures } = runOpeValidation(
    sizes,
    (m) => console.error(`[${((performance.now() - started) / 1000).toFixed(0)} s] ${id}: ${m}`),
  );
  await Deno.mkdir(out, { recursive: true });
  await removeStaleTemps(out);
  const title = "Off-policy estimators against ground truth";
  const record = runRecord(
    {
      id,
      title,
      quick: values.quick,
      sizeName,
      sizes,
      config: opeValidationConfigs(sizes),
      seeds: [0],
      values: { rows },
    },
    started,
  );
  await writeTextAtomic(`${out}/${id}.json`, JSON.stringify(record, null, 1));
  const page = await writeFigureHtml(out, id, title, figures);
  console.log(`${id}: wrote ${out}/${id}.json and ${page} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  Deno.exit(0);
}
if (id in P4L_GRIDS) {
  let grid, dataSource;
  try {
    ({ grid, dataSource } = await gridFor(id, values.data));
  } catch (err) {
    console.error(`repro: ${(err as Error).message}`);
    Deno.exit(1);
  }
  const sizes = values.quick ? grid.quick : grid.full;
  const started = performance.now();
  const cells = grid.cells(sizes);
  const results = cells.map((c, k) => {
    const r = grid.run(c, sizes);
    console.error(
      `[${((performance.now() - started) / 1000).toFixed(0)} s] ${id}: cell ${
        k + 1
      }/${cells.length} (${c.setting}, repetition ${c.repetition}) done`,
    );
    return r;
  });
  const { values: v, figures } = assembleP4lGrid(grid, results, sizes);
  await Deno.mkdir(out, { recursive: true });
  await removeStaleTemps(out);
  const record = runRecord({
    id: grid.id,
    title: grid.title,
    quick: values.quick,
    sizes,
    config: { ...grid.config(sizes), ...dataSource },
    // Each cell's streams are split from its index (lib/repro/p4l.ts).
    seeds: cells.map((c) => c.index),
    values: v,
  }, started);
  await writeTextAtomic(`${out}/${grid.id}.json`, JSON.stringify(record, null, 1));
  const page = await writeFigureHtml(out, grid.id, grid.title, figures);
  console.log(
    `${grid.id}: wrote ${out}/${grid.id}.json and ${page} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  Deno.exit(0);
}

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
// Each finished unit (a seed, a preset) is kept in the output folder as it completes, and a
// rerun reuses it: a full-size run stopped part-way resumes where it stopped.
let result;
try {
  result = await runOmgRlReproduction(
    id as (typeof OMG_RL_REPRODUCTIONS)[number],
    sizes,
    (m) => console.error(`[${elapsed()}] ${id}: ${m}`),
    workers,
    out,
    values.preset as HeparinStatePreset,
  );
} catch (err) {
  console.error(`repro: ${(err as Error).message}`);
  Deno.exit(1);
}
await Deno.mkdir(out, { recursive: true });
await removeStaleTemps(out);
const made = runRecord({
  id,
  title: result.title,
  quick: values.quick,
  sizeName,
  sizes: result.sizes,
  config: result.config,
  seeds: result.seeds,
  values: result.values,
}, started);
const clock = result.unitClock;
const record = clock
  ? {
    ...made,
    provenance: { ...made.provenance, unitSeconds: clock.seconds, unitsUntimed: clock.untimed },
  }
  : made;
await writeTextAtomic(`${out}/${id}.json`, JSON.stringify(record, null, 1));
const page = await writeFigureHtml(out, id, result.title, result.figures);
console.log(`${id}: wrote ${out}/${id}.json and ${page} in ${elapsed()}`);
