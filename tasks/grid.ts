/**
 * Runs one shard of a reproduction grid (for a Slurm job array or a Kubernetes indexed Job: one
 * shard per array index), writing <out>/<id>.shard-<i>-of-<n>.json atomically; `deno task collect`
 * merges the shards into the same <id>.json an unsharded `deno task repro <id>` writes.
 *
 *   deno task grid <p4l-fig1|p4l-table2|p4l-table3|p4l-conflict|p4l-cartpole-ablation|p4l-sepsis-groups> --shard i/n --out dir [--quick]
 *   deno task grid p4l-table3 --data sepsis.csv --shard i/n --out dir [--quick]   # Table 3 on a recorded cohort
 *
 * A shard whose file already exists is skipped (re-running a failed array is safe).
 */
import { parseCli } from "./cli.ts";
import { gridFor } from "./grids.ts";
import { initBackend, P4L_GRIDS, provenance, removeStaleTemps, shardCells, writeTextAtomic } from "../mod.ts";

const USAGE = `usage: deno task grid <${
  Object.keys(P4L_GRIDS).join("|")
}> --shard i/n --out dir [--quick] [--data sepsis.csv (p4l-table3)]`;
const { values, positionals } = parseCli("grid", USAGE, {
  allowPositionals: true,
  options: {
    shard: { type: "string" },
    out: { type: "string", default: "out/grid" },
    quick: { type: "boolean", default: false },
    data: { type: "string" },
  },
});
const fail = (m: string): never => {
  console.error(`grid: ${m}\n${USAGE}`);
  Deno.exit(2);
};
const id = positionals[0];
if (!(id in P4L_GRIDS)) fail(id ? `unknown grid ${JSON.stringify(id)}` : "name a grid");
const m = /^(\d+)\/(\d+)$/.exec(values.shard ?? "") ?? fail(`--shard must be i/n, got ${values.shard}`);
if (values.data !== undefined && id !== "p4l-table3") fail("--data is for p4l-table3");
let grid, dataSource;
try {
  ({ grid, dataSource } = await gridFor(id, values.data));
} catch (err) {
  console.error(`grid: ${(err as Error).message}`);
  Deno.exit(1);
}
const shard = Number(m[1]), shards = Number(m[2]);
const sizes = values.quick ? grid.quick : grid.full;
let cells;
try {
  cells = shardCells(grid.cells(sizes), shard, shards);
} catch (err) {
  fail((err as Error).message);
}
const path = `${values.out}/${grid.id}.shard-${shard}-of-${shards}.json`;
try {
  await Deno.stat(path);
  console.log(`grid: ${path} exists; skipping`);
  Deno.exit(0);
} catch { /* not done yet */ }
await Deno.mkdir(values.out!, { recursive: true });
await removeStaleTemps(values.out!);
await initBackend();
const started = performance.now();
const results = cells!.map((c, k) => {
  const r = grid.run(c, sizes);
  console.error(
    `[${((performance.now() - started) / 1000).toFixed(0)} s] shard ${shard}/${shards}: cell ${k + 1}/${cells!.length}`,
  );
  return r;
});
const seconds = (performance.now() - started) / 1000;
// How this shard was computed (kit version, compute path): collect carries it into the record.
const made = { ...provenance(started), seconds };
await writeTextAtomic(
  path,
  JSON.stringify({
    id: grid.id,
    quick: values.quick,
    sizes,
    shard,
    shards,
    seconds,
    provenance: made,
    // Every hyper-parameter the cells ran with: collect refuses to merge shards of other configs.
    config: grid.config(sizes as never),
    ...dataSource,
    results,
  }),
);
console.log(`grid: wrote ${path} (${results.length} cells)`);
