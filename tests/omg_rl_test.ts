import assert from "node:assert/strict";
import {
  conservativePenalty,
  createMdpDataset,
  createOmgRlState,
  createRng,
  createSacAgent,
  disposeDynamics,
  disposeOmgRl,
  dynamicsEpoch,
  effectiveSampleSize,
  finishDynamics,
  initBackend,
  initDynamics,
  initMlp,
  type MdpDataset,
  mixedBatch,
  modelRollouts,
  normalizedLogWeights,
  omgRlCheckpoint,
  policyFromJson,
  policyProbabilities,
  policyToJson,
  predictDynamics,
  restoreOmgRl,
  rewardBatch,
  runOmgRl,
  sacUpdate,
  trainDynamics,
  validatePolicyJson,
} from "../mod.ts";
import { tf } from "../lib/core/backend.ts";
import { assertClose } from "./helpers.ts";

await initBackend();

Deno.test("conservative term: logsumexp over model states minus Q of data actions, by hand", () => {
  const qModel = tf.tensor2d([[0, 0, Math.log(2)], [1, 1, 1]]);
  const qData = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const a = tf.tensor1d([2, 0], "int32");
  // E_model[lse] = (log(1 + 1 + 2) + (1 + log 3)) / 2; E_data[Q(s, a)] = (3 + 4) / 2.
  const expected = (Math.log(4) + 1 + Math.log(3)) / 2 - 3.5;
  assertClose(conservativePenalty(qModel, qData, a).dataSync()[0], expected, { atol: 1e-5 });
  tf.dispose([qModel, qData, a]);
});

Deno.test("eq. 8 weights match a naive computation and survive extreme log-probabilities", () => {
  const R = [1.5, -0.5, 3, 0.2], logPi = [-10, -12, -9.5, -11];
  const naive = R.map((r, j) => Math.exp(r) / Math.exp(logPi[j]));
  const total = naive.reduce((a, b) => a + b, 0);
  const lw = normalizedLogWeights(R, logPi);
  naive.forEach((w, j) => assertClose(Math.exp(lw[j]), w / total, { atol: 1e-12 }));
  // exp(2000) / exp(-3000) overflows naively; in log space it is fine.
  const extreme = normalizedLogWeights([2000, 1990, -500], [-3000, -3000, -10]);
  assert.ok(extreme.every(Number.isFinite));
  assertClose(Math.exp(extreme[0]), 1 / (1 + Math.exp(-10)), { atol: 1e-12 });
  assertClose(effectiveSampleSize(normalizedLogWeights([0, 0, 0, 0], [0, 0, 0, 0])), 4, { atol: 1e-12 });
  assert.throws(() => normalizedLogWeights([NaN], [0]), /NaN/);
});

/** s' = 0.8 s + 0.5 a + N(0, 0.3^2), r = s: a linear-Gaussian system with 1-D state, 2 actions. */
function linearGaussianData(n: number, seed: number): MdpDataset {
  const rng = createRng(seed);
  const states = new Float32Array(n), next = new Float32Array(n), actions = new Int32Array(n);
  const rewards = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    states[i] = rng.normal();
    actions[i] = rng.int(2);
    next[i] = 0.8 * states[i] + 0.5 * actions[i] + 0.3 * rng.normal();
    rewards[i] = states[i];
  }
  return createMdpDataset({
    numActions: 2,
    featureNames: ["x"],
    individualIds: Array.from({ length: n / 10 }, (_, i) => `p${i}`),
    individuals: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 10)),
    times: Int32Array.from({ length: n }, (_, i) => i % 10),
    states,
    actions,
    rewards,
    nextStates: next,
    terminals: new Uint8Array(n),
    timeouts: Uint8Array.from({ length: n }, (_, i) => (i % 10 === 9 ? 1 : 0)),
  });
}

Deno.test("the dynamics ensemble recovers the mean and variance of a linear-Gaussian system", () => {
  const before = tf.memory().numTensors;
  const data = linearGaussianData(3000, 1);
  const { model, curves } = trainDynamics(data, createRng(2), {
    members: 3,
    elites: 2,
    hiddenSizes: [32, 32],
    maxEpochs: 40,
    learningRate: 3e-3,
  });
  assert.equal(curves.validation[0].length, 3);
  assert.equal(model.elites.length, 2);
  const n = 4000;
  const states = new Float32Array(n).fill(1);
  const actions = new Int32Array(n).fill(1);
  const mean = predictDynamics(model, states, actions, createRng(3), { deterministic: true });
  assertClose(mean.nextStates[0], 0.8 + 0.5, { atol: 0.1 });
  assertClose(mean.rewards[0], 1, { atol: 0.1 });
  const draws = predictDynamics(model, states, actions, createRng(4)).nextStates;
  const m = draws.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(draws.reduce((a, b) => a + (b - m) ** 2, 0) / n);
  assertClose(sd, 0.3, { atol: 0.08 });
  disposeDynamics(model);
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("rollouts draw only from the elite members", () => {
  const data = linearGaussianData(500, 5);
  const { model } = trainDynamics(data, createRng(6), { members: 4, elites: 2, hiddenSizes: [8], maxEpochs: 2 });
  const out = predictDynamics(model, new Float32Array(1000), new Int32Array(1000), createRng(7));
  const used = new Set(out.members);
  assert.deepEqual([...used].sort(), [...model.elites].sort());
  disposeDynamics(model);
});

Deno.test("SAC with the conservative term learns the best action of a two-state MDP", () => {
  // States 0 and 1 (one-hot); action 1 pays 1 in state 0, action 0 pays 1 in state 1; gamma 0.5.
  const before = tf.memory().numTensors;
  const agent = createSacAgent(createRng(8), 2, 2, {
    hiddenSizes: [16],
    temperature: 0.05,
    conservativeWeight: 0.5,
    discount: 0.5,
    actorLearningRate: 3e-3,
    criticLearningRate: 3e-3,
  });
  const rng = createRng(9);
  const B = 64;
  for (let step = 0; step < 400; step++) {
    const states = new Float32Array(B * 2), next = new Float32Array(B * 2);
    const actions = new Int32Array(B), rewards = new Float32Array(B);
    for (let b = 0; b < B; b++) {
      const s = rng.int(2), a = rng.int(2), s2 = rng.int(2);
      states[b * 2 + s] = 1;
      next[b * 2 + s2] = 1;
      actions[b] = a;
      rewards[b] = (s === 0 && a === 1) || (s === 1 && a === 0) ? 1 : 0;
    }
    sacUpdate(
      agent,
      { states, actions, rewards, nextStates: next, terminals: new Float32Array(B), dataRows: B / 2 },
      step,
    );
  }
  const p = policyProbabilities(agent.actor, Float32Array.of(1, 0, 0, 1), 2);
  assert.ok(p[1] > 0.9, `state 0 prefers action 1: ${p[1]}`);
  assert.ok(p[2] > 0.9, `state 1 prefers action 0: ${p[2]}`);
  tf.dispose(Object.values(agent).filter((v) => v instanceof tf.Variable));
  for (const net of [agent.actor, agent.critic1, agent.critic2, agent.target1, agent.target2]) {
    tf.dispose([...net.weights, ...net.biases]);
  }
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("an OMG-RL run resumed from a checkpoint ends exactly like an uninterrupted one", async () => {
  const data = linearGaussianData(400, 10);
  const { model } = trainDynamics(data, createRng(11), { members: 3, elites: 2, hiddenSizes: [16], maxEpochs: 3 });
  const config = {
    episodes: 4,
    evaluateEvery: 2,
    rolloutBatch: 8,
    rolloutHorizon: 5,
    criticSteps: 3,
    rewardSteps: 2,
    batchSize: 16,
    rewardTrajectories: 4,
    sac: { hiddenSizes: [16] },
    reward: { hiddenSizes: [16] },
  };
  const straight = await runOmgRl(createOmgRlState(1, 2, config, 12), data, model);
  const first = await runOmgRl(createOmgRlState(1, 2, config, 12), data, model, { stopAfter: 2 });
  const saved = JSON.parse(JSON.stringify(omgRlCheckpoint(first)));
  assert.equal(saved.format, "omg-rl-checkpoint/3");
  // The same checkpoint in format 2 (decimal weights and moments), as earlier runs wrote it.
  const unpack = (b: string) => Array.from(new Float32Array(Uint8Array.from(atob(b), (c) => c.charCodeAt(0)).buffer));
  const old = {
    ...saved,
    format: "omg-rl-checkpoint/2",
    params: {
      format: "clinical-rl-params/1",
      tensors: Object.fromEntries(
        Object.entries(saved.params.tensors as Record<string, { shape: number[]; data: string }>).map((
          [k, t],
        ) => [k, { shape: t.shape, data: unpack(t.data) }]),
      ),
    },
    adam: Object.fromEntries(
      Object.entries(saved.adam as Record<string, { step: number; firstMoments: string[]; secondMoments: string[] }>)
        .map(([k, a]) => [k, {
          step: a.step,
          firstMoments: a.firstMoments.map(unpack),
          secondMoments: a.secondMoments.map(unpack),
        }]),
    ),
  };
  assert.ok(JSON.stringify(saved).length < JSON.stringify(old).length / 2, "format 3 is far smaller");
  disposeOmgRl(first);
  const resumed = await runOmgRl(restoreOmgRl(createOmgRlState(1, 2, config, 12), saved), data, model);
  assert.deepEqual(resumed.evaluations, straight.evaluations);
  assert.deepEqual(resumed.logs, straight.logs);
  const resumedOld = await runOmgRl(restoreOmgRl(createOmgRlState(1, 2, config, 12), old), data, model);
  assert.deepEqual(resumedOld.logs, straight.logs, "a format 2 checkpoint still resumes exactly");
  disposeOmgRl(resumedOld);
  const probe = Float32Array.of(-1, 0, 1);
  assert.deepEqual(
    policyProbabilities(resumed.agent.actor, probe, 1),
    policyProbabilities(straight.agent.actor, probe, 1),
  );
  // The rollouts come from the trained model and the learned reward is finite.
  const r = modelRollouts(model, resumed.agent, Float32Array.of(0, 1), 5, createRng(1));
  assert.equal(r.actions.length, 10);
  assert.ok(resumed.evaluations.every((e) => Number.isFinite(e.learnedRewardReturn)));
  disposeOmgRl(straight);
  disposeOmgRl(resumed);
  disposeDynamics(model);
});

Deno.test("reproduction seeds give the same numbers in two parallel workers as in one process", async () => {
  const { OMG_RL_QUICK, runUnits } = await import("../lib/repro/omg_rl.ts");
  const sizes = {
    ...OMG_RL_QUICK,
    omg: { ...OMG_RL_QUICK.omg, episodes: 2, evaluateEvery: 2 },
    dynamics: { ...OMG_RL_QUICK.dynamics, maxEpochs: 2 },
  };
  const units = [{ kind: "curves" as const, seed: 0 }, { kind: "curves" as const, seed: 1 }];
  const serial = await runUnits(units, sizes, () => {}, 1);
  const parallel = await runUnits(units, sizes, () => {}, 2);
  assert.deepEqual(parallel, serial);
  assert.notDeepEqual(serial[0], serial[1], "different seeds differ");
});

Deno.test("mixedBatch takes round(B f) rows from the data and the rest from the rollout buffer", () => {
  const data = linearGaussianData(200, 21);
  const state = createOmgRlState(1, 2, {
    batchSize: 16,
    mixingRatio: 0.25,
    sac: { hiddenSizes: [4] },
    rewardSource: "data",
  }, 3);
  // A buffer whose rows are recognisable: state 1000 + k.
  for (let k = 0; k < 10; k++) {
    state.buffer.states[k] = 1000 + k;
    state.buffer.actions[k] = 1;
  }
  state.buffer.size = 10;
  const batch = mixedBatch(state, data);
  assert.equal(batch.dataRows, 4);
  for (let b = 0; b < 16; b++) assert.equal(batch.states[b] >= 1000, b >= 4, `row ${b}`);
  assert.ok(Array.from(batch.terminals.subarray(4)).every((d) => d === 0));
  disposeOmgRl(state);
});

Deno.test("rewardBatch pairs expert windows with rollout samples, the experts appended, and sums log pi per trajectory", () => {
  const data = linearGaussianData(200, 22);
  const state = createOmgRlState(1, 2, {
    rewardTrajectories: 3,
    rolloutHorizon: 4,
    sac: { hiddenSizes: [4] },
    reward: { hiddenSizes: [4] },
  }, 4);
  const rollouts = {
    count: 5,
    horizon: 4,
    states: Float32Array.from({ length: 20 }, (_, i) => i),
    actions: new Int32Array(20),
    modelRewards: new Float32Array(20),
    nextStates: new Float32Array(20),
  };
  const { expert, samples } = rewardBatch(state, data, rollouts);
  assert.equal(expert.count, 3);
  assert.equal(samples.count, 3 + 3, "three rollout samples, then the three experts");
  assert.equal(samples.logProbSums.length, samples.count);
  assert.ok(Array.from(samples.logProbSums).every((l) => l < 0 && Number.isFinite(l)));
  // Each sample is a whole rollout (4 rows) drawn from the rollout states.
  for (let k = 0; k < 12; k++) assert.ok(samples.states[k] >= 0 && samples.states[k] < 20);
  disposeOmgRl(state);
});

Deno.test("a malformed policy file is refused before use, naming the problem; a good one recommends", () => {
  const actor = initMlp(createRng(0), { inputDim: 2, hiddenSizes: [4], outputDim: 3 });
  const good = policyToJson(actor, { featureNames: ["a", "b"], mean: [0, 1], std: [1, 2] });
  tf.dispose([...actor.weights, ...actor.biases]);
  const r = policyFromJson(good, "p.json").recommend([0.5, 1]);
  assert.equal(r.probabilities.length, 3);
  const edit = (f: (j: Record<string, unknown>) => void) => {
    const j = structuredClone(good) as unknown as Record<string, unknown>;
    f(j);
    return j;
  };
  const firstTensor = (j: Record<string, unknown>) =>
    Object.values((j.params as { tensors: Record<string, { data: unknown[] }> }).tensors)[0].data;
  const cases: [unknown, RegExp][] = [
    [null, /not a JSON object/],
    [edit((j) => (j.format = "other")), /not a policy file \(format "other"/],
    [edit((j) => (j.featureNames = ["a", "a"])), /feature names must be unique/],
    [edit((j) => (j.featureNames = ["a", ""])), /non-empty string/],
    [edit((j) => (j.numActions = 0)), /numActions must be a positive integer/],
    [edit((j) => (j.std = [1, 0])), /std\[1\] \(b\) must be a positive finite number, got 0/],
    [edit((j) => (j.std = [1, -2])), /std\[1\] \(b\) must be a positive/],
    [edit((j) => (j.mean = [0])), /mean must hold one number per feature \(2\)/],
    [edit((j) => (j.mean = [0, "abc"])), /mean\[1\] \(b\) must be a finite number, got "abc"/],
    [edit((j) => (firstTensor(j)[0] = null)), /\[0\] is null, not a finite float32 number/],
    [edit((j) => (firstTensor(j)[1] = 1e39)), /\[1\] is 1e\+39, not a finite float32 number/],
    [edit((j) => (firstTensor(j)[2] = "abc")), /\[2\] is "abc"/],
  ];
  for (const [json, message] of cases) {
    assert.throws(() => validatePolicyJson(json, "p.json"), message, JSON.stringify(message));
    assert.throws(() => policyFromJson(json as never, "p.json"), message);
  }
});

Deno.test("the dynamics' normalisers sum in float64: rewards at 1e30 train, and a spread beyond float32 is named", () => {
  const base = linearGaussianData(200, 3);
  const scaled = createMdpDataset({ ...base, rewards: base.rewards.map((r) => r * 1e30) });
  const ok = initDynamics(scaled, createRng(1), { maxEpochs: 1, members: 2, elites: 1, hiddenSizes: [8] });
  assert.ok(Number.isFinite(ok.targetStd[1]) && ok.targetStd[1] > 1e29, `reward spread ${ok.targetStd[1]}`);
  assert.throws(() => finishDynamics(ok), /run at least one dynamicsEpoch first/);
  dynamicsEpoch(ok);
  disposeDynamics(finishDynamics(ok).model);
  const wild = createMdpDataset({
    ...base,
    states: base.states.map((_, i) => (i % 2 ? 3e38 : -3e38)),
    nextStates: base.nextStates.map((_, i) => (i % 2 ? -3e38 : 3e38)),
  });
  assert.throws(
    () => initDynamics(wild, createRng(1), { maxEpochs: 1, members: 2, elites: 1, hiddenSizes: [8] }),
    /dynamics: the change of "x" has mean .* beyond what float32 training can hold; rescale it/,
  );
});
