/**
 * Preparing data the way OMG-RL section V-A does: drop features missing too often, carry each
 * measurement forward within a patient (sample-and-hold), impute what is still missing from the
 * K nearest neighbours; split by individual; normalise with statistics of the training split;
 * discretise a continuous dose into quantile bins.
 *
 * @module
 */
import { createMdpDataset, type MdpDataset, selectIndividuals } from "./dataset.ts";
import { individualRuns, stepCount, type StepTable } from "./steps.ts";
import { createRng, type Rng } from "../core/random.ts";
import { quantilesSorted } from "../core/numeric.ts";

// ---------------------------------------------------------------------------------------------
// Missing values (OMG-RL V-A: "variables with a high missing rate were excluded; the rest were
// imputed by sample-and-hold, and then by KNN")

/** Fraction of missing (NaN) values of each feature. */
export function missingRates(table: StepTable): Float64Array {
  const F = table.featureNames.length;
  const n = stepCount(table);
  const rates = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) if (Number.isNaN(table.features[i * F + f])) rates[f]++;
  for (let f = 0; f < F; f++) rates[f] /= Math.max(1, n);
  return rates;
}

/** Keeps only the listed features (by name, in that order). */
export function selectFeatures(table: StepTable, names: readonly string[]): StepTable {
  const F = table.featureNames.length;
  const idx = names.map((name) => {
    const j = table.featureNames.indexOf(name);
    if (j < 0) throw new RangeError(`selectFeatures(): no feature named "${name}"`);
    return j;
  });
  const n = stepCount(table);
  const features = new Float64Array(n * idx.length);
  for (let i = 0; i < n; i++) idx.forEach((j, k) => (features[i * idx.length + k] = table.features[i * F + j]));
  return { ...table, featureNames: [...names], features };
}

/** Drops features whose missing rate exceeds `maxMissingRate`; says which and why. */
export function dropSparseFeatures(
  table: StepTable,
  maxMissingRate: number,
): { table: StepTable; dropped: { name: string; missingRate: number }[] } {
  if (!(maxMissingRate >= 0 && maxMissingRate <= 1)) {
    throw new RangeError(`dropSparseFeatures(maxMissingRate) must be in [0, 1], got ${maxMissingRate}`);
  }
  const rates = missingRates(table);
  const keep = table.featureNames.filter((_, f) => rates[f] <= maxMissingRate);
  const dropped = table.featureNames.flatMap((
    name,
    f,
  ) => (rates[f] > maxMissingRate ? [{ name, missingRate: rates[f] }] : []));
  if (keep.length === 0) {
    throw new RangeError(`dropSparseFeatures(): every feature is missing more than ${maxMissingRate} of the time`);
  }
  return { table: selectFeatures(table, keep), dropped };
}

/** Carries the last observed value of each feature forward within an individual (never across). */
export function sampleAndHold(table: StepTable): StepTable {
  const F = table.featureNames.length;
  const features = Float64Array.from(table.features);
  for (const run of individualRuns(table)) {
    for (let i = run.start + 1; i < run.end; i++) {
      for (let f = 0; f < F; f++) {
        if (Number.isNaN(features[i * F + f])) features[i * F + f] = features[(i - 1) * F + f];
      }
    }
  }
  return { ...table, features };
}

/** Options of {@linkcode knnImpute}. */
export interface KnnImputeOptions {
  /** Neighbours averaged. @default 5 */
  readonly k?: number;
  /**
   * Complete rows searched for neighbours, drawn at random when there are more (the search is
   * O(rows x reference)). @default 5000
   */
  readonly maxReference?: number;
  /** Seed for choosing the reference rows. @default 0 */
  readonly seed?: number;
}

/**
 * Fills each remaining missing value with the mean of that feature over the `k` nearest complete
 * rows, distance measured on the row's observed features after standardising each feature
 * (as scikit-learn's KNNImputer, with a sampled reference set). Throws if no row is complete.
 */
export function knnImpute(table: StepTable, options: KnnImputeOptions = {}): StepTable {
  const k = options.k ?? 5;
  const maxReference = options.maxReference ?? 5000;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`knnImpute(k) must be a positive integer, got ${k}`);
  const F = table.featureNames.length;
  const n = stepCount(table);
  const x = table.features;
  const mean = new Float64Array(F);
  const sd = new Float64Array(F);
  const count = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < F; f++) {
      const v = x[i * F + f];
      if (!Number.isNaN(v)) {
        mean[f] += v;
        sd[f] += v * v;
        count[f]++;
      }
    }
  }
  for (let f = 0; f < F; f++) {
    mean[f] /= Math.max(1, count[f]);
    sd[f] = Math.sqrt(Math.max(0, sd[f] / Math.max(1, count[f]) - mean[f] * mean[f])) || 1;
  }
  const complete: number[] = [];
  const incomplete: number[] = [];
  for (let i = 0; i < n; i++) {
    let full = true;
    for (let f = 0; f < F; f++) if (Number.isNaN(x[i * F + f])) full = false;
    (full ? complete : incomplete).push(i);
  }
  if (incomplete.length === 0) return table;
  if (complete.length === 0) {
    throw new RangeError("knnImpute(): no row has every feature observed; drop sparse features first");
  }
  let reference = complete;
  if (complete.length > maxReference) {
    const perm = createRng(options.seed ?? 0).permutation(complete.length);
    reference = Array.from(perm.subarray(0, maxReference), (j) => complete[j]);
  }
  const features = Float64Array.from(x);
  const kk = Math.min(k, reference.length);
  const bestD = new Float64Array(kk);
  const bestJ = new Int32Array(kk);
  for (const i of incomplete) {
    bestD.fill(Infinity);
    for (const j of reference) {
      let d = 0;
      for (let f = 0; f < F; f++) {
        const v = x[i * F + f];
        if (Number.isNaN(v)) continue;
        const z = (v - x[j * F + f]) / sd[f];
        d += z * z;
      }
      if (d < bestD[kk - 1]) {
        let p = kk - 1;
        while (p > 0 && bestD[p - 1] > d) {
          bestD[p] = bestD[p - 1];
          bestJ[p] = bestJ[p - 1];
          p--;
        }
        bestD[p] = d;
        bestJ[p] = j;
      }
    }
    for (let f = 0; f < F; f++) {
      if (!Number.isNaN(x[i * F + f])) continue;
      let s = 0;
      for (let q = 0; q < kk; q++) s += x[bestJ[q] * F + f];
      features[i * F + f] = s / kk;
    }
  }
  return { ...table, features };
}

// ---------------------------------------------------------------------------------------------
// Splitting and normalisation

/** Options of {@linkcode splitByIndividual}. */
export interface SplitOptions {
  /** Fraction of individuals in the training split (OMG-RL uses 8:2). @default 0.8 */
  readonly trainFraction?: number;
  /** Seed of the shuffle. @default 0 */
  readonly seed?: number;
}

/** Splits by individual (never by row): a seeded shuffle of individuals, `trainFraction` to train. */
export function splitByIndividual(ds: MdpDataset, options: SplitOptions = {}): { train: MdpDataset; test: MdpDataset } {
  const trainFraction = options.trainFraction ?? 0.8;
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new RangeError(`splitByIndividual(trainFraction) must be in (0, 1), got ${trainFraction}`);
  }
  const m = ds.individualIds.length;
  if (m < 2) throw new RangeError(`splitByIndividual(): needs at least 2 individuals, got ${m}`);
  const perm = createRng(options.seed ?? 0).permutation(m);
  const nTrain = Math.min(m - 1, Math.max(1, Math.round(trainFraction * m)));
  const train = Array.from(perm.subarray(0, nTrain)).sort((a, b) => a - b);
  const test = Array.from(perm.subarray(nTrain)).sort((a, b) => a - b);
  return { train: selectIndividuals(ds, train), test: selectIndividuals(ds, test) };
}

/** Per-feature mean and standard deviation (floored at `minStd`; constant features get 1). */
export interface Normalizer {
  /** Names of the features, in order. */
  readonly featureNames: readonly string[];
  /** Per-feature mean (training split). */
  readonly mean: Float32Array;
  /** Per-feature standard deviation (1 where it is 0). */
  readonly std: Float32Array;
}

/** Fits a normaliser on a dataset's states (use the training split). */
export function fitNormalizer(ds: MdpDataset, minStd = 1e-6): Normalizer {
  const S = ds.stateDim;
  const mean = new Float64Array(S);
  const sq = new Float64Array(S);
  for (let i = 0; i < ds.size; i++) {
    for (let j = 0; j < S; j++) {
      const v = ds.states[i * S + j];
      mean[j] += v;
      sq[j] += v * v;
    }
  }
  const n = Math.max(1, ds.size);
  const std = new Float32Array(S);
  for (let j = 0; j < S; j++) {
    mean[j] /= n;
    const s = Math.sqrt(Math.max(0, sq[j] / n - mean[j] * mean[j]));
    std[j] = s < minStd ? 1 : s;
  }
  return Object.freeze({ featureNames: ds.featureNames, mean: Float32Array.from(mean), std });
}

/** (x - mean) / std for a row-major `[n, stateDim]` array; returns a new array. */
export function normalizeStates(norm: Normalizer, states: Float32Array): Float32Array {
  const S = norm.mean.length;
  const out = new Float32Array(states.length);
  for (let i = 0; i < states.length; i++) out[i] = (states[i] - norm.mean[i % S]) / norm.std[i % S];
  return out;
}

/** Inverse of {@linkcode normalizeStates}. */
export function denormalizeStates(norm: Normalizer, states: Float32Array): Float32Array {
  const S = norm.mean.length;
  const out = new Float32Array(states.length);
  for (let i = 0; i < states.length; i++) out[i] = states[i] * norm.std[i % S] + norm.mean[i % S];
  return out;
}

/** The dataset with states and next states normalised. */
export function normalizeDataset(ds: MdpDataset, norm: Normalizer): MdpDataset {
  if (norm.featureNames.join() !== ds.featureNames.join()) {
    throw new RangeError("normalizeDataset(): the normaliser was fitted on other features");
  }
  return createMdpDataset({
    ...ds,
    states: normalizeStates(norm, ds.states),
    nextStates: normalizeStates(norm, ds.nextStates),
  });
}

// ---------------------------------------------------------------------------------------------
// Quantile discretisation of a continuous dose (OMG-RL V-B: six bins of the heparin rate)

/** K quantile bins of a continuous quantity: `edges` between bins, `centers` (bin medians). */
export interface QuantileBins {
  /** Number of bins K. */
  readonly numBins: number;
  /** K - 1 increasing inner edges; bin k holds values in (edges[k-1], edges[k]]. */
  readonly edges: Float64Array;
  /** Median of the fitted values in each bin: the value a bin maps back to. */
  readonly centers: Float64Array;
  /** Smallest and largest fitted value. */
  readonly range: readonly [number, number];
}

/**
 * Fits K quantile bins to `values` (linear-interpolation quantiles, numpy's default). Throws when
 * ties leave a bin empty (too few distinct values for K bins).
 */
export function fitQuantileBins(values: ArrayLike<number>, numBins: number): QuantileBins {
  if (!Number.isInteger(numBins) || numBins < 1) {
    throw new RangeError(`fitQuantileBins(numBins) must be a positive integer, got ${numBins}`);
  }
  const sorted = Float64Array.from(values).filter((v) => Number.isFinite(v)).sort();
  if (sorted.length < numBins) {
    throw new RangeError(`fitQuantileBins(): ${sorted.length} finite values cannot fill ${numBins} bins`);
  }
  const edges = new Float64Array(numBins - 1);
  edges.set(quantilesSorted(sorted, Array.from({ length: numBins - 1 }, (_, k) => (k + 1) / numBins)));
  for (let k = 1; k < edges.length; k++) {
    if (!(edges[k] > edges[k - 1])) {
      throw new RangeError(
        `fitQuantileBins(): quantile edges ${k} and ${k + 1} coincide at ${
          edges[k]
        }; too many tied values for ${numBins} bins`,
      );
    }
  }
  const members: number[][] = Array.from({ length: numBins }, () => []);
  const bins = {
    numBins,
    edges,
    centers: new Float64Array(numBins),
    range: [sorted[0], sorted[sorted.length - 1]] as const,
  };
  for (const v of sorted) members[valueToBin(bins, v)].push(v);
  members.forEach((m, k) => {
    bins.centers[k] = m.length ? quantilesSorted(m, [0.5])[0] : (k === 0 ? edges[0] : edges[k - 1]);
  });
  return Object.freeze(bins);
}

/** The bin of a value: the first k with value <= edges[k], else the last bin. */
export function valueToBin(bins: QuantileBins, value: number): number {
  if (Number.isNaN(value)) throw new RangeError("valueToBin(): value is NaN");
  let lo = 0;
  let hi = bins.edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= bins.edges[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The representative value (median of fitted values) of bin `k`. */
export function binToValue(bins: QuantileBins, k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= bins.numBins) {
    throw new RangeError(`binToValue(k) must be an integer in [0, ${bins.numBins}), got ${k}`);
  }
  return bins.centers[k];
}

// ---------------------------------------------------------------------------------------------
// Mini-batches

/** A mini-batch of transitions, typed arrays with `batchSize` rows. */
export interface TransitionBatch {
  /** Rows in the batch. */
  readonly batchSize: number;
  /** States, row-major `[rows, stateDim]`. */
  readonly states: Float32Array;
  /** Actions, one per row. */
  readonly actions: Int32Array;
  /** Rewards, one per row. */
  readonly rewards: Float32Array;
  /** Next states, row-major `[rows, stateDim]`. */
  readonly nextStates: Float32Array;
  /** 1 where s' is terminal, as float for arithmetic. */
  readonly terminals: Float32Array;
}

/** `batchSize` transition indices drawn uniformly with replacement. */
export function sampleIndices(rng: Rng, size: number, batchSize: number): Int32Array {
  if (size < 1) throw new RangeError("sampleIndices(): cannot sample from an empty dataset");
  const idx = new Int32Array(batchSize);
  for (let i = 0; i < batchSize; i++) idx[i] = rng.int(size);
  return idx;
}

/** Copies the indexed transitions into a batch. */
export function gatherBatch(ds: MdpDataset, idx: ArrayLike<number>): TransitionBatch {
  const B = idx.length;
  const S = ds.stateDim;
  const states = new Float32Array(B * S);
  const nextStates = new Float32Array(B * S);
  const actions = new Int32Array(B);
  const rewards = new Float32Array(B);
  const terminals = new Float32Array(B);
  for (let k = 0; k < B; k++) {
    const i = idx[k];
    states.set(ds.states.subarray(i * S, (i + 1) * S), k * S);
    nextStates.set(ds.nextStates.subarray(i * S, (i + 1) * S), k * S);
    actions[k] = ds.actions[i];
    rewards[k] = ds.rewards[i];
    terminals[k] = ds.terminals[i];
  }
  return { batchSize: B, states, actions, rewards, nextStates, terminals };
}

/** A uniformly sampled mini-batch. */
export function sampleBatch(ds: MdpDataset, rng: Rng, batchSize: number): TransitionBatch {
  return gatherBatch(ds, sampleIndices(rng, ds.size, batchSize));
}

/** Index batches covering a shuffled epoch (the last may be smaller). */
export function* epochBatches(rng: Rng, size: number, batchSize: number): Generator<Int32Array> {
  const perm = rng.permutation(size);
  for (let i = 0; i < size; i += batchSize) yield perm.subarray(i, Math.min(size, i + batchSize));
}
