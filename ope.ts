/**
 * Off-policy evaluation on recorded data alone: a behaviour-policy model, linear fitted-Q
 * evaluation at its fixed point, per-decision weighted importance sampling and weighted doubly
 * robust estimates in log space, with effective sample sizes and bootstrap intervals over
 * individuals.
 *
 * @example The effective sample size of equal weights is their count
 * ```ts
 * import { OpeError } from "./ope.ts";
 * import { effectiveSampleSize } from "./core.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(effectiveSampleSize([0, 0, 0]) - 3) < 1e-12);
 * assert.ok(new OpeError("x") instanceof Error);
 * ```
 *
 * @module
 */
export {
  BEHAVIOUR_DEFAULTS,
  type BehaviourModel,
  type BehaviourOptions,
  evaluatePolicies,
  type EvaluationPolicy,
  fitBehaviourPolicy,
  fittedQEvaluationWeights,
  FQE_DEFAULTS,
  type FqeOptions,
  OPE_DEFAULTS,
  OpeError,
  type OpeOptions,
  type OpeRow,
  type OpeTable,
} from "./lib/algos/ope.ts";
