/**
 * P4L's experiments (Miao, Shahbaba & Qu) as grids of independent cells, so that each can run
 * whole, or as shards on a scheduler and be collected:
 * - `p4l-fig1`: Figure 1, section 6.1's 2-D environment; a cell is one (N, T, repetition);
 * - `p4l-table2`: Table 2, heterogeneous CartPole; a cell is one (setting, repetition);
 * - `p4l-table3`: Table 3 and Figure 3, the sepsis population (diabetic and not); a cell is one
 *   repetition, valued both by a learned PerSim-style simulator (as the paper) and by the true
 *   simulator (which the paper could not);
 * and the kit's own experiments:
 * - `p4l-conflict`: a population whose groups need opposite actions (lib/envs/p4l_conflict.ts),
 *   with each group's oracle and the best pooled policy as references;
 * - `p4l-cartpole-ablation`: Table 2's setting A with raw against standardised features;
 * - `p4l-sepsis-groups`: section 5's K heuristic on the sepsis population as stays grow.
 * Every cell simulates its data, fits every method on the same RBF features (J = 16, K-means
 * centres, median bandwidth), and values each individual's policy by Monte Carlo on that
 * individual's own dynamics. `assembleP4lGrid` turns cell results (any order, any shards) into
 * the same `<id>.json` values and figures.
 *
 * Choices the paper leaves open, and departures, each with its reason:
 * - Table 2's behaviour policy sign(theta) is deterministic, which leaves every state with one
 *   action in the data; the kit mixes in uniform actions with probability `epsilon` (0.3) so
 *   that the alternative action is observed (offline learning has nothing to compare otherwise).
 *   Its learning discount (unstated) is 0.9; the table reports undiscounted steps played, from
 *   fresh start states of each individual's environment (the paper: "the starting states of
 *   these trajectories", drawn from the same uniform box).
 * - Table 3 runs on the sepsis simulator of Oberst & Sontag instead of MIMIC-III (no real data
 *   ships), with the paper's gamma = 0.8 and 1000 individuals per repetition, 5 repetitions; its
 *   clinician is the simulator's, epsilon-soft around the optimal policy that sees diabetes.
 *   Rewards are the simulator's (+1 discharge, -1 death) rather than -SOFA.
 * - Table 2 standardises the states before the RBF features (the paper: raw states): on raw
 *   CartPole states the median-distance bandwidth cannot resolve the pole angle, and every
 *   learner fell below the behaviour policy (measured by `p4l-cartpole-ablation`). Its P4L runs
 *   40 outer iterations (unstated in the paper).
 * - VL is given the true behaviour probabilities where the simulator knows them (Figure 1: 1/2;
 *   Table 2: the epsilon-mixed sign rule) and estimates them otherwise (Table 3, where the
 *   clinician depends on the hidden diabetes).
 *
 * @module
 */
import { createRng, deriveSeeds } from "../core/random.ts";
import {
  type BatchPolicy,
  drawPopulation,
  evaluatePolicy,
  type Policy,
  type RolloutPolicy,
  simulate,
} from "../envs/env.ts";
import { summarize } from "../core/numeric.ts";
import type { Environment, Individual } from "../envs/env.ts";
import { createP4lSimpleEnv } from "../envs/p4l_simple.ts";
import {
  conflictGroupLabels,
  conflictOracle,
  conflictPooledCandidates,
  createP4lConflictEnv,
} from "../envs/p4l_conflict.ts";
import { createCartPoleEnv } from "../envs/cartpole.ts";
import { createSepsisEnv, SEPSIS_FEATURES, sepsisReward, sepsisStateFromObservation } from "../envs/sepsis.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { type FeatureMap, fitRbfFeatures, RBF_DEFAULTS, type RbfOptions } from "../algos/features.ts";
import { fittedQIteration, greedyBatchPolicy, greedyPolicy, resolveFqiConfig } from "../algos/fqi.ts";
import { vLearning, VLEARNING_DEFAULTS, vLearningBatchPolicy, vLearningPolicy } from "../algos/vlearning.ts";
import { ACPI_DEFAULTS, acpiBatchPolicy, acpiPolicy, fitAcpi, resolveAcpiConfig } from "../algos/acpi.ts";
import { fitP4l, p4lBatchPolicy, p4lPolicy, type P4lStart, resolveP4lConfig } from "../algos/p4l.ts";
import { estimateGroupCount, GROUP_COUNT_DEFAULTS } from "../algos/group_count.ts";
import { createPersimEnv, fitPersonalisedSimulator, PERSIM_DEFAULTS } from "../algos/persim.ts";
import { createGaussianPersimEnv, fitGaussianPersim, GAUSSIAN_PERSIM_DEFAULTS } from "../algos/persim_gaussian.ts";
import { BEHAVIOUR_DEFAULTS, evaluatePolicies, fitBehaviourPolicy, OPE_DEFAULTS } from "../algos/ope.ts";
import { selectIndividuals } from "../data/dataset.ts";
import { type StepTable, stepTableToDataset } from "../data/steps.ts";
import { applyPcaReduction, fitPcaReduction } from "../data/pca.ts";
import { resolveConfig } from "../core/config.ts";
import { boxFigure, type Figure, tableFigure } from "../plots/figures.ts";

/** P4L's K: a number of subgroups, or "auto" (section 5's heuristic). */
export type KChoice = number | "auto";

/** Settings of the method comparison inside one cell. */
export interface ComparisonSizes {
  /** The K values P4L is fitted with. */
  readonly ks: readonly KChoice[];
  /** P4L's outer iterations. */
  readonly p4lIterations: number;
  /** V-learning's ascent steps. */
  readonly vlSteps: number;
}

/** What the comparison fitted: each method's per-individual policy maker, and facts about the fits. */
export interface Comparison {
  /** Each method's policy maker: individual index to policy. */
  readonly policies: Record<string, (individual: number) => (state: ArrayLike<number>) => ArrayLike<number>>;
  /** The same policies, every individual's at once (for Monte Carlo valuation). */
  readonly batchPolicies: Record<string, BatchPolicy>;
  /** Facts about the fits (ACPI's clusters, the K chosen by the heuristic). */
  readonly facts: Record<string, number>;
}

/**
 * Fits FQI, VL, ACPI and P4L (each K of `sizes.ks`) on `data` and `features`. `behaviour` gives
 * VL the behaviour probabilities (estimated when omitted).
 */
export function fitP4lComparison(
  data: MdpDataset,
  features: FeatureMap,
  sizes: ComparisonSizes,
  options: { discount: number; seed: number; behaviour?: (state: ArrayLike<number>, action: number) => number },
): Comparison {
  const policies: Comparison["policies"] = {};
  const batchPolicies: Record<string, BatchPolicy> = {};
  const facts: Record<string, number> = {};
  const seeds = deriveSeeds(options.seed, ["groupCount", "p4l"]);
  const q = fittedQIteration(data, features, { discount: options.discount });
  policies.FQI = () => greedyPolicy(q);
  batchPolicies.FQI = greedyBatchPolicy(q);
  const vl = vLearning(data, features, {
    discount: options.discount,
    behaviour: options.behaviour,
    steps: sizes.vlSteps,
  });
  policies.VL = () => vLearningPolicy(vl);
  batchPolicies.VL = vLearningBatchPolicy(vl);
  const acpi = fitAcpi(data, features, { discount: options.discount });
  policies.ACPI = (i) => acpiPolicy(acpi, i);
  batchPolicies.ACPI = acpiBatchPolicy(acpi);
  facts["ACPI clusters"] = acpi.clusters;
  facts["ACPI fallbacks"] = acpi.fallbacks;
  for (const k of sizes.ks) {
    let groups: number, start: P4lStart = {};
    if (k === "auto") {
      // The heuristic's clustering, not only its K, places the latents (P4lStart).
      const estimate = estimateGroupCount(data, { seed: seeds.groupCount });
      groups = estimate.groups;
      if (groups > 1) start = { assignments: estimate.assignments };
      facts["auto K"] = groups;
    } else {
      groups = k;
    }
    const model = fitP4l(data, features, {
      groups,
      seed: seeds.p4l,
      iterations: sizes.p4lIterations,
      discount: options.discount,
    }, start);
    const name = `P4L (K=${k === "auto" ? "Auto" : k})`;
    policies[name] = (i) => p4lPolicy(model, i);
    batchPolicies[name] = p4lBatchPolicy(model);
  }
  return { policies, batchPolicies, facts };
}

/** Mean discounted (or undiscounted) value per group of each method's policy. */
function valueMethods<S, P>(
  env: Environment<S, P>,
  individuals: readonly Individual<P>[],
  policies: Record<string, RolloutPolicy>,
  options: { trajectories: number; horizon: number; discount: number; seed: number; undiscounted?: boolean },
): Record<string, Record<string, number>> {
  const values: Record<string, Record<string, number>> = {};
  for (const [method, policy] of Object.entries(policies)) {
    const ev = evaluatePolicy(env, policy, { individuals, ...options });
    values[method] = Object.fromEntries(
      Object.entries(ev.perGroup).map((
        [g, s],
      ) => [g, options.undiscounted ? s.undiscounted.mean : s.discounted.mean]),
    );
  }
  return values;
}

/** One policy per individual, as one policy of the population (the context says who). */
const perIndividual = (make: (i: number) => Policy, count: number): Policy => {
  const policies = Array.from({ length: count }, (_, i) => make(i));
  return (o, c) => policies[c.individual](o, c);
};

/**
 * A grid cell's named seeds, split from one seed per cell (the cell's index and the grid's own
 * offset), so that no stream of one cell is another cell's or another purpose's.
 */
function cellSeeds(cell: GridCell, gridOffset: number) {
  return deriveSeeds(1000 * cell.index + gridOffset, [
    "population",
    "simulation",
    "features",
    "fit",
    "evaluation",
    "persim",
  ]);
}

/** One cell of a grid: its index, the setting it belongs to, and its repetition. */
export interface GridCell {
  /** Position in the grid (its seeds are split from it). */
  readonly index: number;
  /** Cells of one setting are summarised together (e.g. "N=30, T=50", "A"). */
  readonly setting: string;
  /** Repetition within its setting. */
  readonly repetition: number;
  /** Setting parameters (numbers or strings). */
  readonly params: Readonly<Record<string, number | string>>;
}

/** A cell's result: per method, per column (group or valuation), the value; plus fit facts. */
export interface GridCellResult {
  /** The cell. */
  readonly cell: GridCell;
  /** Per method, per group: the value. */
  readonly values: Record<string, Record<string, number>>;
  /** Facts about the fits. */
  readonly facts?: Record<string, number>;
}

/** An experiment as a grid. */
export interface P4lGrid<Sizes> {
  /** The grid's id (e.g. p4l-fig1). */
  readonly id: string;
  /** Its title. */
  readonly title: string;
  /** The paper's sizes. */
  readonly full: Sizes;
  /** CI sizes. */
  readonly quick: Sizes;
  /** The grid's cells at `sizes`. */
  cells(sizes: Sizes): GridCell[];
  /** Runs one cell. */
  run(cell: GridCell, sizes: Sizes): GridCellResult;
  /** "box": box plots per setting (Figures 1, 3); "table": mean +- s.e. tables (Tables 2, 3). */
  readonly figures: readonly ("box" | "table")[];
  /** Label of the value axis. */
  readonly valueLabel: string;
  /** The resolved config of every method the grid fits at `sizes` (every hyper-parameter). */
  config(sizes: Sizes): Record<string, unknown>;
}

/**
 * The resolved config of each method {@linkcode fitP4lComparison} fits at `sizes` and discount
 * `discount` (P4L's `groups` is the list of K tried).
 */
export function comparisonConfigs(
  sizes: ComparisonSizes,
  discount: number,
  features: RbfOptions = { centres: 16 },
): Record<string, unknown> {
  const { groups: _, ...p4l } = resolveP4lConfig({ groups: 1, iterations: sizes.p4lIterations, discount }, 1);
  return {
    features: resolveConfig("fitRbfFeatures", RBF_DEFAULTS, features),
    fqi: resolveFqiConfig({ discount }),
    vLearning: resolveConfig("vLearning", VLEARNING_DEFAULTS, { discount, steps: sizes.vlSteps }),
    acpi: resolveAcpiConfig({ discount }),
    groupCount: GROUP_COUNT_DEFAULTS,
    p4l: { ...p4l, groups: sizes.ks },
    // At K = auto the heuristic's clustering places P4L's starting latents (P4lStart).
    p4lStart: { auto: "groupCount assignments", fixed: "random" },
  };
}

// ---------------------------------------------------------------- Figure 1

/** Sizes of the Figure 1 grid. */
export interface P4lFig1Sizes extends ComparisonSizes {
  /** Individuals per group (N = 3 x this). */
  readonly perGroup: readonly number[];
  /** Trajectory lengths T. */
  readonly horizons: readonly number[];
  /** Repetitions of each setting. */
  readonly repetitions: number;
  /** Monte Carlo trajectories per individual (the paper: 1000 per group). */
  readonly trajectories: number;
}

/** The paper's grid: N in {30, 60}, T in {50, 100, 200}, K = 2..5 and auto, 50 repetitions. */
export const P4L_FIG1_FULL: P4lFig1Sizes = Object.freeze<P4lFig1Sizes>({
  perGroup: [10, 20],
  horizons: [50, 100, 200],
  repetitions: 50,
  ks: [2, 3, 4, 5, "auto"],
  trajectories: 100,
  p4lIterations: 60,
  vlSteps: 150,
});

/** CI sizes: one (N, T), two repetitions, K = 3 and auto. */
export const P4L_FIG1_QUICK: P4lFig1Sizes = Object.freeze<P4lFig1Sizes>({
  perGroup: [10],
  horizons: [50],
  repetitions: 2,
  ks: [3, "auto"],
  trajectories: 10,
  p4lIterations: 30,
  vlSteps: 40,
});

function gridCells(
  settings: readonly Record<string, number | string>[],
  label: (p: Record<string, number | string>) => string,
  repetitions: number,
): GridCell[] {
  const cells: GridCell[] = [];
  for (const params of settings) {
    for (let repetition = 0; repetition < repetitions; repetition++) {
      cells.push({ index: cells.length, setting: label(params), repetition, params });
    }
  }
  return cells;
}

const fig1: P4lGrid<P4lFig1Sizes> = {
  id: "p4l-fig1",
  title: "P4L Figure 1: the simple environment",
  full: P4L_FIG1_FULL,
  quick: P4L_FIG1_QUICK,
  figures: ["box"],
  valueLabel: "discounted value",
  config: (sizes) => comparisonConfigs(sizes, 0.8),
  cells: (sizes) =>
    gridCells(
      sizes.perGroup.flatMap((perGroup) => sizes.horizons.map((horizon) => ({ perGroup, horizon }))),
      (p) => `N=${3 * Number(p.perGroup)}, T=${p.horizon}`,
      sizes.repetitions,
    ),
  run(cell, sizes) {
    const perGroup = Number(cell.params.perGroup), horizon = Number(cell.params.horizon);
    const env = createP4lSimpleEnv({ horizon });
    const seeds = cellSeeds(cell, 17);
    const individuals = drawPopulation(env, createRng(seeds.population), 3 * perGroup, env.groups);
    const data = simulate(env, { individuals, horizon, seed: seeds.simulation });
    const features = fitRbfFeatures(data.states, 2, { centres: 16, seed: seeds.features });
    const cmp = fitP4lComparison(data, features, sizes, { discount: 0.8, seed: seeds.fit, behaviour: () => 0.5 });
    const policies = { ...cmp.batchPolicies, Behaviour: () => [0.5, 0.5] };
    const values = valueMethods(env, individuals, policies, {
      trajectories: sizes.trajectories,
      horizon,
      discount: 0.8,
      seed: seeds.evaluation,
    });
    return { cell, values, facts: cmp.facts };
  },
};

// ---------------------------------------------------------------- Table 2

/** Sizes of the Table 2 grid. */
export interface P4lTable2Sizes extends ComparisonSizes {
  /** CartPole settings (section 6.2). */
  readonly settings: readonly ("A" | "B" | "C")[];
  /** Offline trajectories per environment (the paper: 100). */
  readonly trajectories: number;
  /** Repetitions of each setting. */
  readonly repetitions: number;
  /** Probability of a uniform action mixed into sign(theta) (module doc). */
  readonly epsilon: number;
  /** Evaluation episodes per individual. */
  readonly evaluations: number;
}

/** The paper's sizes: settings A-C, 100 trajectories per environment, 50 repetitions. */
export const P4L_TABLE2_FULL: P4lTable2Sizes = Object.freeze<P4lTable2Sizes>({
  settings: ["A", "B", "C"],
  trajectories: 100,
  repetitions: 50,
  epsilon: 0.3,
  evaluations: 1,
  ks: [2, 3, 4, 5, "auto"],
  p4lIterations: 40,
  vlSteps: 60,
});

/** CI sizes: 20 trajectories per environment, one repetition per setting, K = 3 and auto. */
export const P4L_TABLE2_QUICK: P4lTable2Sizes = Object.freeze<P4lTable2Sizes>({
  settings: ["A", "B", "C"],
  trajectories: 10,
  repetitions: 1,
  epsilon: 0.3,
  evaluations: 1,
  ks: [3, "auto"],
  p4lIterations: 15,
  vlSteps: 15,
});

/**
 * Table 2's state features: the paper's 16 RBF centres, on standardised states (a departure: on
 * raw CartPole states the median-distance bandwidth cannot resolve the pole angle, and every
 * learner fell below the behaviour policy; docs/p4l.md has the measurements).
 */
const TABLE2_FEATURES: RbfOptions = Object.freeze({ centres: 16, standardize: true });

const table2: P4lGrid<P4lTable2Sizes> = {
  id: "p4l-table2",
  title: "P4L Table 2: heterogeneous CartPole (steps played)",
  full: P4L_TABLE2_FULL,
  quick: P4L_TABLE2_QUICK,
  figures: ["table", "box"],
  valueLabel: "steps played",
  config: (sizes) => comparisonConfigs(sizes, 0.9, TABLE2_FEATURES),
  cells: (sizes) =>
    gridCells(sizes.settings.map((setting) => ({ setting })), (p) => String(p.setting), sizes.repetitions),
  run(cell, sizes) {
    const setting = String(cell.params.setting) as "A" | "B" | "C";
    const env = createCartPoleEnv({ setting, epsilon: sizes.epsilon });
    const seeds = cellSeeds(cell, 29);
    const individuals = drawPopulation(env, createRng(seeds.population), 3 * sizes.trajectories, env.groups);
    const data = simulate(env, { individuals, seed: seeds.simulation });
    const features = fitRbfFeatures(data.states, 4, { ...TABLE2_FEATURES, seed: seeds.features });
    const eps = sizes.epsilon;
    const behaviour = (s: ArrayLike<number>, a: number) => ((s[2] > 0 ? 1 : 0) === a ? 1 - eps / 2 : eps / 2);
    const cmp = fitP4lComparison(data, features, sizes, { discount: 0.9, seed: seeds.fit, behaviour });
    const policies = { ...cmp.batchPolicies, Behaviour: "behaviour" as const };
    const values = valueMethods(env, individuals, policies, {
      trajectories: sizes.evaluations,
      horizon: 300,
      discount: 1,
      seed: seeds.evaluation,
      undiscounted: true,
    });
    return { cell, values, facts: cmp.facts };
  },
};

// ---------------------------------------------------------------- Table 3 / Figure 3

/** Sizes of the Table 3 grid. */
export interface P4lTable3Sizes extends ComparisonSizes {
  /** ICU admissions per repetition (the paper: 1000). */
  readonly individuals: number;
  /** Repetitions (the paper: 5 subsamples). */
  readonly repetitions: number;
  /** Monte Carlo trajectories per individual, in each simulator. */
  readonly trajectories: number;
  /** Rank and Adam steps of the PerSim-style simulator. */
  readonly persimRank: number;
  /** Adam steps of the PerSim-style simulator. */
  readonly persimSteps: number;
}

/** The paper's sizes: 1000 admissions, 5 repetitions, K by the heuristic. */
export const P4L_TABLE3_FULL: P4lTable3Sizes = Object.freeze<P4lTable3Sizes>({
  individuals: 1000,
  repetitions: 5,
  trajectories: 20,
  ks: ["auto"],
  p4lIterations: 40,
  vlSteps: 30,
  persimRank: 8,
  persimSteps: 400,
});

/** CI sizes: 150 admissions, one repetition. */
export const P4L_TABLE3_QUICK: P4lTable3Sizes = Object.freeze<P4lTable3Sizes>({
  individuals: 150,
  repetitions: 1,
  trajectories: 5,
  ks: ["auto"],
  p4lIterations: 15,
  vlSteps: 8,
  persimRank: 6,
  persimSteps: 150,
});

const SEPSIS_LEVELS = Object.freeze([3, 3, 2, 5, 2, 2, 2]);

const table3: P4lGrid<P4lTable3Sizes> = {
  id: "p4l-table3",
  title: "P4L Table 3 / Figure 3: the sepsis population, valued by a learned simulator and by the true one",
  full: P4L_TABLE3_FULL,
  quick: P4L_TABLE3_QUICK,
  figures: ["table", "box"],
  valueLabel: "discounted value (gamma = 0.8)",
  config: (sizes) => ({
    ...comparisonConfigs(sizes, 0.8),
    persim: resolveConfig("persim", PERSIM_DEFAULTS, { rank: sizes.persimRank, steps: sizes.persimSteps }),
  }),
  cells: (sizes) => gridCells([{ population: "sepsis" }], () => "sepsis", sizes.repetitions),
  run(cell, sizes) {
    const env = createSepsisEnv({ discount: 0.8 });
    const seeds = cellSeeds(cell, 41);
    const individuals = drawPopulation(env, createRng(seeds.population), sizes.individuals);
    const data = simulate(env, { individuals, seed: seeds.simulation });
    const features = fitRbfFeatures(data.states, data.stateDim, { centres: 16, seed: seeds.features });
    const cmp = fitP4lComparison(data, features, sizes, { discount: 0.8, seed: seeds.fit });
    const policies = { Clinician: "behaviour" as const, ...cmp.batchPolicies };
    // The PerSim-style simulator, learned from the same data; each individual starts from its recorded first state.
    const persim = fitPersonalisedSimulator(data, {
      levels: SEPSIS_LEVELS,
      rank: sizes.persimRank,
      steps: sizes.persimSteps,
      seed: seeds.persim,
    });
    const initialStates = individuals.map(() => new Float64Array(data.stateDim));
    const seen = new Set<number>();
    for (let r = 0; r < data.size; r++) {
      const i = data.individuals[r];
      if (!seen.has(i)) {
        seen.add(i);
        initialStates[i] = Float64Array.from(data.states.subarray(r * data.stateDim, (r + 1) * data.stateDim));
      }
    }
    const learned = createPersimEnv(persim, {
      initialStates,
      reward: (s) => sepsisReward(sepsisStateFromObservation(s, 0)),
      terminal: (_s, r) => r !== 0,
      horizon: env.horizon,
      discount: 0.8,
      featureNames: SEPSIS_FEATURES,
    });
    const opts = { trajectories: sizes.trajectories, horizon: env.horizon, discount: 0.8, seed: seeds.evaluation };
    const truth = valueMethods(env, individuals, policies, opts);
    // In the learned simulator the clinician acts on the simulated observation with its own
    // knowledge of the individual (diabetes), as on the true simulator.
    const clinicianOnObservations = (i: number): Policy => {
      const diabetic = individuals[i].params.diabetic;
      const clinician = env.behaviourPolicy(individuals[i]);
      return (o, c) => clinician(o, c, sepsisStateFromObservation(o, diabetic));
    };
    const estimated = valueMethods(
      learned,
      learned.individuals,
      { ...policies, Clinician: perIndividual(clinicianOnObservations, learned.individuals.length) },
      opts,
    );
    // Every individual has the same number of trajectories, so the population value is the
    // share-weighted mean of the group values.
    const share: Record<string, number> = {};
    for (const ind of individuals) share[ind.group] = (share[ind.group] ?? 0) + 1 / individuals.length;
    const values: Record<string, Record<string, number>> = {};
    for (const m of Object.keys(policies)) {
      values[m] = {
        "PerSim estimate": estimated[m].all,
        "true simulator": Object.entries(truth[m]).reduce((s, [g, v]) => s + v * share[g], 0),
        "true: diabetic": truth[m].diabetic ?? NaN,
        "true: non-diabetic": truth[m]["non-diabetic"] ?? NaN,
      };
    }
    return { cell, values, facts: { ...cmp.facts, "PerSim train NLL": persim.trainLoss } };
  },
};

// ---------------------------------------------------------------- Table 3 on a cohort (MIMIC)

/** Sizes of Table 3 on a recorded sepsis cohort (`deno task repro p4l-table3 --data sepsis.csv`). */
export interface P4lTable3DataSizes extends ComparisonSizes {
  /** Admissions per subsample (the paper: 1000); a smaller cohort is subsampled to `smallShare` of its stays. */
  readonly individuals: number;
  /** Share of a cohort no larger than `individuals` that each subsample keeps. */
  readonly smallShare: number;
  /** Subsamples (the paper: 5). */
  readonly repetitions: number;
  /** Principal components of the standardised variables kept beside SOFA (the paper: 10). */
  readonly components: number;
  /** Monte Carlo trajectories per admission in the learned simulator. */
  readonly trajectories: number;
  /** Rank of the Gaussian PerSim-style simulator. */
  readonly persimRank: number;
  /** Its full-batch Adam steps. */
  readonly persimSteps: number;
  /** Bootstrap resamples of the off-policy intervals. */
  readonly bootstrap: number;
}

/** The paper's sizes: 1000 admissions, 5 subsamples, 10 components, K by the heuristic. */
export const P4L_TABLE3_DATA_FULL: P4lTable3DataSizes = Object.freeze<P4lTable3DataSizes>({
  individuals: 1000,
  smallShare: 0.8,
  repetitions: 5,
  components: 10,
  trajectories: 20,
  ks: ["auto"],
  p4lIterations: 40,
  vlSteps: 30,
  persimRank: 8,
  persimSteps: 400,
  bootstrap: 200,
});

/** CI sizes: 2 subsamples, fewer steps. */
export const P4L_TABLE3_DATA_QUICK: P4lTable3DataSizes = Object.freeze<P4lTable3DataSizes>({
  ...P4L_TABLE3_DATA_FULL,
  repetitions: 2,
  trajectories: 5,
  p4lIterations: 15,
  vlSteps: 8,
  persimRank: 6,
  persimSteps: 150,
  bootstrap: 50,
});

/** The columns of Table 3 on a cohort: the learned simulator's value and the off-policy estimates. */
export const P4L_TABLE3_DATA_COLUMNS: readonly string[] = Object.freeze([
  "PerSim estimate",
  "OPE: FQE",
  "FQE 95% low",
  "FQE 95% high",
  "OPE: WDR",
  "OPE: WIS",
]);

/**
 * Table 3 on a recorded sepsis cohort (`deno task cohort sepsis`): each cell is one subsample
 * of admissions. In it the paper's state reduction is fitted (top `components` principal
 * components of the standardised variables, plus SOFA), FQI, VL, ACPI and P4L are fitted on RBF
 * features of the reduced state (16 centres, standardised), and each method is valued two ways:
 * in a Gaussian PerSim-style simulator learned from the same subsample (each admission from its
 * recorded first state for its recorded number of steps, reward -SOFA of the drawn next state,
 * SOFA rounded and clipped to [0, 24]; the clinicians act by the behaviour policy estimated from
 * the data), as the paper; and by the kit's off-policy estimators on the recorded stays (FQE,
 * WDR, WIS with the same estimated behaviour policy; bootstrap intervals over admissions). For
 * the clinicians, every off-policy column holds the recorded discounted return and its interval.
 * A cohort no larger than `individuals` is subsampled to `smallShare` of its stays, so that the
 * subsamples differ (the paper subsamples 1000 of 16,356).
 */
export function p4lTable3DataGrid(cohort: StepTable, source: string): P4lGrid<P4lTable3DataSizes> {
  const full = stepTableToDataset(cohort);
  if (!full.featureNames.includes("sofa")) {
    throw new RangeError(`${source}: no "sofa" column (expected a cohort from deno task cohort sepsis)`);
  }
  if (full.individualIds.length < 10) {
    throw new RangeError(`${source}: ${full.individualIds.length} admissions; Table 3 needs at least 10`);
  }
  return {
    ...table3DataShape(source),
    config: (sizes) => ({
      ...comparisonConfigs(sizes, 0.8, TABLE3_DATA_FEATURES),
      pca: { components: sizes.components, keep: ["sofa"] },
      persim: resolveConfig("fitGaussianPersim", GAUSSIAN_PERSIM_DEFAULTS, {
        rank: sizes.persimRank,
        steps: sizes.persimSteps,
      }),
      behaviour: BEHAVIOUR_DEFAULTS,
      ope: resolveConfig("evaluatePolicies", OPE_DEFAULTS, { discount: 0.8, bootstrap: sizes.bootstrap }),
      source,
      admissions: full.individualIds.length,
    }),
    run(cell, sizes) {
      const seeds = cellSeeds(cell, 71);
      const N = full.individualIds.length;
      const take = N > sizes.individuals ? sizes.individuals : Math.max(10, Math.floor(sizes.smallShare * N));
      const chosen = Array.from(createRng(seeds.population).permutation(N).subarray(0, take)).sort((a, b) => a - b);
      const raw = selectIndividuals(full, chosen);
      const components = Math.min(sizes.components, raw.stateDim - 1);
      const pca = fitPcaReduction(raw, { components, keep: ["sofa"] });
      const data = applyPcaReduction(pca, raw);
      const features = fitRbfFeatures(data.states, data.stateDim, { ...TABLE3_DATA_FEATURES, seed: seeds.features });
      const cmp = fitP4lComparison(data, features, sizes, { discount: 0.8, seed: seeds.fit });
      const behaviour = fitBehaviourPolicy(data, features, { seed: seeds.fit });
      // The learned simulator: each admission from its first recorded state, for its recorded steps.
      const D = data.stateDim, sofa = D - 1;
      const initialStates = data.individualIds.map(() => new Float64Array(D));
      const lengths = data.individualIds.map(() => 0);
      for (let r = 0; r < data.size; r++) {
        const i = data.individuals[r];
        if (lengths[i]++ === 0) initialStates[i] = Float64Array.from(data.states.subarray(r * D, (r + 1) * D));
      }
      const persim = fitGaussianPersim(data, { rank: sizes.persimRank, steps: sizes.persimSteps, seed: seeds.persim });
      const learned = createGaussianPersimEnv(persim, {
        initialStates,
        lengths,
        reward: (next) => -Math.round(next[sofa]),
        terminal: () => false,
        horizon: Math.max(...lengths),
        discount: 0.8,
        featureNames: data.featureNames,
        clip: Array.from({ length: D }, (_, d) => (d === sofa ? [0, 24] as const : undefined)),
      });
      const clinician: Policy = (o) => behaviour.probabilities(o);
      const policies: Record<string, RolloutPolicy> = { Clinician: clinician, ...cmp.batchPolicies };
      const estimated = valueMethods(learned, learned.individuals, policies, {
        trajectories: sizes.trajectories,
        horizon: learned.horizon,
        discount: 0.8,
        seed: seeds.evaluation,
      });
      // Off-policy, on the recorded stays: each method's policy as its admission's own.
      const perAdmission = (make: (i: number) => (s: ArrayLike<number>) => ArrayLike<number>) => {
        const cache = new Map<number, (s: ArrayLike<number>) => ArrayLike<number>>();
        return (s: ArrayLike<number>, i = 0) => {
          let p = cache.get(i);
          if (!p) cache.set(i, p = make(i));
          return p(s);
        };
      };
      const ope = evaluatePolicies(
        data,
        features,
        behaviour,
        Object.fromEntries(Object.entries(cmp.policies).map(([m, make]) => [m, perAdmission(make)])),
        { discount: 0.8, bootstrap: sizes.bootstrap, seed: seeds.evaluation, warn: () => {} },
      );
      const row = (policy: string, estimator: string) =>
        ope.rows.find((r) => r.policy === policy && r.estimator === estimator)!;
      const values: Record<string, Record<string, number>> = {};
      for (const m of Object.keys(policies)) {
        const [fqe, wdr, wis] = m === "Clinician"
          ? [0, 0, 0].map(() => row("clinicians (recorded)", "on-policy"))
          : [row(m, "FQE"), row(m, "WDR"), row(m, "WIS")];
        values[m] = {
          "PerSim estimate": estimated[m].all,
          "OPE: FQE": fqe.estimate,
          "FQE 95% low": fqe.lower,
          "FQE 95% high": fqe.upper,
          "OPE: WDR": wdr.estimate,
          "OPE: WIS": wis.estimate,
        };
      }
      return {
        cell,
        values,
        facts: {
          ...cmp.facts,
          admissions: take,
          "PCA variance explained": pca.explainedVariance.reduce((a, b) => a + b, 0),
          "PerSim train NLL": persim.trainLoss,
          "behaviour held-out log-loss": behaviour.heldOutLogLoss,
        },
      };
    },
  };
}

/** What {@linkcode p4lTable3DataGrid} is apart from its cohort: ids, sizes, cells and figures. */
function table3DataShape(source: string) {
  return {
    id: "p4l-table3-data",
    title: `P4L Table 3 on ${source.split("/").pop()}: valued by a learned simulator and off-policy`,
    full: P4L_TABLE3_DATA_FULL,
    quick: P4L_TABLE3_DATA_QUICK,
    figures: ["table", "box"] as const,
    valueLabel: "discounted value (gamma = 0.8)",
    cells: (sizes: P4lTable3DataSizes) => gridCells([{ cohort: source }], () => "cohort", sizes.repetitions),
  };
}

/**
 * The figures of a recorded `p4l-table3 --data` run (its cells, sizes and `config.data`),
 * without the cohort: what the notebook and the docs show.
 */
export function p4lTable3DataFigures(
  cells: readonly GridCellResult[],
  sizes: P4lTable3DataSizes,
  source: string,
): Figure[] {
  const grid: P4lGrid<P4lTable3DataSizes> = {
    ...table3DataShape(source),
    config: () => ({}),
    run: () => {
      throw new Error("p4lTable3DataFigures: a recorded run is only drawn, not rerun");
    },
  };
  return assembleP4lGrid(grid, cells, sizes).figures;
}

/** Table 3's features on a cohort: 16 RBF centres on the standardised reduced state (SOFA's scale is not the components'). */
const TABLE3_DATA_FEATURES: RbfOptions = Object.freeze({ centres: 16, standardize: true });

// ---------------------------------------------------------------- sepsis: how many groups?

/** Sizes of the sepsis group-count experiment. */
export interface P4lSepsisGroupsSizes {
  /** Numbers of admissions. */
  readonly admissions: readonly number[];
  /** Step caps of a stay (the simulator's default is 20; stays also end at discharge or death). */
  readonly horizons: readonly number[];
  /** Repetitions of each setting. */
  readonly repetitions: number;
}

/** 1000 and 4000 admissions, stays capped at 20 and 60 steps, 5 repetitions. */
export const P4L_SEPSIS_GROUPS_FULL: P4lSepsisGroupsSizes = Object.freeze({
  admissions: [1000, 4000],
  horizons: [20, 60],
  repetitions: 5,
});

/** CI sizes. */
export const P4L_SEPSIS_GROUPS_QUICK: P4lSepsisGroupsSizes = Object.freeze({
  admissions: [150],
  horizons: [20],
  repetitions: 1,
});

/** Share of pairs of individuals on which two labelings agree (same group in both, or in neither). */
export function pairwiseAgreement(a: ArrayLike<number | string>, b: ArrayLike<number | string>): number {
  const n = a.length;
  if (n !== b.length || n < 2) throw new RangeError("pairwiseAgreement: two labelings of the same >= 2 individuals");
  // Counts per cell of the contingency table: pairs together in both = sum C(n_ij, 2), etc.
  const joint = new Map<string, number>(), rows = new Map<string, number>(), cols = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const x = String(a[i]), y = String(b[i]);
    joint.set(`${x}\u0000${y}`, (joint.get(`${x}\u0000${y}`) ?? 0) + 1);
    rows.set(x, (rows.get(x) ?? 0) + 1);
    cols.set(y, (cols.get(y) ?? 0) + 1);
  }
  const pairs = (m: Map<string, number>) => [...m.values()].reduce((t, c) => t + c * (c - 1) / 2, 0);
  const both = pairs(joint), inA = pairs(rows), inB = pairs(cols), all = n * (n - 1) / 2;
  return (all - inA - inB + 2 * both) / all;
}

/**
 * Why section 5's heuristic finds one group among the sepsis population's diabetics and
 * non-diabetics: the K it picks, its best silhouette, and the pairwise agreement of its clusters
 * with the true groups, as the number of admissions and the length of stays grow.
 */
const sepsisGroups: P4lGrid<P4lSepsisGroupsSizes> = {
  id: "p4l-sepsis-groups",
  title: "Section 5's K heuristic on the sepsis population: more and longer stays",
  full: P4L_SEPSIS_GROUPS_FULL,
  quick: P4L_SEPSIS_GROUPS_QUICK,
  figures: ["table"],
  valueLabel: "K, silhouette, agreement",
  config: () => ({ groupCount: GROUP_COUNT_DEFAULTS }),
  cells: (sizes) =>
    gridCells(
      sizes.admissions.flatMap((admissions) => sizes.horizons.map((horizon) => ({ admissions, horizon }))),
      (p) => `${p.admissions} admissions, stays up to ${p.horizon} steps`,
      sizes.repetitions,
    ),
  run(cell, _sizes) {
    const horizon = Number(cell.params.horizon);
    const env = createSepsisEnv({ discount: 0.8, horizon });
    const seeds = cellSeeds(cell, 59);
    const individuals = drawPopulation(env, createRng(seeds.population), Number(cell.params.admissions));
    const data = simulate(env, { individuals, horizon, seed: seeds.simulation });
    const k = estimateGroupCount(data, { seed: seeds.fit });
    const truth = individuals.map((ind) => ind.group);
    const length = data.size / individuals.length;
    return {
      cell,
      values: {
        "K heuristic": {
          "K chosen": k.groups,
          "best silhouette (k >= 2)": Math.max(...k.silhouettes),
          "agreement with the true groups": pairwiseAgreement(k.assignments, truth),
          "mean stay (steps)": length,
        },
      },
      facts: {},
    };
  },
};

// ---------------------------------------------------------------- CartPole ablation

/** Sizes of the CartPole ablation: Table 2's setting A, raw against standardised features. */
export interface P4lCartPoleAblationSizes {
  /** Offline trajectories per environment. */
  readonly trajectories: number;
  /** Repetitions of each feature choice. */
  readonly repetitions: number;
  /** Probability of a uniform action mixed into sign(theta). */
  readonly epsilon: number;
  /** P4L's outer iterations. */
  readonly p4lIterations: number;
}

/** Table 2's sizes (100 trajectories per environment, 40 iterations), 10 repetitions. */
export const P4L_CARTPOLE_ABLATION_FULL: P4lCartPoleAblationSizes = Object.freeze({
  trajectories: 100,
  repetitions: 10,
  epsilon: 0.3,
  p4lIterations: 40,
});

/** CI sizes. */
export const P4L_CARTPOLE_ABLATION_QUICK: P4lCartPoleAblationSizes = Object.freeze({
  trajectories: 10,
  repetitions: 1,
  epsilon: 0.3,
  p4lIterations: 10,
});

/**
 * Why P4L fell below the behaviour policy on CartPole: a controlled experiment on Table 2's
 * setting A. Each cell fits FQI and P4L (K = 1, one latent for everyone, and K = 3, the true
 * number) on the same data, once with RBF features of the raw states (the paper's recipe as
 * written) and once with the states standardised first; P4L with the kit's mirror policy step and
 * with Algorithm 1's Adam policy step (also with three times the iterations); each P4L softmax
 * policy is also played greedily (its most likely action), to separate what its residual
 * randomness costs.
 */
const cartpoleAblation: P4lGrid<P4lCartPoleAblationSizes> = {
  id: "p4l-cartpole-ablation",
  title: "P4L on CartPole setting A: raw against standardised features",
  full: P4L_CARTPOLE_ABLATION_FULL,
  quick: P4L_CARTPOLE_ABLATION_QUICK,
  figures: ["table"],
  valueLabel: "steps played",
  config: (sizes) => ({
    features: {
      raw: resolveConfig("fitRbfFeatures", RBF_DEFAULTS, { centres: 16 }),
      standardised: resolveConfig("fitRbfFeatures", RBF_DEFAULTS, TABLE2_FEATURES),
    },
    fqi: resolveFqiConfig({ discount: 0.9 }),
    p4l: (({ groups: _, ...rest }) => rest)(
      resolveP4lConfig({ groups: 1, iterations: sizes.p4lIterations, discount: 0.9 }, 1),
    ),
    p4lGroups: [1, 3],
    // The rows "Adam policy step" override the p4l config's policyStep with Algorithm 1's.
    p4lPolicySteps: ["mirror", "gradient"],
  }),
  cells: (sizes) =>
    gridCells([{ features: "raw" }, { features: "standardised" }], (p) => `${p.features} features`, sizes.repetitions),
  run(cell, sizes) {
    const env = createCartPoleEnv({ setting: "A", epsilon: sizes.epsilon });
    // The same data in both feature settings of a repetition: seeds from the repetition only.
    const seeds = cellSeeds({ ...cell, index: cell.repetition }, 53);
    const individuals = drawPopulation(env, createRng(seeds.population), 3 * sizes.trajectories, env.groups);
    const data = simulate(env, { individuals, seed: seeds.simulation });
    const standardize = cell.params.features === "standardised";
    const features = fitRbfFeatures(data.states, 4, { ...TABLE2_FEATURES, standardize, seed: seeds.features });
    const q = fittedQIteration(data, features, { discount: 0.9 });
    const policies: Record<string, RolloutPolicy> = { FQI: greedyBatchPolicy(q), Behaviour: "behaviour" };
    // K = 1 and the true K at Table 2's budget with the kit's mirror policy step; the true K with
    // Algorithm 1's Adam policy step, also with three times the iterations.
    const greedy = (soft: BatchPolicy): BatchPolicy => ({
      batch: (o, c) => {
        const p = soft.batch(o, c);
        for (let r = 0; r < p.length / 2; r++) {
          const right = p[2 * r + 1] > p[2 * r] ? 1 : 0;
          p[2 * r] = 1 - right;
          p[2 * r + 1] = right;
        }
        return p;
      },
    });
    for (
      const [groups, iterations, policyStep, label] of [
        [1, sizes.p4lIterations, "mirror", "P4L (K=1)"],
        [3, sizes.p4lIterations, "mirror", "P4L (K=3)"],
        [3, sizes.p4lIterations, "gradient", "P4L (K=3), Adam policy step"],
        [3, 3 * sizes.p4lIterations, "gradient", "P4L (K=3), Adam policy step, 3x iterations"],
      ] as const
    ) {
      const model = fitP4l(data, features, { groups, seed: seeds.fit, iterations, discount: 0.9, policyStep });
      const soft = p4lBatchPolicy(model);
      policies[label] = soft;
      policies[`${label}, greedy`] = greedy(soft);
    }
    const values = valueMethods(env, individuals, policies, {
      trajectories: 1,
      horizon: 300,
      discount: 1,
      seed: seeds.evaluation,
      undiscounted: true,
    });
    return { cell, values, facts: {} };
  },
};

// ---------------------------------------------------------------- critic ablation (the kit's own)

/** Sizes of the critic ablation. */
export interface P4lCriticAblationSizes {
  /** Repetitions (fresh data each). */
  readonly repetitions: number;
  /** Outer iterations of every P4L fit. */
  readonly p4lIterations: number;
  /** Monte Carlo trajectories per individual. */
  readonly trajectories: number;
}

/** Ten repetitions at Figure 1's budget (60 iterations, 100 trajectories per individual). */
export const P4L_CRITIC_ABLATION_FULL: P4lCriticAblationSizes = Object.freeze({
  repetitions: 10,
  p4lIterations: 60,
  trajectories: 100,
});

/** CI sizes. */
export const P4L_CRITIC_ABLATION_QUICK: P4lCriticAblationSizes = Object.freeze({
  repetitions: 1,
  p4lIterations: 10,
  trajectories: 5,
});

/** The P4L variants the critic ablation fits: the paper's stochastic game, the neural class, the exact critic by lambda. */
// Every variant takes Algorithm 1's Adam policy step, so that only the critic differs (the mirror
// step, the kit's default with the exact critic, has its own measurement: p4l-cartpole-ablation).
const CRITIC_VARIANTS: readonly (readonly [string, Record<string, unknown>])[] = [
  ["P4L, stochastic critic, λ = 1", { critic: "stochastic", initialMultiplier: 1, policyStep: "gradient" }],
  ["P4L, neural class", { functionClass: "neural", policyStep: "gradient" }],
  ["P4L, exact critic, λ = 1", { critic: "exact", initialMultiplier: 1, policyStep: "gradient" }],
  ["P4L, exact critic, λ = 5", { critic: "exact", initialMultiplier: 5, policyStep: "gradient" }],
  ["P4L, exact critic, λ = 20 (default)", { critic: "exact", initialMultiplier: 20, policyStep: "gradient" }],
  ["P4L, exact critic, λ = 100", { critic: "exact", initialMultiplier: 100, policyStep: "gradient" }],
];

/**
 * What changed in P4L's optimiser, measured (docs/p4l.md): on section 6.1's environment at N = 30,
 * T = 50 and the true K = 3, Algorithm 1's three stochastic steps (f, Q, pi) against the exact
 * linear critic (both inner problems solved in closed form) at several lambda, the neural class,
 * and FQI for scale, all on the same data of each repetition.
 */
const criticAblation: P4lGrid<P4lCriticAblationSizes> = {
  id: "p4l-critic-ablation",
  title: "P4L's critic and lambda on the simple environment (N = 30, T = 50, K = 3)",
  full: P4L_CRITIC_ABLATION_FULL,
  quick: P4L_CRITIC_ABLATION_QUICK,
  figures: ["table"],
  valueLabel: "discounted value",
  config: (sizes) => ({
    features: resolveConfig("fitRbfFeatures", RBF_DEFAULTS, { centres: 16 }),
    fqi: resolveFqiConfig({ discount: 0.8 }),
    p4l: Object.fromEntries(CRITIC_VARIANTS.map(([label, o]) => [
      label,
      (({ groups: _, ...rest }) => rest)(
        resolveP4lConfig({ groups: 3, iterations: sizes.p4lIterations, discount: 0.8, ...o }, 3),
      ),
    ])),
  }),
  cells: (sizes) => gridCells([{ perGroup: 10, horizon: 50 }], () => "N=30, T=50, K=3", sizes.repetitions),
  run(cell, sizes) {
    const env = createP4lSimpleEnv({ horizon: 50 });
    const seeds = cellSeeds(cell, 61);
    const individuals = drawPopulation(env, createRng(seeds.population), 30, env.groups);
    const data = simulate(env, { individuals, horizon: 50, seed: seeds.simulation });
    const features = fitRbfFeatures(data.states, 2, { centres: 16, seed: seeds.features });
    const policies: Record<string, RolloutPolicy> = {
      FQI: greedyBatchPolicy(fittedQIteration(data, features, { discount: 0.8 })),
      Behaviour: () => [0.5, 0.5],
    };
    for (const [label, options] of CRITIC_VARIANTS) {
      const model = fitP4l(data, features, {
        groups: 3,
        seed: seeds.fit,
        iterations: sizes.p4lIterations,
        discount: 0.8,
        ...options,
      });
      policies[label] = p4lBatchPolicy(model);
    }
    const values = valueMethods(env, individuals, policies, {
      trajectories: sizes.trajectories,
      horizon: 50,
      discount: 0.8,
      seed: seeds.evaluation,
    });
    return { cell, values, facts: {} };
  },
};

// ---------------------------------------------------------------- conflicting groups (the kit's own)

/** Sizes of the conflicting-groups grid. */
export interface P4lConflictSizes extends ComparisonSizes {
  /** Population sizes N (groups in shares 45 / 40 / 15%). */
  readonly populations: readonly number[];
  /** Trajectory lengths T. */
  readonly horizons: readonly number[];
  /** Repetitions of each setting. */
  readonly repetitions: number;
  /** Monte Carlo trajectories per individual. */
  readonly trajectories: number;
}

/** Figure 1's sizes on the conflicting population: N = 60, T in {50, 200}, 50 repetitions. */
export const P4L_CONFLICT_FULL: P4lConflictSizes = Object.freeze<P4lConflictSizes>({
  populations: [60],
  horizons: [50, 200],
  repetitions: 50,
  ks: [2, 3, 4, 5, "auto"],
  trajectories: 100,
  p4lIterations: 60,
  vlSteps: 150,
});

/** CI sizes. */
export const P4L_CONFLICT_QUICK: P4lConflictSizes = Object.freeze<P4lConflictSizes>({
  populations: [20],
  horizons: [50],
  repetitions: 1,
  ks: [3],
  trajectories: 10,
  p4lIterations: 20,
  vlSteps: 20,
});

/** The per-group oracle and the pooled candidates, solved once per process (a few seconds). */
let conflictTruth: { oracle: ReturnType<typeof conflictOracle>; pooled: Record<string, Policy> } | null = null;

/**
 * A pooled policy fitted on plenty of data (600 individuals in the population's shares, 100 steps
 * each, 36 RBF centres): FQI's greedy policy, a strong candidate for the best pooled policy.
 */
function richPooledFqi(): Record<string, Policy> {
  const env = createP4lConflictEnv({ horizon: 100 });
  const individuals = drawPopulation(env, createRng(4301), 600, conflictGroupLabels(600));
  const data = simulate(env, { individuals, horizon: 100, seed: 4302 });
  const q = fittedQIteration(data, fitRbfFeatures(data.states, 2, { centres: 36, seed: 4303 }), { discount: 0.8 });
  const greedy = greedyPolicy(q);
  return { "pooled FQI on 60,000 rows": (o) => greedy(o) };
}

const conflict: P4lGrid<P4lConflictSizes> = {
  id: "p4l-conflict",
  title: "P4L on a population whose groups need opposite actions (the kit's own environment)",
  full: P4L_CONFLICT_FULL,
  quick: P4L_CONFLICT_QUICK,
  figures: ["box", "table"],
  valueLabel: "discounted value",
  config: (sizes) => comparisonConfigs(sizes, 0.8),
  cells: (sizes) =>
    gridCells(
      sizes.populations.flatMap((population) => sizes.horizons.map((horizon) => ({ population, horizon }))),
      (p) => `N=${p.population}, T=${p.horizon}`,
      sizes.repetitions,
    ),
  run(cell, sizes) {
    const N = Number(cell.params.population), horizon = Number(cell.params.horizon);
    const env = createP4lConflictEnv({ horizon });
    conflictTruth ??= { oracle: conflictOracle(), pooled: { ...conflictPooledCandidates(), ...richPooledFqi() } };
    const { oracle, pooled } = conflictTruth;
    const seeds = cellSeeds(cell, 43);
    const individuals = drawPopulation(env, createRng(seeds.population), N, conflictGroupLabels(N));
    const data = simulate(env, { individuals, horizon, seed: seeds.simulation });
    const features = fitRbfFeatures(data.states, 2, { centres: 16, seed: seeds.features });
    const cmp = fitP4lComparison(data, features, sizes, { discount: 0.8, seed: seeds.fit, behaviour: () => 0.5 });
    const policies: Record<string, RolloutPolicy> = {
      ...cmp.batchPolicies,
      Behaviour: () => [0.5, 0.5],
      Oracle: (o, c) => oracle[individuals[c.individual].group].policy(o, c),
    };
    const options = { trajectories: sizes.trajectories, horizon, discount: 0.8, seed: seeds.evaluation };
    const perGroup = valueMethods(env, individuals, policies, options);
    // ACPI's fusion strength decides its clusters, and no data-driven choice we tried tracks the
    // policies' value; beside the default, ACPI at the strength of its grid that is best on the
    // true simulator: an upper bound for the baseline, tuned with knowledge no method has.
    const strengths = ACPI_DEFAULTS.fusionGrid;
    const tuned = valueMethods(
      env,
      individuals,
      Object.fromEntries(
        strengths.map((
          fusion,
        ) => [String(fusion), acpiBatchPolicy(fitAcpi(data, features, { discount: 0.8, fusion }))]),
      ),
      options,
    );
    // The best pooled policy: the candidate with the highest population value, on the same streams.
    const candidates = valueMethods(env, individuals, pooled, options);
    const share: Record<string, number> = {};
    for (const ind of individuals) share[ind.group] = (share[ind.group] ?? 0) + 1 / N;
    const overall = (v: Record<string, number>) => Object.entries(v).reduce((t, [g, x]) => t + x * share[g], 0);
    const best = Object.keys(candidates).reduce((a, b) => (overall(candidates[b]) > overall(candidates[a]) ? b : a));
    perGroup["Best pooled"] = candidates[best];
    const bestFusion = Object.keys(tuned).reduce((a, b) => (overall(tuned[b]) > overall(tuned[a]) ? b : a));
    perGroup["ACPI (fusion tuned on the truth)"] = tuned[bestFusion];
    const values = Object.fromEntries(
      Object.entries(perGroup).map(([m, v]) => [m, { ...v, population: overall(v) }]),
    );
    const facts = {
      ...cmp.facts,
      "best pooled candidate": Object.keys(candidates).indexOf(best),
      "ACPI tuned fusion": Number(bestFusion),
    };
    return { cell, values, facts };
  },
};

/** The P4L grids by id: the paper's Figure 1, Tables 2 and 3, and the kit's own experiments. */
export const P4L_GRIDS: Readonly<Record<string, P4lGrid<any>>> = Object.freeze({
  "p4l-fig1": fig1,
  "p4l-table2": table2,
  "p4l-table3": table3,
  "p4l-conflict": conflict,
  "p4l-cartpole-ablation": cartpoleAblation,
  "p4l-sepsis-groups": sepsisGroups,
  "p4l-critic-ablation": criticAblation,
});

/** A grid's recorded summary: per setting, per method, per column, mean +- s.e. over repetitions. */
export type GridSummary = Record<string, Record<string, Record<string, { mean: number; se: number; n: number }>>>;

/** "mean ± se", "n/a" where no repetition gave a value, and "(k of n)" where only some did. */
function summaryCell(mean: number | null, se: number | null, count: number, of: number, digits: number): string {
  if (count === 0 || mean === null || !Number.isFinite(mean)) return "n/a";
  const text = `${mean.toFixed(digits)} ± ${(se ?? 0).toFixed(digits)}`;
  return count < of ? `${text} (${count} of ${of})` : text;
}

/**
 * Markdown tables of a grid's recorded values (what `assembleP4lGrid` put in `values`): one table
 * per setting, mean +- standard error over its repetitions, then the fits' facts. Where the grid
 * values an "Oracle" and a "Best pooled" policy (the conflicting-groups grid), a last column gives
 * the share of the gap between them each method recovers: (v - pooled) / (oracle - pooled) of the
 * population values.
 */
export function p4lSummaryMarkdown(
  values: { summary: GridSummary; facts?: Record<string, { mean: number; n: number }> },
  digits = 2,
): string {
  const out: string[] = [];
  for (const [setting, methods] of Object.entries(values.summary)) {
    const names = Object.keys(methods);
    const columns = Object.keys(methods[names[0]]);
    const n = methods[names[0]][columns[0]].n;
    const gap = "Oracle" in methods && "Best pooled" in methods && "population" in methods.Oracle;
    out.push(`**${setting}** (${n} repetition${n === 1 ? "" : "s"})`, "");
    out.push(`| method | ${columns.join(" | ")}${gap ? " | gap recovered |" : " |"}`);
    out.push(`| --- |${columns.map(() => " --- |").join("")}${gap ? " --- |" : ""}`);
    for (const m of names) {
      const cells = columns.map((c) => summaryCell(methods[m][c].mean, methods[m][c].se, methods[m][c].n, n, digits));
      if (gap) {
        const pooled = methods["Best pooled"].population.mean, oracle = methods.Oracle.population.mean;
        cells.push(`${(100 * (methods[m].population.mean - pooled) / (oracle - pooled)).toFixed(0)}%`);
      }
      out.push(`| ${m} | ${cells.join(" | ")} |`);
    }
    out.push("");
  }
  const facts = Object.entries(values.facts ?? {});
  if (facts.length > 0) {
    out.push(`Facts, mean over cells: ${facts.map(([k, f]) => `${k} ${Number(f.mean.toFixed(2))}`).join("; ")}.`, "");
  }
  return out.join("\n");
}

/** The P4L Figure 1 grid's cells (kept for scripts that name it). */
export const p4lFig1Cells = (sizes: P4lFig1Sizes): GridCell[] => fig1.cells(sizes);
/** Runs one Figure 1 cell. */
export const runP4lFig1Cell = (cell: GridCell, sizes: P4lFig1Sizes): GridCellResult => fig1.run(cell, sizes);

/** The cells of shard `i` of `n` (cell index modulo n): one shard per array index. */
export function shardCells(cells: readonly GridCell[], shard: number, shards: number): GridCell[] {
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new RangeError(`shard must be i/n with 0 <= i < n, got ${shard}/${shards}`);
  }
  return cells.filter((c) => c.index % shards === shard);
}

/** Cell results (any order, complete) to the experiment's values and figures. */
export function assembleP4lGrid<Sizes>(
  grid: P4lGrid<Sizes>,
  results: readonly GridCellResult[],
  sizes: Sizes,
): { values: Record<string, unknown>; figures: Figure[] } {
  const cells = grid.cells(sizes);
  const byIndex = new Map(results.map((r) => [r.cell.index, r]));
  const missing = cells.filter((c) => !byIndex.has(c.index)).map((c) => c.index);
  if (missing.length > 0) {
    throw new RangeError(
      `${grid.id}: missing cells ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}`,
    );
  }
  const ordered = cells.map((c) => byIndex.get(c.index)!);
  const figures: Figure[] = [];
  const summary: Record<string, Record<string, Record<string, { mean: number; se: number; n: number }>>> = {};
  const settings = [...new Set(cells.map((c) => c.setting))];
  const tableRows: string[][] = [];
  let header: string[] = [];
  for (const setting of settings) {
    const mine = ordered.filter((r) => r.cell.setting === setting);
    const methods = Object.keys(mine[0].values);
    const columns = Object.keys(mine[0].values[methods[0]]);
    summary[setting] = {};
    const boxes = [];
    for (const m of methods) {
      summary[setting][m] = {};
      const row = [setting, m];
      for (const g of columns) {
        const v = mine.map((r) => r.values[m][g]);
        // An undefined value (an off-policy estimate with no overlap) is left out and counted.
        const s = summarize(v.filter(Number.isFinite));
        const se = s.count > 1 ? s.standardError : 0;
        summary[setting][m][g] = { mean: s.mean, se, n: s.count };
        boxes.push({ method: m, group: g, values: v.filter(Number.isFinite) });
        row.push(summaryCell(s.mean, se, s.count, v.length, 2));
      }
      tableRows.push(row);
    }
    header = ["setting", "method", ...columns];
    if (grid.figures.includes("box")) {
      figures.push(boxFigure(`${grid.title}, ${setting}: over repetitions`, grid.valueLabel, boxes));
    }
  }
  if (grid.figures.includes("table")) {
    figures.unshift(tableFigure(`${grid.title}: mean ± standard error over repetitions`, header, tableRows));
  }
  const facts: Record<string, { mean: number; n: number }> = {};
  for (const r of ordered) {
    for (const [k, v] of Object.entries(r.facts ?? {})) {
      facts[k] ??= { mean: 0, n: 0 };
      facts[k].mean += v;
      facts[k].n++;
    }
  }
  for (const f of Object.values(facts)) f.mean /= f.n;
  return { values: { cells: ordered, summary, facts }, figures };
}

/**
 * How often section 5's heuristic chose each K, per setting, from a grid's recorded cells (their
 * `auto K` fact): the docs' "Choosing K" table, read from the record rather than typed.
 */
export function p4lGroupCountMarkdown(values: { cells: readonly GridCellResult[] }): string {
  const bySetting = new Map<string, number[]>();
  for (const c of values.cells) {
    const k = c.facts?.["auto K"];
    if (typeof k !== "number") continue;
    const list = bySetting.get(c.cell.setting) ?? [];
    list.push(k);
    bySetting.set(c.cell.setting, list);
  }
  if (bySetting.size === 0) throw new RangeError("p4lGroupCountMarkdown: the record's cells hold no auto K");
  const ks = [...new Set([...bySetting.values()].flat())].sort((a, b) => a - b);
  return [
    `| setting | repetitions | ${ks.map((k) => `K = ${k}`).join(" | ")} | mean K |`,
    `| --- | --- | ${ks.map(() => "---").join(" | ")} | --- |`,
    ...[...bySetting].map(([setting, list]) =>
      `| ${setting} | ${list.length} | ${ks.map((k) => list.filter((x) => x === k).length).join(" | ")} | ${
        (list.reduce((a, b) => a + b, 0) / list.length).toFixed(2)
      } |`
    ),
  ].join("\n");
}
