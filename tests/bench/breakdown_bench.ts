/**
 * Where the time of one MLP training step goes (16-256-256-256-6, batch 256), and what the
 * plain tfjs route (autodiff matMul + tf.train.adam) costs on the same backend.
 *
 * Run: deno bench -A tests/bench/breakdown_bench.ts
 */
import { createAdam, createRng, initBackend, initMlp, mlpForward, mlpVariables } from "../../mod.ts";
import { tf } from "../../lib/core/backend.ts";

await initBackend("wasm");
const rng = createRng(0);
const S = 16, A = 6, B = 256;
const net = initMlp(rng, { inputDim: S, hiddenSizes: [256, 256, 256], outputDim: A });
const vars = mlpVariables(net);
const adam = createAdam(vars, { learningRate: 1e-3 });
const x = tf.tensor2d(rng.fillNormal(new Float32Array(B * S)), [B, S]);
const y = tf.tensor2d(rng.fillNormal(new Float32Array(B * A)), [B, A]);
const loss = () => tf.losses.meanSquaredError(y, mlpForward(net, x)) as tf.Scalar;

const plainNet = initMlp(rng, { inputDim: S, hiddenSizes: [256, 256, 256], outputDim: A });
const plainVars = mlpVariables(plainNet);
const plainOpt = tf.train.adam(1e-3);
const plainForward = () => {
  let h: tf.Tensor2D = x;
  plainNet.weights.forEach((w, l) => {
    h = tf.add(tf.matMul(h, w), plainNet.biases[l]);
    if (l < plainNet.weights.length - 1) h = tf.relu(h);
  });
  return h;
};

const forward = () => tf.tidy(() => void loss().dataSync());
const forwardBackward = () => tf.tidy(() => void tf.variableGrads(loss, vars));
let grads: tf.NamedTensorMap = tf.tidy(() => tf.variableGrads(loss, vars).grads);
Object.values(grads).forEach((g) => tf.keep(g));
const optimizer = () => adam.apply(grads);
const tfjsAdam = () =>
  tf.tidy(() =>
    (plainOpt as tf.Optimizer).applyGradients(
      Object.fromEntries(plainVars.map((v, i) => [v.name, grads[vars[i].name]])),
    )
  );
const plainStep = () =>
  tf.tidy(() => {
    const g = tf.variableGrads(() => tf.losses.meanSquaredError(y, plainForward()) as tf.Scalar, plainVars);
    (plainOpt as tf.Optimizer).applyGradients(g.grads);
  });
for (let i = 0; i < 30; i++) {
  forward();
  forwardBackward();
  optimizer();
  plainStep();
}
grads = tf.tidy(() => tf.variableGrads(loss, vars).grads);

Deno.bench("forward only (loss value read)", { group: "breakdown" }, forward);
Deno.bench("forward + backward (variableGrads, fast-path dense)", { group: "breakdown" }, forwardBackward);
Deno.bench("optimizer: kit Adam (one JS loop per variable)", { group: "breakdown" }, optimizer);
Deno.bench("optimizer: tf.train.adam (tensor ops)", { group: "breakdown" }, tfjsAdam);
Deno.bench("whole step, plain tfjs (autodiff matMul + tf.train.adam)", { group: "breakdown" }, plainStep);
