/**
 * P4L's simple two-dimensional environment (Miao, Shahbaba & Qu, section 6.1, Table 1).
 *
 * S_0 ~ N(0, I_2); behaviour A_t ~ Bernoulli(1/2) on {0, 1};
 *   [S_{t+1}]_1 = 0.8 (2A - 1) [S_t]_1 + c_1 [S_t]_2 + eps_1,
 *   [S_{t+1}]_2 = c_2 [S_t]_1 + 0.8 (1 - 2A) [S_t]_2 + eps_2,   eps ~ N(0, diag(0.25, 0.25));
 *   R_t = 0.9 / (1 + exp((2A - 1)([S_t]_1 - 2 [S_t]_2))) + U[-0.1, 0.1];   gamma = 0.8.
 * Groups (Table 1): (a) c = (0, -0.6), (b) (0.6, 0.4), (c) (-0.7, 0.5).
 *
 * Exactly as written; the paper states no horizon beyond the data's T, so `horizon` (default
 * 50, the smallest T of Figure 1) is only the default episode length.
 *
 * @module
 */
import { type Environment, individualFromGroups } from "./env.ts";

/** An individual's transition coefficients (c_1, c_2). */
export interface SimpleEnvParams {
  /** Coefficient c1 of the group's transition (P4L Table 1). */
  readonly c1: number;
  /** Coefficient c2 of the group's transition (P4L Table 1). */
  readonly c2: number;
}

/** Table 1 of P4L. */
export const P4L_SIMPLE_GROUPS: Readonly<Record<string, SimpleEnvParams>> = Object.freeze({
  a: Object.freeze({ c1: 0, c2: -0.6 }),
  b: Object.freeze({ c1: 0.6, c2: 0.4 }),
  c: Object.freeze({ c1: -0.7, c2: 0.5 }),
});

/** Options of {@linkcode createP4lSimpleEnv}. */
export interface P4lSimpleOptions {
  /** Default episode length. @default 50 */
  readonly horizon?: number;
}

/** The environment of P4L section 6.1. */
export function createP4lSimpleEnv(options: P4lSimpleOptions = {}): Environment<ArrayLike<number>, SimpleEnvParams> {
  const horizon = options.horizon ?? 50;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`p4l-simple: horizon must be an integer >= 1, got ${horizon}`);
  }
  const groups = Object.keys(P4L_SIMPLE_GROUPS);
  const noiseStd = Math.sqrt(0.25);
  // States are plain pairs: a small typed array costs about a microsecond to allocate in Deno,
  // more than the step itself.
  const env: Environment<ArrayLike<number>, SimpleEnvParams> = {
    name: "p4l-simple",
    featureNames: Object.freeze(["s1", "s2"]),
    numActions: 2,
    discount: 0.8,
    horizon,
    groups: Object.freeze(groups),
    drawIndividual: (rng, group?: string) => individualFromGroups("p4l-simple", P4L_SIMPLE_GROUPS, rng, group),
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
      const sign = 2 * action - 1;
      const n1 = 0.8 * sign * s[0] + ind.params.c1 * s[1] + noiseStd * rng.normal();
      const next = [n1, ind.params.c2 * s[0] - 0.8 * sign * s[1] + noiseStd * rng.normal()];
      const reward = 0.9 / (1 + Math.exp(sign * (s[0] - 2 * s[1]))) + (rng.uniform() * 0.2 - 0.1);
      return { state: next, reward, terminal: false };
    },
    behaviourPolicy: () => () => [0.5, 0.5],
  };
  return Object.freeze(env);
}
