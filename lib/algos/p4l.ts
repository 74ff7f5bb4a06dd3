/**
 * P4L, Algorithm 1 (Miao, Shahbaba & Qu, "Personalized pessimistic policy learning"): a Q-function
 * Q(s, a; u), a critic f(s, a; u) and a softmax policy pi(a | s; u) shared by all individuals and
 * personalised by one latent vector u_i per individual; the empirical Bellman-error functional
 *
 *   Phi(Q, f, pi, u) = 1/(NT) sum_{i,t} f(S_t, A_t; u_i) (R_t + gamma Q(S_{t+1}, pi; u_i) - Q(S_t, A_t; u_i))   (10)
 *
 * with Q(s, pi; u) = sum_a pi(a | s; u) Q(s, a; u); the Lagrangian dual (13)-(14) of the
 * pessimistic problem (12); the stochastic updates (22) for f, (23) for Q and (24) for pi; a
 * multiplier step for lambda; and the multi-centroid penalty (16) mu sum_i min_k |u_i - v_k|^2
 * handled by the ADMM of (19)-(21), whose (v, w) block is K-means (ml-kmeans).
 *
 * Function classes are linear in features (the paper's simulations): with psi(s) the state
 * features (RBF) and x(s; u) = [psi(s), psi(s) (x) u], each of Q, f and the policy logits is
 * x(s; u)^T W_a for its own W (so u shifts every coefficient: a linear mixed-effect model,
 * section 3.1's Example 1).
 *
 * Departures, each for a stated reason:
 * - F is a linear class, so sup_f Phi is unbounded; the f step ascends Phi - (kappa/2) E f^2
 *   (kappa = 1), the usual norm constraint of min-max estimators, whose maximiser is the
 *   Bellman residual projected on F.
 * - Lambda takes a projected ascent step lambda <- max(0, lambda + delta (Phi - alpha)): the dual
 *   (14) maximises over lambda >= 0, and d/dlambda L = Phi - alpha (Algorithm 1 prints the opposite
 *   sign, which would relax the constraint exactly when it is violated).
 * - ADMM's multiplier step uses eta <- eta + rho (u - w), the scaled ADMM of Boyd et al. for the
 *   constraint w = u in (19) (the text writes u - v).
 * - The initial-state term averages over individuals instead of summing (same optimum, a scale
 *   that does not depend on N), and by default averages over the mini-batch's states rather than
 *   the N initial states (`valueStates`). Measured on section 6.1's environment (N = 30, T = 50,
 *   K = 3, 50 Monte Carlo trajectories per individual): mean discounted value 2.44 / 2.53 / 2.42
 *   per group with initial states, 3.25 / 3.23 / 3.10 with batch states (behaviour 2.26, FQI 3.55).
 * - By default lambda stays at its initial value 1 (delta_lambda = 0): in the same trials the
 *   multiplier step drove lambda up (Phi stays far above small alpha) and the policy fell back to
 *   the behaviour's value (2.26 / 2.28 / 2.25 with delta_lambda = 0.02, alpha = 0.5). The step is
 *   there (`learningRates.lambda`), and is the next thing to tune.
 *
 * @module
 */
import { kmeans } from "ml-kmeans";
import { newVariable, tf } from "../core/backend.ts";
import { type Adam, createAdam, minimize } from "../core/optim.ts";
import { createRng, type Rng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";
import type { FeatureMap } from "./features.ts";

/** Settings of P4L. */
export interface P4lConfig {
  /** Number of subgroups K. */
  readonly groups: number;
  /** Dimension of each latent vector u_i. @default 2 */
  readonly latentDim?: number;
  /** Pessimism level alpha of the uncertainty set (11). @default 0.05 */
  readonly alpha?: number;
  /** Weight mu of the multi-centroid penalty (16). @default 1 */
  readonly mu?: number;
  /** ADMM penalty rho. @default 1 */
  readonly rho?: number;
  /** @default 0.8 */
  readonly discount?: number;
  /** Learning rates delta_f, delta_Q, delta_pi (Adam; 1e-2 each) and delta_lambda (0: lambda stays fixed; see the module doc). */
  readonly learningRates?: { readonly f?: number; readonly q?: number; readonly pi?: number; readonly lambda?: number };
  /** Outer iterations of Algorithm 1. @default 60 */
  readonly iterations?: number;
  /** Mini-batch steps of each inner loop. @default 30 */
  readonly innerSteps?: number;
  /** Mini-batch size n_0. @default 256 */
  readonly batchSize?: number;
  /** Initial lambda. @default 1 */
  readonly lambda?: number;
  /**
   * States averaged in the value term: each individual's initial state (the paper's nu), or every
   * state of the mini-batch (the data distribution, a common choice in offline policy
   * optimisation that gives the policy a signal beyond N initial states). @default "batch"
   */
  readonly valueStates?: "initial" | "batch";
  /** @default 0 */
  readonly seed?: number;
}

/** A fitted P4L model. */
export interface P4lModel {
  readonly features: FeatureMap;
  readonly numActions: number;
  readonly latentDim: number;
  /** u_i, row-major `[N, latentDim]`, in the order of the data's individuals. */
  readonly latents: Float64Array;
  /** v_k, row-major `[K, latentDim]`. */
  readonly centroids: Float64Array;
  /** Group k of each individual (from the last K-means). */
  readonly assignments: Int32Array;
  /** Policy weights W_pi, row-major `[D (1 + latentDim), numActions]`. */
  readonly policyWeights: Float64Array;
  readonly individualIds: readonly string[];
  /** Per outer iteration: Phi, lambda, the initial-state value and the penalty. */
  readonly history: readonly { phi: number; lambda: number; value: number; penalty: number }[];
}

function checkConfig(config: P4lConfig, individuals: number) {
  const K = config.groups;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`p4l: groups (K) must be a positive integer, got ${K}`);
  if (individuals < 1) throw new RangeError("p4l: the data have no individuals");
  if (K > individuals) throw new RangeError(`p4l: K = ${K} groups but only ${individuals} individuals`);
  const m = config.latentDim ?? 2;
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`p4l: latentDim must be a positive integer, got ${m}`);
}

/**
 * The (v, w) block of the ADMM (21): K-means on z = u + eta / rho gives the centroids v and the
 * groups; w_i = (2 mu v_k(i) + rho z_i) / (2 mu + rho) minimises
 * mu |w_i - v_k|^2 + rho/2 |w_i - z_i|^2 (the midpoint when 2 mu = rho).
 */
export function admmCentroidStep(
  z: Float64Array,
  latentDim: number,
  groups: number,
  mu: number,
  rho: number,
  seed = 0,
): { centroids: Float64Array; assignments: Int32Array; w: Float64Array } {
  const N = z.length / latentDim;
  if (!Number.isInteger(groups) || groups < 1 || groups > N) {
    throw new RangeError(`admmCentroidStep: groups must be in [1, ${N}], got ${groups}`);
  }
  const points = Array.from({ length: N }, (_, i) => Array.from(z.subarray(i * latentDim, (i + 1) * latentDim)));
  const res = kmeans(points, groups, { seed, initialization: "kmeans++", maxIterations: 100 });
  const centroids = Float64Array.from(res.centroids.flat());
  const assignments = Int32Array.from(res.clusters);
  const w = new Float64Array(z.length);
  for (let i = 0; i < N; i++) {
    const k = assignments[i];
    for (let j = 0; j < latentDim; j++) {
      w[i * latentDim + j] = (2 * mu * centroids[k * latentDim + j] + rho * z[i * latentDim + j]) / (2 * mu + rho);
    }
  }
  return { centroids, assignments, w };
}

/**
 * Rows `who` of `u` as a product with a one-hot matrix: differentiable on wasm, where the gradient
 * of `tf.gather` (UnsortedSegmentSum) has no kernel.
 */
function rowsOf(u: tf.Tensor2D, who: tf.Tensor1D, n: number): tf.Tensor2D {
  return tf.matMul(tf.oneHot(who, n).toFloat() as tf.Tensor2D, u);
}

/** x(s; u) = [psi, psi (x) u] for rows with features `psi` [n, D] and latents `u` [n, m]. */
function interact(psi: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  const [n, D] = psi.shape;
  const m = u.shape[1];
  const outer = tf.reshape(tf.mul(tf.expandDims(psi, 2), tf.expandDims(u, 1)), [n, D * m]);
  return tf.concat([psi, outer], 1) as tf.Tensor2D;
}

/** Fits P4L (Algorithm 1) to `data`, with state features `features`. */
export function fitP4l(data: MdpDataset, features: FeatureMap, config: P4lConfig): P4lModel {
  const N = data.individualIds.length;
  checkConfig(config, N);
  const K = config.groups, m = config.latentDim ?? 2;
  const alpha = config.alpha ?? 0.05, mu = config.mu ?? 1, rho = config.rho ?? 1, gamma = config.discount ?? 0.8;
  const lr = { f: 1e-2, q: 1e-2, pi: 1e-2, lambda: 0, ...config.learningRates };
  const iterations = config.iterations ?? 60, inner = config.innerSteps ?? 30, B = config.batchSize ?? 256;
  const rng: Rng = createRng(config.seed ?? 0);
  const A = data.numActions, D = features.dim, X = D * (1 + m);
  if (features.stateDim !== data.stateDim) {
    throw new RangeError(`p4l: features expect ${features.stateDim}-d states, data have ${data.stateDim}`);
  }
  const psi = features.transform(data.states), psiNext = features.transform(data.nextStates);
  // Initial states: each individual's earliest row.
  const firstRow = new Int32Array(N).fill(-1);
  for (let r = 0; r < data.size; r++) {
    const i = data.individuals[r];
    if (firstRow[i] < 0 || data.times[r] < data.times[firstRow[i]]) firstRow[i] = r;
  }
  const present = Array.from(firstRow).filter((r) => r >= 0);
  if (present.length === 0) throw new RangeError("p4l: the data are empty");
  const psi0 = new Float32Array(present.length * D);
  present.forEach((r, k) => psi0.set(psi.subarray(r * D, (r + 1) * D), k * D));
  const who0 = Int32Array.from(present, (r) => data.individuals[r]);

  const small = (rows: number, cols: number, scale: number) => {
    const a = new Float32Array(rows * cols);
    for (let k = 0; k < a.length; k++) a[k] = scale * rng.normal();
    return a;
  };
  const u = newVariable(() => tf.tensor2d(small(N, m, 0.1), [N, m])) as tf.Variable<tf.Rank.R2>;
  const wQ = newVariable(() => tf.tensor2d(small(X, A, 0.01), [X, A])) as tf.Variable<tf.Rank.R2>;
  const wF = newVariable(() => tf.tensor2d(small(X, A, 0.01), [X, A])) as tf.Variable<tf.Rank.R2>;
  const wPi = newVariable(() => tf.tensor2d(small(X, A, 0.01), [X, A])) as tf.Variable<tf.Rank.R2>;
  const adamF: Adam = createAdam([wF], { learningRate: lr.f });
  const adamQ: Adam = createAdam([wQ], { learningRate: lr.q });
  const adamPi: Adam = createAdam([wPi, u], { learningRate: lr.pi });
  let lambda = config.lambda ?? 1;
  let w: Float64Array = new Float64Array(N * m);
  let eta: Float64Array = new Float64Array(N * m);
  let centroids: Float64Array = new Float64Array(K * m);
  let assignments: Int32Array = new Int32Array(N);
  const history: { phi: number; lambda: number; value: number; penalty: number }[] = [];

  const batch = () => {
    const rows = Int32Array.from({ length: Math.min(B, data.size) }, () => rng.int(data.size));
    const s = new Float32Array(rows.length * D), s2 = new Float32Array(rows.length * D);
    rows.forEach((r, k) => {
      s.set(psi.subarray(r * D, (r + 1) * D), k * D);
      s2.set(psiNext.subarray(r * D, (r + 1) * D), k * D);
    });
    return {
      psi: tf.tensor2d(s, [rows.length, D]),
      psiNext: tf.tensor2d(s2, [rows.length, D]),
      who: tf.tensor1d(Int32Array.from(rows, (r) => data.individuals[r]), "int32"),
      a: tf.oneHot(tf.tensor1d(Int32Array.from(rows, (r) => data.actions[r]), "int32"), A),
      r: tf.tensor1d(Float32Array.from(rows, (r) => data.rewards[r])),
      notDone: tf.tensor1d(Float32Array.from(rows, (r) => 1 - data.terminals[r])),
    };
  };
  type Batch = ReturnType<typeof batch>;
  const psi0T = tf.tensor2d(psi0, [present.length, D]);
  const who0T = tf.tensor1d(who0, "int32");
  /** Phi on a batch, and the f-values (for the norm term). */
  const phiOf = (b: Batch) => {
    const ub = rowsOf(u, b.who, N);
    const x = interact(b.psi, ub), x2 = interact(b.psiNext, ub);
    const qa = tf.sum(tf.mul(tf.matMul(x, wQ), b.a), 1);
    const fa = tf.sum(tf.mul(tf.matMul(x, wF), b.a), 1);
    const v2 = tf.sum(tf.mul(tf.softmax(tf.matMul(x2, wPi)), tf.matMul(x2, wQ)), 1);
    const delta = tf.sub(tf.add(b.r, tf.mul(gamma, tf.mul(b.notDone, v2))), qa);
    return { phi: tf.mean(tf.mul(fa, delta)) as tf.Scalar, fa };
  };
  /** (1 - gamma) mean_i E_{S0} Q(S0, pi; u_i). */
  const initialValue = (b?: Batch) => {
    const x0 = b && (config.valueStates ?? "batch") === "batch"
      ? interact(b.psi, rowsOf(u, b.who, N))
      : interact(psi0T, rowsOf(u, who0T, N));
    return tf.mul(
      1 - gamma,
      tf.mean(tf.sum(tf.mul(tf.softmax(tf.matMul(x0, wPi)), tf.matMul(x0, wQ)), 1)),
    ) as tf.Scalar;
  };

  for (let it = 0; it < iterations; it++) {
    // Step 1 (22): f ascends Phi - (1/2) E f^2.
    for (let k = 0; k < inner; k++) {
      const b = batch();
      minimize(adamF, () => {
        const { phi, fa } = phiOf(b);
        return { loss: tf.neg(tf.sub(phi, tf.mul(0.5, tf.mean(tf.square(fa))))) as tf.Scalar, phi };
      }, `p4l f step ${it}.${k}`);
      tf.dispose(Object.values(b));
    }
    // Step 2 (23): Q descends (1 - gamma) E Q(S0, pi) + lambda (Phi - alpha).
    for (let k = 0; k < inner; k++) {
      const b = batch();
      minimize(adamQ, () => {
        const { phi } = phiOf(b);
        const value = initialValue(b);
        return { loss: tf.add(value, tf.mul(lambda, tf.sub(phi, alpha))) as tf.Scalar, phi, value };
      }, `p4l Q step ${it}.${k}`);
      tf.dispose(Object.values(b));
    }
    // Step 3 (24) and the u block of (21): pi and u ascend L - rho/2 |u - w + eta/rho|^2.
    const target = tf.tensor2d(Float32Array.from(w.map((x, j) => x - eta[j] / rho)), [N, m]);
    let phiSum = 0, valueSum = 0;
    for (let k = 0; k < inner; k++) {
      const b = batch();
      const parts = minimize(adamPi, () => {
        const { phi } = phiOf(b);
        const value = initialValue(b);
        const prox = tf.mul(rho / 2 / N, tf.sum(tf.square(tf.sub(u, target))));
        const objective = tf.sub(tf.add(value, tf.mul(lambda, tf.sub(phi, alpha))), prox);
        return { loss: tf.neg(objective) as tf.Scalar, phi, value };
      }, `p4l pi step ${it}.${k}`);
      phiSum += parts.phi;
      valueSum += parts.value;
      tf.dispose(Object.values(b));
    }
    target.dispose();
    // (v, w) block and the multiplier of (21).
    const uNow = Float64Array.from(u.dataSync());
    const z = uNow.map((x, j) => x + eta[j] / rho);
    const step = admmCentroidStep(z, m, K, mu, rho, (config.seed ?? 0) + it);
    centroids = step.centroids;
    assignments = step.assignments;
    w = step.w;
    eta = eta.map((e, j) => e + rho * (uNow[j] - w[j]));
    let penalty = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < m; j++) penalty += (w[i * m + j] - centroids[assignments[i] * m + j]) ** 2;
    }
    // Multiplier of the pessimism constraint (projected ascent; see the module doc).
    const phiMean = phiSum / inner;
    lambda = Math.max(0, lambda + lr.lambda * (phiMean - alpha));
    history.push({ phi: phiMean, lambda, value: valueSum / inner, penalty: mu * penalty });
    if (!Number.isFinite(valueSum) || !Number.isFinite(lambda)) {
      throw new RangeError(`p4l: the value or lambda diverged at iteration ${it}`);
    }
  }
  const model: P4lModel = Object.freeze({
    features,
    numActions: A,
    latentDim: m,
    latents: Float64Array.from(u.dataSync()),
    centroids,
    assignments,
    policyWeights: Float64Array.from(wPi.dataSync()),
    individualIds: data.individualIds,
    history,
  });
  tf.dispose([u, wQ, wF, wPi, psi0T, who0T]);
  return model;
}

/** pi(. | s; u_i) of a fitted model for individual `i` (index in the data's individuals). */
export function p4lPolicy(model: P4lModel, individual: number): (state: ArrayLike<number>) => number[] {
  const m = model.latentDim, D = model.features.dim, A = model.numActions, X = D * (1 + m);
  if (!(individual >= 0 && individual < model.individualIds.length)) {
    throw new RangeError(`p4lPolicy: no individual ${individual}`);
  }
  const u = model.latents.subarray(individual * m, (individual + 1) * m);
  return (s) => {
    const psi = model.features.transform(s);
    const x = new Float64Array(X);
    x.set(psi.subarray(0, D));
    for (let d = 0; d < D; d++) for (let j = 0; j < m; j++) x[D + d * m + j] = psi[d] * u[j];
    const logits = Array.from({ length: A }, (_, a) => {
      let z = 0;
      for (let k = 0; k < X; k++) z += x[k] * model.policyWeights[k * A + a];
      return z;
    });
    const mx = Math.max(...logits);
    const e = logits.map((z) => Math.exp(z - mx));
    const tot = e.reduce((p, q) => p + q, 0);
    return e.map((v) => v / tot);
  };
}
