import assert from "node:assert/strict";
import { createRng, restoreRng } from "../mod.ts";
import { assertClose } from "./helpers.ts";

Deno.test("createRng() gives the same numbers for the same seed and different ones for another", () => {
  const a = createRng(42), b = createRng(42), c = createRng(43);
  const xs = Array.from({ length: 5 }, () => a.uniform());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.uniform()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.uniform()));
});

Deno.test("uniform() and normal() have the right first two moments", () => {
  const rng = createRng(1);
  const n = 200_000;
  let su = 0, su2 = 0, sn = 0, sn2 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    su += u;
    su2 += u * u;
    const z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  assertClose(su / n, 0.5, { atol: 0.005 });
  assertClose(su2 / n - (su / n) ** 2, 1 / 12, { atol: 0.002 });
  assertClose(sn / n, 0, { atol: 0.01 });
  assertClose(sn2 / n, 1, { atol: 0.015 });
});

Deno.test("categorical() and categoricalLog() draw in proportion to the weights", () => {
  const rng = createRng(2);
  const w = [0.1, 0.0, 0.6, 0.3];
  const counts = [0, 0, 0, 0], countsLog = [0, 0, 0, 0];
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    counts[rng.categorical(w)]++;
    countsLog[rng.categoricalLog(w.map((x) => Math.log(x) - 1000))]++;
  }
  assertClose(counts.map((c) => c / n), w, { atol: 0.01 });
  assertClose(countsLog.map((c) => c / n), w, { atol: 0.01 });
  assert.equal(counts[1], 0);
});

Deno.test("categorical() rejects negative, NaN or all-zero weights with a clear error", () => {
  const rng = createRng(0);
  assert.throws(() => rng.categorical([1, -1]), /non-negative/);
  assert.throws(() => rng.categorical([0, 0]), /positive weight/);
  assert.throws(() => rng.categoricalLog([NaN]), /NaN/);
  assert.throws(() => rng.int(0), /positive integer/);
  assert.throws(() => createRng(1.5), /integer seed/);
});

Deno.test("permutation() is a permutation and uniform over first positions", () => {
  const rng = createRng(3);
  const first = new Array(5).fill(0);
  for (let i = 0; i < 20_000; i++) {
    const p = rng.permutation(5);
    assert.deepEqual([...p].sort(), [0, 1, 2, 3, 4]);
    first[p[0]]++;
  }
  assertClose(first.map((c) => c / 20_000), [0.2, 0.2, 0.2, 0.2, 0.2], { atol: 0.015 });
});

Deno.test("split() streams are reproducible and uncorrelated with each other", () => {
  const [a, b] = createRng(9).split(2);
  const [a2] = createRng(9).split(2);
  const xa = Array.from({ length: 1000 }, () => a.normal());
  const xb = Array.from({ length: 1000 }, () => b.normal());
  assert.deepEqual(xa, Array.from({ length: 1000 }, () => a2.normal()));
  const corr = xa.reduce((s, x, i) => s + x * xb[i], 0) / 1000;
  assert.ok(Math.abs(corr) < 0.1, `correlation ${corr}`);
});

Deno.test("state() and restoreRng() resume a stream exactly", () => {
  const rng = createRng(5);
  for (let i = 0; i < 7; i++) rng.normal();
  const saved = rng.state();
  const next = Array.from({ length: 10 }, () => rng.uniform());
  const resumed = restoreRng(saved);
  assert.deepEqual(Array.from({ length: 10 }, () => resumed.uniform()), next);
});
