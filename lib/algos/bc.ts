/**
 * Behaviour cloning: a softmax policy network fitted to the data's actions by cross-entropy, the
 * baseline that imitates the clinician without any reward (OMG-RL's comparison "beyond the paper").
 *
 * @module
 */
import { tf } from "../core/backend.ts";
import { initMlp, mlpForward, type MlpParams, mlpVariables } from "../core/mlp.ts";
import { createAdam, minimize } from "../core/optim.ts";
import type { Rng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";

/** Settings of behaviour cloning. */
export interface BehaviourCloningConfig {
  /** @default [256, 256, 256] (the SAC actor's shape) */
  readonly hiddenSizes?: readonly number[];
  /** @default 5e-4 */
  readonly learningRate?: number;
  /** @default 2000 */
  readonly steps?: number;
  /** @default 256 */
  readonly batchSize?: number;
}

/** Fits pi(a | s) to the data; returns the network and the loss curve (every 100 steps). */
export function trainBehaviourCloning(
  data: MdpDataset,
  rng: Rng,
  config: BehaviourCloningConfig = {},
): { actor: MlpParams; losses: number[] } {
  const S = data.stateDim, A = data.numActions;
  const steps = config.steps ?? 2000, B = config.batchSize ?? 256;
  const actor = initMlp(rng, { inputDim: S, hiddenSizes: config.hiddenSizes ?? [256, 256, 256], outputDim: A });
  const adam = createAdam(mlpVariables(actor), { learningRate: config.learningRate ?? 5e-4 });
  const losses: number[] = [];
  let sum = 0;
  for (let k = 0; k < steps; k++) {
    const states = new Float32Array(B * S), actions = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const i = rng.int(data.size);
      states.set(data.states.subarray(i * S, (i + 1) * S), b * S);
      actions[b] = data.actions[i];
    }
    const x = tf.tensor2d(states, [B, S]), a = tf.tensor1d(actions, "int32");
    const out = minimize(adam, () => {
      const logp = tf.logSoftmax(mlpForward(actor, x));
      return { loss: tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(a, A)), 1))) as tf.Scalar };
    }, `behaviour cloning step ${k}`);
    tf.dispose([x, a]);
    sum += out.loss;
    if ((k + 1) % 100 === 0) {
      losses.push(sum / 100);
      sum = 0;
    }
  }
  return { actor, losses };
}
