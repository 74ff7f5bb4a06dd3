/**
 * Offline reinforcement learning for medicine, in TypeScript on Deno.
 *
 * Implements OMG-RL (Lim & Lee: guided reward learning inside an offline model-based loop with a
 * conservative discrete soft actor-critic) and P4L (Miao, Shahbaba & Qu: individual latent
 * variables, a pessimistic Lagrangian dual and a multi-centroid ADMM penalty), with the data
 * layer, simulators and evaluation they need. Everything is a function of typed arrays and
 * frozen configs; tensors appear only inside the algorithms.
 *
 * @example From a seed to a trained network
 * ```ts
 * import { createAdam, createRng, initBackend, initMlp, minimize, mlpForward, tf } from "./mod.ts";
 * await initBackend();
 * const net = initMlp(createRng(0), { inputDim: 2, hiddenSizes: [16], outputDim: 1 });
 * const adam = createAdam(net.weights.concat(net.biases), { learningRate: 1e-2 });
 * const x = tf.tensor2d([[0, 1], [1, 0]]);
 * const y = tf.tensor2d([[1], [-1]]);
 * for (let i = 0; i < 50; i++) minimize(adam, () => ({ loss: tf.losses.meanSquaredError(y, mlpForward(net, x)) as tf.Scalar }));
 * ```
 *
 * @module
 */
export * from "./lib/core/backend.ts";
export * from "./lib/core/random.ts";
export * from "./lib/core/dense.ts";
export * from "./lib/core/mlp.ts";
export * from "./lib/core/optim.ts";
export * from "./lib/core/params.ts";
export * from "./lib/util/files.ts";
export * from "./lib/data/dataset.ts";
export * from "./lib/data/steps.ts";
export * from "./lib/data/csv.ts";
export * from "./lib/data/mimic_tables.ts";
export * from "./lib/data/heparin_cohort.ts";
export * from "./lib/data/preprocess.ts";
export * from "./lib/envs/env.ts";
export * from "./lib/envs/p4l_simple.ts";
export * from "./lib/envs/cartpole.ts";
export * from "./lib/envs/sepsis.ts";
export * from "./lib/envs/heparin.ts";
export * from "./lib/algos/dynamics.ts";
export * from "./lib/algos/sac.ts";
export * from "./lib/algos/guided_reward.ts";
export * from "./lib/algos/omg_rl.ts";
export * from "./lib/algos/bc.ts";
export * from "./lib/plots/figures.ts";
export * from "./lib/plots/display.ts";
export * from "./lib/repro/omg_rl.ts";
export * from "./lib/core/linalg.ts";
export * from "./lib/algos/features.ts";
export * from "./lib/algos/fqi.ts";
export * from "./lib/algos/p4l.ts";
export * from "./lib/algos/group_count.ts";
export * from "./lib/algos/persim.ts";
export * from "./lib/algos/vlearning.ts";
export * from "./lib/algos/acpi.ts";
export * from "./lib/repro/p4l.ts";
export * from "./lib/repro/ope.ts";
export * from "./lib/algos/ope.ts";
