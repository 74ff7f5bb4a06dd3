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
 * The rules are re-implemented here from the published description and code's behaviour.
 *
 * @module
 */
import type { Rng } from "../core/random.ts";

/** The simulator's state. */
export interface SepsisState {
  readonly heartRate: number;
  readonly systolicBp: number;
  readonly oxygen: number;
  readonly glucose: number;
  readonly antibiotics: number;
  readonly vasopressors: number;
  readonly ventilation: number;
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
  const a = sepsisActionTreatments(action);
  let { heartRate, systolicBp, oxygen, glucose, antibiotics, vasopressors, ventilation } = s;
  const diabetic = s.diabetic;
  let hrFluct = true, bpFluct = true, o2Fluct = true, gluFluct = true;
  if (a.antibiotics) {
    antibiotics = 1;
    if (heartRate === 2 && uniform() < 0.5) heartRate = 1;
    if (systolicBp === 2 && uniform() < 0.5) systolicBp = 1;
    hrFluct = bpFluct = false;
  } else if (antibiotics) {
    if (heartRate === 1 && uniform() < 0.1) heartRate = 2;
    if (systolicBp === 1 && uniform() < 0.1) systolicBp = 2;
    antibiotics = 0;
    hrFluct = bpFluct = false;
  }
  if (a.ventilation) {
    ventilation = 1;
    if (oxygen === 0 && uniform() < 0.7) oxygen = 1;
    o2Fluct = false;
  } else if (ventilation) {
    if (oxygen === 1 && uniform() < 0.1) oxygen = 0;
    ventilation = 0;
    o2Fluct = false;
  }
  if (a.vasopressors) {
    vasopressors = 1;
    if (!diabetic) {
      if (uniform() < 0.7) {
        if (systolicBp === 0) systolicBp = 1;
        else if (systolicBp === 1) systolicBp = 2;
      }
    } else {
      if (systolicBp === 1) {
        if (uniform() < 0.9) systolicBp = 2;
      } else if (systolicBp === 0) {
        const u = uniform();
        if (u < 0.5) systolicBp = 1;
        else if (u < 0.9) systolicBp = 2;
      }
      if (uniform() < 0.5) glucose = Math.min(4, glucose + 1);
    }
    bpFluct = gluFluct = false;
  } else if (vasopressors) {
    if (uniform() < (diabetic ? 0.05 : 0.1)) systolicBp = Math.max(0, systolicBp - 1);
    vasopressors = 0;
    bpFluct = false;
  }
  const fluctuate = (v: number, max: number, p: number, upCap = max) => {
    const u = uniform();
    if (u < p) return Math.max(0, v - 1);
    if (u < 2 * p) return Math.min(upCap, v + 1);
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
