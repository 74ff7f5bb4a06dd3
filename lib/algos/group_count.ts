/**
 * Choosing P4L's number of subgroups K (Miao, Shahbaba & Qu, end of section 5): "cluster
 * individuals according to their stationary transitions P^i(s', r | s, a), estimated by applying
 * kernel density estimators on offline trajectories for each individual".
 *
 * The paper gives no more detail; the kit makes it concrete as follows (each choice a stated
 * default, all overridable):
 * 1. coordinates (s, r, s') are standardised over the pooled data;
 * 2. `references` transitions (s_j, a_j, r_j, s'_j) are drawn from the pooled data (seeded);
 * 3. each individual i is embedded as the vector of its conditional kernel density estimates at
 *    the references, in log space:
 *      e_ij = log sum_{t: A_t = a_j} K_h(S_t - s_j) K_h((R_t, S'_t) - (r_j, s'_j)) - log sum_{t: A_t = a_j} K_h(S_t - s_j)
 *    (Gaussian kernels; Nadaraya-Watson form of p(s', r | s, a)), floored at `logFloor` below the
 *    pooled estimate so that one empty neighbourhood does not dominate; an individual who never
 *    took a_j gets the pooled estimate for that reference;
 * 4. K-means (ml-kmeans, k-means++, seeded) on the embeddings for k = 2..maxGroups, and K is the
 *    k with the largest mean silhouette (Rousseeuw 1987); K = 1 when no k reaches
 *    `minSilhouette` (0.25, Kaufman & Rousseeuw's "no substantial structure" line).
 * Bandwidth: Scott's rule on standardised coordinates, h = n^(-1 / (d + 4)), with n the median
 * number of transitions per individual and d the dimension of (s, r, s').
 *
 * @module
 */
import { kmeans } from "ml-kmeans";
import { createRng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { logSumExp } from "../core/numeric.ts";
import { checkIntegers, resolveConfig } from "../core/config.ts";

/** Options of {@linkcode estimateGroupCount}; {@linkcode GROUP_COUNT_DEFAULTS} holds the defaults. */
export interface GroupCountOptions {
  /** Largest K considered. */
  readonly maxGroups?: number;
  /** Reference transitions at which densities are compared. */
  readonly references?: number;
  /** Kernel bandwidth on standardised coordinates; "scott": Scott's rule (module doc). */
  readonly bandwidth?: number | "scott";
  /** Below this mean silhouette for every k >= 2, K = 1. */
  readonly minSilhouette?: number;
  /** How far (in log density) an estimate may fall below the pooled one. */
  readonly logFloor?: number;
  /** Seed of the reference draw and K-means. */
  readonly seed?: number;
}

/** The defaults of {@linkcode GroupCountOptions}. */
export const GROUP_COUNT_DEFAULTS: Readonly<Required<GroupCountOptions>> = Object.freeze({
  maxGroups: 5,
  references: 64,
  bandwidth: "scott" as const,
  minSilhouette: 0.25,
  logFloor: 10,
  seed: 0,
});

/** The chosen K, the silhouette of each k tried, and the clustering behind it. */
export interface GroupCountEstimate {
  /** The chosen K. */
  readonly groups: number;
  /** Mean silhouette per k = 2..maxGroups (index 0 is k = 2). */
  readonly silhouettes: readonly number[];
  /** Cluster of each individual under the chosen K (all 0 when K = 1). */
  readonly assignments: Int32Array;
  /** Embeddings, row-major `[N, references]`. */
  readonly embeddings: Float64Array;
}

/** Mean silhouette of a clustering of `points` (row-major `[n, dim]`). */
export function meanSilhouette(points: Float64Array, dim: number, labels: ArrayLike<number>): number {
  const n = points.length / dim;
  const k = Math.max(...Array.from(labels)) + 1;
  if (k < 2) return 0;
  const size = new Float64Array(k);
  for (let i = 0; i < n; i++) size[labels[i]]++;
  let total = 0;
  const sums = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let d = 0;
      for (let c = 0; c < dim; c++) d += (points[i * dim + c] - points[j * dim + c]) ** 2;
      sums[labels[j]] += Math.sqrt(d);
    }
    const own = labels[i];
    if (size[own] <= 1) continue; // silhouette 0 for singletons
    const a = sums[own] / (size[own] - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && size[c] > 0) b = Math.min(b, sums[c] / size[c]);
    total += (b - a) / Math.max(a, b, 1e-300);
  }
  return total / n;
}

/** Section 5's heuristic: K from clustering individuals' estimated transition densities. */
export function estimateGroupCount(data: MdpDataset, options: GroupCountOptions = {}): GroupCountEstimate {
  const N = data.individualIds.length;
  if (N < 1) throw new RangeError("estimateGroupCount: the data have no individuals");
  if (data.size === 0) throw new RangeError("estimateGroupCount: the data have no transitions");
  const c = resolveConfig("estimateGroupCount", GROUP_COUNT_DEFAULTS, options);
  checkIntegers("estimateGroupCount", c, ["maxGroups", "references"]);
  const maxGroups = Math.min(c.maxGroups, N - 1);
  const M = Math.min(c.references, data.size);
  const S = data.stateDim, d = 2 * S + 1;
  // Standardised (s | r, s') per row.
  const row = (r: number, out: Float64Array) => {
    for (let c = 0; c < S; c++) out[c] = data.states[r * S + c];
    out[S] = data.rewards[r];
    for (let c = 0; c < S; c++) out[S + 1 + c] = data.nextStates[r * S + c];
  };
  const mean = new Float64Array(d), sd = new Float64Array(d), tmp = new Float64Array(d);
  for (let r = 0; r < data.size; r++) {
    row(r, tmp);
    for (let c = 0; c < d; c++) mean[c] += tmp[c] / data.size;
  }
  for (let r = 0; r < data.size; r++) {
    row(r, tmp);
    for (let c = 0; c < d; c++) sd[c] += (tmp[c] - mean[c]) ** 2 / data.size;
  }
  for (let c = 0; c < d; c++) sd[c] = Math.sqrt(sd[c]) || 1;
  const z = new Float64Array(data.size * d);
  for (let r = 0; r < data.size; r++) {
    row(r, tmp);
    for (let c = 0; c < d; c++) z[r * d + c] = (tmp[c] - mean[c]) / sd[c];
  }
  const rowsOf: number[][] = Array.from({ length: N }, () => []);
  for (let r = 0; r < data.size; r++) rowsOf[data.individuals[r]].push(r);
  const counts = rowsOf.map((x) => x.length).sort((a, b) => a - b);
  const h = c.bandwidth === "scott" ? Math.max(1, counts[Math.floor(N / 2)]) ** (-1 / (d + 4)) : c.bandwidth;
  if (!(h > 0)) throw new RangeError(`estimateGroupCount: bandwidth must be positive, got ${h}`);
  const rng = createRng(c.seed);
  const refs = Array.from({ length: M }, () => rng.int(data.size));
  const inv = 1 / (2 * h * h);
  /** Conditional log density at reference j from rows `rows`. */
  const logDensity = (rows: readonly number[], j: number, joint: Float64Array, marg: Float64Array) => {
    const rj = refs[j], aj = data.actions[rj];
    let n = 0;
    for (const t of rows) {
      if (data.actions[t] !== aj) continue;
      let ds = 0, dy = 0;
      for (let c = 0; c < S; c++) ds += (z[t * d + c] - z[rj * d + c]) ** 2;
      for (let c = S; c < d; c++) dy += (z[t * d + c] - z[rj * d + c]) ** 2;
      marg[n] = -ds * inv;
      joint[n] = -(ds + dy) * inv;
      n++;
    }
    return n === 0 ? NaN : logSumExp(joint, n) - logSumExp(marg, n);
  };
  const buf1 = new Float64Array(data.size), buf2 = new Float64Array(data.size);
  const all = Array.from({ length: data.size }, (_, r) => r);
  const pooled = Float64Array.from({ length: M }, (_, j) => logDensity(all, j, buf1, buf2));
  const floor = c.logFloor;
  const embeddings = new Float64Array(N * M);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < M; j++) {
      const v = logDensity(rowsOf[i], j, buf1, buf2);
      embeddings[i * M + j] = Number.isFinite(v) ? Math.max(v, pooled[j] - floor) : pooled[j];
    }
  }
  if (maxGroups < 2) {
    return Object.freeze({ groups: 1, silhouettes: [], assignments: new Int32Array(N), embeddings });
  }
  const points = Array.from({ length: N }, (_, i) => Array.from(embeddings.subarray(i * M, (i + 1) * M)));
  const silhouettes: number[] = [];
  let best = { k: 1, s: c.minSilhouette, labels: new Int32Array(N) };
  for (let k = 2; k <= maxGroups; k++) {
    const res = kmeans(points, k, { seed: c.seed, initialization: "kmeans++", maxIterations: 100 });
    const labels = Int32Array.from(res.clusters);
    const s = meanSilhouette(embeddings, M, labels);
    silhouettes.push(s);
    if (s > best.s) best = { k, s, labels };
  }
  return Object.freeze({ groups: best.k, silhouettes, assignments: best.labels, embeddings });
}
