/**
 * OMG-RL (Lim & Lee): the probabilistic dynamics ensemble (section IV-A), the conservative
 * discrete soft actor-critic (eqs. 5-6), guided reward learning (eqs. 7-8), Algorithm 2's loop
 * with model rollouts (Algorithm 1), checkpoints, and behaviour cloning.
 *
 * @example A conservative discrete SAC step on a tiny batch
 * ```ts
 * import { createSacAgent, disposeSacAgent, sacUpdate } from "./omg_rl.ts";
 * import { createRng, initBackend } from "./core.ts";
 * import assert from "node:assert/strict";
 * await initBackend();
 * const agent = createSacAgent(createRng(0), 2, 3, { hiddenSizes: [8] });
 * const losses = sacUpdate(agent, {
 *   states: new Float32Array([0, 1, 1, 0]), actions: new Int32Array([0, 2]),
 *   rewards: new Float32Array([1, 0]), nextStates: new Float32Array([1, 0, 0, 1]),
 *   terminals: new Float32Array([0, 1]), dataRows: 1,
 * }, 0);
 * assert.ok(Number.isFinite(losses.criticLoss));
 * disposeSacAgent(agent);
 * ```
 *
 * @module
 */
export {
  disposeDynamics,
  DYNAMICS_DEFAULTS,
  type DynamicsConfig,
  type DynamicsCurves,
  dynamicsDone,
  dynamicsEpoch,
  dynamicsFromJson,
  type DynamicsJson,
  type DynamicsModel,
  dynamicsToJson,
  type DynamicsTraining,
  dynamicsVariables,
  finishDynamics,
  initDynamics,
  predictDynamics,
  resolveDynamicsConfig,
  trainDynamics,
} from "./lib/algos/dynamics.ts";
export {
  conservativePenalty,
  createSacAgent,
  disposeSacAgent,
  policyFromJson,
  type PolicyJson,
  policyLogProbabilities,
  policyProbabilities,
  policyToJson,
  resolveSacConfig,
  SAC_DEFAULTS,
  type SacAgent,
  type SacBatch,
  type SacConfig,
  type SacLosses,
  sacUpdate,
  sacVariables,
  validatePolicyJson,
} from "./lib/algos/sac.ts";
export {
  appendTrajectories,
  createRewardModel,
  guidedRewardUpdate,
  normalizedLogWeights,
  resolveRewardConfig,
  REWARD_DEFAULTS,
  type RewardConfig,
  type RewardLosses,
  type RewardModel,
  rewardValues,
  type TrajectoryBatch,
} from "./lib/algos/guided_reward.ts";
export {
  createOmgRlState,
  disposeOmgRl,
  evaluateInModel,
  expertTrajectories,
  mixedBatch,
  modelRollouts,
  OMG_RL_DEFAULTS,
  type OmgRlCheckpoint,
  omgRlCheckpoint,
  type OmgRlConfig,
  omgRlEpisode,
  type OmgRlEpisodeLog,
  type OmgRlEvaluation,
  omgRlPolicy,
  type OmgRlResolvedConfig,
  type OmgRlRunOptions,
  type OmgRlState,
  type PackedAdamState,
  type PackedParams,
  resolveOmgRlConfig,
  restoreOmgRl,
  rewardBatch,
  type RolloutBuffer,
  type Rollouts,
  runOmgRl,
  trajectoryLogProbs,
} from "./lib/algos/omg_rl.ts";
export {
  BC_DEFAULTS,
  type BcState,
  bcStep,
  type BehaviourCloningConfig,
  initBc,
  resolveBcConfig,
  trainBehaviourCloning,
} from "./lib/algos/bc.ts";
export {
  CQL_DEFAULTS,
  type CqlConfig,
  type CqlLosses,
  type CqlState,
  cqlStep,
  initCql,
  resolveCqlConfig,
  trainCql,
} from "./lib/algos/cql.ts";
