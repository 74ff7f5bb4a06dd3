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
 * pessimism of (12) in closed form. The u step (21) is unchanged (Adam on the Lagrangian at the
 * current Q and f: the envelope theorem makes that the gradient of the dual).
 *
 * The mirror policy step (the default with the exact critic; `policyStep: "gradient"` is
 * Algorithm 1's Adam steps on (24)). Q and the policy logits are linear in the same x(s; u), so
 * the KL mirror-descent step on the value term, pi(a | s; u) <- pi(a | s; u) exp(eta Q(s, a; u)) / Z,
 * is exactly W_pi <- W_pi + eta W_Q, at every state and for every individual at once: the natural
 * policy gradient with compatible features (Kakade 2001), and the policy step of PSPI (Xie et al.
 * 2021, "Bellman-consistent pessimism for offline RL"), whose pessimistic problem P4L's (12)
 * follows. The pessimism stays in the critic: Q is the exact critic's pessimistic solution. The
 * step leaves out (24)'s term through Phi (how pi changes the Bellman error at S_{t+1}), and u's
 * step then leaves out the path through pi's logits: u moves the critic, and pi follows. Why: with
 * the gradient step P4L played 164-241 steps on CartPole setting A, 83-147 on B and 63-144 on C
 * against FQI's 208-300 (K = 3, 40 outer iterations, 4 repetitions; the policy was still moving
 * after 40 x 30 Adam steps), and 292-300, 261-300 and 245-296 with the mirror step at eta = 1;
 * on section 6.1's environment and the conflicting population the two steps valued the same
 * (recorded: p4l-cartpole-ablation, docs/p4l.md). eta = 1 against 0.5, 2 and 3 on CartPole C,
 * measured while u's step still went through pi's logits: 0.5 and 3 played fewer steps, 2 about
 * the same. A caveat, measured: the policy's coefficients are the critic's summed over
 * iterations, so where the critic's coefficients on the latent interactions are large (latents
 * tied close but not equal, lambda small), individuals of one cluster can act differently; with
 * 9 individuals, K = 1 and lambda = 1 the gradient step's policies agreed within 0.02 and the
 * mirror step's did not. A larger ridge on the critic (1e-3 of the trace instead of 1e-6) fixed
 * that and cost up to a third of CartPole's steps, so the ridge stays small.
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
import { newVariable, readValues, tf } from "../core/backend.ts";
import { type Adam, createAdam, minimize, NonFiniteLossError } from "../core/optim.ts";
import { choleskySolver, crossProduct, solveSpd } from "../core/linalg.ts";
import { createRng, type Rng } from "../core/random.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { type FeatureMap, linearBatchPolicy } from "./features.ts";
import type { BatchPolicy } from "../envs/env.ts";
import { softmaxInPlace } from "../core/numeric.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";

/** Settings of P4L; {@linkcode P4L_DEFAULTS} holds the defaults of every field but `groups`. */
export interface P4lConfig {
  /** Number of subgroups K. */
  readonly groups: number;
  /** Dimension of each latent vector u_i. */
  readonly latentDim?: number;
  /** Pessimism level alpha of the uncertainty set (11): the constraint is Phi <= alpha. */
  readonly pessimismLevel?: number;
  /** Weight mu of the multi-centroid penalty (16). */
  readonly centroidWeight?: number;
  /** ADMM penalty rho of the augmented Lagrangian (20). */
  readonly admmPenalty?: number;
  /** Discount factor gamma. */
  readonly discount?: number;
  /** Adam step sizes delta_f, delta_Q, delta_pi, and the multiplier's step delta_lambda (0: lambda stays fixed). */
  readonly learningRates?: {
    readonly f?: number;
    readonly q?: number;
    readonly pi?: number;
    readonly multiplier?: number;
  };
  /** Outer iterations of Algorithm 1. */
  readonly iterations?: number;
  /** Mini-batch steps of each inner loop. */
  readonly innerSteps?: number;
  /** Mini-batch size n_0. */
  readonly batchSize?: number;
  /** Initial Lagrange multiplier lambda; "auto": 20 with the exact critic, 1 with the stochastic (module doc). */
  readonly initialMultiplier?: number | "auto";
  /**
   * States averaged in the value term: each individual's initial state (the paper's nu), or every
   * state of the mini-batch (the data distribution, a common choice in offline policy
   * optimisation that gives the policy a signal beyond N initial states).
   */
  readonly valueStates?: "initial" | "batch";
  /** Linear in x(s; u) (the paper's simulations) or a one-hidden-layer tanh network. */
  readonly functionClass?: "linear" | "neural";
  /**
   * How the inner f and Q problems are solved. "stochastic": Adam steps (22) and (23), as in
   * Algorithm 1. "exact" (linear class only): both inner problems have closed forms (module doc),
   * solved over all the data at every outer iteration. "auto": exact for the linear class.
   */
  readonly critic?: "exact" | "stochastic" | "auto";
  /**
   * How pi moves each outer iteration. "gradient": `innerSteps` Adam steps on (24), as in
   * Algorithm 1. "mirror" (linear class, exact critic): one mirror-descent step on the pessimistic
   * critic, W_pi <- W_pi + mirrorStepSize W_Q, i.e. pi <- pi exp(mirrorStepSize Q) normalised
   * (module doc); u keeps its Adam steps. "auto": mirror with the exact critic.
   */
  readonly policyStep?: "gradient" | "mirror" | "auto";
  /** eta of the mirror step, in logits per unit of Q. */
  readonly mirrorStepSize?: number;
  /** Hidden units of the neural class. */
  readonly hiddenUnits?: number;
  /** The run's one seed, split into named streams (initialisation, batches, K-means). */
  readonly seed?: number;
}

/** A resolved P4L config: every field present, the "auto" choices made. */
export type P4lResolvedConfig = Readonly<
  Required<Omit<P4lConfig, "learningRates" | "critic" | "initialMultiplier" | "policyStep">> & {
    readonly learningRates: Readonly<Required<NonNullable<P4lConfig["learningRates"]>>>;
    readonly critic: "exact" | "stochastic";
    readonly policyStep: "gradient" | "mirror";
    readonly initialMultiplier: number;
  }
>;

/** The defaults of {@linkcode P4lConfig} (every field but `groups`; the module doc says why each departs). */
export const P4L_DEFAULTS: Readonly<Required<Omit<P4lConfig, "groups">>> = Object.freeze({
  latentDim: 2,
  pessimismLevel: 0.05,
  centroidWeight: 1,
  admmPenalty: 1,
  discount: 0.8,
  learningRates: Object.freeze({ f: 1e-2, q: 1e-2, pi: 1e-2, multiplier: 0 }),
  iterations: 60,
  innerSteps: 30,
  batchSize: 256,
  initialMultiplier: "auto" as const,
  valueStates: "batch" as const,
  functionClass: "linear" as const,
  critic: "auto" as const,
  policyStep: "auto" as const,
  mirrorStepSize: 1,
  hiddenUnits: 32,
  seed: 0,
});

/**
 * A P4L config with every default filled in, the "auto" choices made, checked and frozen.
 *
 * @param config The user's config (`groups` is required).
 * @param individuals How many individuals the data hold (K may not exceed it).
 */
export function resolveP4lConfig(config: P4lConfig, individuals: number): P4lResolvedConfig {
  const { groups, learningRates, ...rest } = config;
  const base = resolveConfig("p4l", P4L_DEFAULTS, rest);
  const lr = resolveConfig("p4l learningRates", P4L_DEFAULTS.learningRates, learningRates) as Readonly<
    Required<NonNullable<P4lConfig["learningRates"]>>
  >;
  if (base.functionClass !== "linear" && base.functionClass !== "neural") {
    throw new RangeError(`p4l: functionClass must be "linear" or "neural", got ${JSON.stringify(base.functionClass)}`);
  }
  const critic = base.critic === "auto" ? (base.functionClass === "neural" ? "stochastic" : "exact") : base.critic;
  if (critic !== "exact" && critic !== "stochastic") {
    throw new RangeError(`p4l: critic must be "exact", "stochastic" or "auto", got ${JSON.stringify(critic)}`);
  }
  if (critic === "exact" && base.functionClass === "neural") {
    throw new RangeError('p4l: the exact critic needs functionClass "linear"');
  }
  const policyStep = base.policyStep === "auto" ? (critic === "exact" ? "mirror" : "gradient") : base.policyStep;
  if (policyStep !== "gradient" && policyStep !== "mirror") {
    throw new RangeError(`p4l: policyStep must be "gradient", "mirror" or "auto", got ${JSON.stringify(policyStep)}`);
  }
  if (policyStep === "mirror" && critic !== "exact") {
    throw new RangeError('p4l: the mirror policy step needs the exact critic (and so functionClass "linear")');
  }
  const c: P4lResolvedConfig = Object.freeze({
    ...base,
    groups,
    learningRates: lr,
    critic,
    policyStep,
    initialMultiplier: base.initialMultiplier === "auto" ? (critic === "exact" ? 20 : 1) : base.initialMultiplier,
  });
  if (!Number.isInteger(groups) || groups < 1) {
    throw new RangeError(`p4l: groups (K) must be a positive integer, got ${groups}`);
  }
  if (individuals < 1) throw new RangeError("p4l: the data have no individuals");
  if (groups > individuals) throw new RangeError(`p4l: K = ${groups} groups but only ${individuals} individuals`);
  checkIntegers("p4l", c, ["latentDim", "iterations", "innerSteps", "batchSize", "hiddenUnits"]);
  checkIntegers("p4l", c, ["seed"], 0);
  checkInterval("p4l", c, "discount", 0, 1, "high");
  checkInterval("p4l", c, "centroidWeight", 0, Infinity);
  checkInterval("p4l", c, "admmPenalty", 0, Infinity, "low");
  checkInterval("p4l", c, "initialMultiplier", 0, Infinity);
  checkInterval("p4l", c, "mirrorStepSize", 0, Infinity, "low");
  return c;
}

/** One parameter array of a policy head, with its shape. */
export interface P4lParam {
  /** Array shape. */
  readonly shape: readonly number[];
  /** Values, row-major. */
  readonly values: Float64Array;
}

/** A fitted P4L model. */
export interface P4lModel {
  /** The state feature map psi. */
  readonly features: FeatureMap;
  /** Number of actions A. */
  readonly numActions: number;
  /** Dimension m of each latent u_i. */
  readonly latentDim: number;
  /** u_i, row-major `[N, latentDim]`, in the order of the data's individuals. */
  readonly latents: Float64Array;
  /** v_k, row-major `[K, latentDim]`. */
  readonly centroids: Float64Array;
  /** Group k of each individual (from the last K-means). */
  readonly assignments: Int32Array;
  /** The function class of Q, f and pi. */
  readonly functionClass: "linear" | "neural";
  /** Policy head: linear `[W_pi]` (`[D (1 + latentDim), numActions]`), or neural `[W1, b1, W2]`. */
  readonly policyParams: readonly P4lParam[];
  /** Ids of the individuals, in the order of `latents`. */
  readonly individualIds: readonly string[];
  /** Per outer iteration: Phi, lambda, the initial-state value and the penalty. */
  readonly history: readonly { phi: number; lambda: number; value: number; penalty: number }[];
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
export interface CriticInputs {
  /** x(S_t; u_i), row-major `[n, X]`. */
  readonly x: Float64Array;
  /** gamma (1 - done) x(S_{t+1}; u_i), row-major `[n, X]`. */
  readonly xNext: Float64Array;
  /** pi(. | S_{t+1}; u_i), row-major `[n, A]`. */
  readonly piNext: Float64Array;
  /** A_t of every row. */
  readonly actions: Int32Array;
  /** R_t of every row. */
  readonly rewards: Float32Array;
  /** c / (1 - gamma): mean over value states of pi(a | s) x(s), row-major `[X, A]`. */
  readonly valueDirection: Float64Array;
  /** Width X = D (1 + m) of x. */
  readonly X: number;
  /** Number of actions A. */
  readonly A: number;
}

/**
 * The closed-form f and Q steps of the linear class (module doc): returns W_Q and W_F, each
 * row-major `[X, A]` (index k A + a).
 */
export function exactCritic(inp: CriticInputs, gamma: number, lambda: number): { wQ: Float64Array; wF: Float64Array } {
  const { x, xNext, piNext, actions, rewards, X, A } = inp;
  if (!(lambda > 0)) {
    throw new RangeError(
      `p4l: the exact critic needs a multiplier lambda > 0, got ${lambda} (with learningRates.multiplier > 0 it can reach 0: lower that rate, or use critic "stochastic")`,
    );
  }
  const n = actions.length, P = X * A;
  // Per action a, with X_a the rows that took a: G_a = X_a^T X_a, the (., a) rows of C are
  // X_a^T W_a with W_a = x e_a^T - x'_gamma pi(.|s')^T (flattened to P columns), and those of b
  // X_a^T R_a. Three cross products per action (on the native BLAS when it is installed).
  const G: Float64Array[] = [];
  const C = new Float64Array(P * P), b = new Float64Array(P);
  for (let a = 0; a < A; a++) {
    const rows: number[] = [];
    for (let t = 0; t < n; t++) if (actions[t] === a) rows.push(t);
    const m = rows.length;
    const xa = new Float64Array(m * X), wa = new Float64Array(m * P), ra = new Float64Array(m);
    rows.forEach((t, i) => {
      const o = t * X;
      for (let l = 0; l < X; l++) {
        xa[i * X + l] = x[o + l];
        wa[i * P + l * A + a] = x[o + l];
        const y = xNext[o + l];
        for (let a2 = 0; a2 < A; a2++) wa[i * P + l * A + a2] -= y * piNext[t * A + a2];
      }
      ra[i] = rewards[t];
    });
    G.push(crossProduct(xa, xa, m, X, X));
    const ca = crossProduct(xa, wa, m, X, P), ba = crossProduct(xa, ra, m, X, 1);
    for (let k = 0; k < X; k++) {
      C.set(ca.subarray(k * P, (k + 1) * P), (k * A + a) * P);
      b[k * A + a] = ba[k];
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
  const M = crossProduct(C, GinvC, P, P, P), rhs = crossProduct(C, Ginvb, P, P, 1);
  for (let i = 0; i < P; i++) rhs[i] -= (1 - gamma) * inp.valueDirection[i] / lambda;
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
function rowsOf(u: tf.Tensor2D, whoHot: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(whoHot, u);
}

/** x(s; u) = [psi, psi (x) u] for rows with features `psi` [n, D] and latents `u` [n, m]. */
function interact(psi: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  const [n, D] = psi.shape;
  const m = u.shape[1];
  const outer = tf.reshape(tf.mul(tf.expandDims(psi, 2), tf.expandDims(u, 1)), [n, D * m]);
  return tf.concat([psi, outer], 1) as tf.Tensor2D;
}

/** Data-derived constants of a P4L fit: the features of every row and of each initial state. */
export interface P4lProblem {
  /** The data being fitted. */
  readonly data: MdpDataset;
  /** psi(S_t) of every row, `[rows, D]`. */
  readonly psi: Float64Array;
  /** psi(S_{t+1}) of every row, `[rows, D]`. */
  readonly psiNext: Float64Array;
  /** psi of each individual's initial state (the paper's nu), `[individuals, D]`. */
  readonly psi0: Float32Array;
  /** Whose initial state each row of `psi0` is. */
  readonly who0: Int32Array;
  /** Number of individuals N. */
  readonly N: number;
  /** Feature dimension D. */
  readonly D: number;
  /** Width X = D (1 + m) of x(s; u). */
  readonly X: number;
  /** Number of actions A. */
  readonly A: number;
}

/** The live state of a P4L fit (Algorithm 1): variables, optimisers, ADMM blocks and streams. */
export interface P4lState {
  /** The resolved config. */
  readonly config: P4lResolvedConfig;
  /** Data-derived constants (features of every row and initial state). */
  readonly problem: P4lProblem;
  /** Latents u `[N, m]`, and the Q, f and pi heads. */
  readonly u: tf.Variable<tf.Rank.R2>;
  /** Q's head: [W] or [W1, b1, W2]. */
  readonly wQ: tf.Variable[];
  /** f's head. */
  readonly wF: tf.Variable[];
  /** pi's head. */
  readonly wPi: tf.Variable[];
  /** Adam for f (step 22). */
  readonly adamF: Adam;
  /** Adam for Q (step 23). */
  readonly adamQ: Adam;
  /** Adam for pi and u (step 24 and the u block of 21). */
  readonly adamPi: Adam;
  /** Mini-batch stream (advanced by every step). */
  readonly batchRng: Rng;
  /** K-means stream: `fold(it)` seeds iteration it's clustering. */
  readonly kmeansRng: Rng;
  /** Lagrange multiplier lambda of the pessimism constraint. */
  multiplier: number;
  /** ADMM blocks of (19)-(21): w, the scaled dual eta, centroids v and groups. */
  w: Float64Array;
  /** Scaled ADMM dual eta, `[N, m]`. */
  eta: Float64Array;
  /** Centroids v_k, `[K, m]`. */
  centroids: Float64Array;
  /** Group of each individual from the last K-means. */
  assignments: Int32Array;
  /** Completed outer iterations. */
  iteration: number;
  /** psi of the initial states and whose they are, as tensors, when `valueStates` is "initial" (uploaded once). */
  readonly initialStates: { readonly psi0: tf.Tensor2D; readonly whoHot: tf.Tensor2D } | null;
  /** Metrics of each outer iteration. */
  readonly history: { phi: number; lambda: number; value: number; penalty: number }[];
}

/** Named metrics of one outer iteration. */
export interface P4lMetrics {
  /** Mean Phi over the pi step's batches. */
  readonly phi: number;
  /** The multiplier after its step. */
  readonly lambda: number;
  /** Mean value term (1 - gamma) E Q(S, pi). */
  readonly value: number;
  /** mu sum_i |w_i - v_k(i)|^2 after the ADMM step. */
  readonly penalty: number;
}

function problemOf(data: MdpDataset, features: FeatureMap, m: number): P4lProblem {
  if (features.stateDim !== data.stateDim) {
    throw new RangeError(`p4l: features expect ${features.stateDim}-d states, data have ${data.stateDim}`);
  }
  const N = data.individualIds.length, D = features.dim;
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
  return { data, psi, psiNext, psi0, who0, N, D, X: D * (1 + m), A: data.numActions };
}

/**
 * Where P4L's latents start. By default each u_i is drawn N(0, 0.1^2). With `assignments` (a
 * clustering of the individuals, such as the K heuristic's `estimateGroupCount(...).assignments`)
 * the latents of cluster k start near their own point, 0.5 (cos 2 pi k / G, sin 2 pi k / G) in the
 * first two latent coordinates (G clusters; evenly on [-0.5, 0.5] with one latent coordinate),
 * with N(0, 0.02^2) noise: the ADMM's first K-means then sees the clusters instead of noise, and a
 * minority individual is not locked into a larger group's cluster by chance.
 */
export interface P4lStart {
  /** Cluster of each individual, in the data's individual order (integers from 0). */
  readonly assignments?: ArrayLike<number>;
}

/** The starting latents `[N, m]`: `noise` (drawn N(0, 0.1^2)) alone, or around each cluster's point. */
function startingLatents(noise: Float32Array, N: number, m: number, start: P4lStart): Float32Array {
  const labels = start.assignments;
  if (!labels) return noise;
  if (labels.length !== N) {
    throw new RangeError(`p4l: start.assignments has ${labels.length} entries for ${N} individuals`);
  }
  let G = 0;
  for (let i = 0; i < N; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0) {
      throw new RangeError(`p4l: start.assignments[${i}] = ${labels[i]} is not a cluster index (integer >= 0)`);
    }
    G = Math.max(G, labels[i] + 1);
  }
  const u = Float32Array.from(noise, (x) => 0.2 * x);
  for (let i = 0; i < N; i++) {
    const k = labels[i];
    if (m === 1) u[i] += G === 1 ? 0 : k / (G - 1) - 0.5;
    else {
      u[i * m] += 0.5 * Math.cos(2 * Math.PI * k / G);
      u[i * m + 1] += 0.5 * Math.sin(2 * Math.PI * k / G);
    }
  }
  return u;
}

/**
 * A fresh P4L state: the config resolved, `seed` split once into the initialisation, mini-batch
 * and K-means streams, latents and heads drawn, the ADMM blocks at zero.
 * `start` places the latents (default: drawn at random; {@linkcode P4lStart}).
 */
export function initP4l(data: MdpDataset, features: FeatureMap, config: P4lConfig, start: P4lStart = {}): P4lState {
  const c = resolveP4lConfig(config, data.individualIds.length);
  const m = c.latentDim, H = c.hiddenUnits;
  const problem = problemOf(data, features, m);
  const { N, X, A } = problem;
  const [initRng, batchRng, kmeansRng] = createRng(c.seed).split(3);
  const small = (rows: number, cols: number, scale: number) =>
    initRng.fillNormal(new Float32Array(rows * cols), 0, scale);
  const u = newVariable(() => tf.tensor2d(startingLatents(small(N, m, 0.1), N, m, start), [N, m])) as tf.Variable<
    tf.Rank.R2
  >;
  /** A head's variables: [W] (linear) or [W1, b1, W2] (neural, Glorot-scaled W1). */
  const head = (): tf.Variable[] =>
    c.functionClass === "neural"
      ? [
        newVariable(() => tf.tensor2d(small(X, H, Math.sqrt(1 / X)), [X, H])),
        newVariable(() => tf.zeros([H])),
        newVariable(() => tf.tensor2d(small(H, A, 0.01), [H, A])),
      ]
      : [newVariable(() => tf.tensor2d(small(X, A, 0.01), [X, A]))];
  const wQ = head(), wF = head(), wPi = head();
  return {
    config: c,
    problem,
    u,
    wQ,
    wF,
    wPi,
    adamF: createAdam(wF, { learningRate: c.learningRates.f }),
    adamQ: createAdam(wQ, { learningRate: c.learningRates.q }),
    adamPi: createAdam([...wPi, u], { learningRate: c.learningRates.pi }),
    batchRng,
    kmeansRng,
    multiplier: c.initialMultiplier,
    w: new Float64Array(N * m),
    eta: new Float64Array(N * m),
    centroids: new Float64Array(c.groups * m),
    assignments: new Int32Array(N),
    iteration: 0,
    initialStates: c.valueStates === "initial"
      ? {
        psi0: tf.tensor2d(problem.psi0, [problem.who0.length, problem.D]),
        whoHot: tf.tidy(() => tf.oneHot(tf.tensor1d(problem.who0, "int32"), N).toFloat()) as tf.Tensor2D,
      }
      : null,
    history: [],
  };
}

/** A head's output [n, A] on inputs x [n, X]. */
function applyHead(w: readonly tf.Variable[], x: tf.Tensor2D): tf.Tensor2D {
  return w.length === 1
    ? tf.matMul(x, w[0] as tf.Tensor2D)
    : tf.matMul(tf.tanh(tf.add(tf.matMul(x, w[0] as tf.Tensor2D), w[1])) as tf.Tensor2D, w[2] as tf.Tensor2D);
}

/** A mini-batch of n_0 rows drawn with replacement, as tensors (the caller disposes them). */
interface P4lBatch {
  readonly psi: tf.Tensor2D;
  readonly psiNext: tf.Tensor2D;
  /** One-hot of each row's individual, `[n, N]` (float: row selection is a product). */
  readonly whoHot: tf.Tensor2D;
  readonly a: tf.Tensor2D;
  readonly r: tf.Tensor1D;
  readonly notDone: tf.Tensor1D;
}

function drawBatch(state: P4lState): P4lBatch {
  return batchTensors(state, gatherRows(state.batchRng, state.problem.data.size, state.config.batchSize));
}

/** The tensors of a mini-batch of rows `rows`. */
function batchTensors(state: P4lState, rows: Int32Array): P4lBatch {
  const { data, psi, psiNext, D, A } = state.problem;
  const s = new Float32Array(rows.length * D), s2 = new Float32Array(rows.length * D);
  rows.forEach((r, k) => {
    s.set(psi.subarray(r * D, (r + 1) * D), k * D);
    s2.set(psiNext.subarray(r * D, (r + 1) * D), k * D);
  });
  return {
    psi: tf.tensor2d(s, [rows.length, D]),
    psiNext: tf.tensor2d(s2, [rows.length, D]),
    whoHot: tf.tidy(() =>
      tf.oneHot(tf.tensor1d(Int32Array.from(rows, (r) => data.individuals[r]), "int32"), state.problem.N).toFloat()
    ) as tf.Tensor2D,
    a: tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(rows, (r) => data.actions[r]), "int32"), A)) as tf.Tensor2D,
    r: tf.tensor1d(Float32Array.from(rows, (r) => data.rewards[r])),
    notDone: tf.tensor1d(Float32Array.from(rows, (r) => 1 - data.terminals[r])),
  };
}

function gatherRows(rng: Rng, size: number, batchSize: number): Int32Array {
  return Int32Array.from({ length: Math.min(batchSize, size) }, () => rng.int(size));
}

/**
 * Phi of (10) on a batch, the f-values (for the norm term), and x(S; u) with Q's head on it (the
 * value term reuses both when it is taken over the batch).
 */
function bellmanFunctional(
  state: P4lState,
  b: P4lBatch,
): { phi: tf.Scalar; fa: tf.Tensor1D; x: tf.Tensor2D; qx: tf.Tensor2D } {
  const ub = rowsOf(state.u, b.whoHot);
  const x = interact(b.psi, ub), x2 = interact(b.psiNext, ub);
  const qx = applyHead(state.wQ, x);
  const qa = tf.sum(tf.mul(qx, b.a), 1);
  const fa = tf.sum(tf.mul(applyHead(state.wF, x), b.a), 1) as tf.Tensor1D;
  const v2 = tf.sum(tf.mul(tf.softmax(applyHead(state.wPi, x2)), applyHead(state.wQ, x2)), 1);
  const delta = tf.sub(tf.add(b.r, tf.mul(state.config.discount, tf.mul(b.notDone, v2))), qa);
  return { phi: tf.mean(tf.mul(fa, delta)) as tf.Scalar, fa, x, qx };
}

/** The value term (1 - gamma) mean E Q(S, pi; u_i) over the batch's or the initial states. */
function valueTerm(state: P4lState, bell: { x: tf.Tensor2D; qx: tf.Tensor2D }): tf.Scalar {
  const init = state.initialStates;
  const x0 = init ? interact(init.psi0, rowsOf(state.u, init.whoHot)) : bell.x;
  const q0 = init ? applyHead(state.wQ, x0) : bell.qx;
  const q = tf.sum(tf.mul(tf.softmax(applyHead(state.wPi, x0)), q0), 1);
  return tf.mul(1 - state.config.discount, tf.mean(q)) as tf.Scalar;
}

/** Step (22): f ascends Phi - (1/2) E f^2 on one batch. */
export function p4lFStep(state: P4lState, label = "p4l f step"): { loss: number; phi: number } {
  const b = drawBatch(state);
  try {
    return minimize(state.adamF, () => {
      const { phi, fa } = bellmanFunctional(state, b);
      return { loss: tf.neg(tf.sub(phi, tf.mul(0.5, tf.mean(tf.square(fa))))), phi };
    }, label);
  } finally {
    tf.dispose(Object.values(b));
  }
}

/** Step (23): Q descends (1 - gamma) E Q(S0, pi) + lambda (Phi - alpha) on one batch. */
export function p4lQStep(state: P4lState, label = "p4l Q step"): { loss: number; phi: number; value: number } {
  const b = drawBatch(state);
  const { pessimismLevel } = state.config, lambda = state.multiplier;
  try {
    return minimize(state.adamQ, () => {
      const bell = bellmanFunctional(state, b);
      const value = valueTerm(state, bell), phi = bell.phi;
      return { loss: tf.add(value, tf.mul(lambda, tf.sub(phi, pessimismLevel))), phi, value };
    }, label);
  } finally {
    tf.dispose(Object.values(b));
  }
}

/** What one step (24) sees and how it moves: the objective's parts and its gradients. */
export interface P4lPolicyGradient {
  /** The loss, minus the objective L - rho/2N |u - target|^2. */
  readonly loss: number;
  /** Phi of (10) on the batch. */
  readonly phi: number;
  /** The value term. */
  readonly value: number;
  /** d loss / d W_pi, row-major `[X, A]` (the linear class's one policy head). */
  readonly policy: Float64Array;
  /** d loss / d u, row-major `[N, m]`. */
  readonly latents: Float64Array;
}

/** Step (24)'s loss on a batch, as a tensor function (for autodiff). */
function policyObjective(state: P4lState, b: P4lBatch, target: tf.Tensor2D) {
  const { pessimismLevel, admmPenalty } = state.config, lambda = state.multiplier, N = state.problem.N;
  const bell = bellmanFunctional(state, b);
  const value = valueTerm(state, bell), phi = bell.phi;
  const prox = tf.mul(admmPenalty / 2 / N, tf.sum(tf.square(tf.sub(state.u, target))));
  const objective = tf.sub(tf.add(value, tf.mul(lambda, tf.sub(phi, pessimismLevel))), prox);
  return { loss: tf.neg(objective) as tf.Scalar, phi, value };
}

/**
 * The loss of step (24) on the batch `rows` and its gradients with respect to the linear policy
 * head W_pi and the latents u, in closed form (float64, no tensors): `"closed-form"`. Or by
 * TensorFlow.js's autodiff of the same loss: `"autodiff"` (the two agree to float32 rounding;
 * tested). With the loss L = -(V + lambda (Phi - alpha) - rho/2N |u - target|^2), per row t
 * (z = x W_pi, pi = softmax z, the primes at S_{t+1}, n the batch size):
 *
 *   dV/dz_t      = (1 - gamma)/n pi_t (Q_t - pi_t^T Q_t)                      (batch value states)
 *   dPhi/dz'_t   = (1/n) f_t gamma (1 - d_t) pi'_t (Q'_t - pi'_t^T Q'_t)
 *   dJ/dx_t      = W_pi dJ/dz_t + (1 - gamma)/n W_Q pi_t + lambda/n (delta_t W_F e_a - f_t W_Q e_a)
 *   dJ/dx'_t     = W_pi dJ/dz'_t + lambda/n f_t gamma (1 - d_t) W_Q pi'_t
 *
 * and x = [psi, psi (x) u] carries dJ/dx to u_i through psi. About 40x faster than the autodiff
 * step on section 6.1's sizes (a few thousand flops against some 200 kernels). With the mirror
 * policy step the W_pi dJ/dz terms are left out of dJ/dx (u moves the critic only; module doc).
 */
export function p4lPolicyGradient(
  state: P4lState,
  rows: Int32Array,
  target: Float64Array,
  method: "closed-form" | "autodiff" = "closed-form",
): P4lPolicyGradient {
  const { N } = state.problem, m = state.config.latentDim;
  if (target.length !== N * m) throw new RangeError(`p4l: the ADMM target has ${target.length} values, not ${N * m}`);
  if (method === "autodiff") {
    if (state.config.policyStep === "mirror") {
      throw new RangeError(
        'p4l: autodiff differentiates through pi\'s logits too; it checks policyStep "gradient" only',
      );
    }
    let result: P4lPolicyGradient | undefined;
    tf.tidy(() => {
      const b = batchTensors(state, rows);
      const t = tf.tensor2d(Float32Array.from(target), [N, m]);
      let parts: { phi: number; value: number; loss: number } = { phi: NaN, value: NaN, loss: NaN };
      const { grads } = tf.variableGrads(() => {
        const o = policyObjective(state, b, t);
        parts = { phi: o.phi.dataSync()[0], value: o.value.dataSync()[0], loss: o.loss.dataSync()[0] };
        return o.loss;
      }, [state.wPi[0], state.u]);
      result = {
        ...parts,
        policy: Float64Array.from(grads[state.wPi[0].name].dataSync()),
        latents: Float64Array.from(grads[state.u.name].dataSync()),
      };
    });
    return result!;
  }
  if (state.wPi.length !== 1) throw new RangeError("p4l: the closed-form policy gradient needs the linear class");
  return linearPolicyGradient(state, rows, target);
}

function linearPolicyGradient(state: P4lState, rows: Int32Array, target: Float64Array): P4lPolicyGradient {
  const { data, psi, psiNext, N, D, X, A } = state.problem;
  const c = state.config, m = c.latentDim, gamma = c.discount, lambda = state.multiplier, n = rows.length;
  // With the mirror step pi is soft policy iteration on the critic, and u moves the critic only:
  // its gradient leaves out the path through pi's logits (whose scale grows with every mirror
  // step, and would outweigh the ADMM's pull to the centroids).
  const throughPi = c.policyStep === "gradient";
  const u = Float64Array.from(readValues(state.u));
  const wq = Float64Array.from(readValues(state.wQ[0])), wf = Float64Array.from(readValues(state.wF[0]));
  const wpi = Float64Array.from(readValues(state.wPi[0]));
  const gW = new Float64Array(X * A), gU = new Float64Array(N * m);
  const x = new Float64Array(X), x2 = new Float64Array(X), dx = new Float64Array(X), dx2 = new Float64Array(X);
  const q = new Float64Array(A), q2 = new Float64Array(A), pi = new Float64Array(A), pi2 = new Float64Array(A);
  const gz = new Float64Array(A), gz2 = new Float64Array(A);
  const fill = (out: Float64Array, feat: Float64Array | Float32Array, r: number, i: number) => {
    for (let d = 0; d < D; d++) {
      const p = feat[r * D + d];
      out[d] = p;
      for (let j = 0; j < m; j++) out[D + d * m + j] = p * u[i * m + j];
    }
  };
  const heads = (xs: Float64Array, w: Float64Array, out: Float64Array) => {
    for (let a = 0; a < A; a++) {
      let z = 0;
      for (let k = 0; k < X; k++) z += xs[k] * w[k * A + a];
      out[a] = z;
    }
  };
  // The value term's share of dJ/dz and dJ/dx at x (weight (1 - gamma)/count); returns its value.
  const valueAt = (xs: Float64Array, out: Float64Array, weight: number): number => {
    heads(xs, wq, q);
    heads(xs, wpi, pi);
    softmaxInPlace(pi, 0, A);
    let v = 0;
    for (let a = 0; a < A; a++) v += pi[a] * q[a];
    if (!throughPi) {
      // The mirror step: no policy gradient, and u's gradient goes through the critic only.
      for (let k = 0; k < X; k++) {
        let z = 0;
        for (let a = 0; a < A; a++) z += weight * wq[k * A + a] * pi[a];
        out[k] = z;
      }
      return v;
    }
    for (let a = 0; a < A; a++) gz[a] = weight * pi[a] * (q[a] - v);
    for (let k = 0; k < X; k++) {
      let z = 0;
      for (let a = 0; a < A; a++) z += wpi[k * A + a] * gz[a] + weight * wq[k * A + a] * pi[a];
      out[k] = z;
      for (let a = 0; a < A; a++) gW[k * A + a] += xs[k] * gz[a];
    }
    return v;
  };
  // dJ/dx at the latents of individual i, through x = [psi, psi (x) u].
  const toLatents = (xs: Float64Array, g: Float64Array, i: number) => {
    for (let d = 0; d < D; d++) {
      const p = xs[d];
      for (let j = 0; j < m; j++) gU[i * m + j] += p * g[D + d * m + j];
    }
  };
  let phi = 0, value = 0;
  const batchValue = state.initialStates === null;
  for (let r = 0; r < n; r++) {
    const t = rows[r], i = data.individuals[t], a0 = data.actions[t];
    fill(x, psi, t, i);
    fill(x2, psiNext, t, i);
    // Phi's pieces at (S_t, A_t) and S_{t+1}.
    let qa = 0, fa = 0;
    for (let k = 0; k < X; k++) {
      qa += x[k] * wq[k * A + a0];
      fa += x[k] * wf[k * A + a0];
    }
    heads(x2, wq, q2);
    heads(x2, wpi, pi2);
    softmaxInPlace(pi2, 0, A);
    let v2 = 0;
    for (let a = 0; a < A; a++) v2 += pi2[a] * q2[a];
    const carry = gamma * (1 - data.terminals[t]);
    const delta = data.rewards[t] + carry * v2 - qa;
    phi += fa * delta / n;
    const s2 = lambda * fa * carry / n;
    if (throughPi) {
      for (let a = 0; a < A; a++) gz2[a] = s2 * pi2[a] * (q2[a] - v2);
      for (let k = 0; k < X; k++) {
        let z = 0;
        for (let a = 0; a < A; a++) {
          z += wpi[k * A + a] * gz2[a] + s2 * wq[k * A + a] * pi2[a];
          gW[k * A + a] += x2[k] * gz2[a];
        }
        dx2[k] = z;
      }
    } else {
      for (let k = 0; k < X; k++) {
        let z = 0;
        for (let a = 0; a < A; a++) z += s2 * wq[k * A + a] * pi2[a];
        dx2[k] = z;
      }
    }
    if (batchValue) value += (1 - gamma) / n * valueAt(x, dx, (1 - gamma) / n);
    else dx.fill(0);
    for (let k = 0; k < X; k++) dx[k] += lambda / n * (delta * wf[k * A + a0] - fa * wq[k * A + a0]);
    toLatents(x, dx, i);
    toLatents(x2, dx2, i);
  }
  if (!batchValue) {
    const { psi0, who0 } = state.problem, n0 = who0.length;
    for (let r = 0; r < n0; r++) {
      fill(x, psi0, r, who0[r]);
      value += (1 - gamma) / n0 * valueAt(x, dx, (1 - gamma) / n0);
      toLatents(x, dx, who0[r]);
    }
  }
  let prox = 0;
  const rho = c.admmPenalty;
  for (let k = 0; k < N * m; k++) {
    const e = u[k] - target[k];
    prox += rho / 2 / N * e * e;
    gU[k] -= rho / N * e;
  }
  const objective = value + lambda * (phi - c.pessimismLevel) - prox;
  for (let k = 0; k < gW.length; k++) gW[k] = -gW[k];
  for (let k = 0; k < gU.length; k++) gU[k] = -gU[k];
  return { loss: -objective, phi, value, policy: gW, latents: gU };
}

/**
 * Step (24) with the u block of (21): pi and u ascend L - rho/2 |u - w + eta/rho|^2 on one batch
 * (the linear class by its closed-form gradient, the neural one by autodiff).
 *
 * @param target w - eta / rho, `[N, m]` (fixed within an outer iteration).
 */
export function p4lPolicyStep(
  state: P4lState,
  target: Float64Array,
  label = "p4l pi step",
): { loss: number; phi: number; value: number } {
  const rows = gatherRows(state.batchRng, state.problem.data.size, state.config.batchSize);
  if (state.wPi.length === 1) {
    const g = linearPolicyGradient(state, rows, target);
    for (const [name, v] of Object.entries({ loss: g.loss, phi: g.phi, value: g.value })) {
      if (!Number.isFinite(v)) throw new NonFiniteLossError(name, v, label);
    }
    // With the mirror step, W_pi moved once this iteration (p4lMirrorStep); only u steps here.
    const moveHead = state.config.policyStep === "gradient";
    tf.tidy(() =>
      state.adamPi.apply({
        ...(moveHead
          ? { [state.wPi[0].name]: tf.tensor2d(Float32Array.from(g.policy), [state.problem.X, state.problem.A]) }
          : {}),
        [state.u.name]: tf.tensor2d(Float32Array.from(g.latents), [state.problem.N, state.config.latentDim]),
      })
    );
    return { loss: g.loss, phi: g.phi, value: g.value };
  }
  const b = batchTensors(state, rows);
  const t = tf.tensor2d(Float32Array.from(target), [state.problem.N, state.config.latentDim]);
  try {
    return minimize(state.adamPi, () => policyObjective(state, b, t), label);
  } finally {
    tf.dispose([...Object.values(b), t]);
  }
}

/**
 * The mirror policy step (linear class, exact critic): W_pi <- W_pi + eta W_Q. Q and the policy
 * logits are linear in the same x(s; u), so this is pi(a | s; u) <- pi(a | s; u) exp(eta Q(s, a; u))
 * normalised, at every state and for every individual at once: soft policy iteration (mirror
 * descent with the KL divergence) on the pessimistic Q of the exact critic step.
 */
export function p4lMirrorStep(state: P4lState): void {
  const eta = state.config.mirrorStepSize;
  const w = state.wPi[0].dataSync(), q = state.wQ[0].dataSync();
  const next = Float32Array.from(w, (x, k) => x + eta * q[k]);
  for (let k = 0; k < next.length; k++) {
    if (!Number.isFinite(next[k])) throw new NonFiniteLossError("policy logits", next[k], "p4l mirror step");
  }
  tf.tidy(() => state.wPi[0].assign(tf.tensor2d(next, state.wPi[0].shape as [number, number])));
}

/** x(s; u) of every row of `feat` [rows, D] for the latents of `who`, in float64. */
function interactRows(feat: ArrayLike<number>, who: ArrayLike<number>, u: Float64Array, D: number, m: number) {
  const n = who.length, X = D * (1 + m), out = new Float64Array(n * X);
  for (let t = 0; t < n; t++) {
    const o = t * X, i = who[t];
    for (let dd = 0; dd < D; dd++) {
      const p = feat[t * D + dd];
      out[o + dd] = p;
      for (let j = 0; j < m; j++) out[o + D + dd * m + j] = p * u[i * m + j];
    }
  }
  return out;
}

/** softmax(x W) row by row, for x `[n, X]` and W `[X, A]`. */
function softmaxRowsOf(xs: Float64Array, w: Float64Array, X: number, A: number): Float64Array {
  const n = xs.length / X, out = new Float64Array(n * A);
  for (let t = 0; t < n; t++) {
    for (let a = 0; a < A; a++) {
      let z = 0;
      for (let k = 0; k < X; k++) z += xs[t * X + k] * w[k * A + a];
      out[t * A + a] = z;
    }
    softmaxInPlace(out, t * A, A);
  }
  return out;
}

/** The exact critic's step: steps (22) and (23) in closed form over all the data (module doc). */
export function p4lExactCriticStep(state: P4lState): void {
  const { data, psi, psiNext, psi0, who0, D, X, A } = state.problem;
  const m = state.config.latentDim, gamma = state.config.discount;
  tf.tidy(() => {
    const uNow = Float64Array.from(state.u.dataSync()), wPiNow = Float64Array.from(state.wPi[0].dataSync());
    const x = interactRows(psi, data.individuals, uNow, D, m);
    const xNextPlain = interactRows(psiNext, data.individuals, uNow, D, m);
    const piNext = softmaxRowsOf(xNextPlain, wPiNow, X, A);
    const xNext = new Float64Array(xNextPlain.length);
    for (let t = 0; t < data.size; t++) {
      const scale = gamma * (1 - data.terminals[t]);
      for (let k = t * X; k < (t + 1) * X; k++) xNext[k] = scale * xNextPlain[k];
    }
    const valueX = state.config.valueStates === "batch" ? x : interactRows(psi0, who0, uNow, D, m);
    const piValue = softmaxRowsOf(valueX, wPiNow, X, A);
    const nv = valueX.length / X, dir = new Float64Array(X * A);
    for (let t = 0; t < nv; t++) {
      for (let k = 0; k < X; k++) {
        for (let a = 0; a < A; a++) dir[k * A + a] += valueX[t * X + k] * piValue[t * A + a] / nv;
      }
    }
    const sol = exactCritic(
      { x, xNext, piNext, actions: data.actions, rewards: data.rewards, valueDirection: dir, X, A },
      gamma,
      state.multiplier,
    );
    state.wQ[0].assign(tf.tensor2d(Float32Array.from(sol.wQ), [X, A]));
    state.wF[0].assign(tf.tensor2d(Float32Array.from(sol.wF), [X, A]));
  });
}

/**
 * The (v, w) block and the scaled dual step of the ADMM (21): K-means on z = u + eta / rho, then
 * eta <- eta + rho (u - w). Returns mu sum_i |w_i - v_k(i)|^2.
 */
export function p4lAdmmStep(state: P4lState): number {
  const { latentDim: m, groups: K, centroidWeight: mu, admmPenalty: rho } = state.config;
  const uNow = Float64Array.from(state.u.dataSync());
  const z = uNow.map((x, j) => x + state.eta[j] / rho);
  const seed = Math.floor(state.kmeansRng.fold(state.iteration).uniform() * 2147483647);
  const step = admmCentroidStep(z, m, K, mu, rho, seed);
  state.centroids = step.centroids;
  state.assignments = step.assignments;
  state.w = step.w;
  state.eta = state.eta.map((e, j) => e + rho * (uNow[j] - step.w[j]));
  let penalty = 0;
  for (let i = 0; i < state.problem.N; i++) {
    for (let j = 0; j < m; j++) penalty += (step.w[i * m + j] - step.centroids[step.assignments[i] * m + j]) ** 2;
  }
  return mu * penalty;
}

/**
 * The multiplier step: projected ascent lambda <- max(0, lambda + delta_lambda (Phi - alpha)) (the
 * dual (14) maximises over lambda >= 0; module doc on Algorithm 1's sign).
 */
export function p4lMultiplierStep(state: P4lState, phi: number): number {
  const { learningRates, pessimismLevel } = state.config;
  state.multiplier = Math.max(0, state.multiplier + learningRates.multiplier * (phi - pessimismLevel));
  return state.multiplier;
}

/** One outer iteration of Algorithm 1: critic, policy and latents, ADMM, multiplier. */
export function p4lIteration(state: P4lState): P4lMetrics {
  const c = state.config, it = state.iteration;
  if (c.critic === "exact") {
    p4lExactCriticStep(state);
    if (c.policyStep === "mirror") p4lMirrorStep(state);
  } else {
    for (let k = 0; k < c.innerSteps; k++) p4lFStep(state, `p4l f step ${it}.${k}`);
    for (let k = 0; k < c.innerSteps; k++) p4lQStep(state, `p4l Q step ${it}.${k}`);
  }
  const rho = c.admmPenalty;
  // The ADMM target in float32, as the tensors hold it.
  const target = Float64Array.from(Float32Array.from(state.w, (x, j) => x - state.eta[j] / rho));
  let phiSum = 0, valueSum = 0;
  for (let k = 0; k < c.innerSteps; k++) {
    const parts = p4lPolicyStep(state, target, `p4l pi step ${it}.${k}`);
    phiSum += parts.phi;
    valueSum += parts.value;
  }
  const penalty = p4lAdmmStep(state);
  const phi = phiSum / c.innerSteps;
  const lambda = p4lMultiplierStep(state, phi);
  const metrics = { phi, lambda, value: valueSum / c.innerSteps, penalty };
  state.history.push(metrics);
  if (!Number.isFinite(valueSum) || !Number.isFinite(lambda)) {
    throw new RangeError(`p4l: the value or lambda diverged at iteration ${it}`);
  }
  state.iteration++;
  return metrics;
}

/** The fitted model of a state (plain arrays; the state's tensors stay alive). */
export function p4lModel(state: P4lState, features: FeatureMap): P4lModel {
  return Object.freeze({
    features,
    numActions: state.problem.A,
    latentDim: state.config.latentDim,
    latents: Float64Array.from(state.u.dataSync()),
    centroids: state.centroids,
    assignments: state.assignments,
    functionClass: state.config.functionClass,
    policyParams: state.wPi.map((v) =>
      Object.freeze({ shape: v.shape.slice(), values: Float64Array.from(v.dataSync()) })
    ),
    individualIds: state.problem.data.individualIds,
    history: state.history.slice(),
  });
}

/** Frees the state's tensors. */
export function disposeP4l(state: P4lState): void {
  tf.dispose([state.u, ...state.wQ, ...state.wF, ...state.wPi]);
  if (state.initialStates) tf.dispose([state.initialStates.psi0, state.initialStates.whoHot]);
}

/** Fits P4L (Algorithm 1) to `data`, with state features `features`: init (latents placed by `start`), iterations, model. */
export function fitP4l(data: MdpDataset, features: FeatureMap, config: P4lConfig, start: P4lStart = {}): P4lModel {
  const state = initP4l(data, features, config, start);
  try {
    while (state.iteration < state.config.iterations) p4lIteration(state);
    return p4lModel(state, features);
  } finally {
    disposeP4l(state);
  }
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
  if (model.functionClass === "linear") {
    const wu = foldedPolicyWeights(model, individual);
    return (s) => {
      const psi = model.features.transform(s);
      const probs = new Float64Array(A);
      for (let a = 0; a < A; a++) {
        let z = 0;
        for (let d = 0; d < D; d++) z += psi[d] * wu[a * D + d];
        probs[a] = z;
      }
      softmaxInPlace(probs, 0, A);
      return probs;
    };
  }
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

/**
 * A linear policy's weights folded with an individual's latent: x(s; u)^T W = psi(s)^T W_u with
 * W_u[d, a] = W[d, a] + sum_j u_j W[D + d m + j, a], returned row-major `[A, D]` (once per
 * individual, so a call costs the features and a D x A product).
 */
function foldedPolicyWeights(model: P4lModel, individual: number): Float64Array {
  const m = model.latentDim, D = model.features.dim, A = model.numActions;
  const u = model.latents.subarray(individual * m, (individual + 1) * m);
  const w = model.policyParams[0].values, wu = new Float64Array(A * D);
  for (let d = 0; d < D; d++) {
    for (let a = 0; a < A; a++) {
      let z = w[d * A + a];
      for (let j = 0; j < m; j++) z += u[j] * w[(D + d * m + j) * A + a];
      wu[a * D + d] = z;
    }
  }
  return wu;
}

/**
 * {@linkcode p4lPolicy} of every individual over many states at once (Monte Carlo evaluation):
 * the features of all rows in one pass for the linear class, row by row for the neural one.
 */
export function p4lBatchPolicy(model: P4lModel): BatchPolicy {
  const N = model.individualIds.length, A = model.numActions;
  if (model.functionClass === "linear") {
    const folded = Array.from({ length: N }, (_, i) => foldedPolicyWeights(model, i));
    return linearBatchPolicy(model.features, A, (i) => {
      if (!(i >= 0 && i < N)) throw new RangeError(`p4lBatchPolicy: no individual ${i}`);
      return folded[i];
    }, "softmax");
  }
  const policies = Array.from({ length: N }, (_, i) => p4lPolicy(model, i));
  const S = model.features.stateDim;
  return Object.freeze({
    batch(observations: Float64Array, context: { readonly individuals: Int32Array }) {
      const who = context.individuals, out = new Float64Array(who.length * A);
      for (let r = 0; r < who.length; r++) out.set(policies[who[r]](observations.subarray(r * S, (r + 1) * S)), r * A);
      return out;
    },
  });
}
