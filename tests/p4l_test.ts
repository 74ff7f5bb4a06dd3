import assert from "node:assert/strict";
import {
  createMdpDataset,
  createRng,
  crossWithActions,
  fitRbfFeatures,
  fittedQIteration,
  linearQValues,
  oneHotFeatures,
  ridgeRegression,
  solveSpd,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

Deno.test("solveSpd solves a symmetric positive-definite system by hand", () => {
  // [[4, 2], [2, 3]] x = [2, 1]  ->  x = [0.5, 0]
  const x = solveSpd(Float64Array.of(4, 2, 2, 3), Float64Array.of(2, 1), 2);
  assertClose(x[0], 0.5, { atol: 1e-12 });
  assertClose(x[1], 0, { atol: 1e-12 });
  assert.throws(() => solveSpd(Float64Array.of(1, 2, 2, 1), Float64Array.of(1, 1), 2), /not positive definite/);
  const w = ridgeRegression(Float64Array.of(1, 0, 0, 1, 1, 1), [1, 2, 3], 2, 0);
  assertClose(w[0], 1, { atol: 1e-12 });
  assertClose(w[1], 2, { atol: 1e-12 });
});

/** A 3-state, 2-action MDP: P[s][a] = next-state probabilities, R[s][a] rewards. */
const P = [[[0.9, 0.1, 0], [0.1, 0.8, 0.1]], [[0.5, 0.5, 0], [0, 0.2, 0.8]], [[0.3, 0, 0.7], [0, 0.1, 0.9]]];
const R = [[0, 0.2], [0.1, 0.5], [1, -0.5]];

function valueIteration(gamma: number): number[][] {
  let q = [[0, 0], [0, 0], [0, 0]];
  for (let it = 0; it < 2000; it++) {
    q = q.map((_, s) =>
      [0, 1].map((a) => R[s][a] + gamma * P[s][a].reduce((t, p, s2) => t + p * Math.max(...q[s2]), 0))
    );
  }
  return q;
}

Deno.test("fitted-Q iteration on a small tabular MDP matches value iteration", () => {
  const rng = createRng(0);
  const n = 30_000;
  const states = new Float32Array(n),
    next = new Float32Array(n),
    actions = new Int32Array(n),
    rewards = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = rng.int(3), a = rng.int(2);
    states[i] = s;
    actions[i] = a;
    rewards[i] = R[s][a];
    next[i] = rng.categorical(P[s][a]);
  }
  const data = createMdpDataset({
    numActions: 2,
    featureNames: ["s"],
    individualIds: ["all"],
    individuals: new Int32Array(n),
    times: Int32Array.from({ length: n }, (_, i) => i),
    states,
    actions,
    rewards,
    nextStates: next,
    terminals: new Uint8Array(n),
    timeouts: Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0)),
  });
  const gamma = 0.8;
  const q = fittedQIteration(data, oneHotFeatures(3), { discount: gamma, ridge: 1e-9 });
  const truth = valueIteration(gamma);
  const got = linearQValues(q, Float32Array.of(0, 1, 2));
  for (let s = 0; s < 3; s++) for (let a = 0; a < 2; a++) assertClose(got[s * 2 + a], truth[s][a], { atol: 0.05 });
  assert.throws(() => fittedQIteration(data, oneHotFeatures(3), { discount: 1 }), /discount/);
});

Deno.test("RBF features: K-means centres are stable under a seed, bandwidth is the median distance", () => {
  const rng = createRng(1);
  const pts = new Float32Array(400 * 2);
  for (let i = 0; i < 400; i++) {
    const c = i % 4;
    pts[2 * i] = (c % 2) * 10 + 0.3 * rng.normal();
    pts[2 * i + 1] = Math.floor(c / 2) * 10 + 0.3 * rng.normal();
  }
  const a = fitRbfFeatures(pts, 2, { centres: 4, seed: 3 });
  const b = fitRbfFeatures(pts, 2, { centres: 4, seed: 3 });
  assert.deepEqual(a.centres, b.centres);
  // The four clusters are found (each centre within 0.2 of a true centre).
  const truth = [[0, 0], [10, 0], [0, 10], [10, 10]];
  for (let c = 0; c < 4; c++) {
    const d = Math.min(...truth.map(([x, y]) => Math.hypot(a.centres[2 * c] - x, a.centres[2 * c + 1] - y)));
    assert.ok(d < 0.2, `centre ${c} is ${d} from a true centre`);
  }
  // Median pairwise distance: a quarter of pairs are within a cluster (~0), half at 10, a quarter at ~14.1.
  assertClose(a.bandwidth, 10, { atol: 0.3 });
  const phi = a.transform(Float32Array.of(0, 0));
  assert.equal(phi.length, 5);
  assert.equal(phi[4], 1, "constant feature");
  assert.deepEqual(Array.from(crossWithActions(Float64Array.of(1, 2), 2, [1], 2)), [0, 0, 1, 2]);
  assert.throws(() => fitRbfFeatures(pts.subarray(0, 6), 2, { centres: 4 }), /cannot place 4 centres/);
  assert.throws(() => fitRbfFeatures(pts, 2, { centres: 0 }), /positive integer/);
});
