/**
 * The PerSim-style simulator (Agarwal et al., NeurIPS 2021) for continuous states, as P4L's
 * section 7 uses it on MIMIC-III: the 11-dimensional state (10 principal components and SOFA)
 * is continuous, so each next-state component is Gaussian, as in PerSim's own regression
 * network, rather than the categorical heads of lib/algos/persim.ts (the discrete sepsis
 * simulator's). With z the standardised state (training mean and standard deviation),
 *
 *   h(i, s, a) = u_i (.) tanh(z E + e) (.) w_a                       (r-dimensional, as persim.ts)
 *   z' ~ N(z + h W + [z (x) a, a] B + b, diag exp(l)),  l = bounded(h V + c)
 *
 * u_i is a latent per individual (first coordinate fixed at 1), w_a an action factor;
 * [z (x) a, a] B is a population baseline linear in the state for each action; the log-variance
 * l is bounded softly to [minLogVariance, maxLogVariance] (as the kit's dynamics ensemble, after
 * PETS, so that no variance collapses or explodes). Everything is fitted jointly by full-batch
 * Adam on the Gaussian negative log-likelihood, with L2 penalties on u and on the factors.
 *
 * Departures from PerSim, for stated reasons: the factors and the decoder are fitted in one
 * likelihood rather than tensor completion followed by a separate network (one fitting step,
 * as persim.ts); the decoder is linear in the factor product, not a deep network, which the
 * few hundred stays of a subsample can support.
 *
 * @module
 */
import { newVariable, tf } from "../core/backend.ts";
import { createAdam, minimize } from "../core/optim.ts";
import { createRng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { checkIntegers, resolveConfig } from "../core/config.ts";
import { type LearnedSimulatorEnv, learnedSimulatorEnv, type PersimEnvOptions } from "./persim.ts";

/** Options of {@linkcode fitGaussianPersim}; {@linkcode GAUSSIAN_PERSIM_DEFAULTS} holds the defaults. */
export interface GaussianPersimOptions {
  /** Rank r of the factors. */
  readonly rank?: number;
  /** Full-batch Adam steps. */
  readonly steps?: number;
  /** Adam step size. */
  readonly learningRate?: number;
  /** L2 penalty on the individual factors u. */
  readonly latentPenalty?: number;
  /** L2 penalty on the action factors and the heads (persim.ts says why). */
  readonly factorPenalty?: number;
  /** Lower bound of a component's log-variance (standardised units). */
  readonly minLogVariance?: number;
  /** Upper bound of a component's log-variance. */
  readonly maxLogVariance?: number;
  /** Seed of the initialisation. */
  readonly seed?: number;
}

/** The defaults of {@linkcode GaussianPersimOptions}. */
export const GAUSSIAN_PERSIM_DEFAULTS: Readonly<Required<GaussianPersimOptions>> = Object.freeze({
  rank: 8,
  steps: 400,
  learningRate: 0.02,
  latentPenalty: 1e-3,
  factorPenalty: 3e-3,
  minLogVariance: -8,
  maxLogVariance: 2,
  seed: 0,
});

/** A fitted Gaussian PerSim (plain arrays). */
export interface GaussianPersim {
  /** The resolved config. */
  readonly config: Readonly<Required<GaussianPersimOptions>>;
  /** State dimension D. */
  readonly stateDim: number;
  /** Number of actions A. */
  readonly numActions: number;
  /** Ids of the individuals, in the order of `latents`. */
  readonly individualIds: readonly string[];
  /** Training mean of each state component. */
  readonly means: Float64Array;
  /** Training standard deviation of each component (1 where constant). */
  readonly stds: Float64Array;
  /** u_i, row-major `[N, r]` (first column 1). */
  readonly latents: Float64Array;
  /** E `[D, r]`. */
  readonly stateFactor: Float64Array;
  /** e `[r]`. */
  readonly stateBias: Float64Array;
  /** w_a, `[A, r]`. */
  readonly actionFactors: Float64Array;
  /** W `[r, D]`. */
  readonly meanHead: Float64Array;
  /** B `[(D + 1) A, D]`. */
  readonly baseline: Float64Array;
  /** b `[D]`. */
  readonly meanBias: Float64Array;
  /** V `[r, D]`. */
  readonly varianceHead: Float64Array;
  /** c `[D]`. */
  readonly varianceBias: Float64Array;
  /** Mean Gaussian NLL per component at the end of training. */
  readonly trainLoss: number;
}

/** Soft bound of a log-variance to [lo, hi] (as PETS: softplus from both sides). */
function boundLogVariance(raw: tf.Tensor, lo: number, hi: number): tf.Tensor {
  const upper = tf.sub(hi, tf.softplus(tf.sub(hi, raw)));
  return tf.add(lo, tf.softplus(tf.sub(upper, lo)));
}
function boundScalar(raw: number, lo: number, hi: number): number {
  const sp = (x: number) => (x > 30 ? x : Math.log1p(Math.exp(x)));
  return lo + sp(hi - sp(hi - raw) - lo);
}

/** Fits the simulator to `data` (continuous states). Throws on a non-finite state or loss. */
export function fitGaussianPersim(data: MdpDataset, options: GaussianPersimOptions = {}): GaussianPersim {
  const c = resolveConfig("fitGaussianPersim", GAUSSIAN_PERSIM_DEFAULTS, options);
  checkIntegers("fitGaussianPersim", c, ["rank", "steps"]);
  if (!(c.minLogVariance < c.maxLogVariance)) {
    throw new RangeError(`fitGaussianPersim: minLogVariance must be below maxLogVariance`);
  }
  const n = data.size, D = data.stateDim, A = data.numActions, N = data.individualIds.length, r = c.rank;
  if (n === 0) throw new RangeError("fitGaussianPersim: the dataset is empty");
  const means = new Float64Array(D), stds = new Float64Array(D);
  for (let t = 0; t < n; t++) for (let d = 0; d < D; d++) means[d] += data.states[t * D + d] / n;
  for (let t = 0; t < n; t++) for (let d = 0; d < D; d++) stds[d] += (data.states[t * D + d] - means[d]) ** 2 / n;
  for (let d = 0; d < D; d++) stds[d] = Math.sqrt(stds[d]) > 1e-8 ? Math.sqrt(stds[d]) : 1;
  const z = new Float32Array(n * D), zNext = new Float32Array(n * D), sa = new Float32Array(n * (D + 1) * A);
  const SA = (D + 1) * A;
  for (let t = 0; t < n; t++) {
    const a = data.actions[t];
    for (let d = 0; d < D; d++) {
      const x = data.states[t * D + d], y = data.nextStates[t * D + d];
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        throw new RangeError(`fitGaussianPersim: state component ${d} of transition ${t} is not finite`);
      }
      z[t * D + d] = (x - means[d]) / stds[d];
      zNext[t * D + d] = (y - means[d]) / stds[d];
      sa[t * SA + a * D + d] = z[t * D + d];
    }
    sa[t * SA + D * A + a] = 1;
  }
  const rng = createRng(c.seed);
  const init = (rows: number, cols: number, scale: number, shift = 0) =>
    tf.tensor2d(Float32Array.from({ length: rows * cols }, () => shift + scale * rng.normal()), [rows, cols]);
  const v = {
    uFree: newVariable(() => init(N, r - 1, 0.1)),
    E: newVariable(() => init(D, r, 0.3)),
    e: newVariable(() => tf.zeros([r])),
    W: newVariable(() => init(A, r, 0.3, 1)),
    M: newVariable(() => init(r, D, 0.1)),
    B: newVariable(() => init(SA, D, 0.01)),
    b: newVariable(() => tf.zeros([D])),
    V: newVariable(() => init(r, D, 0.01)),
    cv: newVariable(() => tf.zeros([D])),
  };
  const x = {
    z: tf.tensor2d(z, [n, D]),
    y: tf.tensor2d(zNext, [n, D]),
    sa: tf.tensor2d(sa, [n, SA]),
    who: tf.tidy(() => tf.oneHot(tf.tensor1d(data.individuals, "int32"), N).toFloat() as tf.Tensor2D),
    a: tf.tidy(() => tf.oneHot(tf.tensor1d(data.actions, "int32"), A).toFloat() as tf.Tensor2D),
  };
  const adam = createAdam(Object.values(v), { learningRate: c.learningRate });
  let fit = NaN;
  try {
    for (let step = 0; step < c.steps; step++) {
      const out = minimize(adam, () => {
        const u = tf.concat([tf.ones([n, 1]), tf.matMul(x.who, v.uFree as tf.Tensor2D)], 1);
        const h = tf.mul(
          tf.mul(u, tf.tanh(tf.add(tf.matMul(x.z, v.E as tf.Tensor2D), v.e))),
          tf.matMul(x.a, v.W as tf.Tensor2D),
        ) as tf.Tensor2D;
        const mean = tf.add(
          tf.add(tf.add(x.z, tf.matMul(h, v.M as tf.Tensor2D)), tf.matMul(x.sa, v.B as tf.Tensor2D)),
          v.b,
        );
        const logVar = boundLogVariance(
          tf.add(tf.matMul(h, v.V as tf.Tensor2D), v.cv),
          c.minLogVariance,
          c.maxLogVariance,
        );
        const nll = tf.mean(tf.mul(0.5, tf.add(tf.mul(tf.square(tf.sub(x.y, mean)), tf.exp(tf.neg(logVar))), logVar)));
        return {
          loss: tf.addN([
            nll,
            tf.mul(c.latentPenalty, tf.mean(tf.sum(tf.square(v.uFree), 1))),
            tf.mul(c.factorPenalty, tf.addN([tf.sum(tf.square(v.M)), tf.sum(tf.square(v.V)), tf.sum(tf.square(v.W))])),
          ]),
          fit: nll as tf.Scalar,
        };
      }, `gaussian persim step ${step}`);
      fit = out.fit;
    }
    const u = v.uFree.dataSync();
    const latents = new Float64Array(N * r);
    for (let i = 0; i < N; i++) {
      latents[i * r] = 1;
      for (let j = 1; j < r; j++) latents[i * r + j] = u[i * (r - 1) + j - 1];
    }
    const read = (t: tf.Variable) => Float64Array.from(t.dataSync());
    return Object.freeze({
      config: c,
      stateDim: D,
      numActions: A,
      individualIds: data.individualIds,
      means,
      stds,
      latents,
      stateFactor: read(v.E),
      stateBias: read(v.e),
      actionFactors: read(v.W),
      meanHead: read(v.M),
      baseline: read(v.B),
      meanBias: read(v.b),
      varianceHead: read(v.V),
      varianceBias: read(v.cv),
      trainLoss: fit,
    });
  } finally {
    tf.dispose([...Object.values(v), ...Object.values(x)]);
  }
}

/** Mean and log-variance (standardised units, z' = z + mean) of individual `i`'s next state at (s, a). */
export function gaussianPersimMoments(
  m: GaussianPersim,
  i: number,
  s: ArrayLike<number>,
  action: number,
): { z: Float64Array; mean: Float64Array; logVariance: Float64Array } {
  const D = m.stateDim, r = m.config.rank, A = m.numActions;
  const z = Float64Array.from({ length: D }, (_, d) => (s[d] - m.means[d]) / m.stds[d]);
  const h = new Float64Array(r);
  for (let j = 0; j < r; j++) {
    let q = m.stateBias[j];
    for (let d = 0; d < D; d++) q += z[d] * m.stateFactor[d * r + j];
    h[j] = m.latents[i * r + j] * Math.tanh(q) * m.actionFactors[action * r + j];
  }
  const mean = new Float64Array(D), logVariance = new Float64Array(D);
  for (let o = 0; o < D; o++) {
    let mu = m.meanBias[o] + m.baseline[(D * A + action) * D + o], lv = m.varianceBias[o];
    for (let j = 0; j < r; j++) {
      mu += h[j] * m.meanHead[j * D + o];
      lv += h[j] * m.varianceHead[j * D + o];
    }
    for (let d = 0; d < D; d++) mu += z[d] * m.baseline[(action * D + d) * D + o];
    mean[o] = mu;
    logVariance[o] = boundScalar(lv, m.config.minLogVariance, m.config.maxLogVariance);
  }
  return { z, mean, logVariance };
}

/**
 * The fitted simulator as an environment: each individual starts from its recorded first state
 * and moves by draws of its own Gaussian next state; `clip` bounds each component of a drawn
 * state (e.g. SOFA to [0, 24]).
 */
export function createGaussianPersimEnv(
  m: GaussianPersim,
  options: PersimEnvOptions & { readonly clip?: readonly (readonly [number, number] | undefined)[] },
): LearnedSimulatorEnv {
  const D = m.stateDim;
  return learnedSimulatorEnv("gaussian persim", m.individualIds, m.numActions, (rng, i, s, action) => {
    const { z, mean, logVariance } = gaussianPersimMoments(m, i, s, action);
    const next = new Float64Array(D);
    for (let d = 0; d < D; d++) {
      let v = (z[d] + mean[d] + Math.exp(0.5 * logVariance[d]) * rng.normal()) * m.stds[d] + m.means[d];
      const c = options.clip?.[d];
      if (c) v = Math.min(c[1], Math.max(c[0], v));
      next[d] = v;
    }
    return next;
  }, options);
}
