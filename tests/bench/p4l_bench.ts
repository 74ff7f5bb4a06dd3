/**
 * One P4L fit at N = 60, T = 200 (the largest Figure 1 cell), K = 3, 60 outer iterations, with
 * the exact critic (default) and with the stochastic one; V-learning at the grid's size; and the
 * group-count heuristic.
 *
 *   deno bench -A tests/bench/p4l_bench.ts
 */
import {
  createP4lSimpleEnv,
  createRng,
  drawPopulation,
  estimateGroupCount,
  fitP4l,
  fitRbfFeatures,
  initBackend,
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
