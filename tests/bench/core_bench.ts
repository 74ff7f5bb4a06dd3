/**
 * Hot loops of the tensor core, the same workloads as ../shared/bench/torch_ref.py:
 * - mlp_step: MLP 16-256-256-256-6, batch 256, MSE loss, Adam step;
 * - ensemble_step: 7 Gaussian members (16+6)-128x4-2*17, batch 256 each, NLL with bounded
 *   log-variance, Adam step;
 * - ensemble_rollout_step: the 7 members' forward on 10,000 states (1,429 each);
 * - sac_combo_step: one critic + actor update of discrete SAC with the conservative term.
 *
 * Run: deno task bench   (BENCHMARKS.md records the numbers beside PyTorch's)
 */
import {
  createAdam,
  createRng,
  createSacAgent,
  ensembleForward,
  ensembleVariables,
  initBackend,
  initEnsemble,
  initMlp,
  minimize,
  mlpForward,
  mlpVariables,
  sacUpdate,
} from "../../mod.ts";
import { tf } from "../../lib/core/backend.ts";

await initBackend("wasm");
const rng = createRng(0);
const S = 16, A = 6, B = 256, E = 7, O = S + 1;

const net = initMlp(rng, { inputDim: S, hiddenSizes: [256, 256, 256], outputDim: A });
const netAdam = createAdam(mlpVariables(net), { learningRate: 1e-3 });
const x = tf.tensor2d(rng.fillNormal(new Float32Array(B * S)), [B, S]);
const y = tf.tensor2d(rng.fillNormal(new Float32Array(B * A)), [B, A]);
const mlpStep = () =>
  minimize(netAdam, () => ({ loss: tf.losses.meanSquaredError(y, mlpForward(net, x)) as tf.Scalar }));

const ens = initEnsemble(rng, E, {
  inputDim: S + A,
  hiddenSizes: [128, 128, 128, 128],
  outputDim: 2 * O,
  activation: "silu",
});
const ensAdam = createAdam(ensembleVariables(ens), { learningRate: 1e-3 });
const ex = Array.from({ length: E }, () => tf.tensor2d(rng.fillNormal(new Float32Array(B * (S + A))), [B, S + A]));
const ey = Array.from({ length: E }, () => tf.tensor2d(rng.fillNormal(new Float32Array(B * O)), [B, O]));
/** Torch reference's bound: 0.5 - softplus(0.5 - (-10 + softplus(lv + 10))). */
const boundLogVar = (lv: tf.Tensor) => tf.sub(0.5, tf.softplus(tf.sub(0.5, tf.add(-10, tf.softplus(tf.add(lv, 10))))));
const ensembleStep = () =>
  minimize(ensAdam, () => {
    const outs = ensembleForward(ens, ex);
    const terms = outs.map((h, e) => {
      const [mu, lv0] = tf.split(h, 2, 1);
      const lv = boundLogVar(lv0);
      return tf.mean(tf.add(tf.mul(tf.square(tf.sub(mu, ey[e])), tf.exp(tf.neg(lv))), lv));
    });
    return { loss: tf.div(tf.addN(terms), E) as tf.Scalar };
  });

const perMember = Math.ceil(10000 / E);
const rx = Array.from(
  { length: E },
  () => tf.tensor2d(rng.fillNormal(new Float32Array(perMember * (S + A))), [perMember, S + A]),
);
// Outputs are read inside the tidy and not returned: tidy walks whatever it returns, element by
// element for typed arrays (measured: 100 ms for 7 x 1,429 x 34 values).
let sink = 0;
const rolloutStep = () =>
  tf.tidy(() => {
    for (const h of ensembleForward(ens, rx)) sink += h.dataSync()[0];
  });

// sac_combo_step: twin Q 16-256x3-6, targets, actor, conservative logsumexp on 256 model states.
// One batch of 512 rows: the first 256 are the data batch (TD + Q(s, a) term), the other 256 the
// model states (TD + logsumexp term); torch's step uses 256 data rows plus 256 model states.
const agent = createSacAgent(rng, S, A, { temperature: 1, conservativeWeight: 1 });
const sacBatch = {
  states: rng.fillNormal(new Float32Array(2 * B * S)),
  actions: Int32Array.from({ length: 2 * B }, () => rng.int(A)),
  rewards: rng.fillNormal(new Float32Array(2 * B)),
  nextStates: rng.fillNormal(new Float32Array(2 * B * S)),
  terminals: new Float32Array(2 * B),
  dataRows: B,
};
const sacStep = () => sacUpdate(agent, sacBatch);

for (let i = 0; i < 30; i++) {
  sacStep();
  mlpStep();
  ensembleStep();
  rolloutStep();
}

Deno.bench("mlp_step: MLP 16-256x3-6, batch 256, Adam", { group: "core" }, () => void mlpStep());
Deno.bench(
  "sac_combo_step: discrete SAC + conservative term, twin Q 16-256x3-6",
  { group: "core" },
  () => void sacStep(),
);
Deno.bench(
  "ensemble_step: 7 x (22)-128x4-34, batch 256, Gaussian NLL, Adam",
  { group: "core" },
  () => void ensembleStep(),
);
Deno.bench("ensemble_rollout_step: 7 members on 10,000 states", { group: "core" }, () => void rolloutStep());
