import assert from "node:assert/strict";
import { computePath, initBackend, tf } from "../lib/core/backend.ts";
import { installNativeBlas, nativeBlasInfo, uninstallNativeBlas } from "../lib/core/native_blas.ts";
import { createAdam, createRng, initMlp, minimize, mlpForward, mlpVariables } from "../mod.ts";

await initBackend("wasm", { announce: false });
const native = nativeBlasInfo();
const why = native ? "" : computePath().description;
const opts = { ignore: native === null, sanitizeResources: false, sanitizeOps: false };
if (native === null) console.warn(`native BLAS tests skipped: ${why}`);

function randomTensor(seed: number, shape: number[]): tf.Tensor {
  const rng = createRng(seed);
  return tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
}

/** Values of `f` under the stock wasm kernels and under the native ones. */
function stockAndNative(f: () => tf.Tensor): [Float32Array, Float32Array] {
  uninstallNativeBlas();
  const stock = tf.tidy(() => f().dataSync() as Float32Array);
  const info = installNativeBlas();
  assert.ok(!("reason" in info), "reinstalled");
  const nat = tf.tidy(() => f().dataSync() as Float32Array);
  return [stock, nat];
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / (1 + Math.abs(a[i])));
  return m;
}

Deno.test("native matrix products match the stock wasm kernels for every transpose, batch and broadcast", opts, () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[64, 33], [33, 17], false, false],
    [[33, 64], [33, 17], true, false],
    [[64, 33], [17, 33], false, true],
    [[33, 64], [17, 33], true, true],
    [[7, 20, 9], [7, 9, 11], false, false],
    [[7, 20, 9], [1, 9, 11], false, false],
    [[1, 20, 9], [7, 11, 9], false, true],
  ];
  cases.forEach(([sa, sb, ta, tb], i) => {
    const a = randomTensor(i, sa), b = randomTensor(100 + i, sb);
    const [stock, nat] = stockAndNative(() => tf.matMul(a, b, ta, tb));
    assert.ok(maxRelDiff(stock, nat) < 1e-5, `case ${i}: ${maxRelDiff(stock, nat)}`);
    tf.dispose([a, b]);
  });
});

Deno.test("the native fused product adds the bias and applies ReLU where the stock kernel is right", opts, () => {
  const a = randomTensor(1, [40, 12]), b = randomTensor(2, [12, 9]), bias = randomTensor(3, [9]);
  // Reference from plain ops (the stock _FusedMatMul is wrong with transposes and a bias: PLATFORM.md).
  const want = tf.tidy(() => tf.relu(tf.add(tf.matMul(a, b), bias)).dataSync() as Float32Array);
  const got = tf.tidy(() => tf.fused.matMul({ a, b, bias: bias as tf.Tensor1D, activation: "relu" }).dataSync());
  assert.ok(maxRelDiff(want, got as Float32Array) < 1e-5);
  const at = tf.transpose(a);
  const gotT = tf.tidy(() =>
    tf.fused.matMul({ a: at as tf.Tensor2D, b: b as tf.Tensor2D, bias: bias as tf.Tensor1D, transposeA: true })
      .dataSync()
  );
  const wantT = tf.tidy(() => tf.add(tf.matMul(a, b), bias).dataSync() as Float32Array);
  assert.ok(maxRelDiff(wantT, gotT as Float32Array) < 1e-5, "transposed operand with a bias");
  tf.dispose([a, b, bias, at]);
});

Deno.test("gradients through dense layers agree between the stock and the native path", opts, () => {
  const net = initMlp(createRng(0), { inputDim: 6, hiddenSizes: [32, 32], outputDim: 3 });
  const x = randomTensor(5, [50, 6]) as tf.Tensor2D;
  const grads = () => {
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(mlpForward(net, x))) as tf.Scalar, mlpVariables(net));
    return tf.concat(Object.values(grads).map((g) => g.reshape([-1])));
  };
  const [stock, nat] = stockAndNative(grads);
  assert.ok(maxRelDiff(stock, nat) < 1e-4, `gradient difference ${maxRelDiff(stock, nat)}`);
  tf.dispose([x, ...mlpVariables(net)]);
});

Deno.test("training on the native path is bit-identical for a fixed seed and leaks no tensors", opts, () => {
  const run = () => {
    const net = initMlp(createRng(3), { inputDim: 4, hiddenSizes: [16], outputDim: 2 });
    const adam = createAdam(mlpVariables(net), { learningRate: 1e-2 });
    const x = randomTensor(1, [32, 4]) as tf.Tensor2D, y = randomTensor(2, [32, 2]);
    for (let i = 0; i < 30; i++) minimize(adam, () => ({ loss: tf.losses.meanSquaredError(y, mlpForward(net, x)) }));
    const out = tf.tidy(() => mlpForward(net, x).dataSync() as Float32Array);
    tf.dispose([x, y, ...mlpVariables(net)]);
    return out;
  };
  run();
  const before = tf.memory().numTensors;
  const first = run();
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  assert.deepEqual(run(), first);
});

Deno.test("the compute path names the library, its CPU kernel and threads", opts, () => {
  const p = computePath();
  assert.equal(p.matmul, "native-blas");
  assert.equal(p.library, native!.library);
  assert.ok(p.threads >= 1 && typeof p.coretype === "string");
  assert.match(p.description, /matrix products on .+ thread/);
});

Deno.test("with CLINICAL_RL_NATIVE_BLAS=0 a task runs on the stock kernels and says so", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { initBackend, computePath } from "./lib/core/backend.ts"; await initBackend(); console.log(computePath().matmul);`,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    env: { CLINICAL_RL_NATIVE_BLAS: "0" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(stdout.trim(), "xnnpack");
  assert.match(stderr, /native BLAS: switched off/);
});
