/**
 * P4L (Miao, Shahbaba & Qu): individual latent variables, the pessimistic Lagrangian dual and the
 * multi-centroid ADMM penalty (Algorithm 1), section 5's group-count heuristic, the PerSim-style
 * learned simulator, and the baselines FQI, V-learning and ACPI, over RBF or indicator features.
 *
 * @example Fitted-Q iteration on RBF features
 * ```ts
 * import { fittedQIteration, fitRbfFeatures, greedyPolicy } from "./p4l.ts";
 * import { createP4lSimpleEnv, drawPopulation, simulate } from "./envs.ts";
 * import { createRng } from "./core.ts";
 * import assert from "node:assert/strict";
 * const env = createP4lSimpleEnv();
 * const data = simulate(env, { individuals: drawPopulation(env, createRng(0), 9, env.groups), horizon: 20, seed: 1 });
 * const features = fitRbfFeatures(data.states, 2, { centres: 8, seed: 0 });
 * const q = fittedQIteration(data, features, { discount: 0.8 });
 * const probs = greedyPolicy(q)(Float64Array.of(0, 0));
 * assert.equal(probs.length, 2);
 * ```
 *
 * @module
 */
export {
  crossWithActions,
  type FeatureMap,
  fitRbfFeatures,
  levelFeatures,
  linearBatchPolicy,
  oneHotFeatures,
  RBF_DEFAULTS,
  type RbfFeatureMap,
  type RbfOptions,
} from "./lib/algos/features.ts";
export {
  fitSoftmaxRegression,
  SOFTMAX_REGRESSION_DEFAULTS,
  softmaxLogits,
  type SoftmaxRegressionOptions,
} from "./lib/algos/softmax_regression.ts";
export {
  fittedQIteration,
  FQI_DEFAULTS,
  type FqiOptions,
  type FqiState,
  fqiStep,
  greedyBatchPolicy,
  greedyPolicy,
  initFqi,
  type LinearQ,
  linearQValues,
  resolveFqiConfig,
} from "./lib/algos/fqi.ts";
export {
  admmCentroidStep,
  type CriticInputs,
  disposeP4l,
  exactCritic,
  fitP4l,
  initP4l,
  P4L_DEFAULTS,
  p4lAdmmStep,
  p4lBatchPolicy,
  type P4lConfig,
  p4lExactCriticStep,
  p4lFStep,
  p4lIteration,
  type P4lMetrics,
  p4lMirrorStep,
  type P4lModel,
  p4lModel,
  p4lMultiplierStep,
  type P4lParam,
  p4lPolicy,
  type P4lPolicyGradient,
  p4lPolicyGradient,
  p4lPolicyStep,
  type P4lProblem,
  p4lQStep,
  type P4lResolvedConfig,
  type P4lStart,
  type P4lState,
  resolveP4lConfig,
} from "./lib/algos/p4l.ts";
export {
  estimateGroupCount,
  GROUP_COUNT_DEFAULTS,
  type GroupCountEstimate,
  type GroupCountOptions,
  meanSilhouette,
} from "./lib/algos/group_count.ts";
export {
  createPersimEnv,
  finishPersim,
  fitPersonalisedSimulator,
  initPersim,
  type LearnedSimulatorEnv,
  learnedSimulatorEnv,
  PERSIM_DEFAULTS,
  type PersimEnvOptions,
  persimNextStateProbabilities,
  type PersimOptions,
  persimStep,
  type PersimTraining,
  type PersonalisedSimulator,
} from "./lib/algos/persim.ts";
export {
  createGaussianPersimEnv,
  fitGaussianPersim,
  GAUSSIAN_PERSIM_DEFAULTS,
  type GaussianPersim,
  gaussianPersimMoments,
  type GaussianPersimOptions,
} from "./lib/algos/persim_gaussian.ts";
export {
  initVLearning,
  vLearning,
  VLEARNING_DEFAULTS,
  vLearningBatchPolicy,
  vLearningGradient,
  type VLearningModel,
  vLearningObjective,
  type VLearningOptions,
  vLearningPolicy,
  type VLearningState,
  vLearningStep,
} from "./lib/algos/vlearning.ts";
export {
  ACPI_DEFAULTS,
  acpiBatchPolicy,
  type AcpiModel,
  type AcpiOptions,
  acpiPolicy,
  fitAcpi,
  resolveAcpiConfig,
} from "./lib/algos/acpi.ts";
