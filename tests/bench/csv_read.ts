/**
 * Reading a large CSV in the kit's format: writes `rows` rows (16 features, 50-step episodes) to a
 * temporary file, then times `readMdpCsv` on it (or, with `--stream`, one pass of `streamMdpCsv`
 * that sums the rewards; with `--subsample`, `subsampleMdpCsv` keeping 10% of the individuals)
 * and reports the process's peak resident memory (from /proc/self/status where readable, else
 * the RSS after reading).
 *
 *   deno run -A tests/bench/csv_read.ts [rows = 1000000] [--stream | --subsample]
 */
import { createRng, readMdpCsv, streamMdpCsv, subsampleMdpCsv } from "../../mod.ts";

const stream = Deno.args.includes("--stream"), subsample = Deno.args.includes("--subsample");
const rows = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 1_000_000);
const path = await Deno.makeTempFile({ suffix: ".csv" });
const rng = createRng(1);
const F = 16;
{
  using file = await Deno.open(path, { write: true });
  const enc = new TextEncoder();
  let text = `id,t,${Array.from({ length: F }, (_, j) => `x${j}`).join(",")},action,reward\n`;
  for (let n = 0; n < rows; n++) {
    const t = n % 50, xs = Array.from({ length: F }, () => rng.normal().toFixed(5)).join(",");
    text += t < 49
      ? `p${Math.floor(n / 50)},${t},${xs},${rng.int(6)},${rng.uniform().toFixed(4)}\n`
      : `p${Math.floor(n / 50)},${t},${xs},,\n`;
    if (text.length > 1 << 20) {
      await file.write(enc.encode(text));
      text = "";
    }
  }
  await file.write(enc.encode(text));
}
const size = (await Deno.stat(path)).size;
const started = performance.now();
let transitions = 0, rewardSum = 0;
if (subsample) {
  const out = await Deno.makeTempFile({ suffix: ".csv" });
  transitions = (await subsampleMdpCsv(path, out, { numActions: 6, fraction: 0.1, seed: 0 })).transitions;
  await Deno.remove(out);
} else if (stream) {
  for await (const chunk of streamMdpCsv(path, { numActions: 6 })) {
    transitions += chunk.size;
    for (const r of chunk.rewards) rewardSum += r;
  }
} else transitions = (await readMdpCsv(path, { numActions: 6 })).size;
const seconds = (performance.now() - started) / 1000;
let peak = `${(Deno.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB RSS after reading`;
try {
  const m = /VmHWM:\s+(\d+) kB/.exec(await Deno.readTextFile("/proc/self/status"));
  if (m) peak = `${(Number(m[1]) / 1024).toFixed(0)} MiB peak RSS`;
} catch { /* not Linux */ }
console.log(
  `${rows} rows (${(size / 2 ** 20).toFixed(0)} MiB), ${
    subsample ? "subsampleMdpCsv (10%)" : stream ? "streamMdpCsv" : "readMdpCsv"
  }: ${transitions} transitions${stream ? ` (mean reward ${(rewardSum / transitions).toFixed(4)})` : ""} in ${
    seconds.toFixed(1)
  } s, ${peak}`,
);
await Deno.remove(path);
