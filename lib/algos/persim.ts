/**
 * A learned personalised simulator in the style of PerSim (Agarwal, Alomar, Alumootil, Shah,
 * Shen, Xu & Yang, "PerSim: Data-efficient offline reinforcement learning with heterogeneous
 * agents via personalized simulators", NeurIPS 2021), which P4L's section 7 uses to value
 * policies on MIMIC-III: the transition of individual i is a low-rank tensor over
 * (individual, state, action),
 *
 *   h(i, s, a) = u_i (.) v(s) (.) w_a  in R^r,   logits_c(i, s, a) = h W_c + b_c(s, a),
 *
 * with u_i a latent vector per individual (its first coordinate fixed at 1, so the population
 * term is part of the model), v(s) = tanh(onehot(s) E + e) a learned state factor, w_a an action
 * factor, and one categorical head per discrete state component c (the next state's components
 * are drawn independently given (i, s, a)). b_c(s, a) = [onehot(s) (x) onehot(a), onehot(a)] B_c is a
 * population baseline (linear in the state's components, separately for each action). Everything is fitted jointly by Adam on the next-state log-likelihood with
 * an L2 penalty on u.
 *
 * Departures from PerSim, for stated reasons: states here are discrete vectors (the sepsis
 * simulator's), so the decoder is a per-component softmax rather than PerSim's Gaussian
 * regression network; the factors are learned by gradient descent on the likelihood rather than
 * PerSim's tensor completion followed by a separate network, which keeps one fitting step.
 * Rewards and termination are not learned: they are known functions of the next state in the
 * sepsis simulator (as -SOFA is of the next state in P4L's data).
 *
 * @module
 */
import { newVariable, tf } from "../core/backend.ts";
import { type Adam, createAdam, minimize } from "../core/optim.ts";
import { createRng, type Rng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";
import type { Environment, Individual } from "../envs/env.ts";
import { softmaxInPlace } from "../core/numeric.ts";
import { checkIntegers, resolveConfig } from "../core/config.ts";

/** Options of {@linkcode fitPersonalisedSimulator}; {@linkcode PERSIM_DEFAULTS} holds the defaults. */
export interface PersimOptions {
  /** Number of levels of each state component (components take values 0..levels-1); required. */
  readonly levels: readonly number[];
  /** Rank r of the factors. */
  readonly rank?: number;
  /** Adam steps over the whole data. */
  readonly steps?: number;
  /** Adam step size. */
  readonly learningRate?: number;
  /** L2 penalty on the individual factors. */
  readonly latentPenalty?: number;
  /**
   * L2 penalty on the action factors and the heads (without it the product u (.) v (.) w can grow
   * its scale and amplify small differences between individuals' u into confident, wrong
   * predictions). Measured on 400 sepsis stays (rank 6, 300 steps), at the most frequent
   * (state, action): next-BP probabilities averaged over individuals 0.36 / 0.64 with 1e-3 against
   * the exact 0.15 / 0.85, 0.18 / 0.81 with 3e-3 and 1e-2 (the price: with stays of at most 20
   * steps the individual factors then carry little).
   */
  readonly factorPenalty?: number;
  /** Seed of the factors' initialisation. */
  readonly seed?: number;
}

/** The defaults of {@linkcode PersimOptions} (every field but `levels`). */
export const PERSIM_DEFAULTS: Readonly<Required<Omit<PersimOptions, "levels">>> = Object.freeze({
  rank: 8,
  steps: 400,
  learningRate: 0.02,
  latentPenalty: 1e-3,
  factorPenalty: 3e-3,
  seed: 0,
});

/** A fitted personalised simulator (plain arrays, JSON-safe through `Array.from`). */
export interface PersonalisedSimulator {
  /** Levels of each state component. */
  readonly levels: readonly number[];
  /** Number of actions A. */
  readonly numActions: number;
  /** Rank r of the factors. */
  readonly rank: number;
  /** Ids of the individuals, in the order of `latents`. */
  readonly individualIds: readonly string[];
  /** u_i, row-major `[N, rank]` (first column 1). */
  readonly latents: Float64Array;
  /** E `[sum(levels), rank]`, e `[rank]`, action factors `[A, rank]`. */
  readonly stateFactor: Float64Array;
  /** Bias e of the state factor. */
  readonly stateBias: Float64Array;
  /** Action factors `[A, rank]`. */
  readonly actionFactors: Float64Array;
  /** W `[rank, sum(levels)]`, B `[(sum(levels) + 1) A, sum(levels)]`, b `[sum(levels)]` (all heads side by side). */
  readonly head: Float64Array;
  /** Baseline weights B of [s (x) a, a]. */
  readonly baseline: Float64Array;
  /** Output bias b. */
  readonly bias: Float64Array;
  /** Mean next-state negative log-likelihood per component at the end of training. */
  readonly trainLoss: number;
}

function checkStates(data: MdpDataset, levels: readonly number[]) {
  if (levels.length !== data.stateDim) {
    throw new RangeError(`persim: ${levels.length} levels for ${data.stateDim}-d states`);
  }
  for (const arr of [data.states, data.nextStates]) {
    for (let k = 0; k < arr.length; k++) {
      const v = arr[k], c = k % data.stateDim;
      if (!Number.isInteger(v) || v < 0 || v >= levels[c]) {
        throw new RangeError(`persim: state component ${c} has value ${v}, expected an integer in [0, ${levels[c]})`);
      }
    }
  }
}

/** One-hot of a discrete state vector, concatenated over components. */
function oneHotState(levels: readonly number[], s: ArrayLike<number>, out: Float64Array | Float32Array, offset = 0) {
  let o = offset;
  for (let c = 0; c < levels.length; c++) {
    out[o + s[c]] = 1;
    o += levels[c];
  }
}

/** Live state of the simulator's fit: the encoded data, the factors and their optimiser. */
export interface PersimTraining {
  /** The resolved config. */
  readonly config: Readonly<Required<PersimOptions>>;
  /** The data being fitted. */
  readonly data: MdpDataset;
  /** Free individual factors `[N, r - 1]` (the first column of u is 1), E, e, W, W_c, B, b. */
  readonly variables: Readonly<Record<"uFree" | "E" | "e" | "W" | "Wc" | "B" | "b", tf.Variable>>;
  /** One-hot s `[n, L]`, [s (x) a, a] `[n, (L + 1) A]`, next-state targets `[n, L]`, who `[n, N]`, a `[n, A]`. */
  readonly inputs: Readonly<Record<"s" | "sa" | "y" | "who" | "a", tf.Tensor2D>>;
  /** Adam over every factor. */
  readonly adam: Adam;
  /** Steps done, and the last step's mean next-state NLL per component. */
  step: number;
  /** The last step's mean next-state NLL per component. */
  fit: number;
}

/** Encodes the data and draws the factors (from `config.seed`). */
export function initPersim(data: MdpDataset, options: PersimOptions): PersimTraining {
  const { levels, ...rest } = options;
  const c = { ...resolveConfig("persim", PERSIM_DEFAULTS, rest), levels: Object.freeze([...levels]) };
  checkIntegers("persim", c, ["rank", "steps"]);
  checkStates(data, levels);
  if (data.size === 0) throw new RangeError("persim: the dataset is empty");
  const N = data.individualIds.length, A = data.numActions, r = c.rank;
  const L = levels.reduce((x, y) => x + y, 0), n = data.size, SA = (L + 1) * A;
  const rng: Rng = createRng(c.seed);
  const init = (rows: number, cols: number, scale: number) =>
    tf.tensor2d(Float32Array.from({ length: rows * cols }, () => scale * rng.normal()), [rows, cols]);
  const uFree = newVariable(() => init(N, r - 1, 0.1));
  const E = newVariable(() => init(L, r, 0.3)), e = newVariable(() => tf.zeros([r]));
  const W = newVariable(() => tf.tidy(() => init(A, r, 0.3).add(1)));
  const Wc = newVariable(() => init(r, L, 0.1));
  const B = newVariable(() => init(SA, L, 0.01)), b = newVariable(() => tf.zeros([L]));
  const sHot = new Float32Array(n * L), saHot = new Float32Array(n * SA), targets = new Float32Array(n * L);
  const D = levels.length;
  for (let t = 0; t < n; t++) {
    oneHotState(levels, data.states.subarray(t * D, (t + 1) * D), sHot, t * L);
    // [onehot(s) (x) onehot(a), onehot(a)]: block a holds the state's one-hot, then the action's own bias.
    const a = data.actions[t];
    oneHotState(levels, data.states.subarray(t * D, (t + 1) * D), saHot, t * SA + a * L);
    saHot[t * SA + L * A + a] = 1;
    oneHotState(levels, data.nextStates.subarray(t * D, (t + 1) * D), targets, t * L);
  }
  return {
    config: c,
    data,
    variables: { uFree, E, e, W, Wc, B, b },
    inputs: {
      s: tf.tensor2d(sHot, [n, L]),
      sa: tf.tensor2d(saHot, [n, SA]),
      y: tf.tensor2d(targets, [n, L]),
      who: tf.tidy(() => tf.oneHot(tf.tensor1d(data.individuals, "int32"), N).toFloat() as tf.Tensor2D),
      a: tf.tidy(() => tf.oneHot(tf.tensor1d(data.actions, "int32"), A).toFloat() as tf.Tensor2D),
    },
    adam: createAdam([uFree, E, e, W, Wc, B, b], { learningRate: c.learningRate }),
    step: 0,
    fit: NaN,
  };
}

/** Mean next-state NLL per component: logits = (u (.) tanh(s E + e) (.) a W) W_c + [s (x) a, a] B + b. */
function persimNll(t: PersimTraining): tf.Scalar {
  const { uFree, E, e, W, Wc, B, b } = t.variables, x = t.inputs, levels = t.config.levels;
  const n = t.data.size;
  const u = tf.concat([tf.ones([n, 1]), tf.matMul(x.who, uFree as tf.Tensor2D)], 1);
  const v = tf.tanh(tf.add(tf.matMul(x.s, E as tf.Tensor2D), e));
  const w = tf.matMul(x.a, W as tf.Tensor2D);
  const h = tf.mul(tf.mul(u, v), w) as tf.Tensor2D;
  const logits = tf.add(tf.add(tf.matMul(h, Wc as tf.Tensor2D), tf.matMul(x.sa, B as tf.Tensor2D)), b);
  // Per-component log-softmax: split the columns by component.
  let nll = tf.scalar(0);
  let o = 0;
  for (const lv of levels) {
    const z = tf.slice(logits, [0, o], [n, lv]);
    const y = tf.slice(x.y, [0, o], [n, lv]);
    nll = tf.add(nll, tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1))));
    o += lv;
  }
  return tf.div(nll, levels.length) as tf.Scalar;
}

/** One full-batch Adam step on the NLL plus the latent and factor penalties. */
export function persimStep(t: PersimTraining): { loss: number; fit: number } {
  const { uFree, W, Wc } = t.variables, c = t.config;
  const out = minimize(t.adam, () => {
    const fit = persimNll(t);
    return {
      loss: tf.addN([
        fit,
        tf.mul(c.latentPenalty, tf.mean(tf.sum(tf.square(uFree), 1))),
        tf.mul(c.factorPenalty, tf.add(tf.sum(tf.square(Wc)), tf.sum(tf.square(W)))),
      ]),
      fit,
    };
  }, `persim step ${t.step}`);
  t.step++;
  t.fit = out.fit;
  return out;
}

/** The fitted simulator as plain arrays; frees the training tensors. */
export function finishPersim(t: PersimTraining): PersonalisedSimulator {
  const { uFree, E, e, W, Wc, B, b } = t.variables;
  const N = t.data.individualIds.length, r = t.config.rank;
  const u = uFree.dataSync();
  const latents = new Float64Array(N * r);
  for (let i = 0; i < N; i++) {
    latents[i * r] = 1;
    for (let j = 1; j < r; j++) latents[i * r + j] = u[i * (r - 1) + j - 1];
  }
  const model: PersonalisedSimulator = Object.freeze({
    levels: t.config.levels,
    numActions: t.data.numActions,
    rank: r,
    individualIds: t.data.individualIds,
    latents,
    stateFactor: Float64Array.from(E.dataSync()),
    stateBias: Float64Array.from(e.dataSync()),
    actionFactors: Float64Array.from(W.dataSync()),
    head: Float64Array.from(Wc.dataSync()),
    baseline: Float64Array.from(B.dataSync()),
    bias: Float64Array.from(b.dataSync()),
    trainLoss: t.fit,
  });
  tf.dispose([...Object.values(t.variables), ...Object.values(t.inputs)]);
  return model;
}

/** Fits the personalised simulator to `data` (states: discrete components). */
export function fitPersonalisedSimulator(data: MdpDataset, options: PersimOptions): PersonalisedSimulator {
  const t = initPersim(data, options);
  while (t.step < t.config.steps) persimStep(t);
  return finishPersim(t);
}

/** Next-state component probabilities of individual `i` at (s, a): one array per component. */
export function persimNextStateProbabilities(
  model: PersonalisedSimulator,
  individual: number,
  s: ArrayLike<number>,
  action: number,
): Float64Array[] {
  const { levels, rank: r, numActions: A } = model;
  const L = levels.reduce((x, y) => x + y, 0);
  const hot = new Float64Array(L);
  oneHotState(levels, s, hot);
  const h = new Float64Array(r);
  for (let j = 0; j < r; j++) {
    let z = model.stateBias[j];
    for (let k = 0; k < L; k++) if (hot[k]) z += model.stateFactor[k * r + j];
    h[j] = model.latents[individual * r + j] * Math.tanh(z) * model.actionFactors[action * r + j];
  }
  const out: Float64Array[] = [];
  let o = 0;
  for (const lv of levels) {
    const p = new Float64Array(lv);
    for (let c = 0; c < lv; c++) {
      let z = model.bias[o + c];
      for (let j = 0; j < r; j++) z += h[j] * model.head[j * L + o + c];
      for (let k = 0; k < L; k++) if (hot[k]) z += model.baseline[(action * L + k) * L + o + c];
      z += model.baseline[(L * A + action) * L + o + c];
      p[c] = z;
    }
    softmaxInPlace(p, 0, lv);
    out.push(p);
    o += lv;
  }
  return out;
}

/** Options of {@linkcode createPersimEnv}. */
export interface PersimEnvOptions {
  /** Each individual's initial state (from the data). */
  readonly initialStates: readonly ArrayLike<number>[];
  /** Reward of arriving in a state (a known function). */
  readonly reward: (next: Float64Array) => number;
  /** Whether arriving in a state ends the episode. */
  readonly terminal: (next: Float64Array, reward: number) => boolean;
  /** Longest episode. */
  readonly horizon: number;
  /** Each individual's own episode length (its recorded stay), where it varies. */
  readonly lengths?: readonly number[];
  /** Discount factor of evaluations. */
  readonly discount: number;
  /** Names of the observed features. */
  readonly featureNames: readonly string[];
}

/** A learned simulator as an environment: individuals by index, with their own next-state sampler. */
export type LearnedSimulatorEnv = Environment<Float64Array, { index: number }> & {
  readonly individuals: readonly Individual<{ index: number }>[];
};

/**
 * A learned simulator as an {@linkcode Environment}: individuals are the data's (params: their
 * index), each starting from its own recorded initial state; `next` draws the next state.
 */
export function learnedSimulatorEnv(
  name: string,
  individualIds: readonly string[],
  numActions: number,
  next: (rng: Rng, individual: number, s: Float64Array, action: number) => Float64Array,
  options: PersimEnvOptions,
): LearnedSimulatorEnv {
  const N = individualIds.length;
  if (options.initialStates.length !== N) {
    throw new RangeError(`${name} env: ${options.initialStates.length} initial states for ${N} individuals`);
  }
  if (options.lengths && options.lengths.length !== N) {
    throw new RangeError(`${name} env: ${options.lengths.length} episode lengths for ${N} individuals`);
  }
  const individuals = individualIds.map((id, index) => Object.freeze({ id, group: "all", params: { index } }));
  const lengths = options.lengths;
  return Object.freeze({
    name,
    featureNames: options.featureNames,
    numActions,
    discount: options.discount,
    horizon: options.horizon,
    ...(lengths ? { episodeLength: (ind: Individual<{ index: number }>) => lengths[ind.params.index] } : {}),
    groups: Object.freeze(["all"]),
    individuals,
    drawIndividual: (rng: Rng) => individuals[rng.int(N)],
    reset: (_rng: Rng, ind: Individual<{ index: number }>) =>
      Float64Array.from(options.initialStates[ind.params.index]),
    observe: (s: Float64Array) => Float64Array.from(s),
    step(rng: Rng, ind: Individual<{ index: number }>, s: Float64Array, action: number) {
      const state = next(rng, ind.params.index, s, action);
      const reward = options.reward(state);
      return { state, reward, terminal: options.terminal(state, reward) };
    },
    behaviourPolicy: () => {
      throw new Error(`${name} env: the learned simulator has no behaviour policy; pass one explicitly`);
    },
  });
}

/**
 * The learned simulator as an {@linkcode Environment}: individuals are the data's (params: their
 * index), each starting from its own recorded initial state.
 */
export function createPersimEnv(model: PersonalisedSimulator, options: PersimEnvOptions): LearnedSimulatorEnv {
  return learnedSimulatorEnv("persim", model.individualIds, model.numActions, (rng, i, s, action) => {
    const probs = persimNextStateProbabilities(model, i, s, action);
    return Float64Array.from(probs, (p) => rng.categorical(p));
  }, options);
}
