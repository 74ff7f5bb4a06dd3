/**
 * The kit's statistical linear algebra at the sizes of tests/bench/numpy_ref.py, for paired
 * ratios: P4L's exact critic at N = 60, T = 200 (n = 12,000, X = 51, A = 2), and one FQI backup.
 * Run it with and without the native path (CLINICAL_RL_NATIVE_BLAS=0) beside the numpy script.
 *
 *   deno bench -A tests/bench/linalg_bench.ts
 */
import { createRng, exactCritic, initBackend } from "../../mod.ts";
import { fqiStep, initFqi } from "../../lib/algos/fqi.ts";
import { createMdpDataset } from "../../data.ts";
import type { FeatureMap } from "../../p4l.ts";

await initBackend();
const rng = createRng(0);
const n = 12000, X = 51, A = 2, gamma = 0.8;
const x = rng.fillNormal(new Float64Array(n * X));
const xNext = rng.fillNormal(new Float64Array(n * X)).map((v) => gamma * v);
const piNext = Float64Array.from({ length: n * A }, () => rng.uniform());
for (let t = 0; t < n; t++) {
  const s = piNext[2 * t] + piNext[2 * t + 1];
  piNext[2 * t] /= s;
  piNext[2 * t + 1] /= s;
}
const actions = Int32Array.from({ length: n }, () => rng.int(A));
const rewards = rng.fillNormal(new Float32Array(n));
const valueDirection = rng.fillNormal(new Float64Array(X * A));

Deno.bench("exact_critic: P4L's exact critic, n = 12,000, X = 51, A = 2", { n: 20, warmup: 3 }, () => {
  exactCritic({ x, xNext, piNext, actions, rewards, valueDirection, X, A }, gamma, 20);
});

// FQI on 17 features: identity features over 17-d states, so the bench times the algebra alone.
const D = 17;
const identity: FeatureMap = { dim: D, stateDim: D, transform: (s) => Float64Array.from(s) };
const data = createMdpDataset({
  numActions: A,
  featureNames: Array.from({ length: D }, (_, j) => `f${j}`),
  individualIds: ["p"],
  individuals: new Int32Array(n),
  times: Int32Array.from({ length: n }, (_, t) => t),
  states: rng.fillNormal(new Float32Array(n * D)),
  actions,
  rewards,
  nextStates: rng.fillNormal(new Float32Array(n * D)),
  terminals: new Uint8Array(n),
  timeouts: Uint8Array.from({ length: n }, (_, t) => (t === n - 1 ? 1 : 0)),
});
const fqi = initFqi(data, identity, { discount: gamma });
Deno.bench("fqi_backup: one FQI backup, n = 12,000, D = 17, A = 2", { n: 50, warmup: 5 }, () => {
  fqiStep(fqi);
});
