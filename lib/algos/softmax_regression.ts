/**
 * Multinomial logistic (softmax) regression of recorded actions on state features: the model of a
 * behaviour policy mu(a | s), shared by off-policy evaluation (`fitBehaviourPolicy`) and
 * V-learning. Weights are row-major `[dim + 1, numActions]` (the last row holds the intercepts);
 * the mean log-loss plus (ridge / 2) |W|^2 (intercepts unpenalised) is minimised by full-batch
 * Adam (step 0.05, beta 0.9 / 0.999), which needs no step-size tuning across feature scales.
 *
 * @module
 */
import { resolveConfig } from "../core/config.ts";
import { logSoftmaxInPlace } from "../core/numeric.ts";

/** Options of {@linkcode fitSoftmaxRegression}; {@linkcode SOFTMAX_REGRESSION_DEFAULTS} holds the defaults. */
export interface SoftmaxRegressionOptions {
  /** Ridge penalty on the weights (not the intercepts). */
  readonly ridge?: number;
  /** Full-batch Adam steps. */
  readonly steps?: number;
  /** Adam step size. */
  readonly learningRate?: number;
}

/** The defaults of {@linkcode SoftmaxRegressionOptions}. */
export const SOFTMAX_REGRESSION_DEFAULTS: Readonly<Required<SoftmaxRegressionOptions>> = Object.freeze({
  ridge: 1e-2,
  steps: 300,
  learningRate: 0.05,
});

/**
 * Logits x^T W + b of one feature row into `out`.
 *
 * @param phi Features, row-major `[n, dim]`.
 * @param offset Start of the row in `phi`.
 * @param dim Feature dimension D.
 * @param weights `[D + 1, A]` (last row: intercepts).
 * @param numActions A.
 * @param out Receives A logits.
 */
export function softmaxLogits(
  phi: ArrayLike<number>,
  offset: number,
  dim: number,
  weights: Float64Array,
  numActions: number,
  out: Float64Array,
): void {
  for (let a = 0; a < numActions; a++) {
    let z = weights[dim * numActions + a];
    for (let j = 0; j < dim; j++) z += phi[offset + j] * weights[j * numActions + a];
    out[a] = z;
  }
}

/**
 * Fits softmax-regression weights to the actions of `rows`.
 *
 * @param phi Features of every row, row-major `[n, dim]`.
 * @param actions The recorded action of every row.
 * @param rows The rows to fit on.
 * @param dim Feature dimension D.
 * @param numActions A.
 * @param options Overrides of {@linkcode SOFTMAX_REGRESSION_DEFAULTS}.
 * @returns Weights `[D + 1, A]`.
 */
export function fitSoftmaxRegression(
  phi: ArrayLike<number>,
  actions: ArrayLike<number>,
  rows: ArrayLike<number>,
  dim: number,
  numActions: number,
  options: SoftmaxRegressionOptions = {},
): Float64Array {
  const c = resolveConfig("softmax regression", SOFTMAX_REGRESSION_DEFAULTS, options);
  const A = numActions, D = dim, n = rows.length;
  const P = (D + 1) * A, w = new Float64Array(P), m = new Float64Array(P), v = new Float64Array(P);
  const z = new Float64Array(A), g = new Float64Array(P);
  for (let step = 1; step <= c.steps; step++) {
    g.fill(0);
    for (let k = 0; k < n; k++) {
      const r = rows[k];
      softmaxLogits(phi, r * D, D, w, A, z);
      logSoftmaxInPlace(z, 0, A);
      for (let a = 0; a < A; a++) {
        const d = (Math.exp(z[a]) - (actions[r] === a ? 1 : 0)) / n;
        for (let j = 0; j < D; j++) g[j * A + a] += d * phi[r * D + j];
        g[D * A + a] += d;
      }
    }
    for (let k = 0; k < D * A; k++) g[k] += c.ridge * w[k];
    for (let k = 0; k < P; k++) {
      m[k] = 0.9 * m[k] + 0.1 * g[k];
      v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k];
      w[k] -= c.learningRate * (m[k] / (1 - 0.9 ** step)) / (Math.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8);
    }
  }
  return w;
}
