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
 * Function classes are linear in features by default (the paper's simulations): with psi(s) the
 * state features (RBF) and x(s; u) = [psi(s), psi(s) (x) u], each of Q, f and the policy logits is
 * x(s; u)^T W_a for its own W (so u shifts every coefficient: a linear mixed-effect model,
 * section 3.1's Example 1). `functionClass: "neural"` makes each of them a one-hidden-layer
 * network on the same input, tanh(x W1 + b1) W2 (Algorithm 1's "pre-specified NN structures").
 *
 * The exact critic (the default for the linear class). With F linear and the f step's norm term, the
 * maximiser of Phi - (1/2) E f^2 is f* = x^T G^-1 E[x delta] (G = E[x x^T]), and Phi at f* is
 * half the mean squared projected Bellman error, (b - C w)^T G^-1 (b - C w) with b = E[x R] and
 * C = E[x (x - gamma x'_pi)^T]. The Q step then minimises c^T w + (lambda / 2)(b - C w)^T G^-1 (b - C w)
 * (c: the value term's gradient), whose solution is
 *   (C^T G^-1 C) w = C^T G^-1 b - c / lambda,
 * the LSTD solution of Q^pi shifted down along the value functional by 1 / lambda: the
 * pessimism of (12) in closed form. The pi and u steps (24), (21) are unchanged (Adam on the
 * Lagrangian at the current Q and f: the envelope theorem makes that the gradient of the dual).
 * Why: with stochastic f and Q steps, the three-player game did not settle in 60 x 30 steps on
 * section 6.1's environment: at grid seeds 17 and 1017 Phi ended at 0.28 and 8.5, and the policies
 * valued 2.27-2.34, no better than the behaviour's 2.26 (neither did a neural class, larger
 * batches or learning rates).
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
 * - By default lambda stays fixed (delta_lambda = 0) at 20 with the exact critic (1 with the
 *   stochastic one). With the exact critic 1 / lambda is the size of the pessimistic shift; on
 *   section 6.1's environment (N = 30, T = 50, K = 3, grid seeds 17 and 1017, 20 Monte Carlo
 *   trajectories per individual) the per-group values were 2.34-2.52 at lambda = 1, 3.02-3.38 at
 *   5, 3.49-3.56 at 20 and 3.53-3.62 at 100 (FQI 3.55): the environment rewards little caution.
 *   The multiplier step is there (`learningRates.lambda`, ascent on Phi - alpha as the dual
 *   requires; Algorithm 1 prints the opposite sign).
 *
 * @module
 */
import { kmeans } from "ml-kmeans";
import { newVariable, tf } from "../core/backend.ts";
import { type Adam, createAdam, minimize } from "../core/optim.ts";
import { choleskySolver, solveSpd } from "../core/linalg.ts";
import { createRng, type Rng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";
import type { FeatureMap } from "./features.ts";
import { softmaxInPlace } from "../core/numeric.ts";

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
  /** Initial lambda (see the module doc). @default 20 with the exact critic, 1 with the stochastic */
  readonly lambda?: number;
  /**
   * States averaged in the value term: each individual's initial state (the paper's nu), or every
   * state of the mini-batch (the data distribution, a common choice in offline policy
   * optimisation that gives the policy a signal beyond N initial states). @default "batch"
   */
  readonly valueStates?: "initial" | "batch";
  /** Linear in x(s; u) (the paper's simulations) or a one-hidden-layer tanh network. @default "linear" */
  readonly functionClass?: "linear" | "neural";
  /**
   * How the inner f and Q problems are solved. "stochastic": Adam steps (22) and (23), as in
   * Algorithm 1. "exact" (linear class only): both inner problems have closed forms (module doc),
   * solved over all the data at every outer iteration. @default "exact" for the linear class
   */
  readonly critic?: "exact" | "stochastic";
  /** Hidden units of the neural class. @default 32 */
  readonly hiddenUnits?: number;
  /** @default 0 */
  readonly seed?: number;
}

/** One parameter array of a policy head, with its shape. */
export interface P4lParam {
  readonly shape: readonly number[];
  readonly values: Float64Array;
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
  readonly functionClass: "linear" | "neural";
  /** Policy head: linear `[W_pi]` (`[D (1 + latentDim), numActions]`), or neural `[W1, b1, W2]`. */
  readonly policyParams: readonly P4lParam[];
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

/** Inputs of {@linkcode exactCritic}: features x(s; u_i) of every row, already computed. */
interface CriticInputs {
  /** x(S_t; u_i), row-major `[n, X]`. */
  readonly x: Float64Array;
  /** gamma (1 - done) x(S_{t+1}; u_i), row-major `[n, X]`. */
  readonly xNext: Float64Array;
  /** pi(. | S_{t+1}; u_i), row-major `[n, A]`. */
  readonly piNext: Float64Array;
  readonly actions: Int32Array;
  readonly rewards: Float32Array;
  /** c / (1 - gamma): mean over value states of pi(a | s) x(s), row-major `[X, A]`. */
  readonly valueDirection: Float64Array;
  readonly X: number;
  readonly A: number;
}

/**
 * The closed-form f and Q steps of the linear class (module doc): returns W_Q and W_F, each
 * row-major `[X, A]` (index k A + a).
 */
export function exactCritic(inp: CriticInputs, gamma: number, lambda: number): { wQ: Float64Array; wF: Float64Array } {
  const { x, xNext, piNext, actions, rewards, X, A } = inp;
  const n = actions.length, P = X * A;
  const G = Array.from({ length: A }, () => new Float64Array(X * X));
  const C = new Float64Array(P * P), b = new Float64Array(P);
  for (let t = 0; t < n; t++) {
    const a = actions[t], o = t * X;
    const g = G[a];
    for (let k = 0; k < X; k++) {
      const xk = x[o + k];
      if (xk === 0) continue;
      for (let l = 0; l < X; l++) g[k * X + l] += xk * x[o + l];
      b[k * A + a] += xk * rewards[t];
      const rowC = (k * A + a) * P;
      for (let l = 0; l < X; l++) {
        C[rowC + l * A + a] += xk * x[o + l];
        const y = xk * xNext[o + l];
        for (let a2 = 0; a2 < A; a2++) C[rowC + l * A + a2] -= y * piNext[t * A + a2];
      }
    }
  }
  for (let k = 0; k < P * P; k++) C[k] /= n;
  for (let k = 0; k < P; k++) b[k] /= n;
  // G_a^-1 applied to the (., a) block of a P-vector; each block factored once.
  const solvers = G.map((block) => {
    const g = block.map((val) => val / n);
    let tr = 0;
    for (let k = 0; k < X; k++) tr += g[k * X + k];
    return choleskySolver(g, X, 1e-6 + 1e-3 * tr / X);
  });
  const ginv = (v: Float64Array): Float64Array => {
    const out = new Float64Array(P);
    for (let a = 0; a < A; a++) {
      const z = solvers[a](Float64Array.from({ length: X }, (_, k) => v[k * A + a]));
      for (let k = 0; k < X; k++) out[k * A + a] = z[k];
    }
    return out;
  };
  const GinvC = new Float64Array(P * P); // column j of C, through G^-1
  const col = new Float64Array(P);
  for (let j = 0; j < P; j++) {
    for (let i = 0; i < P; i++) col[i] = C[i * P + j];
    const z = ginv(col);
    for (let i = 0; i < P; i++) GinvC[i * P + j] = z[i];
  }
  const Ginvb = ginv(b);
  const M = new Float64Array(P * P), rhs = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    for (let k = 0; k < P; k++) {
      const cki = C[k * P + i];
      if (cki === 0) continue;
      rhs[i] += cki * Ginvb[k];
      for (let j = 0; j < P; j++) M[i * P + j] += cki * GinvC[k * P + j];
    }
    rhs[i] -= (1 - gamma) * inp.valueDirection[i] / lambda;
  }
  let tr = 0;
  for (let i = 0; i < P; i++) tr += M[i * P + i];
  const wQ = solveSpd(M, rhs, P, 1e-8 + 1e-6 * tr / P);
  const e = Float64Array.from(b);
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) e[i] -= C[i * P + j] * wQ[j];
  return { wQ, wF: ginv(e) };
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
  const neural = (config.functionClass ?? "linear") === "neural";
  if (!neural && config.functionClass !== undefined && config.functionClass !== "linear") {
    throw new RangeError(
      `p4l: functionClass must be "linear" or "neural", got ${JSON.stringify(config.functionClass)}`,
    );
  }
  const H = config.hiddenUnits ?? 32;
  if (neural && !(Number.isInteger(H) && H >= 1)) throw new RangeError(`p4l: hiddenUnits must be >= 1, got ${H}`);
  /** A head's variables: [W] (linear) or [W1, b1, W2] (neural, Glorot-scaled W1). */
  const head = (): tf.Variable[] =>
    neural
      ? [
        newVariable(() => tf.tensor2d(small(X, H, Math.sqrt(1 / X)), [X, H])),
        newVariable(() => tf.zeros([H])),
        newVariable(() => tf.tensor2d(small(H, A, 0.01), [H, A])),
      ]
      : [newVariable(() => tf.tensor2d(small(X, A, 0.01), [X, A]))];
  const wQ = head(), wF = head(), wPi = head();
  /** A head's output [n, A] on inputs x [n, X]. */
  const apply = (w: tf.Variable[], x: tf.Tensor2D): tf.Tensor2D =>
    w.length === 1
      ? tf.matMul(x, w[0] as tf.Tensor2D)
      : tf.matMul(tf.tanh(tf.add(tf.matMul(x, w[0] as tf.Tensor2D), w[1])) as tf.Tensor2D, w[2] as tf.Tensor2D);
  const adamF: Adam = createAdam(wF, { learningRate: lr.f });
  const adamQ: Adam = createAdam(wQ, { learningRate: lr.q });
  const adamPi: Adam = createAdam([...wPi, u], { learningRate: lr.pi });
  let lambda = config.lambda ??
    ((config.critic ?? (config.functionClass === "neural" ? "stochastic" : "exact")) === "exact" ? 20 : 1);
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
    const qa = tf.sum(tf.mul(apply(wQ, x), b.a), 1);
    const fa = tf.sum(tf.mul(apply(wF, x), b.a), 1);
    const v2 = tf.sum(tf.mul(tf.softmax(apply(wPi, x2)), apply(wQ, x2)), 1);
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
      tf.mean(tf.sum(tf.mul(tf.softmax(apply(wPi, x0)), apply(wQ, x0)), 1)),
    ) as tf.Scalar;
  };

  const critic = config.critic ?? (neural ? "stochastic" : "exact");
  if (critic !== "exact" && critic !== "stochastic") {
    throw new RangeError(`p4l: critic must be "exact" or "stochastic", got ${JSON.stringify(critic)}`);
  }
  if (critic === "exact" && neural) throw new RangeError('p4l: the exact critic needs functionClass "linear"');
  /** x(s; u) of every row of psi [rows, D] for latents of `who`, in float64. */
  const interactJs = (
    feat: ArrayLike<number>,
    who: ArrayLike<number>,
    uNow: Float64Array,
  ) => {
    const n = who.length, out = new Float64Array(n * X);
    for (let t = 0; t < n; t++) {
      const o = t * X, i = who[t];
      for (let dd = 0; dd < D; dd++) {
        const p = feat[t * D + dd];
        out[o + dd] = p;
        for (let j = 0; j < m; j++) out[o + D + dd * m + j] = p * uNow[i * m + j];
      }
    }
    return out;
  };
  const softmaxRows = (xs: Float64Array, wPiNow: Float64Array) => {
    const n = xs.length / X, out = new Float64Array(n * A);
    for (let t = 0; t < n; t++) {
      for (let a = 0; a < A; a++) {
        let z = 0;
        for (let k = 0; k < X; k++) z += xs[t * X + k] * wPiNow[k * A + a];
        out[t * A + a] = z;
      }
      softmaxInPlace(out, t * A, A);
    }
    return out;
  };
  const exactStep = () => {
    const uNow = Float64Array.from(u.dataSync()), wPiNow = Float64Array.from(wPi[0].dataSync());
    const x = interactJs(psi, data.individuals, uNow);
    const xNextPlain = interactJs(psiNext, data.individuals, uNow);
    const piNext = softmaxRows(xNextPlain, wPiNow);
    const xNext = xNextPlain.map((v, k) => gamma * (1 - data.terminals[Math.floor(k / X)]) * v);
    const valueX = (config.valueStates ?? "batch") === "batch" ? x : interactJs(psi0, who0, uNow);
    const piValue = softmaxRows(valueX, wPiNow);
    const nv = valueX.length / X, dir = new Float64Array(X * A);
    for (let t = 0; t < nv; t++) {
      for (let k = 0; k < X; k++) {
        for (let a = 0; a < A; a++) dir[k * A + a] += valueX[t * X + k] * piValue[t * A + a] / nv;
      }
    }
    const sol = exactCritic(
      { x, xNext, piNext, actions: data.actions, rewards: data.rewards, valueDirection: dir, X, A },
      gamma,
      lambda,
    );
    wQ[0].assign(tf.tensor2d(Float32Array.from(sol.wQ), [X, A]));
    wF[0].assign(tf.tensor2d(Float32Array.from(sol.wF), [X, A]));
  };

  for (let it = 0; it < iterations; it++) {
    if (critic === "exact") {
      tf.tidy(exactStep);
    }
    // Step 1 (22): f ascends Phi - (1/2) E f^2.
    for (let k = 0; critic === "stochastic" && k < inner; k++) {
      const b = batch();
      minimize(adamF, () => {
        const { phi, fa } = phiOf(b);
        return { loss: tf.neg(tf.sub(phi, tf.mul(0.5, tf.mean(tf.square(fa))))) as tf.Scalar, phi };
      }, `p4l f step ${it}.${k}`);
      tf.dispose(Object.values(b));
    }
    // Step 2 (23): Q descends (1 - gamma) E Q(S0, pi) + lambda (Phi - alpha).
    for (let k = 0; critic === "stochastic" && k < inner; k++) {
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
    functionClass: neural ? "neural" : "linear",
    policyParams: wPi.map((v) => Object.freeze({ shape: v.shape.slice(), values: Float64Array.from(v.dataSync()) })),
    individualIds: data.individualIds,
    history,
  });
  tf.dispose([u, ...wQ, ...wF, ...wPi, psi0T, who0T]);
  return model;
}

/** The policy head's logits at input x (linear or one hidden tanh layer). */
function headLogits(params: readonly P4lParam[], x: Float64Array, A: number): number[] {
  const X = x.length;
  let input = x, width = X;
  if (params.length === 3) {
    const [w1, b1] = params, H = w1.shape[1];
    const hidden = new Float64Array(H);
    for (let h = 0; h < H; h++) {
      let z = b1.values[h];
      for (let k = 0; k < X; k++) z += x[k] * w1.values[k * H + h];
      hidden[h] = Math.tanh(z);
    }
    input = hidden;
    width = H;
  }
  const w = params[params.length - 1].values;
  return Array.from({ length: A }, (_, a) => {
    let z = 0;
    for (let k = 0; k < width; k++) z += input[k] * w[k * A + a];
    return z;
  });
}

/** pi(. | s; u_i) of a fitted model for individual `i` (index in the data's individuals). */
export function p4lPolicy(model: P4lModel, individual: number): (state: ArrayLike<number>) => Float64Array {
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
    const probs = Float64Array.from(headLogits(model.policyParams, x, A));
    softmaxInPlace(probs, 0, A);
    return probs;
  };
}
