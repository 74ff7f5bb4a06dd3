/**
 * Fitted-Q iteration (Ernst et al. 2005; Riedmiller 2005) with a linear Q on state features
 * crossed with actions, Q(s, a) = phi(s)^T w_a, refitted by ridge regression on
 * r + gamma (1 - d) max_a' Q(s', a') each iteration: P4L's "FQI" baseline (homogeneous, one Q
 * for all individuals).
 *
 * @module
 */
import { choleskySolver } from "../core/linalg.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { type FeatureMap, linearBatchPolicy } from "./features.ts";
import type { BatchPolicy } from "../envs/env.ts";

/** Options of {@linkcode fittedQIteration}; {@linkcode FQI_DEFAULTS} holds the defaults. */
export interface FqiOptions {
  /** Discount factor gamma, in [0, 1). */
  readonly discount?: number;
  /** Most Bellman backups. */
  readonly iterations?: number;
  /** Ridge penalty of each regression. */
  readonly ridge?: number;
  /** Stop when no weight moves more than this. */
  readonly tolerance?: number;
}

/** The defaults of {@linkcode FqiOptions} (discount 0.8 as P4L's simulations). */
export const FQI_DEFAULTS: Readonly<Required<FqiOptions>> = Object.freeze({
  discount: 0.8,
  iterations: 200,
  ridge: 1e-3,
  tolerance: 1e-8,
});

/**
 * An FQI config with every default filled in, checked and frozen.
 *
 * @param options Overrides of {@linkcode FQI_DEFAULTS}.
 */
export function resolveFqiConfig(options: FqiOptions = {}): Readonly<Required<FqiOptions>> {
  const c = resolveConfig("fittedQIteration", FQI_DEFAULTS, options);
  checkInterval("fittedQIteration", c, "discount", 0, 1, "high");
  checkIntegers("fittedQIteration", c, ["iterations"]);
  checkInterval("fittedQIteration", c, "ridge", 0, Infinity);
  return c;
}

/** A linear Q-function: `weights[a * dim + j]`. */
export interface LinearQ {
  /** The state feature map phi. */
  readonly features: FeatureMap;
  /** Number of actions A. */
  readonly numActions: number;
  /** `weights[a * dim + j]`: Q(s, a) = phi(s)^T w_a. */
  readonly weights: Float64Array;
  /** Bellman backups done. */
  readonly iterations: number;
}

/** Q(s, .) for row-major states `[n, stateDim]`: row-major `[n, numActions]`. */
export function linearQValues(q: LinearQ, states: ArrayLike<number>): Float64Array {
  const phi = q.features.transform(states);
  const D = q.features.dim, A = q.numActions;
  const n = phi.length / D;
  const out = new Float64Array(n * A);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < A; a++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += phi[i * D + j] * q.weights[a * D + j];
      out[i * A + a] = s;
    }
  }
  return out;
}

/** The greedy policy of a Q-function (one-hot probabilities, lowest index among ties). */
export function greedyPolicy(q: LinearQ): (state: ArrayLike<number>) => number[] {
  return (s) => {
    const v = linearQValues(q, s);
    let best = 0;
    for (let a = 1; a < q.numActions; a++) if (v[a] > v[best]) best = a;
    return Array.from({ length: q.numActions }, (_, a) => (a === best ? 1 : 0));
  };
}

/** {@linkcode greedyPolicy} over many states at once (Monte Carlo evaluation). */
export function greedyBatchPolicy(q: LinearQ): BatchPolicy {
  return linearBatchPolicy(q.features, q.numActions, () => q.weights, "greedy");
}

/** The state of fitted-Q iteration: the data's features, each action's factored Gram, the weights. */
export interface FqiState {
  /** The resolved config. */
  readonly config: Readonly<Required<FqiOptions>>;
  /** The state feature map. */
  readonly features: FeatureMap;
  /** The training data. */
  readonly data: MdpDataset;
  /** phi(S_{t+1}) of every row, `[rows, dim]`. */
  readonly phiNext: Float64Array;
  /** Per action: its rows, their features, and a solver for (X^T X + ridge I) w = b (factored once). */
  readonly byAction: readonly {
    rows: Int32Array;
    x: Float64Array;
    solve: ((b: Float64Array) => Float64Array) | null;
  }[];
  /** `weights[a * dim + j]`. */
  weights: Float64Array;
  /** Backups done. */
  iteration: number;
  /** The largest weight change of the last backup. */
  lastChange: number;
}

/**
 * A fresh FQI state (Q = 0). Each action's regression design is fixed across iterations, so its
 * Gram matrix is built and factored here, once.
 */
export function initFqi(data: MdpDataset, features: FeatureMap, options: FqiOptions = {}): FqiState {
  const config = resolveFqiConfig(options);
  if (data.size === 0) throw new RangeError("fittedQIteration: the dataset is empty");
  if (features.stateDim !== data.stateDim) {
    throw new RangeError(`fittedQIteration: features expect ${features.stateDim}-d states, data have ${data.stateDim}`);
  }
  const D = features.dim, A = data.numActions, n = data.size;
  const phi = features.transform(data.states);
  const byAction = Array.from({ length: A }, (_, a) => {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (data.actions[i] === a) rows.push(i);
    const x = new Float64Array(rows.length * D);
    rows.forEach((i, k) => x.set(phi.subarray(i * D, (i + 1) * D), k * D));
    // An action never taken keeps Q = 0.
    return { rows: Int32Array.from(rows), x, solve: rows.length ? choleskySolver(gram(x, D), D, config.ridge) : null };
  });
  return {
    config,
    features,
    data,
    phiNext: features.transform(data.nextStates),
    byAction,
    weights: new Float64Array(A * D),
    iteration: 0,
    lastChange: Infinity,
  };
}

/** X^T X of row-major X `[rows, d]`. */
function gram(x: Float64Array, d: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let o = 0; o < x.length; o += d) {
    for (let i = 0; i < d; i++) {
      const xi = x[o + i];
      if (xi === 0) continue;
      for (let j = 0; j <= i; j++) g[i * d + j] += xi * x[o + j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) g[j * d + i] = g[i * d + j];
  return g;
}

/** One Bellman backup: targets r + gamma (1 - d) max_a' Q(s', a'), then each action's ridge fit. */
export function fqiStep(state: FqiState): { change: number } {
  const { data, phiNext, config } = state;
  const D = state.features.dim, A = data.numActions, n = data.size, w = state.weights;
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    if (!data.terminals[i]) {
      for (let a = 0; a < A; a++) {
        let s = 0;
        for (let j = 0; j < D; j++) s += phiNext[i * D + j] * w[a * D + j];
        if (s > best) best = s;
      }
    }
    target[i] = data.rewards[i] + (data.terminals[i] ? 0 : config.discount * best);
  }
  const next = new Float64Array(A * D);
  state.byAction.forEach(({ rows, x, solve }, a) => {
    if (!solve) return;
    const xty = new Float64Array(D);
    rows.forEach((i, k) => {
      for (let j = 0; j < D; j++) xty[j] += x[k * D + j] * target[i];
    });
    next.set(solve(xty), a * D);
  });
  let change = 0;
  for (let k = 0; k < next.length; k++) change = Math.max(change, Math.abs(next[k] - w[k]));
  state.weights = next;
  state.iteration++;
  state.lastChange = change;
  return { change };
}

/** Fitted-Q iteration on `data` with features `features`: backups until the weights settle. */
export function fittedQIteration(data: MdpDataset, features: FeatureMap, options: FqiOptions = {}): LinearQ {
  const state = initFqi(data, features, options);
  while (state.iteration < state.config.iterations) {
    if (fqiStep(state).change < state.config.tolerance) break;
  }
  for (const w of state.weights) {
    if (!Number.isFinite(w)) throw new RangeError("fittedQIteration: weights diverged (non-finite)");
  }
  return Object.freeze({ features, numActions: data.numActions, weights: state.weights, iterations: state.iteration });
}
