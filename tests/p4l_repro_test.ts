import assert from "node:assert/strict";
import {
  assembleP4lGrid,
  createPersimEnv,
  createRng,
  createSepsisEnv,
  drawPopulation,
  fitPersonalisedSimulator,
  initBackend,
  P4L_GRIDS,
  type P4lTable3Sizes,
  pairwiseAgreement,
  persimNextStateProbabilities,
  sepsisStateFromIndex,
  sepsisStateFromObservation,
  sepsisTransitionDistribution,
  simulate,
} from "../mod.ts";
import { tf } from "../lib/core/backend.ts";

await initBackend();

Deno.test("the PerSim-style simulator learns the sepsis transitions where the data are dense", () => {
  const env = createSepsisEnv();
  const individuals = drawPopulation(env, createRng(3), 400, ["non-diabetic", "diabetic"]);
  const data = simulate(env, { individuals, seed: 4 });
  const before = tf.memory().numTensors;
  const model = fitPersonalisedSimulator(data, { levels: [3, 3, 2, 5, 2, 2, 2], rank: 6, steps: 300, seed: 1 });
  assert.equal(tf.memory().numTensors, before, "no tensors leak");
  // The most frequent (state, action) among non-diabetics: the model's component marginals
  // (averaged over those individuals) are close to the simulator's exact ones.
  const counts = new Map<string, number>();
  for (let r = 0; r < data.size; r++) {
    if (individuals[data.individuals[r]].group !== "non-diabetic") continue;
    const key = `${Array.from(data.states.subarray(r * 7, r * 7 + 7)).join(",")}|${data.actions[r]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [key] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  const [sText, aText] = key.split("|");
  const s = sText.split(",").map(Number), a = Number(aText);
  const exact = [3, 3, 2, 5, 2, 2, 2].map((lv) => new Float64Array(lv));
  const state = sepsisStateFromObservation(s, 0);
  for (const [next, p] of sepsisTransitionDistribution(state, a)) {
    const n = sepsisStateFromIndex(next);
    [n.heartRate, n.systolicBp, n.oxygen, n.glucose, n.antibiotics, n.vasopressors, n.ventilation].forEach((v, c) =>
      exact[c][v] += p
    );
  }
  const nonDiabetic = individuals.flatMap((ind, i) => (ind.group === "non-diabetic" ? [i] : []));
  const learned = exact.map((e) => new Float64Array(e.length));
  for (const i of nonDiabetic) {
    persimNextStateProbabilities(model, i, s, a).forEach((p, c) =>
      p.forEach((v, k) => learned[c][k] += v / nonDiabetic.length)
    );
  }
  exact.forEach((e, c) => {
    const tv = e.reduce((t, v, k) => t + Math.abs(v - learned[c][k]), 0) / 2;
    assert.ok(tv < 0.15, `component ${c}: total variation ${tv.toFixed(3)} (exact ${e}, learned ${learned[c]})`);
  });
  // As an environment it starts each individual where asked and steps within the state space.
  const envL = createPersimEnv(model, {
    initialStates: individuals.map(() => s),
    reward: () => 0,
    terminal: () => false,
    horizon: 5,
    discount: 0.8,
    featureNames: env.featureNames,
  });
  const rng = createRng(0);
  const next = envL.step(rng, envL.individuals[0], envL.reset(rng, envL.individuals[0]), a, 0).state;
  next.forEach((v, c) => assert.ok(Number.isInteger(v) && v >= 0 && v < [3, 3, 2, 5, 2, 2, 2][c]));
  assert.throws(() => fitPersonalisedSimulator(data, { levels: [3, 3, 2] }), /levels/);
  assert.throws(() => fitPersonalisedSimulator(data, { levels: [3, 3, 2, 3, 2, 2, 2] }), /component 3/);
});

Deno.test("the sepsis Table 3 cell values every method by the learned and by the true simulator", () => {
  const grid = P4L_GRIDS["p4l-table3"];
  const sizes: P4lTable3Sizes = {
    ...grid.quick,
    individuals: 60,
    persimSteps: 60,
    p4lIterations: 5,
    vlSteps: 3,
    trajectories: 2,
  };
  const cells = grid.cells(sizes);
  assert.equal(cells.length, 1);
  const result = grid.run(cells[0], sizes);
  assert.deepEqual(Object.keys(result.values), ["Clinician", "FQI", "VL", "ACPI", "P4L (K=Auto)"]);
  for (const v of Object.values(result.values)) {
    assert.deepEqual(Object.keys(v), ["PerSim estimate", "true simulator", "true: diabetic", "true: non-diabetic"]);
    for (const x of Object.values(v)) assert.ok(x >= -1 && x <= 1, `value ${x} outside [-1, 1]`);
  }
  const { figures } = assembleP4lGrid(grid, [result], sizes);
  assert.equal(figures[0].data[0].type, "table");
  assert.throws(() => assembleP4lGrid(grid, [], sizes), /missing cells 0/);
});

Deno.test("the conflicting-groups cell values every method, the per-group oracle and the best pooled policy", () => {
  const grid = P4L_GRIDS["p4l-conflict"];
  const [cell] = grid.cells(grid.quick);
  const { values, facts } = grid.run(cell, grid.quick);
  for (
    const m of [
      "FQI",
      "VL",
      "ACPI",
      "P4L (K=3)",
      "Behaviour",
      "Oracle",
      "Best pooled",
      "ACPI (fusion tuned on the truth)",
    ]
  ) {
    assert.ok(m in values, m);
    for (const column of ["a", "b", "c", "population"]) assert.ok(Number.isFinite(values[m][column]), `${m} ${column}`);
  }
  assert.ok(values.Oracle.population > values["Best pooled"].population + 1);
  assert.ok(values.Oracle.population > values.Behaviour.population + 2);
  assert.ok((facts?.["ACPI tuned fusion"] ?? 0) > 0);
});

Deno.test("the CartPole ablation runs both feature choices on the same data and streams", () => {
  const grid = P4L_GRIDS["p4l-cartpole-ablation"];
  const [raw, standardised] = grid.cells(grid.quick);
  const a = grid.run(raw, grid.quick), b = grid.run(standardised, grid.quick);
  // The behaviour policy does not depend on the features: the same numbers in both.
  assert.deepEqual(a.values.Behaviour, b.values.Behaviour);
  for (
    const m of [
      "FQI",
      "P4L (K=1)",
      "P4L (K=3)",
      "P4L (K=3), greedy",
      "P4L (K=3), Adam policy step",
      "P4L (K=3), Adam policy step, 3x iterations, greedy",
    ]
  ) {
    assert.ok(m in a.values && m in b.values, m);
  }
});

Deno.test("pairwise agreement counts the pairs two labelings treat alike", () => {
  assert.equal(pairwiseAgreement([0, 0, 1, 1], ["a", "a", "b", "b"]), 1);
  // One labeling joins everyone: only the pairs within a true group agree (2 of 6).
  assert.equal(pairwiseAgreement([0, 0, 0, 0], ["a", "a", "b", "b"]), 2 / 6);
  assert.throws(() => pairwiseAgreement([0], ["a"]), /two labelings/);
});

Deno.test("the critic ablation values every P4L variant and FQI on one repetition's data", () => {
  const grid = P4L_GRIDS["p4l-critic-ablation"];
  const [cell] = grid.cells(grid.quick);
  const r = grid.run(cell, grid.quick);
  const labels = Object.keys(r.values);
  assert.ok(labels.includes("FQI") && labels.includes("Behaviour"));
  assert.equal(labels.filter((l) => l.startsWith("P4L, exact critic")).length, 4);
  assert.ok(labels.includes("P4L, stochastic critic, λ = 1") && labels.includes("P4L, neural class"));
  for (const l of labels) assert.ok(Object.values(r.values[l]).every(Number.isFinite), l);
  // The same data and streams give the same numbers.
  assert.deepEqual(grid.run(cell, grid.quick).values, r.values);
});
