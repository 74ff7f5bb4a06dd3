/**
 * Fitted-Q iteration (Ernst et al. 2005; Riedmiller 2005) with a linear Q on state features
 * crossed with actions, Q(s, a) = phi(s)^T w_a, refitted by ridge regression on
 * r + gamma (1 - d) max_a' Q(s', a') each iteration: P4L's "FQI" baseline (homogeneous, one Q
 * for all individuals).
 *
 * @module
 */
import { ridgeRegression } from "../core/linalg.ts";
import type { MdpDataset } from "../data/dataset.ts";
import type { FeatureMap } from "./features.ts";

/** Options of {@linkcode fittedQIteration}. */
export interface FqiOptions {
  /** @default 0.8 (P4L) */
  readonly discount?: number;
  /** @default 200 */
  readonly iterations?: number;
  /** Ridge penalty of each regression. @default 1e-3 */
  readonly ridge?: number;
  /** Stop when no weight moves more than this. @default 1e-8 */
  readonly tolerance?: number;
}

/** A linear Q-function: `weights[a * dim + j]`. */
export interface LinearQ {
  readonly features: FeatureMap;
  readonly numActions: number;
  readonly weights: Float64Array;
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

/** Fitted-Q iteration on `data` with features `features`. */
export function fittedQIteration(data: MdpDataset, features: FeatureMap, options: FqiOptions = {}): LinearQ {
  const gamma = options.discount ?? 0.8;
  const iterations = options.iterations ?? 200;
  const ridge = options.ridge ?? 1e-3;
  const tol = options.tolerance ?? 1e-8;
  if (!(gamma >= 0 && gamma < 1)) throw new RangeError(`fittedQIteration: discount must be in [0, 1), got ${gamma}`);
  if (data.size === 0) throw new RangeError("fittedQIteration: the dataset is empty");
  if (features.stateDim !== data.stateDim) {
    throw new RangeError(`fittedQIteration: features expect ${features.stateDim}-d states, data have ${data.stateDim}`);
  }
  const D = features.dim, A = data.numActions, n = data.size;
  const phi = features.transform(data.states);
  const phiNext = features.transform(data.nextStates);
  // Rows of each action, and their features.
  const byAction = Array.from({ length: A }, (_, a) => {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (data.actions[i] === a) rows.push(i);
    const x = new Float64Array(rows.length * D);
    rows.forEach((i, k) => x.set(phi.subarray(i * D, (i + 1) * D), k * D));
    return { rows, x };
  });
  let weights = new Float64Array(A * D);
  let it = 0;
  for (; it < iterations; it++) {
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let best = -Infinity;
      if (!data.terminals[i]) {
        for (let a = 0; a < A; a++) {
          let s = 0;
          for (let j = 0; j < D; j++) s += phiNext[i * D + j] * weights[a * D + j];
          if (s > best) best = s;
        }
      }
      target[i] = data.rewards[i] + (data.terminals[i] ? 0 : gamma * best);
    }
    const next = new Float64Array(A * D);
    for (let a = 0; a < A; a++) {
      const { rows, x } = byAction[a];
      if (rows.length === 0) continue; // an action never taken keeps Q = 0
      next.set(ridgeRegression(x, rows.map((i) => target[i]), D, ridge), a * D);
    }
    let delta = 0;
    for (let k = 0; k < next.length; k++) delta = Math.max(delta, Math.abs(next[k] - weights[k]));
    weights = next;
    if (delta < tol) {
      it++;
      break;
    }
  }
  for (const w of weights) {
    if (!Number.isFinite(w)) throw new RangeError("fittedQIteration: weights diverged (non-finite)");
  }
  return Object.freeze({ features, numActions: A, weights, iterations: it });
}
