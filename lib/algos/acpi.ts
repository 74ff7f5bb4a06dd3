/**
 * ACPI, auto-clustered policy iteration (Chen, Song & Jordan 2022), P4L's clustering baseline:
 * 1. per-individual Q estimates: linear fitted-Q weights on each individual's data, shrunk towards
 *    the pooled fit (w^_i = pooled + (own_i - pooled) / (1 + shrinkage)), since one individual's T
 *    transitions rarely identify Q alone (a departure: the original estimates Q jointly);
 * 2. fusion: min_w 1/2 sum_i |w_i - w^_i|^2 + lambda sum_{i<j} |w_i - w_j|_2 by ADMM on the pairwise
 *    differences d_ij = w_i - w_j (Ma & Huang 2017's concave-fusion ADMM with the group-lasso
 *    penalty in place of SCAD/MCP: a departure for simplicity, which shrinks large differences
 *    more than the original);
 *    For large N the penalty runs over a k-nearest-neighbour graph of the estimates (each
 *    individual's `neighbours` nearest, default 10 when N > 200) instead of all N (N - 1) / 2
 *    pairs, the usual sparse-graph form of fusion penalties (a departure for cost: the sepsis
 *    application has N = 1000, half a million pairs);
 * 3. clusters: individuals joined when their fused difference is zero (|d_ij| below `tolerance`);
 * 4. a policy per cluster: FQI on the cluster's pooled data, acted on greedily.
 *
 * @module
 */
import type { MdpDataset } from "../data/dataset.ts";
import { listEpisodes, selectIndividuals, selectTransitions } from "../data/dataset.ts";
import { type FeatureMap, linearBatchPolicy } from "./features.ts";
import type { BatchPolicy } from "../envs/env.ts";
import {
  fittedQIteration,
  FQI_DEFAULTS,
  type FqiOptions,
  greedyPolicy,
  type LinearQ,
  linearQValues,
  resolveFqiConfig,
} from "./fqi.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";

/** Options of {@linkcode fitAcpi}; {@linkcode ACPI_DEFAULTS} holds the defaults. */
export interface AcpiOptions {
  /** Discount factor gamma of every FQI fit. */
  readonly discount?: number;
  /** The other settings of the FQI fits (pooled, per individual, per cluster). */
  readonly fqi?: Omit<FqiOptions, "discount">;
  /**
   * Fusion penalty lambda, relative to the estimates' RMS norm, divided by the square root of the
   * mean number of pairs per individual (N with all pairs); or "validated": the strength of
   * `fusionGrid` whose clusters' Q-functions, fitted on the first half of each individual's
   * episode, leave the smallest Bellman residual on the second half. Measured (docs/p4l.md): that
   * criterion does not track the policies' value (on the conflicting-groups environment at T = 50
   * it picks one cluster, worth 0.37 against 2.52 at strength 0.05), so it is not the default.
   */
  readonly fusion?: number | "validated";
  /** The strengths "validated" chooses among. */
  readonly fusionGrid?: readonly number[];
  /** Shrinkage of each individual's fit towards the pooled weights. */
  readonly shrinkage?: number;
  /** ADMM penalty of the fusion problem. */
  readonly admmPenalty?: number;
  /** ADMM iterations. */
  readonly admmIterations?: number;
  /** Fuse over each individual's k nearest estimates only; "auto": all pairs up to N = 200, else 10. */
  readonly neighbours?: number | "auto";
  /** Differences below this (relative to the weights' scale) join two individuals. */
  readonly fusionTolerance?: number;
}

/** The defaults of {@linkcode AcpiOptions}. */
export const ACPI_DEFAULTS: Readonly<Required<AcpiOptions>> = Object.freeze({
  discount: FQI_DEFAULTS.discount,
  fqi: Object.freeze((({ discount: _, ...rest }) => rest)(FQI_DEFAULTS)),
  fusion: 0.2 as number | "validated",
  fusionGrid: Object.freeze([0.02, 0.05, 0.1, 0.2, 0.5]),
  shrinkage: 1,
  admmPenalty: 1,
  admmIterations: 200,
  neighbours: "auto" as const,
  fusionTolerance: 1e-3,
});

/**
 * An ACPI config with every default filled in (the FQI settings resolved too), checked and frozen.
 *
 * @param options Overrides of {@linkcode ACPI_DEFAULTS}.
 */
export function resolveAcpiConfig(options: AcpiOptions = {}): Readonly<Required<AcpiOptions>> {
  const c = resolveConfig("fitAcpi", ACPI_DEFAULTS, options);
  const { discount: _, ...fqi } = resolveFqiConfig({ ...c.fqi, discount: c.discount });
  if (c.fusion !== "validated") checkInterval("fitAcpi", c, "fusion", 0, Infinity);
  if (c.fusionGrid.length === 0 || !c.fusionGrid.every((f) => f >= 0 && Number.isFinite(f))) {
    throw new RangeError(`fitAcpi: fusionGrid must list non-negative strengths, got ${JSON.stringify(c.fusionGrid)}`);
  }
  checkInterval("fitAcpi", c, "shrinkage", 0, Infinity);
  checkInterval("fitAcpi", c, "admmPenalty", 0, Infinity, "low");
  checkIntegers("fitAcpi", c, ["admmIterations"]);
  if (c.neighbours !== "auto") checkIntegers("fitAcpi", c, ["neighbours"]);
  return Object.freeze({ ...c, fqi: Object.freeze(fqi) });
}

/** A fitted ACPI: clusters and a Q-function per cluster. */
export interface AcpiModel {
  /** Cluster of each individual (data order), 0..clusters-1. */
  readonly assignments: Int32Array;
  /** Number of clusters found. */
  readonly clusters: number;
  /** One FQI Q-function per cluster. */
  readonly qFunctions: readonly LinearQ[];
  /** Individuals whose own FQI diverged and that started from the pooled fit instead (a cluster likewise). */
  readonly fallbacks: number;
  /** The fusion strength used (chosen on held-out data when the config says "validated"). */
  readonly fusion: number;
  /** Held-out Bellman residual at each strength of `fusionGrid` (empty when not validated). */
  readonly fusionResiduals: readonly number[];
}

/** All pairs (i < j) of N individuals, in row order. */
export function allPairs(N: number): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) pairs.push([i, j]);
  return pairs;
}

/** Pairs (i < j) of a symmetric k-nearest-neighbour graph of `points`. */
export function nearestNeighbourPairs(points: readonly Float64Array[], k: number): [number, number][] {
  const N = points.length;
  const keys = new Set<number>();
  for (let i = 0; i < N; i++) {
    const d = points.map((q, j) => {
      let s = 0;
      for (let p = 0; p < q.length; p++) s += (q[p] - points[i][p]) ** 2;
      return [s, j] as const;
    }).filter(([, j]) => j !== i).sort((a, b) => a[0] - b[0]).slice(0, k);
    for (const [, j] of d) keys.add(Math.min(i, j) * N + Math.max(i, j));
  }
  return Array.from(keys).sort((a, b) => a - b).map((key) => [Math.floor(key / N), key % N]);
}

/**
 * Group-lasso fusion of per-individual weight vectors by ADMM over `pairs` (all pairs by
 * default); returns fused weights and the gap of each pair.
 */
export function fuseWeights(
  estimates: readonly Float64Array[],
  lambda: number,
  rho = 1,
  iterations = 200,
  pairs: readonly (readonly [number, number])[] = allPairs(estimates.length),
): { fused: Float64Array[]; gaps: Float64Array } {
  const N = estimates.length, P = estimates[0].length;
  const E = pairs.length;
  const degree = new Float64Array(N);
  const adjacency: number[][] = Array.from({ length: N }, () => []);
  for (const [i, j] of pairs) {
    degree[i]++;
    degree[j]++;
    adjacency[i].push(j);
    adjacency[j].push(i);
  }
  const d = new Float64Array(E * P), v = new Float64Array(E * P); // differences and scaled duals
  const w = estimates.map((e) => Float64Array.from(e));
  const mean = new Float64Array(P);
  for (let it = 0; it < iterations; it++) {
    // w-step: (I + rho (N I - 11^T)) w = w^ + rho sum_{e} A_e^T (d_e - v_e), solved in closed form.
    const rhs = estimates.map((e) => Float64Array.from(e));
    pairs.forEach(([i, j], e) => {
      for (let p = 0; p < P; p++) {
        const t = rho * (d[e * P + p] - v[e * P + p]);
        rhs[i][p] += t;
        rhs[j][p] -= t;
      }
    });
    mean.fill(0);
    for (let i = 0; i < N; i++) for (let p = 0; p < P; p++) mean[p] += rhs[i][p] / N;
    // (I + rho N I - rho 11^T)^-1 x = (x + rho N mean(x)... ) : per coordinate, x_i = (b_i + rho N m) / (1 + rho N) with m = mean(b).
    for (let i = 0; i < N; i++) {
      for (let p = 0; p < P; p++) w[i][p] = (rhs[i][p] + rho * N * mean[p]) / (1 + rho * N);
    }
    // d-step: group soft-thresholding of (w_i - w_j + v).
    pairs.forEach(([i, j], e) => {
      let norm = 0;
      for (let p = 0; p < P; p++) norm += (w[i][p] - w[j][p] + v[e * P + p]) ** 2;
      norm = Math.sqrt(norm);
      const shrink = norm > 0 ? Math.max(0, 1 - lambda / (rho * norm)) : 0;
      for (let p = 0; p < P; p++) d[e * P + p] = shrink * (w[i][p] - w[j][p] + v[e * P + p]);
    });
    // dual step.
    pairs.forEach(([i, j], e) => {
      for (let p = 0; p < P; p++) v[e * P + p] += w[i][p] - w[j][p] - d[e * P + p];
    });
  }
  const gaps = new Float64Array(E);
  pairs.forEach((_, e) => {
    let s = 0;
    for (let p = 0; p < P; p++) s += d[e * P + p] ** 2;
    gaps[e] = Math.sqrt(s);
  });
  return { fused: w, gaps };
}

/** Largest |reward| of the data. */
function maxAbsReward(data: MdpDataset): number {
  let m = 0;
  for (const r of data.rewards) m = Math.max(m, Math.abs(r));
  return m;
}

/**
 * FQI on `own`, or null when it diverged: non-finite weights, or a Q-value on its own states beyond
 * `bound` (twice the largest return any policy can have, max |R| / (1 - gamma)).
 */
function ownFit(own: MdpDataset, features: FeatureMap, fqi: FqiOptions, bound: number): LinearQ | null {
  let q: LinearQ;
  try {
    q = fittedQIteration(own, features, fqi);
  } catch (err) {
    if (err instanceof RangeError && /diverged/.test(err.message)) return null;
    throw err;
  }
  for (const v of linearQValues(q, own.states)) if (!(Math.abs(v) <= bound)) return null;
  return q;
}

/** Per-individual estimates w^_i (shrunk towards the pooled fit), and how many fell back to it. */
function individualEstimates(
  data: MdpDataset,
  features: FeatureMap,
  c: Readonly<Required<AcpiOptions>>,
  fqi: FqiOptions,
): { estimates: Float64Array[]; fallbacks: number; pooled: LinearQ; bound: number } {
  const N = data.individualIds.length;
  const pooled = fittedQIteration(data, features, fqi);
  const shrink = c.shrinkage;
  // Per-individual fits, shrunk towards the pooled weights: w^_i = pooled + (own_i - pooled) / (1 + shrinkage).
  // An individual's own linear FQI can diverge off-policy (weights of 1e12-1e40 were seen); such a
  // fit would inflate the fusion scale until everyone fuses, so it starts from the pooled fit.
  const bound = 2 * maxAbsReward(data) / (1 - c.discount) + 1e-9;
  let fallbacks = 0;
  const estimates = Array.from({ length: N }, (_, i) => {
    const own = selectIndividuals(data, [i]);
    if (own.size === 0) return Float64Array.from(pooled.weights);
    const q = ownFit(own, features, fqi, bound);
    if (q === null) {
      fallbacks++;
      return Float64Array.from(pooled.weights);
    }
    return Float64Array.from(q.weights, (x, k) => pooled.weights[k] + (x - pooled.weights[k]) / (1 + shrink));
  });
  return { estimates, fallbacks, pooled, bound };
}

/** Clusters of the fused estimates at fusion strength `fusion` (union-find on zero gaps). */
function fusedClusters(estimates: readonly Float64Array[], c: Readonly<Required<AcpiOptions>>, fusion: number) {
  const N = estimates.length;
  // Penalty and tolerance are relative to the estimates' typical size.
  const scale = Math.max(1e-9, Math.sqrt(estimates.reduce((s, w) => s + w.reduce((t, x) => t + x * x, 0), 0) / N));
  const k = c.neighbours === "auto" ? (N > 200 ? 10 : N - 1) : c.neighbours;
  const complete = k >= N - 1;
  const pairs = complete ? allPairs(N) : nearestNeighbourPairs(estimates, k);
  const { gaps } = fuseWeights(
    estimates,
    fusion * scale / Math.sqrt(complete ? N : Math.max(1, (2 * pairs.length) / N)),
    c.admmPenalty,
    c.admmIterations,
    pairs,
  );
  const parent = Int32Array.from({ length: N }, (_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const tol = c.fusionTolerance * scale;
  pairs.forEach(([i, j], e) => {
    if (gaps[e] < tol) parent[find(i)] = find(j);
  });
  const roots = new Map<number, number>();
  const assignments = Int32Array.from({ length: N }, (_, i) => {
    const r = find(i);
    if (!roots.has(r)) roots.set(r, roots.size);
    return roots.get(r)!;
  });
  return { assignments, clusters: roots.size };
}

/** One FQI per cluster on its pooled data (the pooled fit where a cluster's own diverges). */
function clusterQs(
  data: MdpDataset,
  features: FeatureMap,
  assignments: Int32Array,
  clusters: number,
  fqi: FqiOptions,
  pooled: LinearQ,
  bound: number,
): LinearQ[] {
  return Array.from({ length: clusters }, (_, k) => {
    const members = Array.from(assignments).flatMap((c, i) => (c === k ? [i] : []));
    return ownFit(selectIndividuals(data, members), features, fqi, bound) ?? pooled;
  });
}

/**
 * Mean squared Bellman residual r + gamma max_a Q(s', a) - Q(s, a) of each row of `held` under the
 * Q of its individual's cluster (individuals matched by id to `fitted`'s).
 */
function heldOutResidual(
  held: MdpDataset,
  fitted: MdpDataset,
  assignments: Int32Array,
  qs: readonly LinearQ[],
  discount: number,
): number {
  const index = new Map(fitted.individualIds.map((id, i) => [id, i]));
  const A = held.numActions;
  let total = 0;
  for (let k = 0; k < qs.length; k++) {
    const rows: number[] = [];
    for (let r = 0; r < held.size; r++) {
      if (assignments[index.get(held.individualIds[held.individuals[r]])!] === k) rows.push(r);
    }
    if (rows.length === 0) continue;
    const S = held.stateDim;
    const s = new Float64Array(rows.length * S), s2 = new Float64Array(rows.length * S);
    rows.forEach((r, n) => {
      for (let j = 0; j < S; j++) {
        s[n * S + j] = held.states[r * S + j];
        s2[n * S + j] = held.nextStates[r * S + j];
      }
    });
    const q = linearQValues(qs[k], s), q2 = linearQValues(qs[k], s2);
    rows.forEach((r, n) => {
      let best = -Infinity;
      for (let a = 0; a < A; a++) best = Math.max(best, q2[n * A + a]);
      const next = held.terminals[r] ? 0 : discount * best;
      total += (held.rewards[r] + next - q[n * A + held.actions[r]]) ** 2;
    });
  }
  return total / held.size;
}

/**
 * The fusion strength of `c.fusionGrid` whose clusters' Q-functions, fitted on the first half of
 * each individual's episode, leave the smallest Bellman residual on the second half.
 */
function selectFusion(
  data: MdpDataset,
  features: FeatureMap,
  c: Readonly<Required<AcpiOptions>>,
  fqi: FqiOptions,
): { fusion: number; residuals: number[] } {
  const first: number[] = [], second: number[] = [];
  for (const e of listEpisodes(data)) {
    const half = e.start + Math.ceil((e.end - e.start) / 2);
    for (let r = e.start; r < e.end; r++) (r < half ? first : second).push(r);
  }
  const grid = c.fusionGrid;
  if (second.length === 0) return { fusion: grid[Math.floor(grid.length / 2)], residuals: [] };
  // The first halves end in a truncation (a time-out), not where their episodes ended.
  const train = selectTransitions(data, first, { truncate: true });
  const held = selectTransitions(data, second, { truncate: true });
  const { estimates, pooled, bound } = individualEstimates(train, features, c, fqi);
  const residuals = grid.map((fusion) => {
    const { assignments, clusters } = fusedClusters(estimates, c, fusion);
    const qs = clusterQs(train, features, assignments, clusters, fqi, pooled, bound);
    return heldOutResidual(held, train, assignments, qs, c.discount);
  });
  let best = 0;
  for (let k = 1; k < grid.length; k++) if (residuals[k] < residuals[best]) best = k;
  return { fusion: grid[best], residuals };
}

/** Fits ACPI with linear Q-functions on `features`. */
export function fitAcpi(data: MdpDataset, features: FeatureMap, options: AcpiOptions = {}): AcpiModel {
  const N = data.individualIds.length;
  if (N < 1) throw new RangeError("fitAcpi: the data have no individuals");
  const c = resolveAcpiConfig(options);
  const fqi: FqiOptions = { ...c.fqi, discount: c.discount };
  const chosen = c.fusion === "validated" ? selectFusion(data, features, c, fqi) : { fusion: c.fusion, residuals: [] };
  const { estimates, fallbacks, pooled, bound } = individualEstimates(data, features, c, fqi);
  const { assignments, clusters } = fusedClusters(estimates, c, chosen.fusion);
  const qFunctions = clusterQs(data, features, assignments, clusters, fqi, pooled, bound);
  return Object.freeze({
    assignments,
    clusters,
    qFunctions,
    fallbacks,
    fusion: chosen.fusion,
    fusionResiduals: Object.freeze(chosen.residuals),
  });
}

/** The greedy policy of individual `i`'s cluster. */
export function acpiPolicy(model: AcpiModel, individual: number): (state: ArrayLike<number>) => number[] {
  const k = model.assignments[individual];
  if (k === undefined) throw new RangeError(`acpiPolicy: no individual ${individual}`);
  return greedyPolicy(model.qFunctions[k]);
}

/** {@linkcode acpiPolicy} of every individual over many states at once (Monte Carlo evaluation). */
export function acpiBatchPolicy(model: AcpiModel): BatchPolicy {
  const features = model.qFunctions[0].features;
  if (model.qFunctions.some((q) => q.features !== features || q.numActions !== model.qFunctions[0].numActions)) {
    throw new Error("acpiBatchPolicy: the clusters' Q-functions do not share one feature map");
  }
  return linearBatchPolicy(features, model.qFunctions[0].numActions, (i) => {
    const k = model.assignments[i];
    if (k === undefined) throw new RangeError(`acpiBatchPolicy: no individual ${i}`);
    return model.qFunctions[k].weights;
  }, "greedy");
}
