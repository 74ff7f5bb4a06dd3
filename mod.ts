/**
 * Offline reinforcement learning for medicine, in TypeScript on Deno.
 *
 * Implements OMG-RL (Lim & Lee: guided reward learning inside an offline model-based loop with a
 * conservative discrete soft actor-critic) and P4L (Miao, Shahbaba & Qu: individual latent
 * variables, a pessimistic Lagrangian dual and a multi-centroid ADMM penalty), with the data
 * layer, simulators and evaluation they need. Everything is a function of typed arrays and
 * frozen configs; tensors appear only inside the algorithms.
 *
 * This root module re-exports the entry points `./core`, `./data`, `./envs`, `./omg-rl`,
 * `./p4l`, `./ope`, `./plots` and `./repro`; the TensorFlow.js namespace is the `./tf` entry point.
 * docs/glossary.md maps every name to the papers' symbols.
 *
 * @example From a seed to a trained network
 * ```ts
 * import { createAdam, createRng, initBackend, initMlp, minimize, mlpForward } from "./mod.ts";
 * import { tf } from "./tf.ts";
 * import assert from "node:assert/strict";
 * await initBackend();
 * const net = initMlp(createRng(0), { inputDim: 2, hiddenSizes: [16], outputDim: 1 });
 * const adam = createAdam([...net.weights, ...net.biases], { learningRate: 1e-2 });
 * const x = tf.tensor2d([[0, 1], [1, 0]]);
 * const y = tf.tensor2d([[1], [-1]]);
 * const mse = () => tf.losses.meanSquaredError(y, mlpForward(net, x));
 * const before = tf.tidy(() => mse().dataSync()[0]);
 * for (let i = 0; i < 50; i++) minimize(adam, () => ({ loss: mse() }));
 * assert.ok(tf.tidy(() => mse().dataSync()[0]) < before);
 * ```
 *
 * @module
 */
export * from "./core.ts";
export * from "./data.ts";
export * from "./envs.ts";
export * from "./omg_rl.ts";
export * from "./p4l.ts";
export * from "./ope.ts";
export * from "./plots.ts";
export * from "./repro.ts";
