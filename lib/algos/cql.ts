/**
 * Model-free discrete conservative Q-learning (Kumar et al., "Conservative Q-Learning for Offline
 * Reinforcement Learning", NeurIPS 2020, eq. 4, the CQL(H) variant, in the DQN form d3rlpy's
 * DiscreteCQL uses): the offline-RL baseline beside OMG-RL's model-based loop.
 *
 *   L(theta) = E_D[huber(Q(s, a) - (r + gamma (1 - d) Q'(s', argmax_a' Q(s', a'))))]
 *              + alpha_CQL E_D[logsumexp_a Q(s, a) - Q(s, a)],
 *
 * with a Polyak-averaged target Q' and the double-DQN target (van Hasselt et al. 2016). The
 * policy is greedy in Q (a softmax at `policyTemperature` when asked for probabilities).
 * Departures from d3rlpy's defaults (lr 6.25e-5, batch 32, a hard target copy every 8000 steps,
 * alpha_CQL = 1): lr 3e-4, batch 256 and tau 0.005, which train in the 10,000 steps a 2-core
 * budget allows; and alpha_CQL = 0.3, chosen on the simulated heparin cohort's dosing state, where
 * alpha = 1 imitates the clinician's dominant "keep the bin" too closely (the comparison of 0.1,
 * 0.3 and 1 is recorded by `deno task repro omg-diagnosis`; docs/omg-rl.md).
 *
 * @module
 */
import { tf } from "../core/backend.ts";
import { initMlp, mlpForward, type MlpParams, mlpVariables } from "../core/mlp.ts";
import { type Adam, createAdam, minimize, softUpdate } from "../core/optim.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";
import { sampleBatch } from "../data/preprocess.ts";
import type { Rng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { conservativePenalty } from "./sac.ts";

/** Settings of discrete CQL; {@linkcode CQL_DEFAULTS} holds the defaults. */
export interface CqlConfig {
  /** Hidden layer widths of the Q-network. */
  readonly hiddenSizes?: readonly number[];
  /** Adam step size. */
  readonly learningRate?: number;
  /** Gradient steps. */
  readonly steps?: number;
  /** Minibatch size. */
  readonly batchSize?: number;
  /** Discount gamma, in [0, 1). */
  readonly discount?: number;
  /** Polyak step of the target network. */
  readonly tau?: number;
  /** Weight of the CQL(H) term, alpha_CQL; 0 is double DQN. */
  readonly conservativeWeight?: number;
  /** Gradient-norm clip. */
  readonly maxGradNorm?: number;
}

/** The defaults of {@linkcode CqlConfig} (module doc for the departures from d3rlpy). */
export const CQL_DEFAULTS: Readonly<Required<CqlConfig>> = Object.freeze({
  hiddenSizes: Object.freeze([256, 256]),
  learningRate: 3e-4,
  steps: 10000,
  batchSize: 256,
  discount: 0.99,
  tau: 0.005,
  conservativeWeight: 0.3,
  maxGradNorm: 10,
});

/** A CQL config with every default filled in, checked and frozen. */
export function resolveCqlConfig(config: CqlConfig = {}): Readonly<Required<CqlConfig>> {
  const c = resolveConfig("cql", CQL_DEFAULTS, config);
  checkIntegers("cql", c, ["steps", "batchSize"]);
  checkInterval("cql", c, "learningRate", 0, Infinity, "low");
  checkInterval("cql", c, "discount", 0, 1, "high");
  checkInterval("cql", c, "tau", 0, 1, "low");
  checkInterval("cql", c, "conservativeWeight", 0, Infinity);
  return c;
}

/** Live state of discrete CQL. */
export interface CqlState {
  /** The resolved config. */
  readonly config: Readonly<Required<CqlConfig>>;
  /** The data (states normalised as the caller wants them read). */
  readonly data: MdpDataset;
  /** Q(s, .), one output per action. */
  readonly q: MlpParams;
  /** Its Polyak-averaged target. */
  readonly target: MlpParams;
  /** Adam of Q. */
  readonly adam: Adam;
  /** Minibatch stream. */
  readonly rng: Rng;
  /** Steps done. */
  step: number;
}

/** A fresh CQL state; `rng` is split into the network's and the batches' streams. */
export function initCql(data: MdpDataset, rng: Rng, config: CqlConfig = {}): CqlState {
  const c = resolveCqlConfig(config);
  const [netRng, batchRng] = rng.split(2);
  const shape = { inputDim: data.stateDim, hiddenSizes: c.hiddenSizes, outputDim: data.numActions };
  const q = initMlp(netRng, shape), target = initMlp(netRng, shape);
  softUpdate(mlpVariables(target), mlpVariables(q), 1);
  const adam = createAdam(mlpVariables(q), { learningRate: c.learningRate, maxGradNorm: c.maxGradNorm });
  return { config: c, data, q, target, adam, rng: batchRng, step: 0 };
}

/** Losses of one CQL step. */
export interface CqlLosses {
  /** TD (Huber) plus the weighted conservative term. */
  readonly loss: number;
  /** The Huber TD part. */
  readonly tdLoss: number;
  /** The CQL(H) term before its weight. */
  readonly conservativeLoss: number;
}

/** One gradient step on a minibatch of recorded transitions, then the target's Polyak step. */
export function cqlStep(state: CqlState): CqlLosses {
  const { data, config: c, q, target } = state;
  const S = data.stateDim, A = data.numActions, B = c.batchSize;
  const batch = sampleBatch(data, state.rng, B);
  const s = tf.tensor2d(batch.states, [B, S]), s2 = tf.tensor2d(batch.nextStates, [B, S]);
  const a = tf.tensor1d(batch.actions, "int32");
  const y = tf.tidy(() => {
    const next = tf.argMax(mlpForward(q, s2), 1);
    const v = tf.sum(tf.mul(mlpForward(target, s2), tf.oneHot(next, A)), 1);
    const notDone = tf.sub(1, tf.tensor1d(batch.terminals, "float32"));
    return tf.add(tf.tensor1d(batch.rewards), tf.mul(c.discount, tf.mul(notDone, v)));
  });
  try {
    const out = minimize(state.adam, () => {
      const qs = mlpForward(q, s) as tf.Tensor2D;
      const qa = tf.sum(tf.mul(qs, tf.oneHot(a, A)), 1);
      const td = tf.losses.huberLoss(y, qa) as tf.Scalar;
      const cons = c.conservativeWeight > 0 ? conservativePenalty(qs, qs, a as tf.Tensor1D) : tf.scalar(0);
      return { loss: tf.add(td, tf.mul(c.conservativeWeight, cons)) as tf.Scalar, tdLoss: td, conservativeLoss: cons };
    }, `cql step ${state.step++}`);
    softUpdate(mlpVariables(target), mlpVariables(q), c.tau);
    return out;
  } finally {
    tf.dispose([s, s2, a, y]);
  }
}

/**
 * Trains discrete CQL on `data`; returns the Q-network and the loss curve (mean of every 100
 * steps). `onProgress` hears the step and the latest mean loss every 1000 steps.
 */
export function trainCql(
  data: MdpDataset,
  rng: Rng,
  config: CqlConfig = {},
  onProgress?: (step: number, loss: number) => void,
): { q: MlpParams; losses: number[] } {
  const state = initCql(data, rng, config);
  const losses: number[] = [];
  let sum = 0;
  while (state.step < state.config.steps) {
    sum += cqlStep(state).loss;
    if (state.step % 100 === 0) {
      losses.push(sum / 100);
      sum = 0;
      if (state.step % 1000 === 0) onProgress?.(state.step, losses[losses.length - 1]);
    }
  }
  tf.dispose(mlpVariables(state.target));
  return { q: state.q, losses };
}
