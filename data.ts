/**
 * The data layer: frozen MDP datasets over typed arrays, the kit's long CSV format (strict reader
 * and writer), preprocessing (imputation, splits by individual, normalisation, quantile bins,
 * batches), reward definitions, streaming MIMIC tables and OMG-RL's heparin cohort builder.
 *
 * @example A dataset from the long format, split by individual
 * ```ts
 * import { parseStepCsv, splitByIndividual, stepTableToDataset } from "./data.ts";
 * import assert from "node:assert/strict";
 * const rows = ["id,t,x,action,reward,done"];
 * for (let i = 0; i < 5; i++) rows.push(`p${i},0,1,0,0.5,0`, `p${i},1,2,1,1,0`, `p${i},2,3,,,1`);
 * const data = stepTableToDataset(parseStepCsv(rows.join("\n"), { source: "inline", numActions: 2 }));
 * assert.equal(data.size, 10);
 * const { train, test } = splitByIndividual(data, { trainFraction: 0.8, seed: 0 });
 * assert.equal(train.size + test.size, 10);
 * ```
 *
 * @module
 */
export {
  concatDatasets,
  createMdpDataset,
  type Episode,
  keepFeatures,
  listEpisodes,
  type MdpDataset,
  type MdpDatasetFields,
  selectIndividuals,
  selectTransitions,
  sliceEpisodes,
} from "./lib/data/dataset.ts";
export { datasetToStepTable, stepCount, type StepTable, stepTableToDataset } from "./lib/data/steps.ts";
export {
  type CsvReadOptions,
  type CsvStreamOptions,
  type CsvSubsampleOptions,
  decodeUtf8,
  formatStepCsv,
  isDecimal,
  parseStepCsv,
  readMdpCsv,
  readStepCsv,
  streamMdpCsv,
  subsampleMdpCsv,
  writeMdpCsv,
  writeStepCsv,
} from "./lib/data/csv.ts";
export {
  binToValue,
  denormalizeStates,
  dropSparseFeatures,
  epochBatches,
  fitNormalizer,
  fitQuantileBins,
  gatherBatch,
  knnImpute,
  type KnnImputeOptions,
  missingRates,
  normalizeDataset,
  type Normalizer,
  normalizeStates,
  type QuantileBins,
  sampleAndHold,
  sampleBatch,
  sampleIndices,
  selectFeatures,
  splitByIndividual,
  type SplitOptions,
  type TransitionBatch,
  valueToBin,
} from "./lib/data/preprocess.ts";
export { apttReward } from "./lib/data/rewards.ts";
export {
  detectMimicLayout,
  MIMIC_IV_COLUMNS,
  MimicInputError,
  type MimicLayout,
  type MimicPatient,
  type MimicReader,
  openMimic,
  readPatients,
  type StreamStats,
  streamTable,
} from "./lib/data/mimic_tables.ts";
export {
  buildHeparinCohort,
  type CohortStep,
  HEPARIN_ITEMS,
  HEPARIN_VARIABLES,
  type HeparinCohort,
  type HeparinCohortOptions,
  type HeparinVariable,
} from "./lib/data/heparin_cohort.ts";
export {
  buildSepsisCohort,
  SEPSIS_ANTIBIOTIC_PATTERN,
  SEPSIS_EXCLUDED_ROUTES,
  SEPSIS_FLUID_ITEMS,
  SEPSIS_URINE_ITEMS,
  SEPSIS_VARIABLES,
  SEPSIS_VASOPRESSORS,
  SEPSIS_VENT_ITEMS,
  type SepsisCohort,
  type SepsisCohortOptions,
  type SepsisVariable,
  type SepsisVasopressor,
  sirsCount,
  type SofaInputs,
  type SofaScore,
  sofaScore,
} from "./lib/data/sepsis_cohort.ts";
export { removeStaleTemps, writeFileAtomic, writeTextAtomic } from "./lib/util/files.ts";
export {
  applyPcaReduction,
  fitPcaReduction,
  type PcaOptions,
  type PcaReduction,
  pcaReductionFromJson,
  pcaReductionToJson,
} from "./lib/data/pca.ts";
