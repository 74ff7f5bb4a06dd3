import {
  createP4lSimpleEnv,
  createRng,
  drawPopulation,
  evaluatePolicy,
  fitP4l,
  fitRbfFeatures,
  initBackend,
  p4lPolicy,
  simulate,
} from "../mod.ts";
await initBackend();
const T = 50;
for (const seed of [17, 1017]) {
  const env = createP4lSimpleEnv({ horizon: T });
  const individuals = drawPopulation(env, createRng(seed), 30, env.groups);
  const data = simulate(env, { individuals, horizon: T, seed: seed + 1 });
  const features = fitRbfFeatures(data.states, 2, { centres: 16, seed });
  for (
    const cfg of [{ lambda: 20 }, { lambda: 100 }, { lambda: 20, learningRates: { pi: 5e-2 } }, {
      lambda: 20,
      latentDim: 1,
    }]
  ) {
    const t0 = performance.now();
    const model = fitP4l(data, features, { groups: 3, seed, ...cfg });
    const ev = evaluatePolicy(env, (o, c) => p4lPolicy(model, c.individual)(o), {
      individuals,
      trajectories: 20,
      horizon: T,
      discount: 0.8,
      seed: seed + 2,
    });
    console.log(
      seed,
      JSON.stringify(cfg),
      Object.values(ev.perGroup).map((s) => s.discounted.mean.toFixed(2)).join(" "),
      ((performance.now() - t0) / 1000).toFixed(1),
      "s",
      "phi",
      model.history.at(-1)!.phi.toFixed(3),
      "val",
      model.history.at(-1)!.value.toFixed(3),
    );
  }
}
