import assert from "node:assert/strict";
import {
  createAdam,
  createRng,
  ensembleForward,
  ensembleVariables,
  initBackend,
  initEnsemble,
  initMlp,
  loadParamsJson,
  loadParamsTfjs,
  minimize,
  mlpForward,
  mlpVariables,
  namedVariables,
  NonFiniteLossError,
  saveParamsJson,
  saveParamsTfjs,
  softUpdate,
} from "../mod.ts";
import { denseLinear, denseRelu } from "../lib/core/dense.ts";
import { tf } from "../lib/core/backend.ts";
import { assertClose, withTempDir } from "./helpers.ts";

await initBackend("wasm");

function randomTensor(seed: number, shape: [number, number]): tf.Tensor2D {
  return tf.tensor2d(createRng(seed).fillNormal(new Float32Array(shape[0] * shape[1])), shape);
}

Deno.test("initBackend() starts wasm by default and rejects unknown names", async () => {
  assert.equal(tf.getBackend(), "wasm");
  // deno-lint-ignore no-explicit-any
  await assert.rejects(() => initBackend("webgl" as any), /"wasm" or "cpu"/);
});

Deno.test("denseRelu() and denseLinear() gradients match tfjs autodiff of the plain ops", () => {
  const x = randomTensor(1, [5, 4]), w = randomTensor(2, [4, 3]);
  const b = tf.tensor1d([0.1, -0.2, 0.3]);
  for (
    const [fast, plain] of [
      [denseRelu, (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.relu(tf.add(tf.matMul(x, w), b))],
      [denseLinear, (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.add(tf.matMul(x, w), b)],
    ] as const
  ) {
    const target = randomTensor(3, [5, 3]);
    const loss = (f: typeof plain) => (...args: tf.Tensor[]) =>
      tf.sum(tf.mul(f(args[0] as tf.Tensor2D, args[1] as tf.Tensor2D, args[2] as tf.Tensor1D), target));
    const g1 = tf.grads(loss(fast as typeof plain))([x, w, b]);
    const g2 = tf.grads(loss(plain))([x, w, b]);
    g1.forEach((g, i) => assertClose(g.dataSync(), g2[i].dataSync(), { atol: 1e-5 }));
    assertClose((fast as typeof plain)(x, w, b).dataSync(), plain(x, w, b).dataSync(), { atol: 1e-6 });
  }
});

Deno.test("initMlp() is reproducible from the seed and rejects bad sizes", () => {
  const a = initMlp(createRng(4), { inputDim: 3, hiddenSizes: [8], outputDim: 2 });
  const b = initMlp(createRng(4), { inputDim: 3, hiddenSizes: [8], outputDim: 2 });
  assert.deepEqual(a.weights[0].dataSync(), b.weights[0].dataSync());
  assert.ok(Math.max(...a.weights[0].dataSync().map(Math.abs)) <= 1 / Math.sqrt(3));
  assert.throws(() => initMlp(createRng(0), { inputDim: 0, hiddenSizes: [], outputDim: 1 }), /inputDim/);
  assert.throws(() => initMlp(createRng(0), { inputDim: 2, hiddenSizes: [-3], outputDim: 1 }), /hiddenSizes\[0\]/);
});

Deno.test("Adam matches a hand-computed first and second step", () => {
  const x = tf.variable(tf.tensor1d([1, -2]));
  const adam = createAdam([x], { learningRate: 0.1 });
  // loss = sum(x^2) -> g = 2x; step 1 moves each coordinate by lr * sign(g) (bias-corrected).
  minimize(adam, () => ({ loss: tf.sum(tf.square(x)) as tf.Scalar }));
  assertClose(x.dataSync(), [0.9, -1.9], { atol: 1e-6 });
  // step 2 by hand: g = [1.8, -3.8]; m = 0.9 m1 + 0.1 g; v = 0.999 v1 + 0.001 g^2.
  const g1 = [2, -4], g2 = [1.8, -3.8];
  const expected = [0.9, -1.9].map((p, i) => {
    const m = 0.9 * 0.1 * g1[i] + 0.1 * g2[i];
    const v = 0.999 * 0.001 * g1[i] ** 2 + 0.001 * g2[i] ** 2;
    return p - 0.1 * (m / (1 - 0.81)) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
  });
  minimize(adam, () => ({ loss: tf.sum(tf.square(x)) as tf.Scalar }));
  assertClose(x.dataSync(), expected, { atol: 1e-5 });
  x.dispose();
});

Deno.test("minimize() stops with a NonFiniteLossError naming the part and leaves parameters untouched", () => {
  const x = tf.variable(tf.tensor1d([1, 2]));
  const adam = createAdam([x], { learningRate: 0.1 });
  const before = Array.from(x.dataSync());
  assert.throws(
    () => minimize(adam, () => ({ loss: tf.sum(x) as tf.Scalar, tdLoss: tf.scalar(NaN) }), "critic step 7"),
    (err: unknown) =>
      err instanceof NonFiniteLossError && /critic step 7/.test(err.message) && /tdLoss/.test(err.message),
  );
  assert.deepEqual(Array.from(x.dataSync()), before);
  x.dispose();
});

Deno.test("a training loop leaks no tensors over many steps", () => {
  const net = initMlp(createRng(0), { inputDim: 4, hiddenSizes: [16, 16], outputDim: 2 });
  const target = initMlp(createRng(1), { inputDim: 4, hiddenSizes: [16, 16], outputDim: 2 });
  const ens = initEnsemble(createRng(2), 3, { inputDim: 4, hiddenSizes: [8], outputDim: 2, activation: "silu" });
  const adam = createAdam([...mlpVariables(net), ...ensembleVariables(ens)], { learningRate: 1e-3, maxGradNorm: 10 });
  const x = randomTensor(5, [32, 4]);
  const step = () => {
    minimize(adam, () => {
      const q = mlpForward(net, x);
      const e = ensembleForward(ens, [x, x, x]);
      return {
        loss: tf.add(tf.mean(tf.square(q)), tf.mean(tf.square(tf.addN(e)))) as tf.Scalar,
        q: tf.mean(q) as tf.Scalar,
      };
    });
    softUpdate(mlpVariables(target), mlpVariables(net), 0.005);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 200; i++) step();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("the same seed trains the same network bit for bit", () => {
  const run = () => {
    const rng = createRng(11);
    const net = initMlp(rng, { inputDim: 3, hiddenSizes: [32, 32], outputDim: 1 });
    const adam = createAdam(mlpVariables(net), { learningRate: 1e-2 });
    for (let i = 0; i < 30; i++) {
      const xs = rng.fillNormal(new Float32Array(64 * 3));
      const ys = new Float32Array(64).map((_, k) => Math.sin(xs[3 * k]) + xs[3 * k + 1] * xs[3 * k + 2]);
      tf.tidy(() => {
        const x = tf.tensor2d(xs, [64, 3]), y = tf.tensor2d(ys, [64, 1]);
        minimize(adam, () => ({ loss: tf.losses.meanSquaredError(y, mlpForward(net, x)) as tf.Scalar }));
      });
    }
    const out = mlpVariables(net).map((v) => Array.from(v.dataSync()));
    tf.dispose(mlpVariables(net));
    return out;
  };
  assert.deepEqual(run(), run());
});

Deno.test("an MLP learns a simple regression (the loss falls by 10x)", () => {
  const rng = createRng(3);
  const net = initMlp(rng, { inputDim: 2, hiddenSizes: [32, 32], outputDim: 1 });
  const adam = createAdam(mlpVariables(net), { learningRate: 1e-2 });
  const xs = rng.fillUniform(new Float32Array(256 * 2), -1, 1);
  const ys = new Float32Array(256).map((_, k) => xs[2 * k] * xs[2 * k + 1]);
  const x = tf.tensor2d(xs, [256, 2]), y = tf.tensor2d(ys, [256, 1]);
  const losses = Array.from(
    { length: 300 },
    () => minimize(adam, () => ({ loss: tf.losses.meanSquaredError(y, mlpForward(net, x)) as tf.Scalar })).loss,
  );
  assert.ok(losses[299] < losses[0] / 10, `loss ${losses[0]} -> ${losses[299]}`);
  tf.dispose([x, y, ...mlpVariables(net)]);
});

Deno.test("after an optimiser step the next forward pass uses the new weights, not stale packed ones", () => {
  const net = initMlp(createRng(6), { inputDim: 3, hiddenSizes: [8], outputDim: 2 });
  const x = randomTensor(7, [4, 3]);
  const adam = createAdam(mlpVariables(net), { learningRate: 0.1 });
  for (let i = 0; i < 3; i++) {
    mlpForward(net, x).dispose(); // primes the backend's cache of packed weights
    minimize(adam, () => ({ loss: tf.sum(mlpForward(net, x)) as tf.Scalar }));
    const plain = tf.add(
      tf.matMul(tf.relu(tf.add(tf.matMul(x, net.weights[0]), net.biases[0])), net.weights[1]),
      net.biases[1],
    );
    assertClose(mlpForward(net, x).dataSync(), plain.dataSync(), { atol: 1e-5 });
  }
});

Deno.test("softUpdate() moves targets by tau and copies at tau = 1", () => {
  const t = tf.variable(tf.tensor1d([0, 0])), s = tf.variable(tf.tensor1d([1, 2]));
  softUpdate([t], [s], 0.25);
  assertClose(t.dataSync(), [0.25, 0.5]);
  softUpdate([t], [s], 1);
  assert.deepEqual(Array.from(t.dataSync()), [1, 2]);
  assert.throws(() => softUpdate([t], [s], 1.5), /tau/);
  tf.dispose([t, s]);
});

Deno.test("ensembleForward() evaluates each member on its own batch", () => {
  const ens = initEnsemble(createRng(8), 2, { inputDim: 3, hiddenSizes: [4], outputDim: 2 });
  const x0 = randomTensor(1, [5, 3]), x1 = randomTensor(2, [7, 3]);
  const [y0, y1] = ensembleForward(ens, [x0, x1]);
  assert.deepEqual(y0.shape, [5, 2]);
  assert.deepEqual(y1.shape, [7, 2]);
  assertClose(y1.dataSync(), mlpForward(ens.members[1], x1).dataSync());
  assert.notDeepEqual(
    Array.from(ens.members[0].weights[0].dataSync()),
    Array.from(ens.members[1].weights[0].dataSync()),
  );
  assert.throws(() => ensembleForward(ens, [x0]), /2 members but 1/);
});

Deno.test("parameters round-trip through JSON and the tfjs weights format, checking names and shapes", async () => {
  await withTempDir(async (dir) => {
    const a = initMlp(createRng(1), { inputDim: 3, hiddenSizes: [5], outputDim: 2 });
    const b = initMlp(createRng(2), { inputDim: 3, hiddenSizes: [5], outputDim: 2 });
    const c = initMlp(createRng(3), { inputDim: 3, hiddenSizes: [5], outputDim: 2 });
    await saveParamsJson(`${dir}/p.json`, namedVariables({ actor: a }));
    await loadParamsJson(`${dir}/p.json`, namedVariables({ actor: b }));
    assert.deepEqual(b.weights[1].dataSync(), a.weights[1].dataSync());
    await saveParamsTfjs(`${dir}/tfjs`, namedVariables({ actor: a }));
    await loadParamsTfjs(`${dir}/tfjs`, namedVariables({ actor: c }));
    assert.deepEqual(c.biases[0].dataSync(), a.biases[0].dataSync());
    const wrong = initMlp(createRng(4), { inputDim: 3, hiddenSizes: [6], outputDim: 2 });
    await assert.rejects(
      () => loadParamsJson(`${dir}/p.json`, namedVariables({ actor: wrong })),
      /shape \[3,5\], expected \[3,6\]/,
    );
    await assert.rejects(
      () => loadParamsJson(`${dir}/p.json`, namedVariables({ critic: a })),
      /no parameter named "critic\/0\/w"/,
    );
    const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(entries, ["p.json", "tfjs"], "no temporary files left behind");
  });
});
