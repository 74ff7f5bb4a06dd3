/**
 * The papers' experiments on the simulators: OMG-RL's Figures 1-4, Table II and the main job;
 * P4L's Figure 1, Table 2 and Table 3 as shardable grids; the validation of off-policy
 * estimators against simulator ground truth. Each returns values and figures.
 *
 * @example The grids and their sizes
 * ```ts
 * import { P4L_GRIDS } from "./repro.ts";
 * import assert from "node:assert/strict";
 * const grid = P4L_GRIDS["p4l-fig1"];
 * assert.ok(grid.cells(grid.quick).length > 0);
 * ```
 *
 * @module
 */
export {
  type ComparisonRow,
  comparisonSummary,
  EVALUATION_SEEDS,
  HEPARIN_METHODS,
  type HeparinComparison,
  heparinComparison,
  type HeparinDiagnosis,
  heparinDiagnosis,
  heparinGreedyPolicy,
  heparinNetworkPolicy,
  heparinOmgRlRun,
  type HeparinSetup,
  heparinSetup,
  heparinTrueOutcome,
  OMG_RL_FULL,
  OMG_RL_MAIN,
  OMG_RL_QUICK,
  OMG_RL_REPRODUCTIONS,
  omgRlFigures,
  omgRlResolvedConfigs,
  type OmgRlSizes,
  omgRlSummaryMarkdown,
  type OmgRlUnit,
  type Progress,
  type Reproduction,
  runOmgRlMain,
  runOmgRlReproduction,
  runOmgRlUnit,
  type UnitClock,
} from "./lib/repro/omg_rl.ts";
export {
  assembleP4lGrid,
  type Comparison,
  comparisonConfigs,
  type ComparisonSizes,
  fitP4lComparison,
  type GridCell,
  type GridCellResult,
  type GridSummary,
  type KChoice,
  P4L_CARTPOLE_ABLATION_FULL,
  P4L_CARTPOLE_ABLATION_QUICK,
  P4L_CONFLICT_FULL,
  P4L_CONFLICT_QUICK,
  P4L_FIG1_FULL,
  P4L_FIG1_QUICK,
  P4L_GRIDS,
  P4L_SEPSIS_GROUPS_FULL,
  P4L_SEPSIS_GROUPS_QUICK,
  P4L_TABLE2_FULL,
  P4L_TABLE2_QUICK,
  P4L_TABLE3_DATA_COLUMNS,
  P4L_TABLE3_DATA_FULL,
  P4L_TABLE3_DATA_QUICK,
  P4L_TABLE3_FULL,
  P4L_TABLE3_QUICK,
  type P4lCartPoleAblationSizes,
  type P4lConflictSizes,
  type P4lFig1Sizes,
  type P4lGrid,
  p4lGroupCountMarkdown,
  type P4lSepsisGroupsSizes,
  p4lSummaryMarkdown,
  type P4lTable2Sizes,
  p4lTable3DataFigures,
  p4lTable3DataGrid,
  type P4lTable3DataSizes,
  type P4lTable3Sizes,
  pairwiseAgreement,
  shardCells,
} from "./lib/repro/p4l.ts";
export {
  OPE_VALIDATION_ENVS,
  OPE_VALIDATION_FULL,
  OPE_VALIDATION_MAIN,
  OPE_VALIDATION_QUICK,
  opeValidationConfigs,
  type OpeValidationEnv,
  opeValidationMarkdown,
  type OpeValidationRow,
  type OpeValidationSizes,
  runOpeValidation,
} from "./lib/repro/ope.ts";
export { type Provenance, provenance, type RunRecord, runRecord } from "./lib/repro/record.ts";
