/**
 * Merges the shards of a grid into <out>/<id>.json and <out>/<id>.html, identical to what an
 * unsharded `deno task repro <id>` writes. Fails naming the missing cells if a shard is absent.
 *
 *   deno task collect p4l-fig1 --out dir
 */
import { parseArgs } from "node:util";
import { assembleP4lFig1, type P4lCellResult, writeFigureHtml, writeTextAtomic } from "../mod.ts";

const USAGE = "usage: deno task collect p4l-fig1 --out dir";
const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { out: { type: "string", default: "out/grid" } },
});
const id = positionals[0];
if (id !== "p4l-fig1") {
  console.error(`collect: ${id ? `unknown grid ${JSON.stringify(id)}` : "name a grid"}\n${USAGE}`);
  Deno.exit(2);
}
const out = values.out!;
const shards: { quick: boolean; sizes: unknown; results: P4lCellResult[] }[] = [];
for await (const e of Deno.readDir(out)) {
  if (e.isFile && e.name.startsWith(`${id}.shard-`) && e.name.endsWith(".json")) {
    shards.push(JSON.parse(await Deno.readTextFile(`${out}/${e.name}`)));
  }
}
if (shards.length === 0) {
  console.error(`collect: no ${id}.shard-*.json files in ${out}`);
  Deno.exit(1);
}
const { quick, sizes } = shards[0];
if (shards.some((s) => JSON.stringify(s.sizes) !== JSON.stringify(sizes))) {
  console.error("collect: shards were run with different sizes");
  Deno.exit(1);
}
try {
  // deno-lint-ignore no-explicit-any
  const { values: v, figures } = assembleP4lFig1(shards.flatMap((s) => s.results), sizes as any);
  await writeTextAtomic(`${out}/${id}.json`, JSON.stringify({ id, quick, sizes, values: v }, null, 1));
  const page = await writeFigureHtml(out, id, "P4L Figure 1: the simple environment", figures);
  console.log(`collect: merged ${shards.length} shards into ${out}/${id}.json and ${page}`);
} catch (err) {
  console.error(`collect: ${(err as Error).message}`);
  Deno.exit(1);
}
