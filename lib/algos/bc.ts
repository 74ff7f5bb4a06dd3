/**
 * Behaviour cloning: a softmax policy network fitted to the data's actions by cross-entropy, the
 * baseline that imitates the clinician without any reward (OMG-RL's comparison "beyond the paper").
 *
 * @module
 */
import { tf } from "../core/backend.ts";
import { initMlp, mlpForward, type MlpParams, mlpVariables } from "../core/mlp.ts";
import { type Adam, createAdam, minimize } from "../core/optim.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";
import { sampleBatch } from "../data/preprocess.ts";
import { SAC_DEFAULTS } from "./sac.ts";
import type { Rng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";

/** Settings of behaviour cloning; {@linkcode BC_DEFAULTS} holds the defaults. */
export interface BehaviourCloningConfig {
  /** Hidden layer widths of the policy network. */
  readonly hiddenSizes?: readonly number[];
  /** Adam step size. */
  readonly learningRate?: number;
  /** Gradient steps. */
  readonly steps?: number;
  /** Minibatch size. */
  readonly batchSize?: number;
}

/** The defaults of {@linkcode BehaviourCloningConfig}: the SAC actor's shape and step size. */
export const BC_DEFAULTS: Readonly<Required<BehaviourCloningConfig>> = Object.freeze({
  hiddenSizes: SAC_DEFAULTS.hiddenSizes,
  learningRate: SAC_DEFAULTS.actorLearningRate,
  steps: 2000,
  batchSize: 256,
});

/**
 * A behaviour-cloning config with every default filled in, checked and frozen.
 *
 * @param config Overrides of {@linkcode BC_DEFAULTS}.
 */
export function resolveBcConfig(config: BehaviourCloningConfig = {}): Readonly<Required<BehaviourCloningConfig>> {
  const c = resolveConfig("behaviour cloning", BC_DEFAULTS, config);
  checkIntegers("behaviour cloning", c, ["steps", "batchSize"]);
  checkInterval("behaviour cloning", c, "learningRate", 0, Infinity, "low");
  return c;
}

/** Live state of behaviour cloning: the network, its optimiser and the batch stream. */
export interface BcState {
  /** The resolved config. */
  readonly config: Readonly<Required<BehaviourCloningConfig>>;
  /** The data whose actions are imitated. */
  readonly data: MdpDataset;
  /** The policy network pi(a | s) (logits). */
  readonly actor: MlpParams;
  /** Its Adam optimiser. */
  readonly adam: Adam;
  /** Minibatch stream. */
  readonly rng: Rng;
  /** Steps done. */
  step: number;
}

/** A fresh behaviour-cloning state; `rng` is split into the network's and the batches' streams. */
export function initBc(data: MdpDataset, rng: Rng, config: BehaviourCloningConfig = {}): BcState {
  const c = resolveBcConfig(config);
  const [netRng, batchRng] = rng.split(2);
  const actor = initMlp(netRng, { inputDim: data.stateDim, hiddenSizes: c.hiddenSizes, outputDim: data.numActions });
  const adam = createAdam(mlpVariables(actor), { learningRate: c.learningRate });
  return { config: c, data, actor, adam, rng: batchRng, step: 0 };
}

/** One cross-entropy step on a minibatch of recorded (state, action) pairs. */
export function bcStep(state: BcState): { loss: number } {
  const { data, config, actor } = state;
  const S = data.stateDim, A = data.numActions;
  const batch = sampleBatch(data, state.rng, config.batchSize);
  const x = tf.tensor2d(batch.states, [config.batchSize, S]), a = tf.tensor1d(batch.actions, "int32");
  try {
    return minimize(state.adam, () => {
      const logp = tf.logSoftmax(mlpForward(actor, x));
      return { loss: tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(a, A)), 1))) };
    }, `behaviour cloning step ${state.step++}`);
  } finally {
    tf.dispose([x, a]);
  }
}

/** Fits pi(a | s) to the data; returns the network and the loss curve (mean of every 100 steps). */
export function trainBehaviourCloning(
  data: MdpDataset,
  rng: Rng,
  config: BehaviourCloningConfig = {},
): { actor: MlpParams; losses: number[] } {
  const state = initBc(data, rng, config);
  const losses: number[] = [];
  let sum = 0;
  while (state.step < state.config.steps) {
    sum += bcStep(state).loss;
    if (state.step % 100 === 0) {
      losses.push(sum / 100);
      sum = 0;
    }
  }
  return { actor: state.actor, losses };
}
