/**
 * Off-policy evaluation from recorded data alone, for a real cohort where no simulator exists:
 * - behaviour-policy estimation: a ridge-penalised softmax regression of the clinicians' action
 *   on state features, temperature-calibrated on held-out individuals (Guo et al. 2017), its
 *   probabilities clipped below at a floor (the share of clipped rows is reported);
 * - fitted Q evaluation (Le, Voloshin & Yue 2019): Q(s, a) = phi(s)^T w_a refitted by ridge
 *   regression on R + gamma (1 - done) sum_a' pi(a' | S') Q(S', a');
 * - per-decision weighted importance sampling (Precup, Sutton & Singh 2000; self-normalised per
 *   time step), and weighted doubly robust (Thomas & Brunskill 2016) with FQE as its model; all
 *   importance weights in log space, with the effective sample size (sum w)^2 / sum w^2 of the
 *   trajectory weights beside each estimate;
 * - confidence intervals by a seeded percentile bootstrap over individuals (never over rows, so
 *   the within-stay correlation is kept); each resample refits FQE; the behaviour model stays
 *   fixed (the intervals are conditional on it, a stated simplification that saves a refit).
 * A finished episode keeps its last weight and pays 0 afterwards (absorbing), as in PDWIS.
 *
 * @module
 */
import { choleskySolver, solveLinear } from "../core/linalg.ts";
import { createRng } from "../core/random.ts";
import { listEpisodes, type MdpDataset } from "../data/dataset.ts";
import type { FeatureMap } from "./features.ts";
import { effectiveSampleSize, logSoftmaxInPlace, logSumExp } from "../core/numeric.ts";
import { fitSoftmaxRegression, SOFTMAX_REGRESSION_DEFAULTS, softmaxLogits } from "./softmax_regression.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";

/**
 * A policy to evaluate: state (as recorded) to action probabilities; `individual` (the row's index
 * into the data's individualIds) lets a personalised policy (P4L, ACPI) act as its individual's.
 */
export type EvaluationPolicy = (state: ArrayLike<number>, individual?: number) => ArrayLike<number>;

/** Raised when an estimate cannot be formed (e.g. every importance weight is zero). */
export class OpeError extends Error {
  /**
   * Creates the error.
   *
   * @param message What could not be estimated, and why.
   */
  constructor(message: string) {
    super(message);
    this.name = "OpeError";
  }
}

// ------------------------------------------------------------------------ behaviour policy

/** Options of {@linkcode fitBehaviourPolicy}; {@linkcode BEHAVIOUR_DEFAULTS} holds the defaults. */
export interface BehaviourOptions {
  /** Ridge penalty on the softmax weights. */
  readonly ridge?: number;
  /** Probabilities are clipped below at this floor, then renormalised. */
  readonly floor?: number;
  /** Share of individuals held out to fit the temperature. */
  readonly calibrationShare?: number;
  /** Gradient steps of the softmax regression. */
  readonly steps?: number;
  /** Seed of the held-out split. */
  readonly seed?: number;
}

/** The defaults of {@linkcode BehaviourOptions}. */
export const BEHAVIOUR_DEFAULTS: Readonly<Required<BehaviourOptions>> = Object.freeze({
  ridge: SOFTMAX_REGRESSION_DEFAULTS.ridge,
  floor: 1e-3,
  calibrationShare: 0.2,
  steps: SOFTMAX_REGRESSION_DEFAULTS.steps,
  seed: 0,
});

/** An estimated behaviour policy. */
export interface BehaviourModel {
  /** The state feature map the model reads. */
  readonly features: FeatureMap;
  /** Number of actions A. */
  readonly numActions: number;
  /** Softmax weights, row-major `[dim + 1, numActions]` (last row: intercepts). */
  readonly weights: Float64Array;
  /** Temperature fitted on held-out individuals (1 = no change). */
  readonly temperature: number;
  /** Floor the probabilities were clipped to. */
  readonly floor: number;
  /** Share of the data's (row, action) probabilities raised to the floor. */
  readonly clippedShare: number;
  /** Mean log-loss of the recorded actions on the held-out individuals. */
  readonly heldOutLogLoss: number;
  /** mu(. | s), clipped and renormalised. */
  probabilities(state: ArrayLike<number>): Float64Array;
}

/** Clips probabilities below at `floor` and renormalises; returns how many were raised. */
function clipProbabilities(p: Float64Array, floor: number): number {
  let raised = 0, tot = 0;
  for (let a = 0; a < p.length; a++) {
    if (p[a] < floor) {
      p[a] = floor;
      raised++;
    }
    tot += p[a];
  }
  for (let a = 0; a < p.length; a++) p[a] /= tot;
  return raised;
}

/** Estimates the clinicians' policy mu(a | s) from the data (module doc). */
export function fitBehaviourPolicy(
  data: MdpDataset,
  features: FeatureMap,
  options: BehaviourOptions = {},
): BehaviourModel {
  const A = data.numActions, D = features.dim, n = data.size;
  if (n === 0) throw new OpeError("fitBehaviourPolicy: the dataset is empty");
  const c = resolveConfig("fitBehaviourPolicy", BEHAVIOUR_DEFAULTS, options);
  const { ridge, floor } = c;
  if (!(floor > 0 && floor < 1 / A)) {
    throw new RangeError(`fitBehaviourPolicy: floor must be in (0, 1/${A}), got ${floor}`);
  }
  const phi = features.transform(data.states);
  const N = data.individualIds.length;
  const rng = createRng(c.seed);
  const heldOut = new Uint8Array(N);
  if (N >= 5) {
    const order = rng.permutation(N);
    const k = Math.max(1, Math.round(c.calibrationShare * N));
    for (let j = 0; j < k; j++) heldOut[order[j]] = 1;
  }
  const train: number[] = [], held: number[] = [];
  for (let r = 0; r < n; r++) (heldOut[data.individuals[r]] ? held : train).push(r);
  const w = fitSoftmaxRegression(phi, data.actions, train, D, A, { ridge, steps: c.steps });
  const z = new Float64Array(A);
  const heldLoss = (t: number) => {
    let s = 0;
    for (const r of held) {
      softmaxLogits(phi, r * D, D, w, A, z);
      logSoftmaxInPlace(z, 0, A, t);
      s -= z[data.actions[r]];
    }
    return s / Math.max(1, held.length);
  };
  // Temperature by golden-section search on the held-out log-loss, over [0.2, 5].
  let temperature = 1;
  if (held.length > 0) {
    let lo = Math.log(0.2), hi = Math.log(5);
    const phiR = (Math.sqrt(5) - 1) / 2;
    for (let it = 0; it < 40; it++) {
      const a = hi - phiR * (hi - lo), b = lo + phiR * (hi - lo);
      if (heldLoss(Math.exp(a)) < heldLoss(Math.exp(b))) hi = b;
      else lo = a;
    }
    temperature = Math.exp((lo + hi) / 2);
  }
  const probabilities = (state: ArrayLike<number>) => {
    const f = features.transform(state);
    const out = new Float64Array(A);
    softmaxLogits(f, 0, D, w, A, out);
    logSoftmaxInPlace(out, 0, A, temperature);
    for (let a = 0; a < A; a++) out[a] = Math.exp(out[a]);
    clipProbabilities(out, floor);
    return out;
  };
  let raised = 0;
  for (let r = 0; r < n; r++) {
    softmaxLogits(phi, r * D, D, w, A, z);
    logSoftmaxInPlace(z, 0, A, temperature);
    for (let a = 0; a < A; a++) if (Math.exp(z[a]) < floor) raised++;
  }
  return Object.freeze({
    features,
    numActions: A,
    weights: w,
    temperature,
    floor,
    clippedShare: raised / (n * A),
    heldOutLogLoss: held.length > 0 ? heldLoss(temperature) : NaN,
    probabilities,
  });
}

// ------------------------------------------------------------------------ FQE

/** Options of {@linkcode fittedQEvaluationWeights}; {@linkcode FQE_DEFAULTS} holds the defaults. */
export interface FqeOptions {
  /** Discount factor gamma, in [0, 1). */
  readonly discount?: number;
  /** Ridge penalty per action, scaled by that action's row count / 100. */
  readonly ridge?: number;
  /** The longest window (steps) a return runs over; bounds |Q| for the divergence guard. */
  readonly maxSteps?: number;
}

/** The defaults of {@linkcode FqeOptions}. */
export const FQE_DEFAULTS: Readonly<Required<FqeOptions>> = Object.freeze({
  discount: 0.99,
  ridge: 1e-3,
  maxSteps: Infinity,
});

/**
 * FQE with a linear Q on `phi` (features of each row's state, `[n, D]`; `phiNext` of its next
 * state), for the policy whose next-state probabilities are `piNext` (`[n, A]`), on `rows` (with
 * repeats, for a bootstrap resample; all rows by default); rows with `ends[r]` set have no
 * continuation (terminal states by default). Returns `weights[a * D + j]`.
 *
 * FQE's iteration w_a <- G_a^-1 X_a^T (R + gamma (1 - done) Psi w), with G_a = X_a^T X_a + ridge I
 * and Psi the rows' psi(S') = [pi(b | S') phi(S')]_b, is affine in w; its limit is the fixed point
 * (I - gamma K) w = c, which is solved here in one step (O(n D^2 A + (A D)^3)) instead of by
 * hundreds of regressions: the same estimate (the LSTD-Q solution with a ridge) at a fraction of
 * the cost, which is what makes a bootstrap that refits FQE per resample affordable.
 */
export function fittedQEvaluationWeights(
  data: MdpDataset,
  phi: Float64Array,
  phiNext: Float64Array,
  D: number,
  piNext: Float64Array,
  options: FqeOptions = {},
  rows?: readonly number[],
  ends: ArrayLike<number> = data.terminals,
): Float64Array {
  const c = resolveConfig("fqe", FQE_DEFAULTS, options);
  const { discount: gamma, ridge } = c;
  checkInterval("fqe", c, "discount", 0, 1, "high");
  const A = data.numActions, AD = A * D;
  const use = rows ?? Array.from({ length: data.size }, (_, r) => r);
  // Per action: Gram G_a, X_a^T R and X_a^T (1 - done) Psi.
  const gram = Array.from({ length: A }, () => new Float64Array(D * D));
  const xr = Array.from({ length: A }, () => new Float64Array(D));
  const xpsi = Array.from({ length: A }, () => new Float64Array(D * AD));
  const count = new Float64Array(A);
  const psi = new Float64Array(AD);
  for (const r of use) {
    const a = data.actions[r], g = gram[a], c = xpsi[a], o = r * D;
    count[a]++;
    for (let j = 0; j < D; j++) {
      const xj = phi[o + j];
      xr[a][j] += xj * data.rewards[r];
      for (let k = 0; k < D; k++) g[j * D + k] += xj * phi[o + k];
    }
    if (ends[r]) continue;
    for (let b = 0; b < A; b++) {
      const p = piNext[r * A + b];
      for (let k = 0; k < D; k++) psi[b * D + k] = p * phiNext[o + k];
    }
    for (let j = 0; j < D; j++) {
      const xj = phi[o + j];
      if (xj === 0) continue;
      for (let k = 0; k < AD; k++) c[j * AD + k] += xj * psi[k];
    }
  }
  // System (I - gamma K) w = c with K_a = G_a^-1 X_a^T Psi_a, c_a = G_a^-1 X_a^T R_a.
  const m = new Float64Array(AD * AD), rhs = new Float64Array(AD);
  for (let a = 0; a < A; a++) {
    const solve = choleskySolver(gram[a], D, ridge * Math.max(1, count[a]) / 100);
    rhs.set(solve(xr[a]), a * D);
    const col = new Float64Array(D);
    for (let k = 0; k < AD; k++) {
      for (let j = 0; j < D; j++) col[j] = xpsi[a][j * AD + k];
      const kcol = solve(col);
      for (let j = 0; j < D; j++) m[(a * D + j) * AD + k] = -gamma * kcol[j];
    }
  }
  for (let i = 0; i < AD; i++) m[i * AD + i] += 1;
  let w: Float64Array;
  try {
    w = solveLinear(m, rhs, AD);
  } catch {
    throw new OpeError("fqe: the fixed-point system is singular (raise the ridge or lower the discount)");
  }
  for (const x of w) if (!Number.isFinite(x)) throw new OpeError("fqe: the weights diverged (non-finite)");
  // Off-policy linear FQE can diverge (the deadly triad): |Q| beyond max|R| (1 - gamma^H) / (1 - gamma) is impossible.
  let maxR = 0;
  for (const r of use) maxR = Math.max(maxR, Math.abs(data.rewards[r]));
  const H = c.maxSteps;
  const bound = 2 * maxR * (1 - gamma ** H) / (1 - gamma) + 1e-9;
  for (const r of use) {
    for (let a = 0; a < A; a++) {
      let q = 0;
      for (let j = 0; j < D; j++) q += phi[r * D + j] * w[a * D + j];
      if (Math.abs(q) > bound) {
        throw new OpeError(
          `fqe diverged: |Q| = ${Math.abs(q).toExponential(2)} exceeds twice the largest possible return ${
            bound.toFixed(2)
          } (raise the ridge or lower the discount)`,
        );
      }
    }
  }
  return w;
}

// ------------------------------------------------------------------------ estimators

/** Everything the estimators need about one policy on one dataset, precomputed per row. */
interface Prepared {
  readonly episodes: { individual: number; rows: number[] }[];
  /** log pi(A_t | S_t) - log mu(A_t | S_t) per row. */
  readonly logRatio: Float64Array;
  readonly piNext: Float64Array;
  readonly piNow: Float64Array;
}

/** Point estimates of one policy on the episodes `episodeIds` (a bootstrap resample, or all). */
function estimate(
  data: MdpDataset,
  prep: Prepared,
  episodeIds: readonly number[],
  q: Float64Array | null,
  phi: Float64Array,
  D: number,
  gamma: number,
): { wis: number; wdr: number; fqe: number; ess: number; zeroStep?: number } {
  // Without a usable FQE model (it diverged), DR and FQE are undefined; WIS stands alone.
  const qOrZero = q ?? new Float64Array(data.numActions * D);
  const A = data.numActions;
  const eps = episodeIds.map((e) => prep.episodes[e]);
  const n = eps.length, T = Math.max(...eps.map((e) => e.rows.length));
  const qOf = (r: number, a: number) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += phi[r * D + j] * qOrZero[a * D + j];
    return s;
  };
  const vOf = (r: number) => {
    let s = 0;
    for (let a = 0; a < A; a++) s += prep.piNow[r * A + a] * qOf(r, a);
    return s;
  };
  const logW = new Float64Array(n); // cumulative log-ratio so far
  const prevW = new Float64Array(n).fill(1 / n); // normalised weights at t - 1 (w_{-1} = 1/n)
  let wis = 0, wdr = 0, fqe = 0;
  for (const e of eps) fqe += vOf(e.rows[0]) / n;
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < n; i++) {
      const r = eps[i].rows[t];
      if (r !== undefined) logW[i] += prep.logRatio[r];
    }
    const lse = logSumExp(logW);
    if (lse === -Infinity) {
      // The policy puts zero probability on the clinicians' actions in every stay by step t:
      // importance sampling has nothing to weight, so WIS and WDR are undefined; FQE stands.
      return { wis: NaN, wdr: NaN, fqe: q ? fqe : NaN, ess: 0, zeroStep: t };
    }
    let stepWis = 0, stepDr = 0;
    for (let i = 0; i < n; i++) {
      const w = Math.exp(logW[i] - lse);
      const r = eps[i].rows[t];
      if (r === undefined) {
        prevW[i] = w;
        continue;
      }
      stepWis += w * data.rewards[r];
      stepDr += w * (data.rewards[r] - qOf(r, data.actions[r])) + prevW[i] * vOf(r);
      prevW[i] = w;
    }
    wis += gamma ** t * stepWis;
    wdr += gamma ** t * stepDr;
  }
  return { wis, wdr: q ? wdr : NaN, fqe: q ? fqe : NaN, ess: effectiveSampleSize(logW) };
}

/** Options of {@linkcode evaluatePolicies}. */
export interface OpeOptions extends FqeOptions {
  /** Bootstrap resamples of individuals. */
  readonly bootstrap?: number;
  /** Interval level. */
  readonly level?: number;
  /** Seed of the bootstrap resamples. */
  readonly seed?: number;
  /**
   * Steps a stay that ends in a terminal state could have run (its window); stays that end
   * without one are taken to have been cut at their window's end. "longest": the longest stay.
   */
  readonly horizon?: number | "longest";
  /** Called with a warning (defaults to console.warn); not part of the config. */
  readonly warn?: (message: string) => void;
  /** Called with a line as each policy's bootstrap finishes; not part of the config. */
  readonly progress?: (message: string) => void;
}

/** The defaults of {@linkcode OpeOptions} (the callbacks aside). */
export const OPE_DEFAULTS: Readonly<Required<Omit<OpeOptions, "warn" | "progress">>> = Object.freeze({
  ...FQE_DEFAULTS,
  bootstrap: 200,
  level: 0.95,
  seed: 0,
  horizon: "longest" as const,
});

/** One row of the evaluation table. */
export interface OpeRow {
  /** The policy's name (or "clinicians (recorded)"). */
  readonly policy: string;
  /** Which estimator. */
  readonly estimator: "FQE" | "WIS" | "WDR" | "on-policy";
  /** The point estimate of the policy's discounted value. */
  readonly estimate: number;
  /** Lower end of the bootstrap percentile interval. */
  readonly lower: number;
  /** Upper end of the bootstrap percentile interval. */
  readonly upper: number;
  /** Effective sample size of the trajectory weights (episodes for on-policy and FQE). */
  readonly ess: number;
}

/** The evaluation table, with what was assumed about the behaviour policy. */
export interface OpeTable {
  /** One row per policy and estimator. */
  readonly rows: readonly OpeRow[];
  /** Stays evaluated. */
  readonly episodes: number;
  /** Share of behaviour probabilities raised to the floor. */
  readonly behaviourClippedShare: number;
  /** The behaviour model's calibrated temperature. */
  readonly behaviourTemperature: number;
}

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1), lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** The recorded stays (rows in time order), and the windows each is cut to (module doc). */
interface RecordedWindows {
  readonly episodes: { individual: number; rows: number[] }[];
  /** Steps left in the row's window, and whether the row has no continuation. */
  readonly tau: Float64Array;
  readonly ends: Uint8Array;
  readonly horizon: number;
}

/**
 * A stay that ends in a terminal state had the full horizon ahead; one that ends without one was
 * cut at its window's end, beyond which nothing is counted (as in the clinicians' recorded
 * return). tau = steps left in the window; no continuation at tau = 1.
 */
function recordedWindows(data: MdpDataset, horizonOption: number | "longest"): RecordedWindows {
  const episodes = listEpisodes(data).map((e) => ({
    individual: e.individual,
    rows: Array.from({ length: e.end - e.start }, (_, k) => e.start + k).sort((a, b) => data.times[a] - data.times[b]),
  }));
  if (episodes.length === 0) throw new OpeError("the dataset has no episodes");
  const longest = Math.max(...episodes.map((e) => e.rows.length));
  const horizon = horizonOption === "longest" ? longest : horizonOption;
  if (!(Number.isInteger(horizon) && horizon >= longest)) {
    throw new RangeError(
      `evaluatePolicies: horizon must be an integer >= the longest stay (${longest}), got ${horizon}`,
    );
  }
  const tau = new Float64Array(data.size), ends = new Uint8Array(data.size);
  for (const e of episodes) {
    const window = data.terminals[e.rows[e.rows.length - 1]] ? horizon : e.rows.length;
    e.rows.forEach((r, k) => {
      tau[r] = window - k;
      ends[r] = data.terminals[r] || window - k === 1 ? 1 : 0;
    });
  }
  return { episodes, tau, ends, horizon };
}

/** FQE's features phi(s) (x) [1, 1 - tau / H] of every row and of its next state. */
function windowFeatures(data: MdpDataset, features: FeatureMap, w: RecordedWindows) {
  const D0 = features.dim, D = 2 * D0;
  const base = features.transform(data.states), baseNext = features.transform(data.nextStates);
  const phi = new Float64Array(data.size * D), phiNext = new Float64Array(data.size * D);
  for (let r = 0; r < data.size; r++) {
    const u = 1 - w.tau[r] / w.horizon, uNext = 1 - (w.tau[r] - 1) / w.horizon;
    for (let j = 0; j < D0; j++) {
      phi[r * D + j] = base[r * D0 + j];
      phi[r * D + D0 + j] = u * base[r * D0 + j];
      phiNext[r * D + j] = baseNext[r * D0 + j];
      phiNext[r * D + D0 + j] = uNext * baseNext[r * D0 + j];
    }
  }
  return { phi, phiNext, D };
}

/** Bootstrap resamples of individuals, as lists of episode indices (the same for every policy). */
function resampleIndividuals(episodes: RecordedWindows["episodes"], count: number, seed: number): number[][] {
  const rng = createRng(seed);
  const byIndividual = new Map<number, number[]>();
  episodes.forEach((e, k) => byIndividual.set(e.individual, [...(byIndividual.get(e.individual) ?? []), k]));
  const people = [...byIndividual.keys()];
  return Array.from({ length: count }, () => {
    const eps: number[] = [];
    for (let k = 0; k < people.length; k++) eps.push(...byIndividual.get(people[rng.int(people.length)])!);
    return eps;
  });
}

/** pi at each row's state and next state, and log pi(A|S) - log mu(A|S); checks the policy's output. */
function policyRatios(name: string, policy: EvaluationPolicy, data: MdpDataset, mu: Float64Array) {
  const A = data.numActions, S = data.stateDim;
  const piNow = new Float64Array(data.size * A), piNext = new Float64Array(data.size * A);
  const logRatio = new Float64Array(data.size);
  for (let r = 0; r < data.size; r++) {
    const p = policy(data.states.subarray(r * S, (r + 1) * S), data.individuals[r]);
    const pn = policy(data.nextStates.subarray(r * S, (r + 1) * S), data.individuals[r]);
    if (p.length !== A) throw new RangeError(`policy "${name}" returned ${p.length} probabilities for ${A} actions`);
    for (let a = 0; a < A; a++) {
      if (!(p[a] >= 0) || !(pn[a] >= 0)) {
        throw new RangeError(`policy "${name}" returned a negative or NaN probability`);
      }
      piNow[r * A + a] = p[a];
      piNext[r * A + a] = pn[a];
    }
    const a = data.actions[r];
    logRatio[r] = Math.log(p[a]) - Math.log(mu[r * A + a]);
  }
  return { piNow, piNext, logRatio };
}

/** The [lower, upper] percentile interval of the finite values at `level`. */
function percentileInterval(xs: readonly number[], level: number): [number, number] {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return [percentile(s, (1 - level) / 2), percentile(s, 1 - (1 - level) / 2)];
}

/** What one policy's evaluation needs besides the policy. */
interface OpeContext {
  readonly data: MdpDataset;
  readonly windows: RecordedWindows;
  readonly phi: Float64Array;
  readonly phiNext: Float64Array;
  readonly D: number;
  readonly mu: Float64Array;
  readonly resamples: readonly number[][];
  readonly config: Readonly<Required<Omit<OpeOptions, "warn" | "progress">>>;
  readonly warn: (message: string) => void;
}

/** FQE, WIS and WDR rows of one policy: point estimates on all stays, intervals over the resamples. */
function evaluateOnePolicy(ctx: OpeContext, name: string, policy: EvaluationPolicy): OpeRow[] {
  const { data, windows, phi, phiNext, D, config, warn } = ctx, episodes = windows.episodes, gamma = config.discount;
  const { piNow, piNext, logRatio } = policyRatios(name, policy, data, ctx.mu);
  const prep: Prepared = { episodes, logRatio, piNext, piNow };
  const fqeOptions: FqeOptions = { discount: gamma, ridge: config.ridge, maxSteps: windows.horizon };
  const rowsOf = (eps: readonly number[]) => eps.flatMap((e) => episodes[e].rows);
  let diverged = 0;
  const fit = (eps: readonly number[]) => {
    try {
      return fittedQEvaluationWeights(data, phi, phiNext, D, piNext, fqeOptions, rowsOf(eps), windows.ends);
    } catch (err) {
      if (!(err instanceof OpeError)) throw err;
      diverged++;
      return null;
    }
  };
  const all = episodes.map((_, k) => k);
  let point;
  try {
    const q = fit(all);
    if (q === null) warn(`policy "${name}": FQE diverged on the full data; its FQE and WDR estimates are NaN`);
    point = estimate(data, prep, all, q, phi, D, gamma);
  } catch (err) {
    if (err instanceof OpeError) throw new OpeError(`policy "${name}": ${err.message}`);
    throw err;
  }
  if (point.zeroStep !== undefined) {
    warn(
      `policy "${name}": it puts zero probability on the clinicians' actions in every stay by step ${point.zeroStep}: importance sampling has nothing to weight, so its WIS and WDR are NaN (FQE stands)`,
    );
  } else if (point.ess < 10) {
    warn(
      `policy "${name}": effective sample size ${
        point.ess.toFixed(1)
      } of ${episodes.length} stays; IS and DR are unreliable`,
    );
  }
  const boot = ctx.resamples.map((eps) => {
    try {
      return estimate(data, prep, eps, fit(eps), phi, D, gamma);
    } catch (err) {
      if (err instanceof OpeError) return { wis: NaN, wdr: NaN, fqe: NaN, ess: 0 };
      throw err;
    }
  });
  if (diverged > 0) {
    warn(
      `policy "${name}": FQE diverged in ${diverged} of ${
        ctx.resamples.length + 1
      } fits (those resamples are left out)`,
    );
  }
  return (["fqe", "wis", "wdr"] as const).map((key) => {
    // No interval around an undefined point estimate: resamples that happened to converge
    // would otherwise lend a diverged or weightless estimator a range it does not have.
    const [lower, upper] = Number.isFinite(point[key])
      ? percentileInterval(boot.map((b) => b[key]), config.level)
      : [NaN, NaN];
    return {
      policy: name,
      estimator: key === "fqe" ? "FQE" : key === "wis" ? "WIS" : "WDR",
      estimate: point[key],
      lower,
      upper,
      ess: key === "fqe" ? episodes.length : point.ess,
    };
  });
}

/**
 * Evaluates several policies on one dataset: FQE, WIS and WDR estimates with bootstrap intervals
 * over individuals and effective sample sizes, and the clinicians' own discounted return.
 */
export function evaluatePolicies(
  data: MdpDataset,
  features: FeatureMap,
  behaviour: BehaviourModel,
  policies: Readonly<Record<string, EvaluationPolicy>>,
  options: OpeOptions = {},
): OpeTable {
  const { warn = (m: string) => console.warn(`ope: ${m}`), progress, ...rest } = options;
  const config = resolveConfig("evaluatePolicies", OPE_DEFAULTS, rest);
  checkIntegers("evaluatePolicies", config, ["bootstrap"]);
  checkInterval("evaluatePolicies", config, "level", 0, 1, "both");
  const windows = recordedWindows(data, config.horizon);
  const N = data.individualIds.length, A = data.numActions, episodes = windows.episodes;
  if (N < 2) throw new OpeError("the dataset has one individual: a bootstrap over individuals needs at least 2");
  if (N < 20) warn(`only ${N} individuals: bootstrap intervals will be rough`);
  const mu = new Float64Array(data.size * A);
  for (let r = 0; r < data.size; r++) {
    mu.set(behaviour.probabilities(data.states.subarray(r * data.stateDim, (r + 1) * data.stateDim)), r * A);
  }
  if (behaviour.clippedShare > 0.05) {
    warn(
      `${
        (100 * behaviour.clippedShare).toFixed(1)
      }% of behaviour probabilities were raised to the floor ${behaviour.floor}: some actions are (nearly) never taken in some states, and weights for policies that take them are capped`,
    );
  }
  const resamples = resampleIndividuals(episodes, config.bootstrap, config.seed);
  const ctx: OpeContext = { data, windows, ...windowFeatures(data, features, windows), mu, resamples, config, warn };
  // The clinicians' own discounted return.
  const ret = (eps: readonly number[]) =>
    eps.reduce((s, e) => s + episodes[e].rows.reduce((t, r, k) => t + config.discount ** k * data.rewards[r], 0), 0) /
    eps.length;
  const [lower, upper] = percentileInterval(resamples.map(ret), config.level);
  const all = episodes.map((_, k) => k);
  const rows: OpeRow[] = [
    { policy: "clinicians (recorded)", estimator: "on-policy", estimate: ret(all), lower, upper, ess: episodes.length },
  ];
  for (const [name, policy] of Object.entries(policies)) {
    rows.push(...evaluateOnePolicy(ctx, name, policy));
    progress?.(`policy "${name}": ${config.bootstrap} bootstrap resamples done`);
  }
  return Object.freeze({
    rows,
    episodes: episodes.length,
    behaviourClippedShare: behaviour.clippedShare,
    behaviourTemperature: behaviour.temperature,
  });
}
