/**
 * Heterogeneous CartPole (P4L section 6.2, Table 2): the classic cart-pole of Barto, Sutton &
 * Anderson (1983) as OpenAI Gym's `CartPole-v1` implements it, with the pole length and push
 * force set per individual.
 *
 * Constants (Gym): gravity 9.8, cart mass 1.0, pole mass 0.1, `length` 0.5 (Gym's `length` is
 * half the pole's length; the individual's length replaces it), force magnitude 10 (replaced by
 * the individual's force), tau 0.02 s, Euler integration; termination when |theta| > 12 degrees
 * or |x| > 2.4; start state uniform in [-0.05, 0.05]^4; reward 1 for every step taken (Gym also
 * pays the step that terminates, so a return counts the steps played, which is what Table 2
 * reports); episodes capped at 300 steps (P4L). Actions: 0 pushes left, 1 pushes right
 * (P4L's -1 and +1).
 *
 * Behaviour policy (P4L): sign(theta), i.e. push right when the pole leans right (theta > 0),
 * left otherwise; `epsilon` mixes in uniform random actions (0 in the paper).
 *
 * Reading of Table 2 (a departure to record): the caption writes pairs as "length/force" and
 * says "(A) fix the force at 0.85 and let length vary from 2 to 10", but the text gives length in
 * [0.15, 0.85] and force in [2, 10]. The pairs are therefore read as force/length:
 *   (A) force 2, 5, 10 at length 0.85; (B) length 0.15, 0.5, 0.85 at force 5;
 *   (C) (force 2, length 0.15), (force 10, length 0.85), (force 5, length 0.5).
 * "Length" is taken as Gym's `length` parameter (default 0.5, inside the stated range).
 *
 * @module
 */
import { type Environment, individualFromGroups, type Policy } from "./env.ts";

/** An individual's pole length (Gym's half-length, m) and push force (N). */
export interface CartPoleParams {
  /** Pole half-length, metres. */
  readonly length: number;
  /** Push force magnitude, newtons. */
  readonly force: number;
}

/** The three settings of Table 2, each a population of three environments (force/length read). */
export const CARTPOLE_SETTINGS: Readonly<Record<"A" | "B" | "C", Readonly<Record<string, CartPoleParams>>>> = Object
  .freeze({
    A: {
      "f2-l0.85": { force: 2, length: 0.85 },
      "f5-l0.85": { force: 5, length: 0.85 },
      "f10-l0.85": { force: 10, length: 0.85 },
    },
    B: {
      "f5-l0.15": { force: 5, length: 0.15 },
      "f5-l0.5": { force: 5, length: 0.5 },
      "f5-l0.85": { force: 5, length: 0.85 },
    },
    C: {
      "f2-l0.15": { force: 2, length: 0.15 },
      "f10-l0.85": { force: 10, length: 0.85 },
      "f5-l0.5": { force: 5, length: 0.5 },
    },
  });

/** Options of {@linkcode createCartPoleEnv}. */
export interface CartPoleOptions {
  /** A setting of Table 2, or explicit groups. @default "A" */
  readonly setting?: "A" | "B" | "C" | Readonly<Record<string, CartPoleParams>>;
  /** Step cap. @default 300 */
  readonly horizon?: number;
  /** Probability of a uniformly random action in the behaviour policy. @default 0 */
  readonly epsilon?: number;
  /** Discount used when learning (Table 2 reports undiscounted steps). @default 0.99 */
  readonly discount?: number;
}

const GRAVITY = 9.8, MASS_CART = 1.0, MASS_POLE = 0.1, TOTAL_MASS = MASS_CART + MASS_POLE, TAU = 0.02;
const THETA_LIMIT = 12 * 2 * Math.PI / 360, X_LIMIT = 2.4;

/** One Euler step of the cart-pole equations (Gym `CartPoleEnv.step`). Pure. */
export function cartPoleDynamics(s: ArrayLike<number>, action: number, p: CartPoleParams): Float64Array {
  const [x, xDot, theta, thetaDot] = [s[0], s[1], s[2], s[3]];
  const force = action === 1 ? p.force : -p.force;
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const poleMassLength = MASS_POLE * p.length;
  const temp = (force + poleMassLength * thetaDot * thetaDot * sin) / TOTAL_MASS;
  const thetaAcc = (GRAVITY * sin - cos * temp) / (p.length * (4 / 3 - MASS_POLE * cos * cos / TOTAL_MASS));
  const xAcc = temp - poleMassLength * thetaAcc * cos / TOTAL_MASS;
  return Float64Array.of(x + TAU * xDot, xDot + TAU * xAcc, theta + TAU * thetaDot, thetaDot + TAU * thetaAcc);
}

/** Whether a cart-pole state is beyond the limits (|x| > 2.4 or |theta| > 12 degrees). */
export function cartPoleFailed(s: ArrayLike<number>): boolean {
  return s[0] < -X_LIMIT || s[0] > X_LIMIT || s[2] < -THETA_LIMIT || s[2] > THETA_LIMIT;
}

/** Heterogeneous CartPole of P4L section 6.2. */
export function createCartPoleEnv(options: CartPoleOptions = {}): Environment<Float64Array, CartPoleParams> {
  const setting = options.setting ?? "A";
  const table = typeof setting === "string" ? CARTPOLE_SETTINGS[setting] : setting;
  if (!table) {
    throw new RangeError(`cartpole: unknown setting ${JSON.stringify(setting)}; use "A", "B", "C" or explicit groups`);
  }
  for (const [g, p] of Object.entries(table)) {
    if (!(p.length > 0)) throw new RangeError(`cartpole: group ${g} has length ${p.length}; lengths must be positive`);
    if (!(p.force > 0)) throw new RangeError(`cartpole: group ${g} has force ${p.force}; forces must be positive`);
  }
  const horizon = options.horizon ?? 300;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`cartpole: horizon must be an integer >= 1, got ${horizon}`);
  }
  const epsilon = options.epsilon ?? 0;
  if (!(epsilon >= 0 && epsilon <= 1)) throw new RangeError(`cartpole: epsilon must be in [0, 1], got ${epsilon}`);
  const groups = Object.keys(table);
  if (groups.length === 0) throw new RangeError("cartpole: at least one group is needed");
  const behaviour: Policy = (obs) => {
    const greedy = obs[2] > 0 ? 1 : 0;
    return greedy === 1 ? [epsilon / 2, 1 - epsilon / 2] : [1 - epsilon / 2, epsilon / 2];
  };
  const env: Environment<Float64Array, CartPoleParams> = {
    name: "cartpole",
    featureNames: Object.freeze(["x", "x_dot", "theta", "theta_dot"]),
    numActions: 2,
    discount: options.discount ?? 0.99,
    horizon,
    groups: Object.freeze(groups),
    drawIndividual: (rng, group?: string) => individualFromGroups("cartpole", table, rng, group),
    reset: (rng) => Float64Array.from({ length: 4 }, () => rng.uniform() * 0.1 - 0.05),
    observe: (s) => Float64Array.from(s),
    observeInto(s, _ind, out, offset) {
      for (let j = 0; j < 4; j++) out[offset + j] = s[j];
    },
    step(_rng, ind, s, action) {
      const next = cartPoleDynamics(s, action, ind.params);
      return { state: next, reward: 1, terminal: cartPoleFailed(next) };
    },
    behaviourPolicy: () => behaviour,
  };
  return Object.freeze(env);
}
