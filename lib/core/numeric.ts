/**
 * Numerical primitives shared by every layer, each written once: log-sum-exp, softmax and
 * log-softmax in place, quantiles, the effective sample size of log-weights, a stable sigmoid and
 * the mean with its standard error. Plain numbers and typed arrays; no tensors.
 *
 * @example
 * ```ts
 * import { effectiveSampleSize, logSumExp, quantiles } from "./numeric.ts";
 * import assert from "node:assert/strict";
 * assert.equal(logSumExp([0, 0]), Math.log(2));
 * assert.deepEqual(quantiles([1, 2, 3, 4, 5], [0.5]), [3]);
 * assert.ok(Math.abs(effectiveSampleSize([0, 0, 0, 0]) - 4) < 1e-12);
 * ```
 *
 * @module
 */

/**
 * log(sum_i exp(values[i])) over the first `count` values, stable for any magnitudes.
 *
 * @param values The terms, in log space.
 * @param count How many leading values to use (default: all).
 * @returns -Infinity for no terms or all -Infinity; Infinity if any term is Infinity.
 */
export function logSumExp(values: ArrayLike<number>, count: number = values.length): number {
  let max = -Infinity;
  for (let i = 0; i < count; i++) if (values[i] > max) max = values[i];
  if (max === -Infinity || max === Infinity) return max;
  let s = 0;
  for (let i = 0; i < count; i++) s += Math.exp(values[i] - max);
  return max + Math.log(s);
}

/**
 * Replaces `z[offset, offset + length)` by log softmax(z / temperature) over that slice.
 *
 * @param z Logits, overwritten in place.
 * @param offset First index of the slice.
 * @param length Slice length (the number of actions).
 * @param temperature Divides the logits first.
 */
export function logSoftmaxInPlace(z: Float64Array, offset = 0, length = z.length - offset, temperature = 1): void {
  let mx = -Infinity;
  for (let a = offset; a < offset + length; a++) mx = Math.max(mx, z[a] / temperature);
  let s = 0;
  for (let a = offset; a < offset + length; a++) s += Math.exp(z[a] / temperature - mx);
  const lse = mx + Math.log(s);
  for (let a = offset; a < offset + length; a++) z[a] = z[a] / temperature - lse;
}

/**
 * Replaces `z[offset, offset + length)` by softmax(z / temperature) over that slice.
 *
 * @param z Logits, overwritten in place by probabilities.
 * @param offset First index of the slice.
 * @param length Slice length (the number of actions).
 * @param temperature Divides the logits first.
 */
export function softmaxInPlace(z: Float64Array, offset = 0, length = z.length - offset, temperature = 1): void {
  logSoftmaxInPlace(z, offset, length, temperature);
  for (let a = offset; a < offset + length; a++) z[a] = Math.exp(z[a]);
}

/** Ways to place a quantile between order statistics. */
export type QuantileMethod = "linear" | "weibull";

/**
 * Quantiles of already sorted values (see {@linkcode quantiles}).
 *
 * @param sorted Values in increasing order.
 * @param qs Probabilities in [0, 1].
 * @param method "linear" (numpy's default, R type 7) or "weibull" (R type 6).
 * @returns One value per probability; NaN for no values.
 */
export function quantilesSorted(
  sorted: ArrayLike<number>,
  qs: readonly number[],
  method: QuantileMethod = "linear",
): number[] {
  const n = sorted.length;
  return qs.map((q) => {
    if (n === 0) return NaN;
    const h = Math.min(n - 1, Math.max(0, method === "weibull" ? (n + 1) * q - 1 : (n - 1) * q));
    const lo = Math.floor(h), hi = Math.min(n - 1, lo + 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  });
}

/**
 * Quantiles of `values`: "linear" interpolates at (n - 1) p (numpy's default, R type 7);
 * "weibull" at (n + 1) p - 1 (R type 6, what the MIMIC-III demo README's statistics use).
 *
 * @param values The sample (not modified).
 * @param qs Probabilities in [0, 1].
 * @param method How to interpolate between order statistics.
 * @returns One value per probability; NaN for an empty sample.
 */
export function quantiles(
  values: ArrayLike<number>,
  qs: readonly number[],
  method: QuantileMethod = "linear",
): number[] {
  return quantilesSorted(Float64Array.from(values).sort(), qs, method);
}

/**
 * Kish's effective sample size (sum w)^2 / sum w^2 from log-weights, normalised or not (for
 * normalised weights it is 1 / sum w^2). Computed in log space.
 *
 * @param logWeights log w_j.
 * @returns 0 when every weight is zero.
 */
export function effectiveSampleSize(logWeights: ArrayLike<number>): number {
  const a = logSumExp(logWeights);
  if (a === -Infinity) return 0;
  const sq = Float64Array.from(logWeights, (l) => 2 * l);
  return Math.exp(2 * a - logSumExp(sq));
}

/**
 * Log-weights shifted so that their exponentials sum to 1. Throws on NaN.
 *
 * @param logWeights log w_j (not modified).
 * @returns log(w_j / sum_k w_k).
 */
export function normalizeLogWeights(logWeights: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(logWeights);
  for (let j = 0; j < out.length; j++) {
    if (Number.isNaN(out[j])) throw new RangeError(`normalizeLogWeights: weight ${j} is NaN`);
  }
  const z = logSumExp(out);
  for (let j = 0; j < out.length; j++) out[j] -= z;
  return out;
}

/**
 * The logistic function 1 / (1 + e^-z), without overflow for large |z|.
 *
 * @param z Any number.
 */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Mean, standard error and count of a sample. */
export interface Summary {
  /** Sample mean (NaN for no values). */
  readonly mean: number;
  /** Sample standard deviation / sqrt(count) (NaN below two values). */
  readonly standardError: number;
  /** Number of values. */
  readonly count: number;
}

/**
 * Mean and standard error (sample standard deviation / sqrt(n)).
 *
 * @param values The sample.
 */
export function summarize(values: ArrayLike<number>): Summary {
  const n = values.length;
  if (n === 0) return { mean: NaN, standardError: NaN, count: 0 };
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i] - mean) ** 2;
  return { mean, standardError: n > 1 ? Math.sqrt(v / (n - 1) / n) : NaN, count: n };
}
