import assert from "node:assert/strict";
import {
  acpiBatchPolicy,
  acpiPolicy,
  admmCentroidStep,
  createMdpDataset,
  createP4lSimpleEnv,
  createRng,
  crossWithActions,
  disposeP4l,
  drawPopulation,
  estimateGroupCount,
  evaluatePolicy,
  exactCritic,
  fitAcpi,
  fitP4l,
  fitRbfFeatures,
  fittedQIteration,
  greedyBatchPolicy,
  greedyPolicy,
  initBackend,
  initP4l,
  initVLearning,
  linearQValues,
  oneHotFeatures,
  p4lAdmmStep,
  p4lBatchPolicy,
  p4lExactCriticStep,
  p4lIteration,
  p4lMirrorStep,
  p4lModel,
  p4lMultiplierStep,
  p4lPolicy,
  p4lPolicyGradient,
  ridgeRegression,
  simulate,
  solveLinear,
  solveSpd,
  vLearning,
  vLearningBatchPolicy,
  vLearningGradient,
  vLearningObjective,
  vLearningPolicy,
} from "../mod.ts";
import { fuseWeights } from "../lib/algos/acpi.ts";
import { assertClose } from "./helpers.ts";
import { tf } from "../lib/core/backend.ts";

await initBackend();

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

/**
 * Transitions of the MDP above from uniformly drawn states and actions, `perIndividual` rows per
 * individual; individual i is paid `sign(i) * R`.
 */
function tabularData(seed: number, n: number, perIndividual: number, sign: (i: number) => number = () => 1) {
  const rng = createRng(seed);
  const states = new Float32Array(n),
    next = new Float32Array(n),
    actions = new Int32Array(n),
    rewards = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const s = rng.int(3), a = rng.int(2);
    states[r] = s;
    actions[r] = a;
    rewards[r] = sign(Math.floor(r / perIndividual)) * R[s][a];
    next[r] = rng.categorical(P[s][a]);
  }
  return createMdpDataset({
    numActions: 2,
    featureNames: ["s"],
    individualIds: Array.from({ length: n / perIndividual }, (_, i) => `p${i}`),
    individuals: Int32Array.from({ length: n }, (_, r) => Math.floor(r / perIndividual)),
    times: Int32Array.from({ length: n }, (_, r) => r % perIndividual),
    states,
    actions,
    rewards,
    nextStates: next,
    terminals: new Uint8Array(n),
    timeouts: Uint8Array.from({ length: n }, (_, r) => (r % perIndividual === perIndividual - 1 ? 1 : 0)),
  });
}

Deno.test("fitted-Q iteration on a small tabular MDP matches value iteration", () => {
  const n = 30_000;
  const data = tabularData(0, n, n);
  const gamma = 0.8;
  const q = fittedQIteration(data, oneHotFeatures(3), { discount: gamma, ridge: 1e-9 });
  const truth = valueIteration(gamma);
  const got = linearQValues(q, Float32Array.of(0, 1, 2));
  for (let s = 0; s < 3; s++) for (let a = 0; a < 2; a++) assertClose(got[s * 2 + a], truth[s][a], { atol: 0.05 });
  assert.throws(() => fittedQIteration(data, oneHotFeatures(3), { discount: 1 }), /discount/);
});

Deno.test("the exact P4L critic is the policy's own Q at large lambda and pessimistic at small lambda", () => {
  const n = 30_000, gamma = 0.8;
  const data = tabularData(4, n, n);
  // Q^pi of the uniform policy, solved exactly.
  let q = [[0, 0], [0, 0], [0, 0]];
  for (let it = 0; it < 2000; it++) {
    q = q.map((_, s) =>
      [0, 1].map((a) => R[s][a] + gamma * P[s][a].reduce((t, p, s2) => t + p * (q[s2][0] + q[s2][1]) / 2, 0))
    );
  }
  const x = new Float64Array(n * 3), xNext = new Float64Array(n * 3);
  for (let r = 0; r < n; r++) {
    x[r * 3 + data.states[r]] = 1;
    xNext[r * 3 + data.nextStates[r]] = gamma;
  }
  const inputs = {
    x,
    xNext,
    piNext: new Float64Array(n * 2).fill(0.5),
    actions: data.actions,
    rewards: data.rewards,
    valueDirection: Float64Array.of(1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6, 1 / 6),
    X: 3,
    A: 2,
  };
  const loose = exactCritic(inputs, gamma, 1e6);
  for (let s = 0; s < 3; s++) for (let a = 0; a < 2; a++) assertClose(loose.wQ[s * 2 + a], q[s][a], { atol: 0.05 });
  // A small lambda shifts Q down (pessimism), and f is the Bellman residual it leaves.
  const tight = exactCritic(inputs, gamma, 0.5);
  const mean = (w: Float64Array) => w.reduce((t, v) => t + v, 0) / w.length;
  assert.ok(mean(tight.wQ) < mean(loose.wQ) - 0.1, `${mean(tight.wQ)} vs ${mean(loose.wQ)}`);
  assert.ok(Math.max(...loose.wF.map(Math.abs)) < 0.02);
  assert.ok(Math.max(...tight.wF.map(Math.abs)) > 0.02);
});

Deno.test("section 5's heuristic finds the three groups of section 6.1 and one group in a homogeneous population", () => {
  const env = createP4lSimpleEnv({ horizon: 200 });
  const individuals = drawPopulation(env, createRng(1), 30, env.groups);
  const data = simulate(env, { individuals, horizon: 200, seed: 2 });
  const est = estimateGroupCount(data, { seed: 1 });
  assert.equal(est.groups, 3, `silhouettes ${est.silhouettes}`);
  // Most pairs in the same true group share a cluster, and most pairs across groups do not.
  let agree = 0, pairs = 0;
  for (let i = 0; i < 30; i++) {
    for (let j = i + 1; j < 30; j++) {
      pairs++;
      if ((individuals[i].group === individuals[j].group) === (est.assignments[i] === est.assignments[j])) agree++;
    }
  }
  assert.ok(agree / pairs > 0.8, `Rand index ${agree / pairs}`);
  const same = drawPopulation(env, createRng(1), 30, ["a"]);
  const homogeneous = estimateGroupCount(simulate(env, { individuals: same, horizon: 200, seed: 2 }), { seed: 1 });
  assert.equal(homogeneous.groups, 1, `silhouettes ${homogeneous.silhouettes}`);
  assert.throws(
    () => estimateGroupCount(simulate(env, { individuals: same, horizon: 5, seed: 2 }), { bandwidth: -1 }),
    /bandwidth/,
  );
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
  assert.throws(() => fitRbfFeatures(pts, 2, { centres: 0 }), /centres must be an integer >= 1/);
});

Deno.test("the ADMM centroid step recovers known groups and pulls w towards their centres", () => {
  // Six latent points in two tight groups, eta = 0 so z = u.
  const z = Float64Array.of(0, 0, 0.1, 0, 0, 0.1, 5, 5, 5.1, 5, 5, 5.1);
  const { centroids, assignments, w } = admmCentroidStep(z, 2, 2, 1, 2, 0);
  assert.equal(assignments[0], assignments[1]);
  assert.equal(assignments[1], assignments[2]);
  assert.equal(assignments[3], assignments[4]);
  assert.notEqual(assignments[0], assignments[3]);
  const c0 = assignments[0];
  assertClose(centroids[c0 * 2], 0.1 / 3, { atol: 1e-9 });
  // w = (2 mu v + rho z) / (2 mu + rho): with 2 mu = rho, the midpoint of z and its centre.
  assertClose(w[2], (0.1 + 0.1 / 3) / 2, { atol: 1e-9 });
  assert.throws(() => admmCentroidStep(z, 2, 7, 1, 1), /groups must be in \[1, 6\]/);
});

Deno.test("P4L rejects K < 1, K > N and empty data with clear errors", () => {
  const env = createP4lSimpleEnv();
  const data = simulate(env, { individuals: drawPopulation(env, createRng(0), 3, env.groups), horizon: 5 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 4 });
  assert.throws(() => fitP4l(data, feats, { groups: 0 }), /groups \(K\) must be a positive integer/);
  assert.throws(() => fitP4l(data, feats, { groups: 4 }), /K = 4 groups but only 3 individuals/);
  assert.throws(
    () => fitP4l(data, fitRbfFeatures(Float32Array.of(0, 0, 1, 1, 2, 2), 3, { centres: 1 }), { groups: 1 }),
    /3-d states/,
  );
});

Deno.test("P4L with one group and a strong centroid penalty collapses the latents to one point (Algorithm 1's policy step)", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(2), 9, env.groups);
  const data = simulate(env, { individuals, horizon: 20, seed: 3 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 6, seed: 0 });
  const spread = (u: Float64Array) => {
    const m = [0, 1].map((j) => u.filter((_, k) => k % 2 === j).reduce((a, b) => a + b, 0) / 9);
    return Math.sqrt(u.reduce((s, x, k) => s + (x - m[k % 2]) ** 2, 0) / 9);
  };
  const free = fitP4l(data, feats, {
    groups: 1,
    centroidWeight: 0,
    admmPenalty: 1e-6,
    iterations: 20,
    innerSteps: 10,
    seed: 1,
    initialMultiplier: 1,
    policyStep: "gradient",
  });
  const tied = fitP4l(data, feats, {
    groups: 1,
    centroidWeight: 1000,
    admmPenalty: 500,
    iterations: 20,
    innerSteps: 10,
    seed: 1,
    initialMultiplier: 1,
    policyStep: "gradient",
  });
  assert.ok(spread(tied.latents) < 0.3 * spread(free.latents), `${spread(tied.latents)} vs ${spread(free.latents)}`);
  assert.ok(tied.assignments.every((k) => k === 0));
  // Equal latents give one homogeneous policy. (With the mirror step the policy's coefficients are
  // the critic's summed over iterations, and latents tied this closely can still act differently:
  // module doc of lib/algos/p4l.ts.)
  const s = Float64Array.of(0.3, -0.2);
  const p0 = p4lPolicy(tied, 0)(s), p8 = p4lPolicy(tied, 8)(s);
  assertClose(p0[0], p8[0], { atol: 0.05 });
});

Deno.test("P4L's neural function class trains, returns its layers, and rejects the exact critic", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(0), 6, env.groups);
  const data = simulate(env, { individuals, horizon: 20, seed: 1 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 4, seed: 0 });
  const model = fitP4l(data, feats, {
    groups: 2,
    functionClass: "neural",
    hiddenUnits: 8,
    iterations: 3,
    innerSteps: 5,
  });
  assert.equal(model.functionClass, "neural");
  assert.deepEqual(model.policyParams.map((p) => p.shape), [[feats.dim * 3, 8], [8], [8, 2]]);
  const p = p4lPolicy(model, 0)(Float64Array.of(0.1, 0.2));
  assertClose(p[0] + p[1], 1, { atol: 1e-12 });
  assert.throws(() => fitP4l(data, feats, { groups: 2, functionClass: "neural", critic: "exact" }), /exact critic/);
});

Deno.test("P4L improves on the behaviour policy in P4L's 2-D environment (quick size)", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(0), 30, env.groups);
  const data = simulate(env, { individuals, horizon: 50, seed: 1 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 16, seed: 0 });
  const model = fitP4l(data, feats, { groups: 3, seed: 0 });
  assert.equal(model.latents.length, 30 * 2);
  assert.equal(model.centroids.length, 3 * 2);
  const policies = individuals.map((_, i) => p4lPolicy(model, i));
  const opts = { individuals, trajectories: 20, horizon: 50, seed: 5 };
  const learned = evaluatePolicy(env, (o, c) => policies[c.individual](o), opts);
  const behaviour = evaluatePolicy(env, () => [0.5, 0.5], opts);
  assert.ok(
    learned.overall.discounted.mean > behaviour.overall.discounted.mean + 0.3,
    `P4L ${learned.overall.discounted.mean} vs behaviour ${behaviour.overall.discounted.mean}`,
  );
});

Deno.test("solveLinear solves a non-symmetric system that needs pivoting", () => {
  // [[0, 1], [2, 3]] x = [1, 8]  ->  x = [2.5, 1]
  const x = solveLinear(Float64Array.of(0, 1, 2, 3), Float64Array.of(1, 8), 2);
  assertClose(x[0], 2.5, { atol: 1e-12 });
  assertClose(x[1], 1, { atol: 1e-12 });
  assert.throws(() => solveLinear(Float64Array.of(1, 2, 2, 4), Float64Array.of(1, 1), 2), /singular/);
});

Deno.test("V-learning finds the better action of each state of a small tabular MDP", () => {
  const data = tabularData(4, 4000, 20);
  const model = vLearning(data, oneHotFeatures(3), { behaviour: () => 0.5, steps: 200, stepSize: 1 });
  const truth = valueIteration(0.8);
  const pol = vLearningPolicy(model);
  for (let s = 0; s < 3; s++) {
    const best = truth[s][1] > truth[s][0] ? 1 : 0;
    assert.ok(pol([s])[best] > 0.6, `state ${s}: pi(best) = ${pol([s])[best]}`);
  }
});

Deno.test("the fusion ADMM joins near-equal estimates and keeps distant ones apart", () => {
  const est = [[0, 0], [0.01, 0], [0, 0.01], [3, 3], [3.01, 3]].map((x) => Float64Array.from(x));
  const { gaps, fused } = fuseWeights(est, 0.1, 1, 500);
  // Pairs in order (0,1) (0,2) (0,3) (0,4) (1,2) ...: within-group gaps vanish, across-group stay.
  assert.ok(gaps[0] < 1e-6 && gaps[1] < 1e-6, `within ${gaps[0]}, ${gaps[1]}`);
  assert.ok(gaps[2] > 3, `across ${gaps[2]}`);
  assertClose(fused[0][0], fused[1][0], { atol: 1e-6 });
});

Deno.test("ACPI on two well-separated groups finds two clusters", () => {
  // Same transitions; group A is paid R, group B is paid -R: opposite best actions. (Fusion 0.3
  // merged them once FQI converged: before the options were split, ACPI's fusion tolerance also
  // stopped each FQI fit early.)
  const N = 12;
  const data = tabularData(9, 300 * N, 300, (i) => (i % 2 === 0 ? 1 : -1));
  const model = fitAcpi(data, oneHotFeatures(3), { fusion: 0.2, shrinkage: 0.2, fusionTolerance: 0.05 });
  assert.equal(model.clusters, 2);
  for (let i = 0; i < N; i++) assert.equal(model.assignments[i], model.assignments[i % 2]);
  assert.notEqual(model.assignments[0], model.assignments[1]);
  // Each cluster's policy picks its own best action in state 2 (R[2] = [1, -0.5]).
  assert.deepEqual(acpiPolicy(model, 0)([2]), [1, 0]);
  assert.deepEqual(acpiPolicy(model, 1)([2]), [0, 1]);
  // Fusion over a 3-nearest-neighbour graph (the large-N form) finds the same two clusters.
  const sparse = fitAcpi(data, oneHotFeatures(3), {
    fusion: 0.2,
    shrinkage: 0.2,
    fusionTolerance: 0.05,
    neighbours: 3,
  });
  assert.equal(sparse.clusters, 2);
  for (let i = 0; i < N; i++) assert.equal(sparse.assignments[i], sparse.assignments[i % 2]);
});

Deno.test("P4L's multiplier step is projected ascent on Phi - alpha, and its ADMM step is K-means on u + eta / rho", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(30), 6, env.groups);
  const data = simulate(env, { individuals, horizon: 10, seed: 31 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 4, seed: 0 });
  const state = initP4l(data, feats, {
    groups: 2,
    seed: 2,
    initialMultiplier: 1,
    pessimismLevel: 0.1,
    learningRates: { multiplier: 0.5 },
  });
  assert.equal(p4lMultiplierStep(state, 0.3), 1 + 0.5 * (0.3 - 0.1));
  assert.equal(p4lMultiplierStep(state, -10), 0, "lambda stays >= 0");
  // The exact critic refuses lambda = 0 rather than dividing by it.
  assert.throws(() => p4lIteration(state), /exact critic needs a multiplier lambda > 0/);
  state.multiplier = 1;
  // With eta = 0 the ADMM step clusters u itself; then eta moves by rho (u - w).
  const u = Float64Array.from(state.u.dataSync());
  const penalty = p4lAdmmStep(state);
  assert.ok(penalty >= 0);
  assert.equal(state.assignments.length, 6);
  const rho = state.config.admmPenalty;
  state.eta.forEach((e, j) => assertClose(e, rho * (u[j] - state.w[j]), { atol: 1e-12 }));
  // One full iteration records its metrics and advances.
  const m = p4lIteration(state);
  assert.equal(state.iteration, 1);
  assert.deepEqual(state.history.at(-1), m);
  disposeP4l(state);
});

Deno.test("V-learning's closed-form gradient matches central finite differences of its objective", () => {
  const data = tabularData(41, 3000, 300);
  const state = initVLearning(data, oneHotFeatures(3), { behaviour: () => 0.5 });
  const theta = Float64Array.from({ length: state.theta.length }, (_, k) => 0.3 * Math.sin(k + 1));
  const grad = vLearningGradient(state, theta);
  const h = 1e-5;
  for (let k = 0; k < theta.length; k++) {
    const up = Float64Array.from(theta), down = Float64Array.from(theta);
    up[k] += h;
    down[k] -= h;
    const fd = (vLearningObjective(state, up) - vLearningObjective(state, down)) / (2 * h);
    assertClose(grad[k], fd, { atol: 1e-6, rtol: 1e-4 });
  }
});

Deno.test("ACPI does not let one individual's diverging FQI fuse everyone: that individual starts from the pooled fit", () => {
  // Identity features on s; individuals 0-2 stay at s = 1 with r = +1, 3-5 with r = -1; individual
  // 6 moves 1 -> 2, where linear FQI diverges off-policy (w <- (r + 2 gamma w) / (1 + ridge)).
  const T = 40, N = 7;
  const rows = Array.from({ length: N * T }, (_, r) => ({ i: Math.floor(r / T), t: r % T }));
  const data = createMdpDataset({
    numActions: 2,
    featureNames: ["s"],
    individualIds: Array.from({ length: N }, (_, i) => `p${i}`),
    individuals: Int32Array.from(rows, (r) => r.i),
    times: Int32Array.from(rows, (r) => r.t),
    states: new Float32Array(N * T).fill(1),
    actions: Int32Array.from(rows, (r) => r.t % 2),
    rewards: Float32Array.from(rows, (r) => (r.i < 3 ? 1 : r.i < 6 ? -1 : 0.5)),
    nextStates: Float32Array.from(rows, (r) => (r.i === 6 ? 2 : 1)),
    terminals: new Uint8Array(N * T),
    timeouts: Uint8Array.from(rows, (r) => (r.t === T - 1 ? 1 : 0)),
  });
  const identity = { dim: 1, stateDim: 1, transform: (s: ArrayLike<number>) => Float64Array.from(s) };
  const model = fitAcpi(data, identity, { discount: 0.8 });
  assert.ok(model.fallbacks >= 1, `fallbacks ${model.fallbacks}`);
  assert.notEqual(model.assignments[0], model.assignments[3], "the two reward groups stay apart");
  for (const i of [1, 2]) assert.equal(model.assignments[i], model.assignments[0]);
  for (const i of [4, 5]) assert.equal(model.assignments[i], model.assignments[3]);
  for (const q of model.qFunctions) assert.ok(q.weights.every((w) => Math.abs(w) < 100), "no diverged Q-function");
});

Deno.test("a P4L fit leaks no tensors, with either critic and either value-state choice", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(50), 9, env.groups);
  const data = simulate(env, { individuals, horizon: 20, seed: 51 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 6, seed: 0 });
  fitP4l(data, feats, { groups: 2, iterations: 1, innerSteps: 2 }); // warm-up
  for (const critic of ["exact", "stochastic"] as const) {
    for (const valueStates of ["batch", "initial"] as const) {
      const before = tf.memory().numTensors;
      fitP4l(data, feats, { groups: 2, critic, valueStates, iterations: 2, innerSteps: 3 });
      assert.equal(tf.memory().numTensors, before, `${critic}, ${valueStates}`);
    }
  }
});

Deno.test("P4L's closed-form policy gradient equals autodiff's, with batch and initial value states", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(1), 30, env.groups);
  const data = simulate(env, { individuals, horizon: 50, seed: 2 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 16, seed: 1 });
  for (const valueStates of ["batch", "initial"] as const) {
    const state = initP4l(data, feats, {
      groups: 3,
      seed: 1,
      iterations: 5,
      valueStates,
      admmPenalty: 2,
      policyStep: "gradient",
    });
    try {
      for (let i = 0; i < 3; i++) p4lIteration(state); // away from the initial weights
      const rows = Int32Array.from({ length: 64 }, (_, k) => (k * 37) % data.size);
      const target = Float64Array.from({ length: 30 * 2 }, (_, k) => Math.fround(Math.sin(k)));
      const exact = p4lPolicyGradient(state, rows, target, "closed-form");
      const auto = p4lPolicyGradient(state, rows, target, "autodiff");
      for (const part of ["loss", "phi", "value"] as const) {
        assert.ok(Math.abs(exact[part] - auto[part]) < 1e-5 * (1 + Math.abs(auto[part])), part);
      }
      for (const part of ["policy", "latents"] as const) {
        let diff = 0, norm = 0;
        exact[part].forEach((g, k) => {
          diff += (g - auto[part][k]) ** 2;
          norm += auto[part][k] ** 2;
        });
        assert.ok(
          norm > 0 && Math.sqrt(diff / norm) < 1e-4,
          `${valueStates} ${part}: relative error ${Math.sqrt(diff / norm)}`,
        );
      }
    } finally {
      disposeP4l(state);
    }
  }
});

Deno.test("P4L's mirror step multiplies every individual's policy by exp(eta Q) at the data's states", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(1), 30, env.groups);
  const data = simulate(env, { individuals, horizon: 50, seed: 2 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 16, seed: 1 });
  const eta = 0.7;
  const state = initP4l(data, feats, { groups: 3, seed: 1, iterations: 5, mirrorStepSize: eta });
  try {
    assert.equal(state.config.policyStep, "mirror", "the default with the exact critic");
    p4lIteration(state);
    p4lExactCriticStep(state);
    const before = p4lModel(state, feats);
    const wQ = Float64Array.from(state.wQ[0].dataSync());
    p4lMirrorStep(state);
    const after = p4lModel(state, feats);
    // Q(s, a; u_i) at each sampled row, from the critic's head on the same x(s; u_i) as the policy:
    // the log-odds of pi must move by eta (Q(s, 1) - Q(s, 0)).
    const qModel = { ...before, policyParams: [{ shape: before.policyParams[0].shape, values: wQ }] };
    const logOdds = (p: Float64Array) => Math.log(p[1]) - Math.log(p[0]);
    let err = 0, size = 0;
    for (let t = 0; t < data.size; t += 37) {
      const i = data.individuals[t], s = data.states.subarray(t * 2, t * 2 + 2);
      const moved = logOdds(p4lPolicy(after, i)(s)) - logOdds(p4lPolicy(before, i)(s));
      const expected = eta * logOdds(p4lPolicy(qModel, i)(s));
      err += (moved - expected) ** 2;
      size += expected ** 2;
    }
    assert.ok(size > 0.01, "the step moves the policy");
    assert.ok(Math.sqrt(err / size) < 1e-3, `relative error of the log-odds' move: ${Math.sqrt(err / size)}`);
    assert.throws(
      () => p4lPolicyGradient(state, Int32Array.of(0, 1), new Float64Array(60), "autodiff"),
      /gradient" only/,
    );
  } finally {
    disposeP4l(state);
  }
});

Deno.test("P4L started from a clustering places each cluster's latents apart, and refuses a clustering of other individuals", () => {
  const env = createP4lSimpleEnv();
  const individuals = drawPopulation(env, createRng(3), 12, env.groups);
  const data = simulate(env, { individuals, horizon: 20, seed: 4 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 6, seed: 0 });
  const labels = Int32Array.from({ length: 12 }, (_, i) => i % 3);
  const state = initP4l(data, feats, { groups: 3, seed: 2 }, { assignments: labels });
  try {
    const u = state.u.dataSync();
    const dist = (i: number, j: number) => Math.hypot(u[2 * i] - u[2 * j], u[2 * i + 1] - u[2 * j + 1]);
    for (let i = 0; i < 12; i++) {
      for (let j = i + 1; j < 12; j++) {
        // Same cluster: within the start's noise; other clusters: about 0.87 apart (0.5 sqrt 3).
        if (labels[i] === labels[j]) assert.ok(dist(i, j) < 0.2, `${i} ${j}: ${dist(i, j)}`);
        else assert.ok(dist(i, j) > 0.6, `${i} ${j}: ${dist(i, j)}`);
      }
    }
    p4lIteration(state);
    // The ADMM's first K-means finds the clusters it was given.
    for (let i = 0; i < 12; i++) assert.equal(state.assignments[i], state.assignments[labels[i]]);
    assert.equal(new Set(state.assignments).size, 3);
  } finally {
    disposeP4l(state);
  }
  assert.throws(() => initP4l(data, feats, { groups: 3 }, { assignments: [0, 1] }), /2 entries for 12 individuals/);
  assert.throws(
    () => initP4l(data, feats, { groups: 3 }, { assignments: labels.map((k) => k - 1) }),
    /is not a cluster index/,
  );
});

Deno.test("batched policies value a population exactly as the same policies row by row", () => {
  const env = createP4lSimpleEnv({ horizon: 30 });
  const individuals = drawPopulation(env, createRng(4), 12, env.groups);
  const data = simulate(env, { individuals, horizon: 30, seed: 5 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 8, seed: 0 });
  const q = fittedQIteration(data, feats, { discount: 0.8 });
  const vl = vLearning(data, feats, { discount: 0.8, steps: 5, behaviour: () => 0.5 });
  const acpi = fitAcpi(data, feats, { discount: 0.8 });
  const p4l = fitP4l(data, feats, { groups: 2, seed: 0, iterations: 3 });
  const pairs = {
    FQI: [greedyBatchPolicy(q), () => greedyPolicy(q)],
    VL: [vLearningBatchPolicy(vl), () => vLearningPolicy(vl)],
    ACPI: [acpiBatchPolicy(acpi), (i: number) => acpiPolicy(acpi, i)],
    P4L: [p4lBatchPolicy(p4l), (i: number) => p4lPolicy(p4l, i)],
  } as const;
  const opts = { individuals, trajectories: 3, seed: 9 };
  for (const [name, [batch, make]] of Object.entries(pairs)) {
    const rows = individuals.map((_, i) => make(i));
    const one = evaluatePolicy(env, (o, c) => rows[c.individual](o), opts);
    const many = evaluatePolicy(env, batch, opts);
    assert.deepEqual(many.discountedReturns, one.discountedReturns, name);
  }
});

Deno.test("ACPI's validated fusion picks a strength of its grid by held-out Bellman residual, and a fixed one is used as given", () => {
  const env = createP4lSimpleEnv({ horizon: 30 });
  const individuals = drawPopulation(env, createRng(2), 12, env.groups);
  const data = simulate(env, { individuals, horizon: 30, seed: 3 });
  const feats = fitRbfFeatures(data.states, 2, { centres: 8, seed: 0 });
  const grid = [0.05, 0.5];
  const validated = fitAcpi(data, feats, { discount: 0.8, fusion: "validated", fusionGrid: grid });
  assert.ok(grid.includes(validated.fusion));
  assert.equal(validated.fusionResiduals.length, 2);
  const best = validated.fusionResiduals[0] <= validated.fusionResiduals[1] ? 0.05 : 0.5;
  assert.equal(validated.fusion, best);
  const fixed = fitAcpi(data, feats, { discount: 0.8, fusion: 0.5 });
  assert.equal(fixed.fusion, 0.5);
  assert.deepEqual(fixed.fusionResiduals, []);
  assert.throws(() => fitAcpi(data, feats, { fusion: "validated", fusionGrid: [] }), /fusionGrid/);
});
