import assert from "node:assert/strict";
import {
  createMdpDataset,
  createRng,
  initBackend,
  initCql,
  mlpForward,
  mlpVariables,
  resolveCqlConfig,
  trainCql,
} from "../mod.ts";
import { tf } from "../lib/core/backend.ts";

await initBackend();

/**
 * A one-step bandit in a 2-D state: action 1 pays 1 and action 0 pays 0 when x > 0, the other way
 * round when x < 0; action 2 never appears in the data. Every transition ends its episode.
 */
function bandit(n: number, seed: number) {
  const rng = createRng(seed);
  const states = new Float32Array(n * 2), actions = new Int32Array(n), rewards = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = rng.uniform() * 2 - 1;
    states[i * 2] = x;
    states[i * 2 + 1] = rng.normal();
    actions[i] = rng.uniform() < 0.5 ? 0 : 1;
    rewards[i] = (x > 0) === (actions[i] === 1) ? 1 : 0;
  }
  return createMdpDataset({
    numActions: 3,
    featureNames: ["x", "noise"],
    individualIds: Array.from({ length: n }, (_, i) => `p${i}`),
    individuals: Int32Array.from({ length: n }, (_, i) => i),
    times: new Int32Array(n),
    states,
    actions,
    rewards,
    nextStates: new Float32Array(n * 2),
    terminals: new Uint8Array(n).fill(1),
    timeouts: new Uint8Array(n),
  });
}

Deno.test("discrete CQL learns the better recorded action and keeps an unseen action's value below it", () => {
  const before = tf.memory().numTensors;
  const data = bandit(600, 1);
  const { q } = trainCql(data, createRng(2), { steps: 600, hiddenSizes: [32, 32], learningRate: 3e-3 });
  const probe = tf.tensor2d([0.8, 0, -0.8, 0], [2, 2]);
  const v = tf.tidy(() => mlpForward(q, probe).arraySync()) as number[][];
  assert.ok(v[0][1] > v[0][0] + 0.5, `x > 0: ${v[0]}`);
  assert.ok(v[1][0] > v[1][1] + 0.5, `x < 0: ${v[1]}`);
  // The conservative term pushes the never-recorded action below the recorded best one.
  for (const row of v) assert.ok(row[2] < Math.max(row[0], row[1]), `unseen action: ${row}`);
  tf.dispose([probe, ...mlpVariables(q)]);
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});

Deno.test("discrete CQL: the same seed gives the same network; bad settings are named", () => {
  const data = bandit(100, 3);
  const run = () => {
    const s = initCql(data, createRng(4), { steps: 5, hiddenSizes: [8] });
    return mlpForward(s.q, tf.tensor2d([0.5, 0.5], [1, 2])).dataSync()[0];
  };
  assert.equal(run(), run());
  assert.throws(() => resolveCqlConfig({ discount: 1 }), /discount/);
  assert.throws(() => resolveCqlConfig({ conservativeWeight: -1 }), /conservativeWeight/);
  assert.throws(() => resolveCqlConfig({ steps: 1.5 }), /steps/);
});
