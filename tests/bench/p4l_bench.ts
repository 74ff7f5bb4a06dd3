/**
 * One P4L fit at N = 60, T = 200 (the largest Figure 1 cell), K = 3, 60 outer iterations, with
 * the exact critic (default) and with the stochastic one; V-learning at the grid's size; and the
 * group-count heuristic; the Monte Carlo valuation of one method in a full Figure 1 cell, row by
 * row and batched; one full Figure 1 cell (every method, `P4L_GRIDS["p4l-fig1"]`).
 *
 *   deno bench -A tests/bench/p4l_bench.ts
 */
import {
  createP4lSimpleEnv,
  createRng,
  drawPopulation,
  estimateGroupCount,
  evaluatePolicy,
  fitP4l,
  fitRbfFeatures,
  initBackend,
  P4L_GRIDS,
  p4lBatchPolicy,
  p4lPolicy,
  simulate,
  vLearning,
} from "../../mod.ts";

await initBackend();
const env = createP4lSimpleEnv({ horizon: 200 });
const individuals = drawPopulation(env, createRng(1), 60, env.groups);
const data = simulate(env, { individuals, horizon: 200, seed: 2 });
const features = fitRbfFeatures(data.states, 2, { centres: 16, seed: 1 });

Deno.bench("P4L fit, N = 60, T = 200, K = 3, exact critic", { n: 3, warmup: 0 }, () => {
  fitP4l(data, features, { groups: 3, seed: 1 });
});
Deno.bench("P4L fit, N = 60, T = 200, K = 3, stochastic critic", { n: 3, warmup: 0 }, () => {
  fitP4l(data, features, { groups: 3, seed: 1, critic: "stochastic" });
});
Deno.bench("V-learning fit, N = 60, T = 200, 60 steps (the Figure 1 grid's size), closed-form gradient", {
  n: 3,
  warmup: 1,
}, () => {
  vLearning(data, features, { discount: 0.8, behaviour: () => 0.5, steps: 60 });
});
Deno.bench("section 5 group-count heuristic, N = 60, T = 200", { n: 5, warmup: 1 }, () => {
  estimateGroupCount(data, { seed: 1 });
});

const model = fitP4l(data, features, { groups: 3, seed: 1 });
const rows = individuals.map((_, i) => p4lPolicy(model, i));
const valuation = { individuals, trajectories: 100, horizon: 200, discount: 0.8 };
Deno.bench(
  "valuation of P4L's policies, N = 60, T = 200, 100 trajectories each, row by row",
  { n: 3, warmup: 0 },
  () => {
    evaluatePolicy(env, (o, c) => rows[c.individual](o), valuation);
  },
);
Deno.bench("valuation of P4L's policies, N = 60, T = 200, 100 trajectories each, batched", { n: 3, warmup: 0 }, () => {
  evaluatePolicy(env, p4lBatchPolicy(model), valuation);
});
const fig1 = P4L_GRIDS["p4l-fig1"];
const largest = fig1.cells(fig1.full).find((c) => c.setting === "N=60, T=200")!;
Deno.bench("one full Figure 1 cell, N = 60, T = 200 (every method)", { n: 1, warmup: 0 }, () => {
  fig1.run(largest, fig1.full);
});
