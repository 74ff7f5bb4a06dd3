/**
 * A population whose groups need opposite actions: the kit's own environment (not in the P4L
 * paper), built to show what P4L (Miao, Shahbaba & Qu) is for. Section 6.1's groups share one
 * reward function, so one pooled policy is near-optimal for all of them there; here it is not.
 *
 * S_0 ~ N(0, I_2); actions {0, 1}, sigma = 2A - 1; gamma = 0.8; behaviour Bernoulli(1/2):
 *   S_{t+1} = M_g S_t + 0.5 sigma d_g + eps,   eps ~ N(0, 0.5^2 I_2),
 *   R_t     = sigma tanh(w_g^T S_t) + U[-0.1, 0.1].
 * Groups and shares of the population (`P4L_CONFLICT_GROUPS`):
 *   (a) 45%: w = (1, 0),  M = [[0.6, 0.2], [-0.2, 0.6]], d = (1, 0): act on the sign of s_1;
 *   (b) 40%: w = (-1, 0), the same dynamics: the opposite action of (a) in every state;
 *   (c) 15%: w = (0, 1),  M = [[0.3, -0.5], [0.5, 0.3]], d = (0, 1): a smaller group with other
 *       dynamics that acts on s_2.
 * A policy that ignores the group does about as well on (a) as it does badly on (b): the best
 * pooled policy leaves about 40% of the population far from its optimum.
 *
 * Ground truth the kit's learners never see: `conflictOracle` solves each group's MDP by value
 * iteration on a grid (bilinear interpolation, Gauss-Hermite quadrature of the noise), an
 * independent computation; `conflictPooledCandidates` lists the policies a pooled learner could
 * at best find (each group's oracle applied to everyone, and value iteration on the population's
 * share-weighted MDP).
 *
 * @module
 */
import { type Environment, individualFromGroups, type Policy } from "./env.ts";

/** A group of the conflicting population: reward direction w, dynamics M and push d. */
export interface ConflictParams {
  /** Reward direction w: R = sigma tanh(w^T s). */
  readonly w: readonly [number, number];
  /** Transition matrix M, row-major. */
  readonly m: readonly [number, number, number, number];
  /** Direction the action pushes the state. */
  readonly d: readonly [number, number];
  /** Share of the population. */
  readonly share: number;
}

/** The three groups (module doc). */
export const P4L_CONFLICT_GROUPS: Readonly<Record<string, ConflictParams>> = Object.freeze({
  a: Object.freeze({ w: [1, 0], m: [0.6, 0.2, -0.2, 0.6], d: [1, 0], share: 0.45 } as const),
  b: Object.freeze({ w: [-1, 0], m: [0.6, 0.2, -0.2, 0.6], d: [1, 0], share: 0.4 } as const),
  c: Object.freeze({ w: [0, 1], m: [0.3, -0.5, 0.5, 0.3], d: [0, 1], share: 0.15 } as const),
});

/** Noise standard deviation of each state variable. */
const NOISE = 0.5;
/** How far the action pushes the state. */
const PUSH = 0.5;

/** Options of {@linkcode createP4lConflictEnv}. */
export interface P4lConflictOptions {
  /** Default episode length. @default 50 */
  readonly horizon?: number;
}

/** The group labels of a population of `count` in the groups' shares (9 a : 8 b : 3 c per 20). */
export function conflictGroupLabels(count: number): string[] {
  const cycle = [
    ..."aaaaaaaaa",
    ..."bbbbbbbb",
    ..."ccc",
  ];
  // Interleaved, so that any prefix of the population keeps the shares roughly.
  const order = [0, 9, 17, 1, 10, 2, 11, 3, 18, 12, 4, 13, 5, 14, 6, 19, 15, 7, 16, 8];
  return Array.from({ length: count }, (_, i) => cycle[order[i % 20]]);
}

/** The expected reward of `action` in state s for a group (the noise has mean 0). */
export function conflictMeanReward(p: ConflictParams, s1: number, s2: number, action: number): number {
  return (2 * action - 1) * Math.tanh(p.w[0] * s1 + p.w[1] * s2);
}

/** The environment (module doc). */
export function createP4lConflictEnv(options: P4lConflictOptions = {}): Environment<ArrayLike<number>, ConflictParams> {
  const horizon = options.horizon ?? 50;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`p4l-conflict: horizon must be an integer >= 1, got ${horizon}`);
  }
  const groups = Object.keys(P4L_CONFLICT_GROUPS);
  const env: Environment<ArrayLike<number>, ConflictParams> = {
    name: "p4l-conflict",
    featureNames: Object.freeze(["s1", "s2"]),
    numActions: 2,
    discount: 0.8,
    horizon,
    groups: Object.freeze(groups),
    drawIndividual: (rng, group?: string) => {
      if (group !== undefined) return individualFromGroups("p4l-conflict", P4L_CONFLICT_GROUPS, rng, group);
      let u = rng.uniform(), g = groups[groups.length - 1];
      for (const name of groups) {
        u -= P4L_CONFLICT_GROUPS[name].share;
        if (u < 0) {
          g = name;
          break;
        }
      }
      return individualFromGroups("p4l-conflict", P4L_CONFLICT_GROUPS, rng, g);
    },
    reset: (rng) => {
      const s1 = rng.normal();
      return [s1, rng.normal()];
    },
    observe: (s) => Float64Array.from(s),
    observeInto(s, _ind, out, offset) {
      out[offset] = s[0];
      out[offset + 1] = s[1];
    },
    step(rng, ind, s, action) {
      const p = ind.params, sigma = 2 * action - 1;
      const reward = conflictMeanReward(p, s[0], s[1], action) + (rng.uniform() * 0.2 - 0.1);
      const n1 = p.m[0] * s[0] + p.m[1] * s[1] + PUSH * sigma * p.d[0] + NOISE * rng.normal();
      const next = [n1, p.m[2] * s[0] + p.m[3] * s[1] + PUSH * sigma * p.d[1] + NOISE * rng.normal()];
      return { state: next, reward, terminal: false };
    },
    behaviourPolicy: () => () => [0.5, 0.5],
  };
  return Object.freeze(env);
}

/** Options of {@linkcode conflictOracle}. */
export interface ConflictOracleOptions {
  /** Grid points per axis over [-limit, limit]. @default 81 */
  readonly points?: number;
  /** Half-width of the grid. @default 5 */
  readonly limit?: number;
  /** Value-iteration sweeps. @default 60 */
  readonly sweeps?: number;
  /** Discount factor. @default 0.8 */
  readonly discount?: number;
}

/** A solved MDP on the grid: Q of each action at each grid point, and its greedy policy. */
export interface GridSolution {
  /** Q values, `[points * points, 2]` row-major (index i1 * points + i2). */
  readonly q: Float64Array;
  /** Grid points per axis. */
  readonly points: number;
  /** Half-width of the grid. */
  readonly limit: number;
  /** The greedy policy of the interpolated Q (ties to action 0). */
  readonly policy: Policy;
}

// Gauss-Hermite nodes and weights for E f(Z), Z ~ N(0, 1) (probabilists' form, 7 points).
const GH_NODES = [
  -3.7504397177257425,
  -2.3667594107345413,
  -1.1544053947399682,
  0,
  1.1544053947399682,
  2.3667594107345413,
  3.7504397177257425,
];
const GH_WEIGHTS = [
  0.0005482688559722184,
  0.030757123967586396,
  0.2401231786050127,
  0.45714285714285713,
  0.2401231786050127,
  0.030757123967586396,
  0.0005482688559722184,
];

/** Bilinear interpolation of a grid function (clamped at the border). */
function interpolate(
  values: Float64Array,
  stride: number,
  offset: number,
  points: number,
  limit: number,
  s1: number,
  s2: number,
) {
  const h = 2 * limit / (points - 1);
  const x = Math.min(Math.max((s1 + limit) / h, 0), points - 1 - 1e-9);
  const y = Math.min(Math.max((s2 + limit) / h, 0), points - 1 - 1e-9);
  const i = Math.floor(x), j = Math.floor(y), fx = x - i, fy = y - j;
  const at = (a: number, b: number) => values[(a * points + b) * stride + offset];
  return (1 - fx) * ((1 - fy) * at(i, j) + fy * at(i, j + 1)) + fx * ((1 - fy) * at(i + 1, j) + fy * at(i + 1, j + 1));
}

/**
 * Solves the MDP whose reward and transition are a mixture of `groups` (weights `mix`, summing
 * to 1) by value iteration on a grid: one group alone is its oracle; the population's shares give
 * the share-weighted MDP (a pooled candidate).
 */
export function solveConflictGrid(
  groups: readonly ConflictParams[],
  mix: readonly number[],
  options: ConflictOracleOptions = {},
): GridSolution {
  const points = options.points ?? 81, limit = options.limit ?? 5, sweeps = options.sweeps ?? 60;
  const gamma = options.discount ?? 0.8;
  if (groups.length !== mix.length || groups.length === 0) {
    throw new RangeError("solveConflictGrid: one weight per group");
  }
  const h = 2 * limit / (points - 1), S = points * points;
  const q = new Float64Array(S * 2), v = new Float64Array(S);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let i = 0; i < points; i++) {
      for (let j = 0; j < points; j++) {
        const s1 = -limit + i * h, s2 = -limit + j * h;
        for (let a = 0; a < 2; a++) {
          let total = 0;
          groups.forEach((p, g) => {
            const sigma = 2 * a - 1;
            const m1 = p.m[0] * s1 + p.m[1] * s2 + PUSH * sigma * p.d[0];
            const m2 = p.m[2] * s1 + p.m[3] * s2 + PUSH * sigma * p.d[1];
            let next = 0;
            for (let k = 0; k < GH_NODES.length; k++) {
              for (let l = 0; l < GH_NODES.length; l++) {
                const wkl = GH_WEIGHTS[k] * GH_WEIGHTS[l];
                next += wkl * interpolate(v, 1, 0, points, limit, m1 + NOISE * GH_NODES[k], m2 + NOISE * GH_NODES[l]);
              }
            }
            total += mix[g] * (conflictMeanReward(p, s1, s2, a) + gamma * next);
          });
          q[(i * points + j) * 2 + a] = total;
        }
      }
    }
    for (let k = 0; k < S; k++) v[k] = Math.max(q[2 * k], q[2 * k + 1]);
  }
  const policy: Policy = (o) => {
    const q0 = interpolate(q, 2, 0, points, limit, o[0], o[1]), q1 = interpolate(q, 2, 1, points, limit, o[0], o[1]);
    return q1 > q0 ? [0, 1] : [1, 0];
  };
  return Object.freeze({ q, points, limit, policy });
}

/** Each group's optimal policy (value iteration on its own MDP). */
export function conflictOracle(options: ConflictOracleOptions = {}): Record<string, GridSolution> {
  return Object.fromEntries(
    Object.entries(P4L_CONFLICT_GROUPS).map(([g, p]) => [g, solveConflictGrid([p], [1], options)]),
  );
}

/**
 * Policies that ignore the group, the best a pooled learner could find among them: each group's
 * oracle applied to everyone, and the optimum of the share-weighted MDP (the best pooled policy is
 * valued as the best of these; a lower bound on the best stationary pooled policy).
 */
export function conflictPooledCandidates(options: ConflictOracleOptions = {}): Record<string, Policy> {
  const oracle = conflictOracle(options);
  const entries = Object.entries(P4L_CONFLICT_GROUPS);
  const pooled = solveConflictGrid(entries.map(([, p]) => p), entries.map(([, p]) => p.share), options);
  return {
    ...Object.fromEntries(Object.entries(oracle).map(([g, s]) => [`oracle of ${g}`, s.policy])),
    "share-weighted MDP": pooled.policy,
  };
}
