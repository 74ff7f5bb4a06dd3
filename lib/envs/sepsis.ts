/**
 * The sepsis simulator of Oberst & Sontag, "Counterfactual Off-Policy Evaluation with Gumbel-Max
 * Structural Causal Models" (ICML 2019), with diabetes as a hidden indicator that changes the
 * dynamics: a natural heterogeneous population (two groups) for P4L's clinical application.
 *
 * State (all discrete): heart rate {0 low, 1 normal, 2 high}, systolic BP {0, 1, 2}, oxygen
 * saturation {0 low, 1 normal}, glucose {0 very low, 1 low, 2 normal, 3 high, 4 very high}, and the
 * on/off state of antibiotics, vasopressors and ventilation. Action index = 4 antibiotic +
 * 2 ventilation + vasopressors (8 actions). Rules, applied in this order each step:
 * - antibiotics on: HR high -> normal w.p. 0.5, BP high -> normal w.p. 0.5; switched off after
 *   being on: HR normal -> high w.p. 0.1, BP normal -> high w.p. 0.1;
 * - ventilation on: O2 low -> normal w.p. 0.7; switched off: O2 normal -> low w.p. 0.1;
 * - vasopressors on: non-diabetic BP up one level (low -> normal, normal -> high) w.p. 0.7;
 *   diabetic BP normal -> high w.p. 0.9, low -> normal w.p. 0.5, low -> high w.p. 0.4, and glucose
 *   up one w.p. 0.5; switched off: BP down one w.p. 0.1 (0.05 if diabetic);
 * - fluctuation of each vital not governed by a treatment rule this step: down one w.p. 0.1, up
 *   one w.p. 0.1 (glucose 0.3 / 0.3 if diabetic; glucose does not fluctuate while vasopressors
 *   are given).
 * Reward: -1 (death) when 3 or more of HR, BP, O2, glucose are abnormal; +1 (discharge) when none
 * is and no treatment is on; both end the episode. At most 20 steps (Oberst & Sontag).
 * Initial state: HR and BP w.p. (0.25, 0.5, 0.25), O2 (0.2, 0.8), glucose (0.05, 0.15, 0.6, 0.15,
 * 0.05) or, if diabetic, (0.01, 0.05, 0.15, 0.6, 0.19); treatments off; redrawn while absorbing.
 * P(diabetic) = 0.2 by default.
 *
 * The glucose rule: the published code caps a non-diabetic's upward glucose fluctuation at
 * level 1 (`min(1, glucose + 1)`), so a non-diabetic at normal glucose can only fall. That
 * `"original"` rule is the default (to match the published simulator); `"corrected"` caps at 4.
 *
 * The rules are re-implemented here from the published description and code's behaviour. Each
 * random event is a chance node (`Chooser`), so the same rules both sample a step and enumerate
 * the exact next-state distribution; value iteration over the full MDP (1440 states, diabetes
 * included, discount 0.99) gives the optimal policy, and the clinician is epsilon-soft around it
 * (epsilon 0.05), as in Oberst & Sontag's experiments.
 *
 * @module
 */
import type { Rng } from "../core/random.ts";
import type { Environment } from "./env.ts";

/** The simulator's state. */
export interface SepsisState {
  /** Heart rate level: 0 low, 1 normal, 2 high. */
  readonly heartRate: number;
  /** Systolic blood pressure level: 0 low, 1 normal, 2 high. */
  readonly systolicBp: number;
  /** Oxygen saturation level: 0 low, 1 normal. */
  readonly oxygen: number;
  /** Glucose level: 0 very low to 4 very high. */
  readonly glucose: number;
  /** 1 while antibiotics are on. */
  readonly antibiotics: number;
  /** 1 while vasopressors are on. */
  readonly vasopressors: number;
  /** 1 while on mechanical ventilation. */
  readonly ventilation: number;
  /** 1 for a diabetic patient (hidden from the record). */
  readonly diabetic: number;
}

/** Which glucose fluctuation rule (see the module doc). */
export type GlucoseRule = "original" | "corrected";

/** Treatments of an action index: 4 antibiotic + 2 ventilation + vasopressors. */
export function sepsisActionTreatments(
  action: number,
): { antibiotics: number; ventilation: number; vasopressors: number } {
  if (!Number.isInteger(action) || action < 0 || action > 7) {
    throw new RangeError(`sepsis: action must be an integer in [0, 8), got ${action}`);
  }
  return { antibiotics: action >> 2, ventilation: (action >> 1) & 1, vasopressors: action & 1 };
}

/** Number of abnormal vitals among HR, BP, O2 and glucose. */
export function sepsisAbnormalCount(s: SepsisState): number {
  return (s.heartRate !== 1 ? 1 : 0) + (s.systolicBp !== 1 ? 1 : 0) + (s.oxygen !== 1 ? 1 : 0) +
    (s.glucose !== 2 ? 1 : 0);
}

/** Reward of arriving in `s`: -1 death, +1 discharge, 0 otherwise. */
export function sepsisReward(s: SepsisState): number {
  const abnormal = sepsisAbnormalCount(s);
  if (abnormal >= 3) return -1;
  if (abnormal === 0 && !s.antibiotics && !s.vasopressors && !s.ventilation) return 1;
  return 0;
}

/**
 * One transition. `uniform` supplies the U(0, 1) draws in the published order, so the same
 * draws give the same outcome (and tests can script them).
 */
export function sepsisTransition(
  s: SepsisState,
  action: number,
  uniform: () => number,
  glucoseRule: GlucoseRule = "original",
): SepsisState {
  const choose = (probs: readonly number[]) => {
    const u = uniform();
    let c = 0;
    for (let k = 0; k < probs.length - 1; k++) {
      c += probs[k];
      if (u < c) return k;
    }
    return probs.length - 1;
  };
  return sepsisTransitionWith(s, action, choose, glucoseRule);
}

/**
 * A chance node: returns the index of the branch taken, branch k having probability `probs[k]`.
 * Sampling draws it; {@linkcode sepsisTransitionDistribution} enumerates every branch.
 */
export type Chooser = (probs: readonly number[]) => number;

/** The transition rules, with each random event decided by `choose` (branch 0 = the event happens). */
export function sepsisTransitionWith(
  s: SepsisState,
  action: number,
  choose: Chooser,
  glucoseRule: GlucoseRule = "original",
): SepsisState {
  const a = sepsisActionTreatments(action);
  const chance = (p: number) => choose([p, 1 - p]) === 0;
  let { heartRate, systolicBp, oxygen, glucose, antibiotics, vasopressors, ventilation } = s;
  const diabetic = s.diabetic;
  let hrFluct = true, bpFluct = true, o2Fluct = true, gluFluct = true;
  if (a.antibiotics) {
    antibiotics = 1;
    if (heartRate === 2 && chance(0.5)) heartRate = 1;
    if (systolicBp === 2 && chance(0.5)) systolicBp = 1;
    hrFluct = bpFluct = false;
  } else if (antibiotics) {
    if (heartRate === 1 && chance(0.1)) heartRate = 2;
    if (systolicBp === 1 && chance(0.1)) systolicBp = 2;
    antibiotics = 0;
    hrFluct = bpFluct = false;
  }
  if (a.ventilation) {
    ventilation = 1;
    if (oxygen === 0 && chance(0.7)) oxygen = 1;
    o2Fluct = false;
  } else if (ventilation) {
    if (oxygen === 1 && chance(0.1)) oxygen = 0;
    ventilation = 0;
    o2Fluct = false;
  }
  if (a.vasopressors) {
    vasopressors = 1;
    if (!diabetic) {
      if (chance(0.7)) {
        if (systolicBp === 0) systolicBp = 1;
        else if (systolicBp === 1) systolicBp = 2;
      }
    } else {
      if (systolicBp === 1) {
        if (chance(0.9)) systolicBp = 2;
      } else if (systolicBp === 0) {
        const k = choose([0.5, 0.4, 0.1]);
        if (k === 0) systolicBp = 1;
        else if (k === 1) systolicBp = 2;
      }
      if (chance(0.5)) glucose = Math.min(4, glucose + 1);
    }
    bpFluct = gluFluct = false;
  } else if (vasopressors) {
    if (chance(diabetic ? 0.05 : 0.1)) systolicBp = Math.max(0, systolicBp - 1);
    vasopressors = 0;
    bpFluct = false;
  }
  const fluctuate = (v: number, max: number, p: number, upCap = max) => {
    const k = choose([p, p, 1 - 2 * p]);
    if (k === 0) return Math.max(0, v - 1);
    if (k === 1) return Math.min(upCap, v + 1);
    return v;
  };
  if (hrFluct) heartRate = fluctuate(heartRate, 2, 0.1);
  if (bpFluct) systolicBp = fluctuate(systolicBp, 2, 0.1);
  if (o2Fluct) oxygen = fluctuate(oxygen, 1, 0.1);
  if (gluFluct) {
    glucose = diabetic ? fluctuate(glucose, 4, 0.3) : fluctuate(glucose, 4, 0.1, glucoseRule === "original" ? 1 : 4);
  }
  return { heartRate, systolicBp, oxygen, glucose, antibiotics, vasopressors, ventilation, diabetic };
}

/** A random start state (redrawn while absorbing), as Oberst & Sontag draw it. */
export function sepsisInitialState(rng: Rng, diabetic: number): SepsisState {
  for (;;) {
    const s: SepsisState = {
      heartRate: rng.categorical([0.25, 0.5, 0.25]),
      systolicBp: rng.categorical([0.25, 0.5, 0.25]),
      oxygen: rng.categorical([0.2, 0.8]),
      glucose: rng.categorical(diabetic ? [0.01, 0.05, 0.15, 0.6, 0.19] : [0.05, 0.15, 0.6, 0.15, 0.05]),
      antibiotics: 0,
      vasopressors: 0,
      ventilation: 0,
      diabetic,
    };
    if (sepsisReward(s) === 0) return s;
  }
}

/** Number of states of the full MDP (diabetes included): 3 HR x 3 BP x 2 O2 x 5 glucose x 2^3 treatments x 2. */
export const SEPSIS_NUM_STATES = 1440;
/** Number of actions (on/off of antibiotics, ventilation, vasopressors). */
export const SEPSIS_NUM_ACTIONS = 8;

/**
 * Index of a state in the full MDP: mixed radix, diabetes most significant, then antibiotics,
 * vasopressors, ventilation, HR, BP, O2, glucose (least significant).
 */
export function sepsisStateIndex(s: SepsisState): number {
  let i = s.diabetic;
  i = i * 2 + s.antibiotics;
  i = i * 2 + s.vasopressors;
  i = i * 2 + s.ventilation;
  i = i * 3 + s.heartRate;
  i = i * 3 + s.systolicBp;
  i = i * 2 + s.oxygen;
  return i * 5 + s.glucose;
}

/** Inverse of {@linkcode sepsisStateIndex}. */
export function sepsisStateFromIndex(index: number): SepsisState {
  if (!Number.isInteger(index) || index < 0 || index >= SEPSIS_NUM_STATES) {
    throw new RangeError(`sepsis: state index must be an integer in [0, ${SEPSIS_NUM_STATES}), got ${index}`);
  }
  let i = index;
  const glucose = i % 5;
  i = (i - glucose) / 5;
  const oxygen = i % 2;
  i = (i - oxygen) / 2;
  const systolicBp = i % 3;
  i = (i - systolicBp) / 3;
  const heartRate = i % 3;
  i = (i - heartRate) / 3;
  const ventilation = i % 2;
  i = (i - ventilation) / 2;
  const vasopressors = i % 2;
  i = (i - vasopressors) / 2;
  const antibiotics = i % 2;
  const diabetic = (i - antibiotics) / 2;
  return { heartRate, systolicBp, oxygen, glucose, antibiotics, vasopressors, ventilation, diabetic };
}

/**
 * The exact next-state distribution of `(s, action)`: every path through the chance nodes of
 * {@linkcode sepsisTransitionWith} is enumerated and the probabilities of paths reaching the same
 * state are added. Returned as next-state index -> probability (summing to 1).
 */
export function sepsisTransitionDistribution(
  s: SepsisState,
  action: number,
  glucoseRule: GlucoseRule = "original",
): Map<number, number> {
  const out = new Map<number, number>();
  const pending: number[][] = [[]];
  while (pending.length > 0) {
    const prefix = pending.pop()!;
    const taken: number[] = [];
    let prob = 1;
    const choose: Chooser = (probs) => {
      let k: number;
      if (taken.length < prefix.length) {
        k = prefix[taken.length];
      } else {
        k = probs.findIndex((p) => p > 0);
        for (let j = k + 1; j < probs.length; j++) if (probs[j] > 0) pending.push([...taken, j]);
      }
      taken.push(k);
      prob *= probs[k];
      return k;
    };
    const next = sepsisStateIndex(sepsisTransitionWith(s, action, choose, glucoseRule));
    out.set(next, (out.get(next) ?? 0) + prob);
  }
  return out;
}

/** The optimal policy of the full MDP (diabetes observed), as value iteration finds it. */
export interface SepsisOptimalSolution {
  /** V*(s) per state index (0 for absorbing states: their reward is paid on arrival). */
  readonly values: Float64Array;
  /** Q*(s, a), row-major [state][action]. */
  readonly qValues: Float64Array;
  /** Greedy action per state index (lowest index among ties). */
  readonly greedyActions: Int32Array;
  /** Discount factor of the solution. */
  readonly discount: number;
  /** Value-iteration sweeps done. */
  readonly iterations: number;
}

const solutionCache = new Map<string, SepsisOptimalSolution>();

/**
 * Value iteration over all 1440 states with exact transition probabilities. The reward +1 / -1
 * is paid on arriving in a discharge / death state, which is absorbing (no value beyond it), as
 * in Oberst & Sontag's MDP. Discount 0.99 as theirs. Cached per (rule, discount).
 */
export function solveSepsisMdp(
  options: { glucoseRule?: GlucoseRule; discount?: number; tolerance?: number } = {},
): SepsisOptimalSolution {
  const rule = options.glucoseRule ?? "original";
  const gamma = options.discount ?? 0.99;
  const tol = options.tolerance ?? 1e-10;
  if (!(gamma >= 0 && gamma < 1)) throw new RangeError(`solveSepsisMdp: discount must be in [0, 1), got ${gamma}`);
  const key = `${rule}:${gamma}:${tol}`;
  const cached = solutionCache.get(key);
  if (cached) return cached;
  const S = SEPSIS_NUM_STATES, A = SEPSIS_NUM_ACTIONS;
  const reward = new Float64Array(S);
  for (let i = 0; i < S; i++) reward[i] = sepsisReward(sepsisStateFromIndex(i));
  // Sparse transitions of non-absorbing states.
  const rows: { next: Int32Array; prob: Float64Array }[] = new Array(S * A);
  for (let i = 0; i < S; i++) {
    if (reward[i] !== 0) continue;
    const s = sepsisStateFromIndex(i);
    for (let a = 0; a < A; a++) {
      const dist = sepsisTransitionDistribution(s, a, rule);
      rows[i * A + a] = { next: Int32Array.from(dist.keys()), prob: Float64Array.from(dist.values()) };
    }
  }
  const values = new Float64Array(S);
  const qValues = new Float64Array(S * A);
  let iterations = 0;
  for (;;) {
    iterations++;
    let delta = 0;
    for (let i = 0; i < S; i++) {
      if (reward[i] !== 0) continue;
      let best = -Infinity;
      for (let a = 0; a < A; a++) {
        const { next, prob } = rows[i * A + a];
        let q = 0;
        for (let k = 0; k < next.length; k++) {
          const j = next[k];
          q += prob[k] * (reward[j] + (reward[j] === 0 ? gamma * values[j] : 0));
        }
        qValues[i * A + a] = q;
        if (q > best) best = q;
      }
      delta = Math.max(delta, Math.abs(best - values[i]));
      values[i] = best;
    }
    if (delta < tol || iterations >= 100_000) break;
  }
  const greedyActions = new Int32Array(S);
  for (let i = 0; i < S; i++) {
    let best = 0;
    for (let a = 1; a < A; a++) if (qValues[i * A + a] > qValues[i * A + best] + 1e-12) best = a;
    greedyActions[i] = best;
  }
  const solution = Object.freeze({ values, qValues, greedyActions, discount: gamma, iterations });
  solutionCache.set(key, solution);
  return solution;
}

/** An individual of the sepsis population: diabetic or not. */
export interface SepsisParams {
  /** 1 for a diabetic individual. */
  readonly diabetic: number;
}

/** Options of {@linkcode createSepsisEnv}. */
export interface SepsisOptions {
  /** Share of diabetics when a group is not named. @default 0.2 (Oberst & Sontag) */
  readonly diabetesProbability?: number;
  /** Step cap. @default 20 (Oberst & Sontag) */
  readonly horizon?: number;
  /** @default "original" */
  /** Which glucose transition rule to use (module doc). */
  readonly glucoseRule?: GlucoseRule;
  /** Probability mass the clinician spreads over the 7 non-optimal actions. @default 0.05 */
  readonly clinicianEpsilon?: number;
  /** Discount of evaluation and of the clinician's value iteration. @default 0.99 */
  readonly discount?: number;
}

/** The state behind an observation (`SEPSIS_FEATURES` order), with the hidden diabetes supplied. */
export function sepsisStateFromObservation(obs: ArrayLike<number>, diabetic: number): SepsisState {
  return {
    heartRate: obs[0],
    systolicBp: obs[1],
    oxygen: obs[2],
    glucose: obs[3],
    antibiotics: obs[4],
    vasopressors: obs[5],
    ventilation: obs[6],
    diabetic,
  };
}

/** Observed features: the vitals and treatments; diabetes stays hidden. */
export const SEPSIS_FEATURES: readonly string[] = Object.freeze([
  "heart_rate",
  "systolic_bp",
  "oxygen",
  "glucose",
  "antibiotics",
  "vasopressors",
  "ventilation",
]);

/**
 * The sepsis simulator as an environment: groups "diabetic" and "non-diabetic"; an episode ends
 * on death (-1) or discharge (+1), or after `horizon` steps with reward 0. The clinician
 * (behaviour policy) is epsilon-soft around the optimal policy of the full MDP, which sees
 * diabetes: the optimal action w.p. 1 - epsilon, each other action w.p. epsilon / 7, as in
 * Oberst & Sontag's experiments.
 */
export function createSepsisEnv(options: SepsisOptions = {}): Environment<SepsisState, SepsisParams> {
  const pDiabetes = options.diabetesProbability ?? 0.2;
  if (!(pDiabetes >= 0 && pDiabetes <= 1)) {
    throw new RangeError(`sepsis: diabetesProbability must be in [0, 1], got ${pDiabetes}`);
  }
  const horizon = options.horizon ?? 20;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`sepsis: horizon must be an integer >= 1, got ${horizon}`);
  }
  const rule = options.glucoseRule ?? "original";
  if (rule !== "original" && rule !== "corrected") {
    throw new RangeError(`sepsis: glucoseRule must be "original" or "corrected", got ${JSON.stringify(rule)}`);
  }
  const epsilon = options.clinicianEpsilon ?? 0.05;
  if (!(epsilon >= 0 && epsilon <= 1)) {
    throw new RangeError(`sepsis: clinicianEpsilon must be in [0, 1], got ${epsilon}`);
  }
  const discount = options.discount ?? 0.99;
  let solution: SepsisOptimalSolution | undefined;
  const groups = Object.freeze(["non-diabetic", "diabetic"]);
  const env: Environment<SepsisState, SepsisParams> = {
    name: "sepsis",
    featureNames: SEPSIS_FEATURES,
    numActions: SEPSIS_NUM_ACTIONS,
    discount,
    horizon,
    groups,
    drawIndividual(rng, group?: string) {
      if (group !== undefined && !groups.includes(group)) {
        throw new RangeError(`sepsis: unknown group ${JSON.stringify(group)}; groups are ${groups.join(", ")}`);
      }
      const diabetic = group === undefined ? (rng.uniform() < pDiabetes ? 1 : 0) : (group === "diabetic" ? 1 : 0);
      const g = diabetic ? "diabetic" : "non-diabetic";
      return { id: g, group: g, params: { diabetic } };
    },
    reset: (rng, ind) => sepsisInitialState(rng, ind.params.diabetic),
    observe: (s) =>
      Float64Array.of(s.heartRate, s.systolicBp, s.oxygen, s.glucose, s.antibiotics, s.vasopressors, s.ventilation),
    step(rng, _ind, s, action) {
      const next = sepsisTransition(s, action, () => rng.uniform(), rule);
      const reward = sepsisReward(next);
      return { state: next, reward, terminal: reward !== 0 };
    },
    behaviourPolicy(ind) {
      solution ??= solveSepsisMdp({ glucoseRule: rule, discount });
      const greedy = solution.greedyActions;
      const diabetic = ind.params.diabetic;
      return (obs) => {
        const i = sepsisStateIndex(sepsisStateFromObservation(obs, diabetic));
        const probs = new Array(SEPSIS_NUM_ACTIONS).fill(epsilon / (SEPSIS_NUM_ACTIONS - 1));
        probs[greedy[i]] = 1 - epsilon;
        return probs;
      };
    },
  };
  return Object.freeze(env);
}
