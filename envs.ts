/**
 * Simulators with a known ground truth, behind one interface: P4L's 2-D environment (section 6.1),
 * heterogeneous CartPole (section 6.2), Oberst & Sontag's sepsis simulator and the heparin cohort
 * calibrated to MIMIC-III; `simulate` records data under the behaviour policy, `evaluatePolicy`
 * values any policy by Monte Carlo on the true dynamics.
 *
 * @example Simulate P4L's environment and value a policy on the truth
 * ```ts
 * import { createP4lSimpleEnv, drawPopulation, evaluatePolicy, simulate } from "./envs.ts";
 * import { createRng } from "./core.ts";
 * import assert from "node:assert/strict";
 * const env = createP4lSimpleEnv();
 * const people = drawPopulation(env, createRng(0), 6, env.groups);
 * const data = simulate(env, { individuals: people, horizon: 10, seed: 1 });
 * assert.equal(data.size, 60);
 * const value = evaluatePolicy(env, () => [0.5, 0.5], { individuals: people, horizon: 10 });
 * assert.ok(Number.isFinite(value.overall.discounted.mean));
 * ```
 *
 * @module
 */
export {
  type BatchPolicy,
  type BatchPolicyContext,
  type BehaviourPolicy,
  drawPopulation,
  type Environment,
  episodeLengthOf,
  type EpisodeStep,
  type EvaluateOptions,
  evaluatePolicy,
  type Individual,
  individualFromGroups,
  type Policy,
  type PolicyChoice,
  type PolicyContext,
  type PolicyEvaluation,
  type RolloutPolicy,
  runEpisode,
  simulate,
  type SimulateOptions,
  type StepResult,
} from "./lib/envs/env.ts";
export {
  conflictGroupLabels,
  conflictMeanReward,
  conflictOracle,
  type ConflictOracleOptions,
  type ConflictParams,
  conflictPooledCandidates,
  createP4lConflictEnv,
  type GridSolution,
  P4L_CONFLICT_GROUPS,
  type P4lConflictOptions,
  solveConflictGrid,
} from "./lib/envs/p4l_conflict.ts";
export {
  createP4lSimpleEnv,
  P4L_SIMPLE_GROUPS,
  type P4lSimpleOptions,
  type SimpleEnvParams,
} from "./lib/envs/p4l_simple.ts";
export {
  CARTPOLE_SETTINGS,
  cartPoleDynamics,
  cartPoleFailed,
  type CartPoleOptions,
  type CartPoleParams,
  createCartPoleEnv,
} from "./lib/envs/cartpole.ts";
export {
  type Chooser,
  createSepsisEnv,
  type GlucoseRule,
  SEPSIS_FEATURES,
  SEPSIS_NUM_ACTIONS,
  SEPSIS_NUM_STATES,
  sepsisAbnormalCount,
  sepsisActionTreatments,
  sepsisInitialState,
  type SepsisOptimalSolution,
  type SepsisOptions,
  type SepsisParams,
  sepsisReward,
  type SepsisState,
  sepsisStateFromIndex,
  sepsisStateFromObservation,
  sepsisStateIndex,
  sepsisTransition,
  sepsisTransitionDistribution,
  sepsisTransitionWith,
  solveSepsisMdp,
} from "./lib/envs/sepsis.ts";
export {
  createHeparinEnv,
  drawHeparinPatient,
  HEPARIN_BIN_RATES,
  HEPARIN_CONTEXT_FEATURES,
  HEPARIN_DOSE_EDGES,
  HEPARIN_FEATURES,
  HEPARIN_POPULATION,
  HEPARIN_RECORD_FEATURES,
  HEPARIN_STATE_PRESETS,
  heparinDoseBin,
  type HeparinDripStats,
  heparinDripStats,
  heparinNomogram,
  type HeparinOptions,
  type HeparinOutcome,
  heparinOutcome,
  type HeparinParams,
  type HeparinPopulation,
  heparinRulePolicy,
  type HeparinState,
  type HeparinStatePreset,
  heparinStatePreset,
  type HeparinTrace,
  type LabPanel,
  MIMIC_DEMO_HEPARIN_STATS,
  traceHeparin,
} from "./lib/envs/heparin.ts";
