/**
 * The kit's core: the TensorFlow.js backend (wasm), the splittable seeded random stream, numerical
 * primitives (log-sum-exp, softmax, quantiles, effective sample size), dense layers, MLPs and
 * ensembles, Adam and `minimize` (named loss parts, a stop on non-finite losses), parameter files
 * and small dense linear algebra. The TensorFlow.js namespace itself is the `./tf` entry point.
 *
 * @example A seeded stream splits into independent named streams
 * ```ts
 * import { createRng, logSumExp } from "./core.ts";
 * import assert from "node:assert/strict";
 * const [a, b] = createRng(7).split(2);
 * assert.notEqual(a.uniform(), b.uniform());
 * assert.equal(createRng(7).split(2)[0].uniform(), createRng(7).split(2)[0].uniform());
 * assert.ok(Math.abs(logSumExp([1000, 1000]) - (1000 + Math.LN2)) < 1e-9);
 * ```
 *
 * @module
 */
export {
  type BackendName,
  type BackendOptions,
  type ComputePath,
  computePath,
  initBackend,
} from "./lib/core/backend.ts";
export { createRng, deriveSeeds, restoreRng, type Rng, type RngState } from "./lib/core/random.ts";
export {
  effectiveSampleSize,
  logSoftmaxInPlace,
  logSumExp,
  normalizeLogWeights,
  type QuantileMethod,
  quantiles,
  quantilesSorted,
  sigmoid,
  softmaxInPlace,
  summarize,
  type Summary,
} from "./lib/core/numeric.ts";
export { checkIntegers, checkInterval, recordDifferences, resolveConfig } from "./lib/core/config.ts";
export { type Activation, dense } from "./lib/core/dense.ts";
export {
  countParams,
  ensembleForward,
  type EnsembleParams,
  ensembleVariables,
  initEnsemble,
  initMlp,
  type MlpConfig,
  mlpForward,
  type MlpParams,
  mlpVariables,
} from "./lib/core/mlp.ts";
export {
  type Adam,
  type AdamConfig,
  type AdamState,
  createAdam,
  type LossParts,
  minimize,
  NonFiniteLossError,
  softUpdate,
} from "./lib/core/optim.ts";
export {
  loadParamsJson,
  loadParamsTfjs,
  type NamedVariables,
  namedVariables,
  paramsFromJson,
  type ParamsJson,
  paramsToJson,
  saveParamsJson,
  saveParamsTfjs,
} from "./lib/core/params.ts";
export { choleskySolver, crossProduct, ridgeRegression, solveLinear, solveSpd } from "./lib/core/linalg.ts";
/** TensorFlow.js types that appear in the kit's signatures (tensors, variables, ranks). */
export type { NamedTensorMap, Rank, Scalar, Tensor, Tensor1D, Tensor2D, Variable } from "@tensorflow/tfjs";
