/**
 * The state reduction of P4L's sepsis application (Miao, Shahbaba & Qu, section 7: the top 10
 * principal components of the standardised state variables, plus SOFA, as the state): principal
 * components fitted on the training split only, then applied to any split, so that no held-out
 * patient shapes the reduction.
 *
 * Fitting uses ml-pca (mljs, the same family as the kit's ml-kmeans; a singular value
 * decomposition of the standardised training rows). The fitted reduction is a frozen record of
 * typed arrays (means, standard deviations, loadings, explained variance) that is saved as JSON
 * and applied by a plain product, without the library.
 *
 * @module
 */
import { PCA } from "ml-pca";
import { createMdpDataset, type MdpDataset } from "./dataset.ts";

/** Options of {@linkcode fitPcaReduction}. */
export interface PcaOptions {
  /** Principal components kept (the paper: 10). */
  readonly components: number;
  /** Columns passed through unchanged after the components (the paper: SOFA). @default [] */
  readonly keep?: readonly string[];
  /** Columns projected. @default every column not in `keep` */
  readonly columns?: readonly string[];
}

/** A fitted reduction: standardise `inputNames`, project on `loadings`, append `keepNames`. */
export interface PcaReduction {
  /** The columns projected, in order. */
  readonly inputNames: readonly string[];
  /** The columns passed through. */
  readonly keepNames: readonly string[];
  /** Training mean of each projected column. */
  readonly means: Float64Array;
  /** Training standard deviation of each projected column (1 where it is constant). */
  readonly stds: Float64Array;
  /** Components kept, k. */
  readonly components: number;
  /** Loadings, row-major `[k, inputNames.length]`: unit vectors, largest variance first. */
  readonly loadings: Float64Array;
  /** Share of the standardised variance each kept component explains. */
  readonly explainedVariance: Float64Array;
  /** Names of the reduced state's columns: `pc1` ... `pck`, then `keepNames`. */
  readonly featureNames: readonly string[];
}

/** Fits the reduction on `train`'s states (the training split; never on held-out patients). */
export function fitPcaReduction(train: MdpDataset, options: PcaOptions): PcaReduction {
  const keep = [...(options.keep ?? [])];
  const inputs = [...(options.columns ?? train.featureNames.filter((f) => !keep.includes(f)))];
  for (const name of [...keep, ...inputs]) {
    if (!train.featureNames.includes(name)) {
      throw new RangeError(`pca: the data have no column "${name}" (columns: ${train.featureNames.join(", ")})`);
    }
  }
  const overlap = inputs.filter((f) => keep.includes(f));
  if (overlap.length > 0) throw new RangeError(`pca: ${overlap.join(", ")} cannot be both projected and kept`);
  const D = inputs.length, k = options.components;
  if (!Number.isInteger(k) || k < 1 || k > D) {
    throw new RangeError(`pca: components must be an integer in [1, ${D}] (the projected columns), got ${k}`);
  }
  if (train.size < 2) throw new RangeError(`pca: fitting needs at least 2 rows, got ${train.size}`);
  const idx = inputs.map((f) => train.featureNames.indexOf(f));
  const S = train.stateDim, n = train.size;
  const means = new Float64Array(D), stds = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) {
      const x = train.states[i * S + idx[j]];
      if (!Number.isFinite(x)) throw new RangeError(`pca: row ${i}, column ${inputs[j]} is ${x}; impute first`);
      means[j] += x / n;
    }
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) stds[j] += (train.states[i * S + idx[j]] - means[j]) ** 2 / (n - 1);
  }
  for (let j = 0; j < D; j++) stds[j] = stds[j] > 1e-24 ? Math.sqrt(stds[j]) : 1;
  const rows = Array.from(
    { length: n },
    (_, i) => inputs.map((_, j) => (train.states[i * S + idx[j]] - means[j]) / stds[j]),
  );
  const pca = new PCA(rows, { center: false, scale: false, method: "SVD" });
  const vectors = pca.getEigenvectors(); // D x D, columns by decreasing variance
  const share = pca.getExplainedVariance();
  const loadings = new Float64Array(k * D);
  for (let c = 0; c < k; c++) {
    // Sign convention: the largest loading of each component is positive (SVD's sign is arbitrary).
    let big = 0;
    for (let j = 0; j < D; j++) if (Math.abs(vectors.get(j, c)) > Math.abs(vectors.get(big, c))) big = j;
    const sign = vectors.get(big, c) < 0 ? -1 : 1;
    for (let j = 0; j < D; j++) loadings[c * D + j] = sign * vectors.get(j, c);
  }
  return Object.freeze({
    inputNames: Object.freeze(inputs),
    keepNames: Object.freeze(keep),
    means,
    stds,
    components: k,
    loadings,
    explainedVariance: Float64Array.from(share.slice(0, k)),
    featureNames: Object.freeze([...Array.from({ length: k }, (_, c) => `pc${c + 1}`), ...keep]),
  });
}

/** Reduces rows laid out as `names` (row-major, `names.length` wide) to the reduction's columns. */
function reduceRows(r: PcaReduction, names: readonly string[], states: Float32Array): Float32Array {
  const S = names.length, n = states.length / S, D = r.inputNames.length, k = r.components;
  const idx = r.inputNames.map((f) => names.indexOf(f)), keep = r.keepNames.map((f) => names.indexOf(f));
  const missing = [...r.inputNames, ...r.keepNames].filter((f) => !names.includes(f));
  if (missing.length > 0) throw new RangeError(`pca: the data lack ${missing.join(", ")}, which the reduction reads`);
  const W = k + keep.length, out = new Float32Array(n * W), z = new Float64Array(D);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < D; j++) z[j] = (states[i * S + idx[j]] - r.means[j]) / r.stds[j];
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += r.loadings[c * D + j] * z[j];
      out[i * W + c] = s;
    }
    keep.forEach((j, m) => (out[i * W + k + m] = states[i * S + j]));
  }
  return out;
}

/** `ds` with its states and next states reduced (`pc1` ... `pck`, then the kept columns). */
export function applyPcaReduction(r: PcaReduction, ds: MdpDataset): MdpDataset {
  return createMdpDataset({
    ...ds,
    featureNames: r.featureNames,
    states: reduceRows(r, ds.featureNames, ds.states),
    nextStates: reduceRows(r, ds.featureNames, ds.nextStates),
  });
}

/** A reduction as JSON (numbers as arrays), to save beside a policy. */
export function pcaReductionToJson(r: PcaReduction): Record<string, unknown> {
  return {
    format: "pca-reduction/1",
    inputNames: r.inputNames,
    keepNames: r.keepNames,
    components: r.components,
    means: Array.from(r.means),
    stds: Array.from(r.stds),
    loadings: Array.from(r.loadings),
    explainedVariance: Array.from(r.explainedVariance),
  };
}

/** A reduction from {@linkcode pcaReductionToJson}'s JSON, checked (a malformed file is an error, never a guess). */
export function pcaReductionFromJson(json: unknown, source = "PCA reduction"): PcaReduction {
  const j = json as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new RangeError(`${source}: ${what}`);
  };
  if (typeof j !== "object" || j === null || j.format !== "pca-reduction/1") bad('not a "pca-reduction/1" file');
  const names = (v: unknown, key: string) =>
    Array.isArray(v) && v.every((x) => typeof x === "string") ? v as string[] : bad(`${key} must be a list of names`);
  const inputNames = names(j.inputNames, "inputNames"), keepNames = names(j.keepNames, "keepNames");
  const D = inputNames.length, k = j.components as number;
  if (!Number.isInteger(k) || k < 1 || k > D) bad(`components must be an integer in [1, ${D}]`);
  const numbers = (v: unknown, key: string, length: number, positive = false) => {
    if (!Array.isArray(v) || v.length !== length) bad(`${key} must hold ${length} numbers`);
    const a = Float64Array.from(v as number[]);
    a.forEach((x, i) => {
      if (!Number.isFinite(x) || (positive && !(x > 0))) bad(`${key}[${i}] is ${(v as unknown[])[i]}`);
    });
    return a;
  };
  return Object.freeze({
    inputNames: Object.freeze(inputNames),
    keepNames: Object.freeze(keepNames),
    means: numbers(j.means, "means", D),
    stds: numbers(j.stds, "stds", D, true),
    components: k,
    loadings: numbers(j.loadings, "loadings", k * D),
    explainedVariance: numbers(j.explainedVariance, "explainedVariance", k),
    featureNames: Object.freeze([...Array.from({ length: k }, (_, c) => `pc${c + 1}`), ...keepNames]),
  });
}
