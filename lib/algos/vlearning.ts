/**
 * V-learning (Luckett, Laber, Kahkoska, Maahs, Mayer-Davis & Kosorok, JASA 2019), P4L's "VL"
 * baseline: for a softmax policy pi_theta(a | s) proportional to exp(psi(s)^T theta_a), the value
 * V(s) = psi(s)^T beta solves the importance-weighted estimating equation
 *
 *   sum_{i,t} [pi_theta(A|S) / mu(A|S)] (R + gamma psi(S')^T beta - psi(S)^T beta) psi(S) - ridge beta = 0,
 *
 * a linear system in beta; theta maximises the mean of V over the data's initial states minus a
 * ridge penalty on theta, by gradient ascent with central finite differences (the map theta ->
 * beta is a linear solve, so each gradient costs 2 |theta| solves of a D x D system).
 * mu is the behaviour policy: given, or estimated by ridge-penalised softmax regression on psi
 * and clipped below at `minBehaviour` (CartPole's behaviour is deterministic).
 *
 * @module
 */
import { solveLinear } from "../core/linalg.ts";
import type { MdpDataset } from "../data/dataset.ts";
import type { FeatureMap } from "./features.ts";
import { softmaxInPlace } from "../core/numeric.ts";

/** Options of {@linkcode vLearning}. */
export interface VLearningOptions {
  /** @default 0.8 */
  readonly discount?: number;
  /** Behaviour probabilities mu(a | s) per row of the data, or estimated when omitted. */
  readonly behaviour?: (state: ArrayLike<number>, action: number) => number;
  /** Floor of estimated behaviour probabilities. @default 0.05 */
  readonly minBehaviour?: number;
  /** Ridge on beta's system and penalty on theta. @default 1e-3 */
  readonly ridge?: number;
  /** Gradient-ascent steps on theta. @default 150 */
  readonly steps?: number;
  /** Step size. @default 0.5 */
  readonly stepSize?: number;
}

/** A fitted V-learning policy. */
export interface VLearningModel {
  readonly features: FeatureMap;
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

/** Fits V-learning to `data`. */
export function vLearning(data: MdpDataset, features: FeatureMap, options: VLearningOptions = {}): VLearningModel {
  const gamma = options.discount ?? 0.8, ridge = options.ridge ?? 1e-3;
  const steps = options.steps ?? 150, lr = options.stepSize ?? 0.5, floor = options.minBehaviour ?? 0.05;
  const D = features.dim, A = data.numActions, n = data.size, S = data.stateDim;
  if (n === 0) throw new RangeError("vLearning: the dataset is empty");
  const psi = features.transform(data.states), psiNext = features.transform(data.nextStates);
  // Behaviour probability of each logged action.
  const mu = new Float64Array(n);
  if (options.behaviour) {
    for (let i = 0; i < n; i++) mu[i] = options.behaviour(data.states.subarray(i * S, (i + 1) * S), data.actions[i]);
  } else {
    const w = new Float64Array(A * D), p = new Float64Array(A);
    for (let it = 0; it < 300; it++) {
      const g = new Float64Array(A * D);
      for (let i = 0; i < n; i++) {
        softmaxRow(psi, i * D, D, w, A, p);
        for (let a = 0; a < A; a++) {
          const e = (a === data.actions[i] ? 1 : 0) - p[a];
          for (let j = 0; j < D; j++) g[a * D + j] += e * psi[i * D + j];
        }
      }
      for (let k = 0; k < w.length; k++) w[k] += 1.0 * (g[k] / n - 1e-3 * w[k]);
    }
    for (let i = 0; i < n; i++) {
      softmaxRow(psi, i * D, D, w, A, p);
      mu[i] = p[data.actions[i]];
    }
  }
  for (let i = 0; i < n; i++) {
    mu[i] = Math.max(mu[i], floor);
    if (!(mu[i] > 0 && mu[i] <= 1)) throw new RangeError(`vLearning: behaviour probability of row ${i} is ${mu[i]}`);
  }
  // Initial states: each individual's earliest row.
  const first = new Map<number, number>();
  for (let r = 0; r < n; r++) {
    const i = data.individuals[r], f = first.get(i);
    if (f === undefined || data.times[r] < data.times[f]) first.set(i, r);
  }
  const psi0 = [...first.values()].map((r) => psi.subarray(r * D, (r + 1) * D));
  const p = new Float64Array(A);
  const valueOf = (theta: Float64Array): number => {
    const m = new Float64Array(D * D), b = new Float64Array(D);
    for (let i = 0; i < n; i++) {
      softmaxRow(psi, i * D, D, theta, A, p);
      const w = p[data.actions[i]] / mu[i];
      const o = i * D;
      const notDone = data.terminals[i] ? 0 : 1;
      for (let j = 0; j < D; j++) {
        const wj = w * psi[o + j];
        if (wj === 0) continue;
        b[j] += wj * data.rewards[i];
        for (let k = 0; k < D; k++) m[j * D + k] += wj * (psi[o + k] - gamma * notDone * psiNext[o + k]);
      }
    }
    for (let j = 0; j < D; j++) m[j * D + j] += ridge * n;
    const beta = solveLinear(m, b, D);
    let v = 0;
    for (const s0 of psi0) for (let j = 0; j < D; j++) v += s0[j] * beta[j];
    let pen = 0;
    for (const t of theta) pen += t * t;
    return v / psi0.length - ridge * pen;
  };
  const theta = new Float64Array(A * D);
  const h = 1e-4;
  for (let it = 0; it < steps; it++) {
    const grad = new Float64Array(theta.length);
    for (let k = 0; k < theta.length; k++) {
      const t = theta[k];
      theta[k] = t + h;
      const up = valueOf(theta);
      theta[k] = t - h;
      const down = valueOf(theta);
      theta[k] = t;
      grad[k] = (up - down) / (2 * h);
    }
    let norm = 0;
    for (const g of grad) norm += g * g;
    norm = Math.sqrt(norm);
    if (!Number.isFinite(norm)) throw new RangeError(`vLearning: the gradient is not finite at step ${it}`);
    const scale = norm > 1 ? 1 / norm : 1; // clipped steps: the IS-weighted value can be steep
    for (let k = 0; k < theta.length; k++) theta[k] += lr * scale * grad[k];
  }
  return Object.freeze({ features, numActions: A, theta, value: valueOf(theta) });
}
