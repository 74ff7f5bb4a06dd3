/**
 * State features for the linear function classes of P4L (Miao, Shahbaba & Qu, section 6): J
 * Gaussian radial basis functions phi_j(s) = exp(-|s - c_j|^2 / (2 h^2)) with centres c_j from
 * K-means (ml-kmeans, k-means++ seeding from a fixed seed) and bandwidth h = the median pairwise
 * distance of the states, plus a constant; crossed with actions as phi(s) (x) e_a. A one-hot
 * feature map for tabular problems (tests) shares the interface.
 *
 * @module
 */
import { kmeans } from "ml-kmeans";
import { createRng } from "../core/random.ts";
import { checkIntegers, resolveConfig } from "../core/config.ts";
import { softmaxInPlace } from "../core/numeric.ts";
import type { BatchPolicy } from "../envs/env.ts";

/** A feature map of states: `dim` features per state. */
export interface FeatureMap {
  /** Number of features per state. */
  readonly dim: number;
  /** Dimension of the states it maps. */
  readonly stateDim: number;
  /** Row-major `[n, dim]` features of row-major `[n, stateDim]` states. */
  transform(states: ArrayLike<number>): Float64Array;
}

/** RBF features and the numbers that define them. */
export interface RbfFeatureMap extends FeatureMap {
  /** RBF centres, row-major `[centres, stateDim]` (K-means centroids). */
  readonly centres: Float64Array;
  /** Bandwidth: the median pairwise distance of the fitted states. */
  readonly bandwidth: number;
  /** Per state variable, the mean and standard deviation the states were scaled by (0 and 1 unscaled). */
  readonly scale: { readonly mean: Float64Array; readonly std: Float64Array };
}

/** Options of {@linkcode fitRbfFeatures}; {@linkcode RBF_DEFAULTS} holds the defaults. */
export interface RbfOptions {
  /** Number of centres J. */
  readonly centres?: number;
  /** Seed of K-means' initialisation and of subsampling. */
  readonly seed?: number;
  /** States used for K-means and the median distance (a random subset beyond this). */
  readonly maxPoints?: number;
  /**
   * Standardise each state variable (by its mean and standard deviation over the fitted states)
   * before centres and distances. The paper's RBF uses raw states; where variables live on very
   * different scales (CartPole: the pole angle within +-0.21 rad, the velocities within +-3), the
   * median-distance bandwidth cannot resolve the small ones (docs/p4l.md, Table 2).
   */
  readonly standardize?: boolean;
}

/** The defaults of {@linkcode RbfOptions}. */
export const RBF_DEFAULTS: Readonly<Required<RbfOptions>> = Object.freeze({
  centres: 16,
  seed: 0,
  maxPoints: 2000,
  standardize: false,
});

/**
 * exp(-|z - c|^2 / (2 h^2)) for every row of `s` (z = (s - mean) / std) and centre `c`, then a
 * constant 1. Unscaled maps pass mean 0 and std 1, which leave s exactly as it is.
 */
function rbfRows(
  s: Float64Array,
  stateDim: number,
  centres: Float64Array,
  J: number,
  bandwidth: number,
  mean: Float64Array,
  std: Float64Array,
): Float64Array {
  const k = s.length / stateDim, dim = J + 1;
  const out = new Float64Array(k * dim);
  const inv = 1 / (2 * bandwidth * bandwidth);
  for (let i = 0; i < k; i++) {
    for (let c = 0; c < J; c++) {
      let d = 0;
      for (let j = 0; j < stateDim; j++) {
        const e = (s[i * stateDim + j] - mean[j]) / std[j] - centres[c * stateDim + j];
        d += e * e;
      }
      out[i * dim + c] = Math.exp(-d * inv);
    }
    out[i * dim + J] = 1;
  }
  return out;
}

/** Fits RBF features to states (row-major `[n, stateDim]`). */
export function fitRbfFeatures(states: ArrayLike<number>, stateDim: number, options: RbfOptions = {}): RbfFeatureMap {
  const c = resolveConfig("fitRbfFeatures", RBF_DEFAULTS, options);
  checkIntegers("fitRbfFeatures", c, ["centres", "maxPoints"]);
  const J = c.centres;
  const n = states.length / stateDim;
  if (n < J) throw new RangeError(`fitRbfFeatures: ${n} states cannot place ${J} centres`);
  const rng = createRng(c.seed);
  const maxPoints = c.maxPoints;
  const rows = n <= maxPoints
    ? Array.from({ length: n }, (_, i) => i)
    : Array.from(rng.permutation(n).subarray(0, maxPoints));
  const mean = new Float64Array(stateDim), std = new Float64Array(stateDim).fill(1);
  if (c.standardize) {
    for (let i = 0; i < n; i++) for (let j = 0; j < stateDim; j++) mean[j] += states[i * stateDim + j] / n;
    for (let j = 0; j < stateDim; j++) {
      let v = 0;
      for (let i = 0; i < n; i++) v += (states[i * stateDim + j] - mean[j]) ** 2 / n;
      if (!(v > 0)) throw new RangeError(`fitRbfFeatures: state variable ${j} is constant; it cannot be standardised`);
      std[j] = Math.sqrt(v);
    }
  }
  const points = rows.map((i) =>
    Array.from({ length: stateDim }, (_, j) => (states[i * stateDim + j] - mean[j]) / std[j])
  );
  const result = kmeans(points, J, { seed: c.seed, initialization: "kmeans++", maxIterations: 200 });
  const centres = Float64Array.from(result.centroids.flat());
  const dists: number[] = [];
  const m = Math.min(points.length, 600);
  for (let a = 0; a < m; a++) {
    for (let b = a + 1; b < m; b++) {
      let d = 0;
      for (let j = 0; j < stateDim; j++) d += (points[a][j] - points[b][j]) ** 2;
      dists.push(Math.sqrt(d));
    }
  }
  dists.sort((x, y) => x - y);
  const bandwidth = dists.length ? Math.max(dists[Math.floor(dists.length / 2)], 1e-6) : 1;
  const dim = J + 1;
  return Object.freeze({
    dim,
    stateDim,
    centres,
    bandwidth,
    scale: Object.freeze({ mean, std }),
    // One element type for the loop (Float32Array data, Float64Array observations and plain
    // arrays otherwise make its loads polymorphic; measured 2x slower per call).
    transform: (s: ArrayLike<number>) =>
      rbfRows(s instanceof Float64Array ? s : Float64Array.from(s), stateDim, centres, J, bandwidth, mean, std),
  });
}

/** One-hot features of a single integer state in [0, numStates) (tabular problems). */
export function oneHotFeatures(numStates: number): FeatureMap {
  return Object.freeze({
    dim: numStates,
    stateDim: 1,
    transform(s: ArrayLike<number>) {
      const out = new Float64Array(s.length * numStates);
      for (let i = 0; i < s.length; i++) {
        const k = s[i];
        if (!Number.isInteger(k) || k < 0 || k >= numStates) {
          throw new RangeError(`oneHotFeatures: state ${k} out of range`);
        }
        out[i * numStates + k] = 1;
      }
      return out;
    },
  });
}

/**
 * Indicator features of discrete state variables: variable j takes integer levels
 * 0..levels[j]-1, each level one column, plus a constant column (the first level of each
 * variable is its baseline, so the map stays full-rank). For simulators whose states are small
 * integers (the sepsis simulator's vitals and treatments), where smooth RBF bumps blur levels.
 */
export function levelFeatures(levels: readonly number[]): FeatureMap {
  const offsets: number[] = [];
  let dim = 0;
  for (const l of levels) {
    if (!(Number.isInteger(l) && l >= 2)) {
      throw new RangeError(`levelFeatures: each variable needs >= 2 levels, got ${l}`);
    }
    offsets.push(dim);
    dim += l - 1;
  }
  const J = dim++;
  const d = levels.length;
  return Object.freeze({
    dim,
    stateDim: d,
    transform(s: ArrayLike<number>) {
      if (s.length % d !== 0) throw new RangeError(`levelFeatures: ${s.length} values is not a multiple of ${d}`);
      const n = s.length / d, out = new Float64Array(n * dim);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) {
          const k = s[i * d + j];
          if (!Number.isInteger(k) || k < 0 || k >= levels[j]) {
            throw new RangeError(
              `levelFeatures: variable ${j} has level ${k}, expected an integer in [0, ${levels[j]})`,
            );
          }
          if (k > 0) out[i * dim + offsets[j] + k - 1] = 1;
        }
        out[i * dim + J] = 1;
      }
      return out;
    },
  });
}

/** phi(s) (x) e_a: row-major `[n, dim * numActions]`, the block of action a holding phi(s). */
export function crossWithActions(
  phi: Float64Array,
  dim: number,
  actions: ArrayLike<number>,
  numActions: number,
): Float64Array {
  const n = actions.length;
  const out = new Float64Array(n * dim * numActions);
  for (let i = 0; i < n; i++) out.set(phi.subarray(i * dim, (i + 1) * dim), i * dim * numActions + actions[i] * dim);
  return out;
}

/**
 * A batched policy linear in `features`: row r scores action a as psi(s_r)^T w, with w the a-th
 * row of `weightsOf(k_r)` (row-major `[numActions, dim]`, k_r the row's individual), then takes
 * the softmax of the scores (`"softmax"`) or the one-hot of their first maximum (`"greedy"`). The
 * features of all rows are computed in one call; the sums run in the same order as the kit's
 * one-row policies, so both give the same probabilities bit for bit.
 */
export function linearBatchPolicy(
  features: FeatureMap,
  numActions: number,
  weightsOf: (individual: number) => Float64Array,
  link: "softmax" | "greedy",
): BatchPolicy {
  const D = features.dim, A = numActions;
  return Object.freeze({
    batch(observations: Float64Array, context: { readonly individuals: Int32Array }) {
      const who = context.individuals, n = who.length, psi = features.transform(observations);
      if (psi.length !== n * D) {
        throw new RangeError(`linearBatchPolicy: ${observations.length} values are not ${n} states`);
      }
      const out = new Float64Array(n * A);
      for (let r = 0; r < n; r++) {
        const w = weightsOf(who[r]), o = r * D, q = r * A;
        for (let a = 0; a < A; a++) {
          let z = 0;
          for (let j = 0; j < D; j++) z += psi[o + j] * w[a * D + j];
          out[q + a] = z;
        }
        if (link === "softmax") {
          softmaxInPlace(out, q, A);
        } else {
          let best = 0;
          for (let a = 1; a < A; a++) if (out[q + a] > out[q + best]) best = a;
          for (let a = 0; a < A; a++) out[q + a] = a === best ? 1 : 0;
        }
      }
      return out;
    },
  });
}
