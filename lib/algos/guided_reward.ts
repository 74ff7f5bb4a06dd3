/**
 * Guided reward learning (OMG-RL section IV-C; guided cost learning, Finn et al. 2016): a reward
 * network r_psi(s, a) trained so that expert trajectories score high against a sample-based
 * estimate of the partition function (eq. 7), with importance weights (eq. 8)
 *
 *   w_j = exp(sum_t r_psi(s_t, a_t)) / prod_t pi(a_t | s_t),
 *
 * computed in log space, log w_j = R_psi(tau_j) - sum_t log pi(a_t | s_t), and normalised by
 * log-sum-exp. The loss minimised is
 *
 *   L(psi) = -1/N sum_i R_psi(tau_i) + log(1/M sum_j w_j) + lambda mean r_psi^2,
 *
 * whose gradient is exactly eq. 8 (the gradient of the log of the importance-sampled partition
 * function is sum_j w_j grad R_psi(tau_j) / sum_j w_j). The last term (lambda = 1e-3) is a
 * departure: a small penalty on the reward's size, which the paper does not state; without it
 * the loss can drift without bound once samples and experts separate (GCL also regularises).
 * Trajectories may differ in length (segment ids).
 *
 * @module
 */
import { tf } from "../core/backend.ts";
import { initMlp, mlpForward, type MlpParams, mlpVariables } from "../core/mlp.ts";
import { type Adam, createAdam, minimize } from "../core/optim.ts";
import type { Rng } from "../core/random.ts";
import { effectiveSampleSize, normalizeLogWeights } from "../core/numeric.ts";
import { checkInterval, resolveConfig } from "../core/config.ts";

/** Settings of the reward network; {@linkcode REWARD_DEFAULTS} holds the defaults. */
export interface RewardConfig {
  /** Hidden layer widths of r_psi. */
  readonly hiddenSizes?: readonly number[];
  /** Adam step size. */
  readonly learningRate?: number;
  /** Weight of the size penalty mean r_psi^2 (a departure, module doc). */
  readonly sizePenalty?: number;
  /** Gradient-norm clip. */
  readonly maxGradNorm?: number;
}

/** The defaults of {@linkcode RewardConfig} (OMG-RL section V-B: two layers of 128, 5e-4). */
export const REWARD_DEFAULTS: Readonly<Required<RewardConfig>> = Object.freeze({
  hiddenSizes: Object.freeze([128, 128]),
  learningRate: 5e-4,
  sizePenalty: 1e-3,
  maxGradNorm: 10,
});

/**
 * A reward config with every default filled in, checked and frozen.
 *
 * @param config Overrides of {@linkcode REWARD_DEFAULTS}.
 */
export function resolveRewardConfig(config: RewardConfig = {}): Readonly<Required<RewardConfig>> {
  const c = resolveConfig("guided reward", REWARD_DEFAULTS, config);
  checkInterval("guided reward", c, "learningRate", 0, Infinity, "low");
  checkInterval("guided reward", c, "sizePenalty", 0, Infinity);
  return c;
}

/** r_psi and its optimiser. The network maps s to one reward per action. */
export interface RewardModel {
  /** The resolved config. */
  readonly config: Readonly<Required<RewardConfig>>;
  /** State dimension S. */
  readonly stateDim: number;
  /** Number of actions A. */
  readonly numActions: number;
  /** r_psi: state to one reward per action. */
  readonly net: MlpParams;
  /** Its Adam optimiser. */
  readonly adam: Adam;
}

/** A set of trajectories, flattened: row k belongs to trajectory `segments[k]` (0..count-1). */
export interface TrajectoryBatch {
  /** Number of trajectories. */
  readonly count: number;
  /** States, row-major `[rows, stateDim]`. */
  readonly states: Float32Array;
  /** Actions, one per row. */
  readonly actions: Int32Array;
  /** Trajectory (0..count-1) of each row. */
  readonly segments: Int32Array;
}

/** A new reward network. */
export function createRewardModel(
  rng: Rng,
  stateDim: number,
  numActions: number,
  config: RewardConfig = {},
): RewardModel {
  const c = resolveRewardConfig(config);
  const net = initMlp(rng, { inputDim: stateDim, hiddenSizes: c.hiddenSizes, outputDim: numActions });
  return Object.freeze({
    config: c,
    stateDim,
    numActions,
    net,
    adam: createAdam(mlpVariables(net), { learningRate: c.learningRate, maxGradNorm: c.maxGradNorm }),
  });
}

/** r_psi(s, a) per row (tensor, for use inside losses). */
function rewardTensor(model: RewardModel, states: Float32Array, actions: Int32Array): tf.Tensor1D {
  const n = actions.length;
  const out = mlpForward(model.net, tf.tensor2d(states, [n, model.stateDim]));
  return tf.sum(tf.mul(out, tf.oneHot(tf.tensor1d(actions, "int32"), model.numActions)), 1) as tf.Tensor1D;
}

/**
 * Per-trajectory sums of per-row values: [1, rows] x one-hot [rows, count]. (The wasm backend
 * has no UnsortedSegmentSum kernel; a product with the one-hot matrix is differentiable too.)
 */
function segmentSum(values: tf.Tensor1D, segments: Int32Array, count: number): tf.Tensor1D {
  const onehot = tf.oneHot(tf.tensor1d(segments, "int32"), count).toFloat() as tf.Tensor2D;
  return tf.reshape(tf.matMul(tf.reshape(values, [1, -1]) as tf.Tensor2D, onehot), [count]) as tf.Tensor1D;
}

/** r_psi(s, a) per row, as numbers. */
export function rewardValues(model: RewardModel, states: Float32Array, actions: Int32Array): Float32Array {
  let out: Float32Array = new Float32Array(0);
  tf.tidy(() => void (out = rewardTensor(model, states, actions).dataSync() as Float32Array));
  return out;
}

/**
 * Normalised log importance weights of eq. 8: log w_j = R_j - logPi_j, minus their log-sum-exp
 * (so that sum_j exp(result_j) = 1). Safe for extreme values; throws on NaN.
 */
export function normalizedLogWeights(rewardSums: ArrayLike<number>, logProbSums: ArrayLike<number>): Float64Array {
  if (rewardSums.length !== logProbSums.length) {
    throw new RangeError(
      `normalizedLogWeights: ${rewardSums.length} returns but ${logProbSums.length} log-probabilities`,
    );
  }
  return normalizeLogWeights(Float64Array.from(rewardSums, (r, j) => r - logProbSums[j]));
}

/** Losses of one reward update, as numbers. */
export interface RewardLosses {
  /** The loss minimised (module doc). */
  readonly loss: number;
  /** Mean R_psi of the expert trajectories. */
  readonly expertReturn: number;
  /** Mean R_psi of the samples (unweighted). */
  readonly sampleReturn: number;
  /** log of the importance-sampled partition function estimate. */
  readonly logPartition: number;
  /** Kish's effective sample size of the normalised importance weights (eq. 8). */
  readonly effectiveSampleSize: number;
}

/**
 * One step on eq. 7/8. `samples.logProbSums[j]` is sum_t log pi(a_t | s_t) of sample j under the
 * current policy. Per Algorithm 2, pass the expert batch appended to the samples (see
 * `appendTrajectories`).
 */
export function guidedRewardUpdate(
  model: RewardModel,
  expert: TrajectoryBatch,
  samples: TrajectoryBatch & { readonly logProbSums: Float64Array },
  step = 0,
): RewardLosses {
  if (samples.logProbSums.length !== samples.count) {
    throw new RangeError(
      `guidedRewardUpdate: ${samples.count} samples but ${samples.logProbSums.length} log-probabilities`,
    );
  }
  let sampleReturns: Float32Array = new Float32Array(0);
  const logQ = tf.tensor1d(Float32Array.from(samples.logProbSums));
  const parts = minimize(model.adam, () => {
    const re = rewardTensor(model, expert.states, expert.actions);
    const rs = rewardTensor(model, samples.states, samples.actions);
    const Re = segmentSum(re, expert.segments, expert.count);
    const Rs = segmentSum(rs, samples.segments, samples.count);
    sampleReturns = Rs.dataSync() as Float32Array;
    const logPartition = tf.sub(tf.logSumExp(tf.sub(Rs, logQ)), Math.log(samples.count));
    const expertReturn = tf.mean(Re);
    const size = tf.mul(model.config.sizePenalty, tf.add(tf.mean(tf.square(re)), tf.mean(tf.square(rs))));
    return {
      loss: tf.add(tf.sub(logPartition, expertReturn), size) as tf.Scalar,
      expertReturn: expertReturn as tf.Scalar,
      sampleReturn: tf.mean(Rs) as tf.Scalar,
      logPartition: logPartition as tf.Scalar,
    };
  }, `reward step ${step}`);
  logQ.dispose();
  const ess = effectiveSampleSize(normalizedLogWeights(sampleReturns, samples.logProbSums));
  return { ...parts, effectiveSampleSize: ess };
}

/** Trajectory sets joined (segments renumbered): the expert batch appended to the samples. */
export function appendTrajectories(a: TrajectoryBatch, b: TrajectoryBatch): TrajectoryBatch {
  const segments = new Int32Array(a.segments.length + b.segments.length);
  segments.set(a.segments);
  for (let k = 0; k < b.segments.length; k++) segments[a.segments.length + k] = b.segments[k] + a.count;
  const states = new Float32Array(a.states.length + b.states.length);
  states.set(a.states);
  states.set(b.states, a.states.length);
  const actions = new Int32Array(a.actions.length + b.actions.length);
  actions.set(a.actions);
  actions.set(b.actions, a.actions.length);
  return { count: a.count + b.count, states, actions, segments };
}
