/**
 * Reward definitions read from recorded variables, shared by the MIMIC cohort builders and the
 * simulators (which import them from here, never from the MIMIC readers).
 *
 * - r_p, OMG-RL (Lim & Lee) section V-C, after Nemati et al. (2016): a smooth indicator of the
 *   aPTT therapeutic range 60-100 s.
 *
 * @module
 */
import { sigmoid } from "../core/numeric.ts";

/**
 * r_p of OMG-RL section V-C: 2 sigmoid(aPTT - 60) - 2 sigmoid(aPTT - 100) - 1, about +1 for
 * aPTT in 60-100 s and -1 outside.
 *
 * @param aptt Activated partial thromboplastin time, seconds.
 * @returns r_p in (-1, 1).
 *
 * @example
 * ```ts
 * import { apttReward } from "./rewards.ts";
 * import assert from "node:assert/strict";
 * assert.ok(apttReward(80) > 0.99 && apttReward(30) < -0.99);
 * ```
 */
export function apttReward(aptt: number): number {
  return 2 * sigmoid(aptt - 60) - 2 * sigmoid(aptt - 100) - 1;
}
