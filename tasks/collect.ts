/**
 * Merges the shards of a grid into <out>/<id>.json and <out>/<id>.html, identical to what an
 * unsharded `deno task repro <id>` writes. Fails naming the missing cells if a shard is absent.
 *
 *   deno task collect <p4l-fig1|p4l-table2|p4l-table3|p4l-conflict|p4l-cartpole-ablation|p4l-sepsis-groups> --out dir
 *   deno task collect p4l-table3 --data sepsis.csv --out dir   # shards of Table 3 on a recorded cohort
 *
 * With --data, every shard must have been computed from the same file (its SHA-256 is checked).
 */
import { parseCli } from "./cli.ts";
import { gridFor } from "./grids.ts";
import {
  assembleP4lGrid,
  type GridCellResult,
  P4L_GRIDS,
  recordDifferences,
  runRecord,
  writeFigureHtml,
  writeTextAtomic,
} from "../mod.ts";

const USAGE = `usage: deno task collect <${
  Object.keys(P4L_GRIDS).join("|")
}> --out dir [--data sepsis.csv (p4l-table3)]`;
const { values, positionals } = parseCli("collect", USAGE, {
  allowPositionals: true,
  options: { out: { type: "string", default: "out/grid" }, data: { type: "string" } },
});
const id = positionals[0];
if (!(id in P4L_GRIDS)) {
  console.error(`collect: ${id ? `unknown grid ${JSON.stringify(id)}` : "name a grid"}\n${USAGE}`);
  Deno.exit(2);
}
let grid, dataSource;
try {
  ({ grid, dataSource } = await gridFor(id, values.data));
} catch (err) {
  console.error(`collect: ${(err as Error).message}`);
  Deno.exit(1);
}
const out = values.out!;
const shards: {
  file: string;
  config?: Record<string, unknown>;
  dataSha256?: string;
  quick: boolean;
  sizes: unknown;
  seconds?: number;
  provenance?: { version: string; computePath: unknown };
  results: GridCellResult[];
}[] = [];
for await (const e of Deno.readDir(out)) {
  if (e.isFile && e.name.startsWith(`${grid.id}.shard-`) && e.name.endsWith(".json")) {
    shards.push({ ...JSON.parse(await Deno.readTextFile(`${out}/${e.name}`)), file: e.name });
  }
}
if (shards.length === 0) {
  console.error(`collect: no ${grid.id}.shard-*.json files in ${out}`);
  Deno.exit(1);
}
const { quick, sizes } = shards[0];
if (shards.some((s) => JSON.stringify(s.sizes) !== JSON.stringify(sizes))) {
  console.error("collect: shards were run with different sizes");
  Deno.exit(1);
}
if (shards.some((s) => s.dataSha256 !== dataSource.dataSha256)) {
  console.error(`collect: the shards were not all computed from ${values.data ?? "the simulator"} (SHA-256 differs)`);
  Deno.exit(1);
}
// Shards made with other hyper-parameters (another kit's defaults, an edited config) would mix
// two experiments in one table: each shard's recorded config must be this kit's.
const expected = JSON.parse(JSON.stringify(grid.config(sizes as never)));
for (const s of shards.sort((a, b) => a.file.localeCompare(b.file))) {
  if (!s.config) {
    console.error(
      `collect: ${out}/${s.file} records no config (made by an older kit); run that shard again (delete the file first)`,
    );
    Deno.exit(1);
  }
  const diff = recordDifferences(s.config, expected);
  if (diff.length > 0) {
    console.error(
      `collect: ${out}/${s.file} was computed with another config than this kit's (${diff.slice(0, 3).join("; ")}${
        diff.length > 3 ? `; ${diff.length - 3} more` : ""
      }); run that shard again (delete the file first)`,
    );
    Deno.exit(1);
  }
}
try {
  const results = shards.flatMap((s) => s.results);
  const { values: v, figures } = assembleP4lGrid(grid, results, sizes);
  // The wall time is the shards' summed compute time (they may have run in parallel).
  const computeSeconds = shards.reduce((t, s) => t + (s.seconds ?? NaN), 0);
  const record = runRecord({
    id: grid.id,
    title: grid.title,
    quick,
    sizes,
    config: { ...grid.config(sizes as never), ...dataSource },
    seeds: results.map((r) => r.cell.index).sort((a, b) => a - b),
    values: v,
  }, performance.now());
  // The shards' compute path and kit version, not the collector's (which computes nothing).
  const paths = [...new Set(shards.map((s) => JSON.stringify(s.provenance?.computePath ?? null)))];
  const versions = [...new Set(shards.map((s) => s.provenance?.version ?? null))];
  if (versions.length > 1) throw new Error(`shards were computed by different kit versions: ${versions.join(", ")}`);
  const computePath = paths.length === 1 && paths[0] !== "null"
    ? JSON.parse(paths[0])
    : { description: `mixed or not recorded: ${paths.join(" / ")}` };
  const withTime = {
    ...record,
    provenance: {
      ...record.provenance,
      version: versions[0] ?? record.provenance.version,
      computePath,
      seconds: computeSeconds,
      shards: shards.length,
    },
  };
  await writeTextAtomic(`${out}/${grid.id}.json`, JSON.stringify(withTime, null, 1));
  const page = await writeFigureHtml(out, grid.id, grid.title, figures);
  console.log(`collect: merged ${shards.length} shards into ${out}/${grid.id}.json and ${page}`);
} catch (err) {
  console.error(`collect: ${(err as Error).message}`);
  Deno.exit(1);
}
