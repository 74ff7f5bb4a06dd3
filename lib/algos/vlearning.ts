/**
 * V-learning (Luckett, Laber, Kahkoska, Maahs, Mayer-Davis & Kosorok, JASA 2019), P4L's "VL"
 * baseline: for a softmax policy pi_theta(a | s) proportional to exp(psi(s)^T theta_a), the value
 * V(s) = psi(s)^T beta solves the importance-weighted estimating equation
 *
 *   sum_{i,t} [pi_theta(A|S) / mu(A|S)] (R + gamma psi(S')^T beta - psi(S)^T beta) psi(S) - ridge beta = 0,
 *
 * a linear system in beta; theta maximises the mean of V over the data's initial states minus a
 * ridge penalty on theta, by gradient ascent with the closed-form gradient
 * ({@linkcode vLearningGradient}: one extra D x D solve per step).
 * mu is the behaviour policy: given, or estimated by ridge-penalised softmax regression on psi
 * and clipped below at `minBehaviour` (CartPole's behaviour is deterministic).
 *
 * @module
 */
import { solveLinear } from "../core/linalg.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { type FeatureMap, linearBatchPolicy } from "./features.ts";
import type { BatchPolicy } from "../envs/env.ts";
import { softmaxInPlace } from "../core/numeric.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";
import { fitSoftmaxRegression, softmaxLogits } from "./softmax_regression.ts";

/** Options of {@linkcode vLearning}; {@linkcode VLEARNING_DEFAULTS} holds the defaults. */
export interface VLearningOptions {
  /** Discount factor gamma, in [0, 1). */
  readonly discount?: number;
  /** Behaviour probabilities mu(a | s) per row of the data, or estimated when omitted (not part of the config). */
  readonly behaviour?: (state: ArrayLike<number>, action: number) => number;
  /** Floor of the behaviour probabilities. */
  readonly minBehaviour?: number;
  /** Ridge on beta's system and penalty on theta (and the behaviour model's ridge). */
  readonly ridge?: number;
  /** Gradient-ascent steps on theta. */
  readonly steps?: number;
  /** Step size. */
  readonly stepSize?: number;
}

/** The defaults of {@linkcode VLearningOptions} (the behaviour callback aside). */
export const VLEARNING_DEFAULTS: Readonly<Required<Omit<VLearningOptions, "behaviour">>> = Object.freeze({
  discount: 0.8,
  minBehaviour: 0.05,
  ridge: 1e-3,
  steps: 150,
  stepSize: 0.5,
});

/** A fitted V-learning policy. */
export interface VLearningModel {
  /** The state feature map psi. */
  readonly features: FeatureMap;
  /** Number of actions A. */
  readonly numActions: number;
  /** theta, row-major `[numActions, dim]`. */
  readonly theta: Float64Array;
  /** Estimated value of the final policy (mean over initial states). */
  readonly value: number;
}

function softmaxRow(psi: Float64Array, o: number, D: number, theta: Float64Array, A: number, out: Float64Array): void {
  for (let a = 0; a < A; a++) {
    let z = 0;
    for (let j = 0; j < D; j++) z += psi[o + j] * theta[a * D + j];
    out[a] = z;
  }
  softmaxInPlace(out, 0, A);
}

/** The softmax policy of a fitted model. */
export function vLearningPolicy(model: VLearningModel): (state: ArrayLike<number>) => number[] {
  const D = model.features.dim, A = model.numActions;
  return (s) => {
    const out = new Float64Array(A);
    softmaxRow(model.features.transform(s), 0, D, model.theta, A, out);
    return Array.from(out);
  };
}

/** {@linkcode vLearningPolicy} over many states at once (Monte Carlo evaluation). */
export function vLearningBatchPolicy(model: VLearningModel): BatchPolicy {
  return linearBatchPolicy(model.features, model.numActions, () => model.theta, "softmax");
}

/** The state of V-learning: features, behaviour probabilities, initial states and theta. */
export interface VLearningState {
  /** The resolved config. */
  readonly config: Readonly<Required<Omit<VLearningOptions, "behaviour">>>;
  /** The state feature map. */
  readonly features: FeatureMap;
  /** The training data. */
  readonly data: MdpDataset;
  /** psi(S_t) of every row. */
  readonly psi: Float64Array;
  /** psi(S_{t+1}) of every row. */
  readonly psiNext: Float64Array;
  /** mu(A_t | S_t) of every row, floored. */
  readonly mu: Float64Array;
  /** psi of each individual's initial state. */
  readonly psi0: readonly Float64Array[];
  /** Softmax policy parameters, row-major `[numActions, dim]`. */
  readonly theta: Float64Array;
  /** Ascent steps done. */
  step: number;
}

/** A fresh V-learning state: features, the behaviour probabilities (given or estimated), theta = 0. */
export function initVLearning(data: MdpDataset, features: FeatureMap, options: VLearningOptions = {}): VLearningState {
  const { behaviour, ...rest } = options;
  const config = resolveConfig("vLearning", VLEARNING_DEFAULTS, rest);
  checkInterval("vLearning", config, "discount", 0, 1, "high");
  checkIntegers("vLearning", config, ["steps"], 0);
  const D = features.dim, A = data.numActions, n = data.size, S = data.stateDim;
  if (n === 0) throw new RangeError("vLearning: the dataset is empty");
  const psi = features.transform(data.states), psiNext = features.transform(data.nextStates);
  // Behaviour probability of each logged action: given, or the kit's softmax-regression model.
  const mu = new Float64Array(n);
  if (behaviour) {
    for (let i = 0; i < n; i++) mu[i] = behaviour(data.states.subarray(i * S, (i + 1) * S), data.actions[i]);
  } else {
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const w = fitSoftmaxRegression(psi, data.actions, all, D, A, { ridge: config.ridge });
    const z = new Float64Array(A);
    for (let i = 0; i < n; i++) {
      softmaxLogits(psi, i * D, D, w, A, z);
      softmaxInPlace(z, 0, A);
      mu[i] = z[data.actions[i]];
    }
  }
  for (let i = 0; i < n; i++) {
    mu[i] = Math.max(mu[i], config.minBehaviour);
    if (!(mu[i] > 0 && mu[i] <= 1)) throw new RangeError(`vLearning: behaviour probability of row ${i} is ${mu[i]}`);
  }
  // Initial states: each individual's earliest row.
  const first = new Map<number, number>();
  for (let r = 0; r < n; r++) {
    const i = data.individuals[r], f = first.get(i);
    if (f === undefined || data.times[r] < data.times[f]) first.set(i, r);
  }
  const psi0 = [...first.values()].map((r) => psi.subarray(r * D, (r + 1) * D));
  return { config, features, data, psi, psiNext, mu, psi0, theta: new Float64Array(A * D), step: 0 };
}

/** The importance weights w_i = pi_theta(A_i | S_i) / mu_i and the policy's probabilities, row-major `[n, A]`. */
function weightsAt(state: VLearningState, theta: Float64Array): { w: Float64Array; pi: Float64Array } {
  const { data, psi, mu } = state;
  const D = state.features.dim, A = data.numActions, n = data.size;
  const pi = new Float64Array(n * A), w = new Float64Array(n);
  const p = new Float64Array(A);
  for (let i = 0; i < n; i++) {
    softmaxRow(psi, i * D, D, theta, A, p);
    pi.set(p, i * A);
    w[i] = p[data.actions[i]] / mu[i];
  }
  return { w, pi };
}

/** beta solving the importance-weighted estimating equation M beta = b (module doc), with M and the mean initial psi. */
function solveBeta(state: VLearningState, w: Float64Array) {
  const { data, psi, psiNext, psi0, config } = state;
  const D = state.features.dim, n = data.size, gamma = config.discount;
  const m = new Float64Array(D * D), b = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    const o = i * D;
    const notDone = data.terminals[i] ? 0 : 1;
    for (let j = 0; j < D; j++) {
      const wj = w[i] * psi[o + j];
      if (wj === 0) continue;
      b[j] += wj * data.rewards[i];
      for (let k = 0; k < D; k++) m[j * D + k] += wj * (psi[o + k] - gamma * notDone * psiNext[o + k]);
    }
  }
  for (let j = 0; j < D; j++) m[j * D + j] += config.ridge * n;
  const meanPsi0 = new Float64Array(D);
  for (const s0 of psi0) for (let j = 0; j < D; j++) meanPsi0[j] += s0[j] / psi0.length;
  return { m, beta: solveLinear(m, b, D), meanPsi0 };
}

/**
 * The objective at `theta`: the mean over initial states of V = psi^T beta, where beta solves the
 * importance-weighted estimating equation (module doc), minus ridge |theta|^2.
 */
export function vLearningObjective(state: VLearningState, theta: Float64Array): number {
  const { beta, meanPsi0 } = solveBeta(state, weightsAt(state, theta).w);
  let v = 0, pen = 0;
  for (let j = 0; j < beta.length; j++) v += meanPsi0[j] * beta[j];
  for (const t of theta) pen += t * t;
  return v - state.config.ridge * pen;
}

/**
 * The objective's gradient in closed form. With M beta = b and u = M^-T mean(psi_0), the value's
 * derivative along w_i is c_i = (u . psi_i)(R_i - (psi_i - gamma (1 - d_i) psi'_i) . beta), and
 * dw_i / dtheta_{a,j} = w_i (1[a = A_i] - pi(a | S_i)) psi_ij: one solve and one pass over the
 * data, where central differences took 2 |theta| solves and passes.
 */
export function vLearningGradient(state: VLearningState, theta: Float64Array): Float64Array {
  const { data, psi, psiNext, config } = state;
  const D = state.features.dim, A = data.numActions, n = data.size, gamma = config.discount;
  const { w, pi } = weightsAt(state, theta);
  const { m, beta, meanPsi0 } = solveBeta(state, w);
  const mt = new Float64Array(D * D);
  for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) mt[j * D + k] = m[k * D + j];
  const u = solveLinear(mt, meanPsi0, D);
  const grad = new Float64Array(A * D);
  for (let i = 0; i < n; i++) {
    if (w[i] === 0) continue;
    const o = i * D, notDone = data.terminals[i] ? 0 : 1;
    let up = 0, td = data.rewards[i];
    for (let j = 0; j < D; j++) {
      up += u[j] * psi[o + j];
      td -= (psi[o + j] - gamma * notDone * psiNext[o + j]) * beta[j];
    }
    const c = up * td * w[i];
    if (c === 0) continue;
    for (let a = 0; a < A; a++) {
      const g = c * ((a === data.actions[i] ? 1 : 0) - pi[i * A + a]);
      for (let j = 0; j < D; j++) grad[a * D + j] += g * psi[o + j];
    }
  }
  for (let k = 0; k < grad.length; k++) grad[k] -= 2 * config.ridge * theta[k];
  return grad;
}

/** One clipped gradient-ascent step on theta (the closed-form gradient). */
export function vLearningStep(state: VLearningState): { gradientNorm: number } {
  const theta = state.theta;
  const grad = vLearningGradient(state, theta);
  let norm = 0;
  for (const g of grad) norm += g * g;
  norm = Math.sqrt(norm);
  if (!Number.isFinite(norm)) throw new RangeError(`vLearning: the gradient is not finite at step ${state.step}`);
  const scale = norm > 1 ? 1 / norm : 1; // clipped steps: the IS-weighted value can be steep
  for (let k = 0; k < theta.length; k++) theta[k] += state.config.stepSize * scale * grad[k];
  state.step++;
  return { gradientNorm: norm };
}

/** Fits V-learning to `data`: init, then `steps` ascent steps. */
export function vLearning(data: MdpDataset, features: FeatureMap, options: VLearningOptions = {}): VLearningModel {
  const state = initVLearning(data, features, options);
  while (state.step < state.config.steps) vLearningStep(state);
  return Object.freeze({
    features,
    numActions: data.numActions,
    theta: state.theta,
    value: vLearningObjective(state, state.theta),
  });
}
