/**
 * OMG-RL's experiments (Lim & Lee, section V) on the kit's heparin cohort, where the paper used
 * MIMIC-III: Figure 1 (dynamics validation curves), Figures 2-3 (cumulative r_psi and r_p of the
 * learned policy over episodes, r_p both inside the model and on the true simulator), Table II
 * (expert-set size), Figure 4 (COMBO on r_p against OMG-RL on r_psi, both judged by r_psi), and,
 * beyond the paper, every policy's true time in range and r_p return beside the clinician's and
 * behaviour cloning's.
 *
 * This layer composes simulators, data and algorithms and returns plain values and figure JSON;
 * the command line (tasks/repro.ts) writes them.
 *
 * @module
 */
import { mlpForward, type MlpParams, mlpVariables } from "../core/mlp.ts";
import { createRng, deriveSeeds } from "../core/random.ts";
import { tf } from "../core/backend.ts";
import { keepFeatures, type MdpDataset, selectIndividuals } from "../data/dataset.ts";
import { fitNormalizer, normalizeDataset, type Normalizer, splitByIndividual } from "../data/preprocess.ts";
import { drawPopulation, type Individual, type Policy, simulate } from "../envs/env.ts";
import {
  createHeparinEnv,
  HEPARIN_RECORD_FEATURES,
  HEPARIN_STATE_PRESETS,
  type HeparinOutcome,
  heparinOutcome,
  type HeparinParams,
  heparinRulePolicy,
  type HeparinStatePreset,
  heparinStatePreset,
} from "../envs/heparin.ts";
import { type BehaviourCloningConfig, resolveBcConfig, trainBehaviourCloning } from "../algos/bc.ts";
import { type CqlConfig, resolveCqlConfig, trainCql } from "../algos/cql.ts";
import {
  disposeDynamics,
  type DynamicsConfig,
  type DynamicsCurves,
  type DynamicsModel,
  resolveDynamicsConfig,
  trainDynamics,
} from "../algos/dynamics.ts";
import {
  createOmgRlState,
  disposeOmgRl,
  modelRollouts,
  type OmgRlConfig,
  type OmgRlEvaluation,
  type OmgRlResolvedConfig,
  type OmgRlState,
  resolveOmgRlConfig,
  runOmgRl,
} from "../algos/omg_rl.ts";
import { policyProbabilities } from "../algos/sac.ts";
import { type RewardModel, rewardValues } from "../algos/guided_reward.ts";
import { barFigure, type Figure, lineFigure, tableFigure } from "../plots/figures.ts";
import { summarize } from "../core/numeric.ts";
import { recordDifferences } from "../core/config.ts";
import { writeTextAtomic } from "../util/files.ts";

/** Sizes of a reproduction. */
export interface OmgRlSizes {
  /** Simulated patients; 80% train (the expert trajectories), 20% validation. */
  readonly patients: number;
  /** Patients of the true-simulator evaluation. */
  readonly evalPatients: number;
  /** Seeds (independent runs). */
  readonly seeds: number;
  /** Overrides of the dynamics ensemble's config. */
  readonly dynamics: DynamicsConfig;
  /** Overrides of OMG-RL's config. */
  readonly omg: OmgRlConfig;
  /** Behaviour-cloning steps. */
  readonly bcSteps: number;
  /** Overrides of discrete CQL's config (the model-free offline baseline). */
  readonly cql?: CqlConfig;
  /** Table II's expert-set sizes. */
  readonly expertCounts: readonly number[];
}

/** The paper's sizes (Table I; section V). */
export const OMG_RL_FULL: OmgRlSizes = Object.freeze({
  patients: 625,
  evalPatients: 500,
  seeds: 3,
  dynamics: {},
  omg: { episodes: 200, evaluateEvery: 5 },
  bcSteps: 3000,
  cql: {},
  expertCounts: [100, 300, 500, 1000, 1500],
});

/** CI sizes: the same pipeline, small, each reproduction well under 2 minutes on 2 cores. */
export const OMG_RL_QUICK: OmgRlSizes = Object.freeze({
  patients: 100,
  evalPatients: 40,
  seeds: 2,
  dynamics: { hiddenSizes: [64, 64], maxEpochs: 25, members: 7, elites: 5 },
  omg: {
    episodes: 10,
    evaluateEvery: 5,
    criticSteps: 6,
    rewardSteps: 2,
    rolloutBatch: 32,
    rolloutHorizon: 10,
    batchSize: 128,
    rewardTrajectories: 16,
    evalStarts: 40,
    sac: { hiddenSizes: [64, 64] },
    reward: { hiddenSizes: [64, 64] },
  },
  bcSteps: 300,
  cql: { steps: 300, hiddenSizes: [64, 64] },
  expertCounts: [10, 30, 50],
});

/** The main job's sizes: a few minutes on 2 cores. */
export const OMG_RL_MAIN: OmgRlSizes = Object.freeze({
  patients: 400,
  evalPatients: 200,
  seeds: 1,
  dynamics: { maxEpochs: 15 },
  omg: { episodes: 60, evaluateEvery: 10, criticSteps: 15, rolloutBatch: 48 },
  bcSteps: 1500,
  cql: {},
  expertCounts: [],
});

/** Simulated cohort, split and normalised, with the state the paper uses. */
export interface HeparinSetup {
  /** Normalised training split (80% of patients). */
  readonly train: MdpDataset;
  /** Normalised validation split. */
  readonly validation: MdpDataset;
  /** The normaliser fitted on the training split. */
  readonly normalizer: Normalizer;
  /** Indices of the state features within the simulator's record (HEPARIN_RECORD_FEATURES). */
  readonly featureIndex: readonly number[];
  /** The evaluation patients of the true simulator. */
  readonly evalIndividuals: readonly Individual<HeparinParams>[];
}

/**
 * The seeds of the true-simulator evaluation, shared by every run and method on purpose (common
 * random numbers: the same evaluation patients and noise), so that differences between policies
 * are not differences between patient draws. Split from one documented seed.
 */
export const EVALUATION_SEEDS: Readonly<Record<"population" | "outcomes", number>> = deriveSeeds(7919, [
  "population",
  "outcomes",
]);

/** A reproduction run's named streams, all split from its one seed (never `seed + k`). */
function runSeeds(seed: number) {
  return deriveSeeds(seed, ["setup", "dynamics", "agent", "behaviourCloning", "rollouts", "cql"]);
}

/**
 * The resolved config of each algorithm a reproduction at `sizes` trains: the dynamics ensemble,
 * OMG-RL, COMBO (the same loop on the data's reward), behaviour cloning and discrete CQL.
 */
export function omgRlResolvedConfigs(sizes: OmgRlSizes): {
  dynamics: Readonly<Required<DynamicsConfig>>;
  omgRl: OmgRlResolvedConfig;
  combo: OmgRlResolvedConfig;
  behaviourCloning: Readonly<Required<BehaviourCloningConfig>>;
  cql: Readonly<Required<CqlConfig>>;
} {
  return {
    dynamics: resolveDynamicsConfig(sizes.dynamics),
    omgRl: resolveOmgRlConfig({ ...sizes.omg, rewardSource: "learned" }),
    combo: resolveOmgRlConfig({ ...sizes.omg, rewardSource: "data" }),
    behaviourCloning: resolveBcConfig(bcConfigOf(sizes)),
    cql: resolveCqlConfig(sizes.cql),
  };
}

/** Behaviour cloning's config at `sizes`: the SAC actor's shape. */
function bcConfigOf(sizes: OmgRlSizes): BehaviourCloningConfig {
  return { steps: sizes.bcSteps, hiddenSizes: sizes.omg.sac?.hiddenSizes };
}

/**
 * The cohort under the simulated clinician, split 8:2 by patient (OMG-RL V-B), states without
 * aPTT (and without the dose, which is the action) unless `stateFeatures` says otherwise.
 */
export function heparinSetup(
  patients: number,
  evalPatients: number,
  seed: number,
  stateFeatures: readonly string[] = HEPARIN_STATE_PRESETS.paper,
  options: { readonly reward?: "observed" | "true" } = {},
): HeparinSetup {
  // The reward of the records: r_p on the recorded (held) aPTT, as from an EHR; "true" scores
  // the noise-free aPTT instead (a controlled experiment only: no record holds it).
  const env = createHeparinEnv({ reward: options.reward ?? "observed" });
  const featureIndex = stateFeatures.map((f) => {
    const j = HEPARIN_RECORD_FEATURES.indexOf(f);
    if (j < 0) throw new RangeError(`heparin: unknown state feature ${JSON.stringify(f)}`);
    return j;
  });
  const seeds = deriveSeeds(seed, ["population", "simulation", "split"]);
  const people = drawPopulation(env, createRng(seeds.population), patients);
  const data = keepFeatures(simulate(env, { individuals: people, seed: seeds.simulation }), featureIndex);
  const { train, test } = splitByIndividual(data, { trainFraction: 0.8, seed: seeds.split });
  const normalizer = fitNormalizer(train);
  return {
    train: normalizeDataset(train, normalizer),
    validation: normalizeDataset(test, normalizer),
    normalizer,
    featureIndex,
    // The same evaluation patients for every seed and method (common random numbers).
    evalIndividuals: drawPopulation(env, createRng(EVALUATION_SEEDS.population), evalPatients),
  };
}

/** A network's softmax policy on the simulator's observations (selected and normalised). */
export function heparinNetworkPolicy(setup: HeparinSetup, actor: MlpParams): Policy {
  const K = setup.featureIndex.length;
  const { mean, std } = setup.normalizer;
  return (obs) => {
    const s = new Float32Array(K);
    for (let k = 0; k < K; k++) s[k] = (obs[setup.featureIndex[k]] - mean[k]) / std[k];
    return policyProbabilities(actor, s, K);
  };
}

/** True outcome of a policy on the evaluation patients (fixed seed: common random numbers). */
export function heparinTrueOutcome(setup: HeparinSetup, policy?: Policy): HeparinOutcome {
  const env = createHeparinEnv();
  return heparinOutcome(env, setup.evalIndividuals, {
    seed: EVALUATION_SEEDS.outcomes,
    policy: policy ?? "behaviour",
  });
}

/** One OMG-RL (or COMBO) run with evaluations on the true simulator at each evaluation point. */
export async function heparinOmgRlRun(
  setup: HeparinSetup,
  model: DynamicsModel,
  sizes: OmgRlSizes,
  seed: number,
  rewardSource: "learned" | "data",
  onEpisode?: (state: OmgRlState) => void | Promise<void>,
): Promise<OmgRlState> {
  const state = createOmgRlState(setup.train.stateDim, setup.train.numActions, { ...sizes.omg, rewardSource }, seed);
  return await runOmgRl(state, setup.train, model, {
    validation: setup.validation,
    evaluate: (s) => {
      const o = heparinTrueOutcome(setup, heparinNetworkPolicy(setup, s.agent.actor));
      return { trueRpReturn: o.rpReturn, trueTimeInRange: o.timeInRange };
    },
    onEpisode,
  });
}

/** Mean and standard error over seeds, pointwise (standard error 0 for a single seed). */
function meanSe(rows: readonly (readonly number[])[]): { mean: number[]; se: number[] } {
  const columns = rows[0].map((_, t) => summarize(rows.map((r) => r[t])));
  return { mean: columns.map((c) => c.mean), se: columns.map((c) => (c.count > 1 ? c.standardError : 0)) };
}

/** Result of a reproduction: values for `<id>.json`, figures for `<id>.html`. */
export interface Reproduction {
  /** The reproduction's id. */
  readonly id: string;
  /** Its title. */
  readonly title: string;
  /** The sizes it ran at. */
  readonly sizes: OmgRlSizes;
  /** The resolved config of every algorithm the reproduction trains (see {@linkcode omgRlResolvedConfigs}). */
  readonly config: ReturnType<typeof omgRlResolvedConfigs>;
  /** The seeds it ran. */
  readonly seeds: readonly number[];
  /** The values behind the figures. */
  readonly values: Record<string, unknown>;
  /** Its figures. */
  readonly figures: Figure[];
  /** Compute seconds of its units, kept ones included (absent where it runs no units). */
  readonly unitClock?: UnitClock;
}

/** Identifiers of OMG-RL's reproductions. */
export const OMG_RL_REPRODUCTIONS = [
  "omg-fig1",
  "omg-fig2",
  "omg-fig3",
  "omg-table2",
  "omg-fig4",
  "omg-beyond",
  "omg-diagnosis",
] as const;

/** Receives one line of progress. */
export type Progress = (message: string) => void;

function curvesOf(
  evals: readonly OmgRlEvaluation[],
  key: "learnedRewardReturn" | "modelRewardReturn" | "trueRpReturn",
): number[] {
  return evals.map((e) => key === "trueRpReturn" ? e.external!.trueRpReturn : e[key]);
}

function helpers(sizes: OmgRlSizes, progress: Progress) {
  const setupFor = (seed: number, patients = sizes.patients, preset: HeparinStatePreset = "paper") =>
    heparinSetup(patients, sizes.evalPatients, runSeeds(seed).setup, heparinStatePreset(preset));
  const dynamicsFor = (setup: HeparinSetup, seed: number): { model: DynamicsModel; curves: DynamicsCurves } =>
    trainDynamics(
      setup.train,
      createRng(runSeeds(seed).dynamics),
      sizes.dynamics,
      (e, _t, v) => progress(`seed ${seed} dynamics epoch ${e}: validation ${v.map((x) => x.toFixed(3)).join(" ")}`),
    );
  const tick = (label: string) => (s: OmgRlState) => {
    const l = s.logs[s.logs.length - 1];
    progress(
      `${label} episode ${s.episode}/${s.config.episodes}: critic ${l.sac.criticLoss.toFixed(3)} actor ${
        l.sac.actorLoss.toFixed(3)
      }${l.reward ? ` reward ${l.reward.loss.toFixed(3)}` : ""}`,
    );
  };
  return { setupFor, dynamicsFor, tick };
}

/** One independent piece of a reproduction (one seed), runnable in a worker. */
export type OmgRlUnit =
  | { readonly kind: "curves"; readonly seed: number; readonly preset?: HeparinStatePreset }
  | {
    readonly kind: "table2";
    readonly seed: number;
    readonly n: number;
    readonly patients: number;
    readonly preset?: HeparinStatePreset;
  }
  | { readonly kind: "diagnosis"; readonly seed: number }
  | {
    readonly kind: "compare";
    readonly seed: number;
    readonly id: "omg-fig4" | "omg-beyond" | "main";
    readonly preset?: HeparinStatePreset;
  };

/** Runs one unit; the result is plain JSON, identical wherever it runs (all randomness from the seed). */
export async function runOmgRlUnit(
  unit: OmgRlUnit,
  sizes: OmgRlSizes,
  progress: Progress = () => {},
): Promise<unknown> {
  const { setupFor, dynamicsFor, tick } = helpers(sizes, progress);
  const seed = unit.seed;
  if (unit.kind === "curves") {
    const setup = setupFor(seed, sizes.patients, unit.preset);
    const { model } = dynamicsFor(setup, seed);
    const state = await heparinOmgRlRun(setup, model, sizes, runSeeds(seed).agent, "learned", tick(`seed ${seed}`));
    const evaluations = state.evaluations;
    disposeOmgRl(state);
    disposeDynamics(model);
    return evaluations;
  }
  if (unit.kind === "table2") {
    // Enough patients that the training split holds the largest expert set; each N takes the first N.
    const setup = setupFor(seed, unit.patients, unit.preset);
    const train = selectIndividuals(setup.train, Int32Array.from({ length: unit.n }, (_, i) => i));
    const sub = { ...setup, train };
    const { model } = dynamicsFor(sub, seed);
    const state = await heparinOmgRlRun(
      sub,
      model,
      sizes,
      runSeeds(seed).agent,
      "learned",
      tick(`N=${unit.n} seed ${seed}`),
    );
    const last = state.evaluations[state.evaluations.length - 1];
    disposeOmgRl(state);
    disposeDynamics(model);
    return { rPsi: last.learnedRewardReturn, trueRp: last.external!.trueRpReturn, tir: last.external!.trueTimeInRange };
  }
  if (unit.kind === "diagnosis") return await heparinDiagnosis(sizes, seed, progress);
  if (unit.id !== "omg-fig4") return await heparinComparison(unit.preset ?? "paper", sizes, seed, progress);
  const setup = setupFor(seed, sizes.patients, unit.preset);
  const { model } = dynamicsFor(setup, seed);
  const omg = await heparinOmgRlRun(setup, model, sizes, runSeeds(seed).agent, "learned", tick(`OMG-RL seed ${seed}`));
  const combo = await heparinOmgRlRun(setup, model, sizes, runSeeds(seed).agent, "data", tick(`COMBO seed ${seed}`));
  // Both final policies roll out in the same model from the same held-out start states, and
  // OMG-RL's r_psi scores both (the paper compares each method's best instance).
  const starts = setup.validation.states.slice(0, Math.min(40, setup.validation.size) * setup.validation.stateDim);
  const judge = (s: OmgRlState) => {
    const r = modelRollouts(model, s.agent, starts, s.config.rolloutHorizon, createRng(runSeeds(seed).rollouts));
    const rew = rewardValues(omg.rewardModel!, r.states, r.actions);
    return rew.reduce((a, b) => a + b, 0) / r.count;
  };
  const out = { omgRlByRpsi: judge(omg), comboByRpsi: judge(combo) };
  disposeOmgRl(omg);
  disposeOmgRl(combo);
  disposeDynamics(model);
  return out;
}

/** What one comparison run measures on one state preset (see {@linkcode heparinComparison}). */
export interface HeparinComparison {
  /** The state preset. */
  readonly preset: HeparinStatePreset;
  /** Its columns, in the order the networks read them. */
  readonly stateFeatures: readonly string[];
  /** Each policy's true outcome on the evaluation patients (common random numbers). */
  readonly outcomes: Record<string, HeparinOutcome>;
  /** OMG-RL's evaluations over episodes (in the model and on the true simulator). */
  readonly omgRl: readonly OmgRlEvaluation[];
  /** COMBO's evaluations over episodes. */
  readonly combo: readonly OmgRlEvaluation[];
  /** The dynamics ensemble's validation NLL per epoch and member, and its elites. */
  readonly dynamics: { readonly validation: readonly (readonly number[])[]; readonly elites: readonly number[] };
  /** Share of held-out patient-hours where behaviour cloning's most likely bin is the clinician's recorded bin. */
  readonly bcAgreement: number;
  /**
   * OMG-RL's learned reward on held-out hours: its correlation with the recorded r_p of the same
   * (state, action), and the share of hours where it ranks the clinician's recorded bin first.
   */
  readonly learnedReward?: { readonly correlationWithRp: number; readonly ranksClinicianFirst: number };
}

/** How OMG-RL's r_psi relates to r_p and to the clinician's choices on `data` (held-out hours). */
function learnedRewardFacts(
  model: RewardModel,
  data: MdpDataset,
): { correlationWithRp: number; ranksClinicianFirst: number } {
  const A = data.numActions, S = data.stateDim;
  const recorded = rewardValues(model, data.states, data.actions);
  const corr = pearson(recorded, data.rewards);
  const all = new Float32Array(data.size * A * S), every = new Int32Array(data.size * A);
  for (let i = 0; i < data.size; i++) {
    for (let a = 0; a < A; a++) {
      all.set(data.states.subarray(i * S, (i + 1) * S), (i * A + a) * S);
      every[i * A + a] = a;
    }
  }
  const r = rewardValues(model, all, every);
  let first = 0;
  for (let i = 0; i < data.size; i++) {
    let best = 0;
    for (let a = 1; a < A; a++) if (r[i * A + a] > r[i * A + best]) best = a;
    if (best === data.actions[i]) first++;
  }
  return { correlationWithRp: corr, ranksClinicianFirst: first / data.size };
}

/** Pearson correlation of two equal-length series (NaN when either is constant). */
function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) mx += x[i] / n, my += y[i] / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) ** 2, syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** The methods a comparison judges, in the order tables list them. */
export const HEPARIN_METHODS: readonly string[] = Object.freeze([
  "simulated clinician",
  "nomogram rule (recorded state)",
  "behaviour cloning",
  "OMG-RL (learned r_psi)",
  "COMBO (r_p)",
  "discrete CQL (r_p)",
  "uniform random",
]);

/** A greedy policy on a Q-network (selected and normalised observations). */
export function heparinGreedyPolicy(setup: HeparinSetup, q: MlpParams): Policy {
  const K = setup.featureIndex.length;
  const { mean, std } = setup.normalizer;
  return (obs) => {
    const s = new Float32Array(K);
    for (let k = 0; k < K; k++) s[k] = (obs[setup.featureIndex[k]] - mean[k]) / std[k];
    const v = tf.tidy(() => mlpForward(q, tf.tensor2d(s, [1, K])).dataSync());
    let best = 0;
    for (let a = 1; a < v.length; a++) if (v[a] > v[best]) best = a;
    const p = new Array(v.length).fill(0);
    p[best] = 1;
    return p;
  };
}

/** Share of rows of `data` where the actor's most likely action is the recorded one. */
function agreement(actor: MlpParams, data: MdpDataset): number {
  const p = policyProbabilities(actor, data.states, data.stateDim), A = data.numActions;
  let hits = 0;
  for (let i = 0; i < data.size; i++) {
    let best = 0;
    for (let a = 1; a < A; a++) if (p[i * A + a] > p[i * A + best]) best = a;
    if (best === data.actions[i]) hits++;
  }
  return hits / data.size;
}

/**
 * One seed of the comparison beyond the paper on one state preset: the cohort, the dynamics
 * ensemble, OMG-RL (learned r_psi) and COMBO (r_p) on the same model, behaviour cloning and
 * discrete CQL on the same data; then every policy, the simulated clinician, the fixed nomogram
 * rule (on the presets with the dosing context, which it reads) and a uniform policy judged on the same
 * evaluation patients of the true simulator.
 */
export async function heparinComparison(
  preset: HeparinStatePreset,
  sizes: OmgRlSizes,
  seed: number,
  progress: Progress = () => {},
): Promise<HeparinComparison> {
  const stateFeatures = heparinStatePreset(preset);
  const seeds = runSeeds(seed);
  const setup = heparinSetup(sizes.patients, sizes.evalPatients, seeds.setup, stateFeatures);
  const label = `${preset} seed ${seed}`;
  const { model, curves } = trainDynamics(
    setup.train,
    createRng(seeds.dynamics),
    sizes.dynamics,
    (e, _t, v) => progress(`${label} dynamics epoch ${e + 1}: best validation NLL ${Math.min(...v).toFixed(3)}`),
  );
  const tick = (name: string) => (s: OmgRlState) => {
    const ev = s.evaluations[s.evaluations.length - 1];
    progress(
      `${label} ${name} episode ${s.episode}/${s.config.episodes}` +
        (ev?.episode === s.episode ? `: true time in range ${ev.external!.trueTimeInRange.toFixed(3)}` : ""),
    );
  };
  const omg = await heparinOmgRlRun(setup, model, sizes, seeds.agent, "learned", tick("OMG-RL"));
  const combo = await heparinOmgRlRun(setup, model, sizes, seeds.agent, "data", tick("COMBO"));
  progress(`${label} behaviour cloning and discrete CQL`);
  const bc = trainBehaviourCloning(setup.train, createRng(seeds.behaviourCloning), bcConfigOf(sizes));
  const cql = trainCql(
    setup.train,
    createRng(seeds.cql),
    sizes.cql,
    (step, loss) => progress(`${label} discrete CQL step ${step}: loss ${loss.toFixed(3)}`),
  );
  const outcomes: Record<string, HeparinOutcome> = {};
  for (const m of HEPARIN_METHODS) {
    if (m === "nomogram rule (recorded state)" && preset === "paper") continue;
    const policy = m === "simulated clinician"
      ? undefined
      : m === "nomogram rule (recorded state)"
      ? heparinRulePolicy()
      : m === "behaviour cloning"
      ? heparinNetworkPolicy(setup, bc.actor)
      : m === "OMG-RL (learned r_psi)"
      ? heparinNetworkPolicy(setup, omg.agent.actor)
      : m === "COMBO (r_p)"
      ? heparinNetworkPolicy(setup, combo.agent.actor)
      : m === "discrete CQL (r_p)"
      ? heparinGreedyPolicy(setup, cql.q)
      : () => new Array(setup.train.numActions).fill(1 / setup.train.numActions);
    outcomes[m] = heparinTrueOutcome(setup, policy);
  }
  const result: HeparinComparison = {
    preset,
    stateFeatures,
    outcomes,
    omgRl: omg.evaluations,
    combo: combo.evaluations,
    dynamics: { validation: curves.validation, elites: model.elites },
    bcAgreement: agreement(bc.actor, setup.validation),
    learnedReward: learnedRewardFacts(omg.rewardModel!, setup.validation),
  };
  disposeOmgRl(omg);
  disposeOmgRl(combo);
  disposeDynamics(model);
  tf.dispose([...mlpVariables(bc.actor), ...mlpVariables(cql.q)]);
  return result;
}

/** The controlled experiments of one seed on the clinical preset (see {@linkcode heparinDiagnosis}). */
export interface HeparinDiagnosis {
  /** True time in range of fixed policies: the clinician, the nomogram rule, "hold bin b" for each b. */
  readonly fixed: Record<string, number>;
  /** Behaviour cloning against the clinician's recorded bins, on held-out and training patients. */
  readonly imitation: {
    /** Share of held-out hours where BC's most likely bin is the recorded one. */
    readonly agreement: number;
    /** The same on the hours where the clinician kept the previous hour's bin. */
    readonly keepAgreement: number;
    /** The same on the hours where the clinician moved to another bin (held out, then training). */
    readonly moveRecall: number;
    /** Move recall on the training patients (what the network fits). */
    readonly trainMoveRecall: number;
    /** Share of recorded hours (after the first) that move to another bin. */
    readonly moveShare: number;
    /** BC's true time in range. */
    readonly timeInRange: number;
  };
  /** Discrete CQL (dosing state) trained on r_p of the recorded (held) aPTT and, on the same patients, of the noise-free aPTT. */
  readonly cqlReward: { readonly recorded: number; readonly noiseFree: number };
  /** Discrete CQL's true time in range by state preset (the kit's defaults). */
  readonly cqlState: Record<string, number>;
  /** Discrete CQL's true time in range on the dosing state by conservative weight alpha_CQL. */
  readonly cqlWeight: Record<string, number>;
  /** COMBO (r_p) by entropy temperature: true time in range and the final policy entropy (nats; uniform is ln 6). */
  readonly comboTemperature: Record<string, { readonly timeInRange: number; readonly entropy: number }>;
}

/** COMBO temperatures the diagnosis compares: the paper's fixed 1, tuned towards half the maximal entropy, and 0.05. */
const DIAGNOSIS_TEMPERATURES: readonly (number | "auto")[] = [1, "auto", 0.05];

/**
 * Controlled experiments on why the learners do not beat the clinician on the clinical state
 * (issue 16's suspects), one seed: what fixed policies reach; how well behaviour cloning copies
 * the clinician's bin on hours that keep it and on hours that move; discrete CQL on the clinical
 * against the compact dosing state, by conservative weight, and on the recorded against the
 * noise-free reward (same patients, seeds and settings); COMBO (clinical state) at three entropy
 * temperatures on the same dynamics model.
 */
export async function heparinDiagnosis(
  sizes: OmgRlSizes,
  seed: number,
  progress: Progress = () => {},
): Promise<HeparinDiagnosis> {
  const cols = HEPARIN_STATE_PRESETS.clinical;
  const seeds = runSeeds(seed);
  const setup = heparinSetup(sizes.patients, sizes.evalPatients, seeds.setup, cols);
  const label = `diagnosis seed ${seed}`;
  const tir = (p?: Policy) => heparinTrueOutcome(setup, p).timeInRange;
  const fixed: Record<string, number> = { "simulated clinician": tir(), "nomogram rule": tir(heparinRulePolicy()) };
  for (let b = 0; b < setup.train.numActions; b++) {
    const probs = Array.from({ length: setup.train.numActions }, (_, a) => (a === b ? 1 : 0));
    fixed[`hold bin ${b}`] = tir(() => probs);
  }
  // Imitation: keep hours against move hours (the previous bin read from the one-hot columns).
  progress(`${label}: behaviour cloning`);
  const bc = trainBehaviourCloning(setup.train, createRng(seeds.behaviourCloning), bcConfigOf(sizes));
  const prevBin = cols.map((c, j) => [c, j] as const).filter(([c]) => c.startsWith("prev_bin_")).map(([, j]) => j);
  const split = (data: MdpDataset) => {
    const A = data.numActions, S = data.stateDim;
    const p = policyProbabilities(bc.actor, data.states, S);
    const out = { all: [0, 0], keep: [0, 0], move: [0, 0] };
    for (let i = 0; i < data.size; i++) {
      let best = 0;
      for (let a = 1; a < A; a++) if (p[i * A + a] > p[i * A + best]) best = a;
      const hit = best === data.actions[i] ? 1 : 0;
      out.all[0]++, out.all[1] += hit;
      // Hour 0 has no previous bin to keep (its normalised hours_on_heparin is the minimum).
      if (data.times[i] === 0) continue;
      let prev = 0;
      for (let b = 1; b < prevBin.length; b++) {
        if (data.states[i * S + prevBin[b]] > data.states[i * S + prevBin[prev]]) prev = b;
      }
      const kind = data.actions[i] === prev ? out.keep : out.move;
      kind[0]++, kind[1] += hit;
    }
    return out;
  };
  const held = split(setup.validation), seen = split(setup.train);
  const imitation = {
    agreement: held.all[1] / held.all[0],
    keepAgreement: held.keep[1] / held.keep[0],
    moveRecall: held.move[1] / held.move[0],
    trainMoveRecall: seen.move[1] / seen.move[0],
    moveShare: seen.move[0] / (seen.move[0] + seen.keep[0]),
    timeInRange: tir(heparinNetworkPolicy(setup, bc.actor)),
  };
  tf.dispose(mlpVariables(bc.actor));
  // CQL: by state, by conservative weight, and on the recorded against the noise-free reward
  // (same patients and streams: the same seeds).
  const cqlOn = (preset: HeparinStatePreset, reward: "observed" | "true", weight?: number) => {
    progress(`${label}: discrete CQL, ${preset} state, ${reward} reward, weight ${weight ?? "default"}`);
    const s = heparinSetup(sizes.patients, sizes.evalPatients, seeds.setup, heparinStatePreset(preset), { reward });
    const config = weight === undefined ? sizes.cql : { ...sizes.cql, conservativeWeight: weight };
    const { q } = trainCql(s.train, createRng(seeds.cql), config);
    const value = heparinTrueOutcome(s, heparinGreedyPolicy(s, q)).timeInRange;
    tf.dispose(mlpVariables(q));
    return value;
  };
  const base = cqlOn("dosing", "observed");
  const cqlState = { clinical: cqlOn("clinical", "observed"), dosing: base };
  const defaultWeight = resolveCqlConfig(sizes.cql).conservativeWeight;
  const cqlWeight: Record<string, number> = { [String(defaultWeight)]: base };
  for (const w of [0.1, 1]) if (w !== defaultWeight) cqlWeight[String(w)] = cqlOn("dosing", "observed", w);
  const cqlReward = { recorded: base, noiseFree: cqlOn("dosing", "true") };
  // COMBO at three temperatures on one dynamics model.
  const { model } = trainDynamics(setup.train, createRng(seeds.dynamics), sizes.dynamics);
  const comboTemperature: Record<string, { timeInRange: number; entropy: number }> = {};
  for (const temperature of DIAGNOSIS_TEMPERATURES) {
    progress(`${label}: COMBO at temperature ${temperature}`);
    const sized = { ...sizes, omg: { ...sizes.omg, sac: { ...sizes.omg.sac, temperature } } };
    const st = await heparinOmgRlRun(setup, model, sized, seeds.agent, "data");
    const last = st.logs.slice(-5);
    comboTemperature[String(temperature)] = {
      timeInRange: st.evaluations[st.evaluations.length - 1].external!.trueTimeInRange,
      entropy: last.reduce((a, l) => a + l.sac.entropy, 0) / last.length,
    };
    disposeOmgRl(st);
  }
  disposeDynamics(model);
  return { fixed, imitation, cqlReward, cqlState, cqlWeight, comboTemperature };
}

/**
 * Runs units in order (`parallel` <= 1) or on a pool of `parallel` workers (one core each), and
 * returns their results in the units' order: the same numbers either way.
 */
export async function runUnits<T>(
  units: readonly OmgRlUnit[],
  sizes: OmgRlSizes,
  progress: Progress,
  parallel: number,
  cacheDir?: string,
  clock?: UnitClock,
): Promise<T[]> {
  const results: T[] = new Array(units.length);
  const todo: number[] = [];
  for (let k = 0; k < units.length; k++) {
    const kept = cacheDir ? await readUnit<T>(cacheDir, units[k], sizes) : undefined;
    if (kept === undefined) todo.push(k);
    else {
      results[k] = kept.result;
      if (clock) {
        if (kept.seconds === undefined) clock.untimed++;
        else clock.seconds += kept.seconds;
      }
      progress(`${unitName(units[k])}: kept from an earlier run (${cacheDir})`);
    }
  }
  const finish = async (k: number, result: T, started: number) => {
    results[k] = result;
    const seconds = (performance.now() - started) / 1000;
    if (clock) clock.seconds += seconds;
    if (cacheDir) await writeUnit(cacheDir, units[k], sizes, result, seconds);
  };
  if (parallel <= 1 || todo.length <= 1) {
    for (const k of todo) {
      const started = performance.now();
      await finish(k, await runOmgRlUnit(units[k], sizes, progress) as T, started);
    }
    return results;
  }
  let next = 0;
  const worker = async () => {
    const w = new Worker(new URL("./omg_rl_worker.ts", import.meta.url), { type: "module" });
    try {
      while (next < todo.length) {
        const k = todo[next++];
        const started = performance.now();
        const result = await new Promise<T>((resolve, reject) => {
          w.onmessage = (e: MessageEvent) => {
            if (e.data.progress !== undefined) progress(e.data.progress);
            else if (e.data.error !== undefined) reject(new Error(`worker unit ${k}: ${e.data.error}`));
            else resolve(e.data.result as T);
          };
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(`worker unit ${k}: ${e.message}`));
          };
          w.postMessage({ unit: units[k], sizes });
        });
        await finish(k, result, started);
      }
    } finally {
      w.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  return results;
}

/** A unit's file name: its kind and every field that tells it apart. */
function unitName(unit: OmgRlUnit): string {
  return Object.entries(unit).map(([k, v]) => (k === "kind" ? String(v) : `${k}-${v}`)).join(".");
}

/** A kept unit result, if one exists for the same unit at the same sizes (else undefined). */
async function readUnit<T>(
  dir: string,
  unit: OmgRlUnit,
  sizes: OmgRlSizes,
): Promise<{ result: T; seconds?: number } | undefined> {
  const path = `${dir}/unit.${unitName(unit)}.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  let kept: { unit: OmgRlUnit; sizes: OmgRlSizes; config?: unknown; seconds?: number; result: T };
  try {
    kept = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is corrupt or truncated (${(err as Error).message}); remove it to rerun that unit`);
  }
  if (JSON.stringify(kept.sizes) !== JSON.stringify(sizes) || JSON.stringify(kept.unit) !== JSON.stringify(unit)) {
    throw new Error(`${path} was made at other sizes or for another unit; remove it, or use another --out`);
  }
  // Units record every hyper-parameter they ran with (those written before 2026-11-30 do not, and
  // are matched by their sizes and unit alone): one made under other defaults is not mixed in.
  if (kept.config !== undefined) {
    const now = JSON.parse(JSON.stringify(omgRlResolvedConfigs(sizes)));
    const differs = recordDifferences(kept.config as Record<string, unknown>, now, "config");
    if (differs.length > 0) {
      throw new Error(
        `${path} was made with another config (${differs[0]}); remove it to rerun that unit, or use another --out`,
      );
    }
  }
  return { result: kept.result, seconds: typeof kept.seconds === "number" ? kept.seconds : undefined };
}

/** Keeps a finished unit's result and its compute seconds (atomically) for a later run to reuse. */
async function writeUnit(
  dir: string,
  unit: OmgRlUnit,
  sizes: OmgRlSizes,
  result: unknown,
  seconds: number,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const config = omgRlResolvedConfigs(sizes);
  await writeTextAtomic(
    `${dir}/unit.${unitName(unit)}.json`,
    JSON.stringify({ unit, sizes, config, seconds, result }),
  );
}

type ReproductionParts = Omit<Reproduction, "config">;

/** What each reproduction receives. */
interface ReproductionArgs {
  readonly id: (typeof OMG_RL_REPRODUCTIONS)[number];
  readonly sizes: OmgRlSizes;
  readonly seeds: number[];
  readonly progress: Progress;
  readonly parallel: number;
  /** Folder where each finished unit's result is kept, and reused by a later run (resume). */
  readonly cacheDir?: string;
  /** The state preset of Figures 1-4 and Table II (omg-beyond runs every preset). */
  readonly preset: HeparinStatePreset;
  /** Adds up the compute seconds of the units, kept ones included. */
  readonly clock: UnitClock;
}

/**
 * The compute seconds of a reproduction's units, those kept from earlier sittings included
 * (units written before 2026-11-30 have no seconds and are counted as untimed).
 */
export interface UnitClock {
  /** Seconds of the timed units, summed (each unit's wall time on its own core). */
  seconds: number;
  /** Units whose seconds were not recorded. */
  untimed: number;
}

/** The preset as a unit field: absent for the paper's (so the paper's units keep their names). */
function presetField(preset: HeparinStatePreset): { preset?: HeparinStatePreset } {
  return preset === "paper" ? {} : { preset };
}

/** Figure 1: the dynamics ensemble's validation loss per member (seed 0). */
function figure1({ id, sizes, progress, preset }: ReproductionArgs): Promise<ReproductionParts> {
  const { setupFor, dynamicsFor } = helpers(sizes, progress);
  const setup = setupFor(0, sizes.patients, preset);
  const { model, curves } = dynamicsFor(setup, 0);
  disposeDynamics(model);
  const values = {
    preset,
    validation: curves.validation,
    validationMse: curves.validationMse,
    train: curves.train,
    elites: model.elites,
    bestEpoch: curves.bestEpoch,
  };
  return Promise.resolve({
    id,
    title: "OMG-RL Figure 1: validation loss of the dynamics ensemble",
    sizes,
    seeds: [0],
    values,
    figures: omgRlFigures(id, values),
  });
}

/** Figures 2 and 3: cumulative r_psi, and r_p in the model and on the true simulator, over episodes. */
async function learningCurves(
  { id, sizes, seeds, progress, parallel, cacheDir, preset, clock }: ReproductionArgs,
): Promise<ReproductionParts> {
  const runs = await runUnits<OmgRlEvaluation[]>(
    seeds.map((seed) => ({ kind: "curves", seed, ...presetField(preset) })),
    sizes,
    progress,
    parallel,
    cacheDir,
    clock,
  );
  const x = runs[0].map((e) => e.episode);
  const band = (key: Parameters<typeof curvesOf>[1]) => meanSe(runs.map((r) => curvesOf(r, key)));
  if (id === "omg-fig2") {
    const s = band("learnedRewardReturn");
    const values = { preset, episodes: x, perSeed: runs.map((r) => curvesOf(r, "learnedRewardReturn")), ...s };
    return {
      id,
      title: "OMG-RL Figure 2: cumulative r_psi of the learned policy",
      sizes,
      seeds,
      values,
      figures: omgRlFigures(id, values),
    };
  }
  const values = {
    preset,
    episodes: x,
    inModel: { perSeed: runs.map((r) => curvesOf(r, "modelRewardReturn")), ...band("modelRewardReturn") },
    trueSimulator: { perSeed: runs.map((r) => curvesOf(r, "trueRpReturn")), ...band("trueRpReturn") },
    trueTimeInRange: runs.map((r) => r.map((e) => e.external!.trueTimeInRange)),
    note:
      "inside the model: h-step rollouts from held-out states; on the simulator: whole stays (7-72 h) of evaluation patients",
  };
  return {
    id,
    title: "OMG-RL Figure 3: cumulative r_p of the policy learned on r_psi",
    sizes,
    seeds,
    values,
    figures: omgRlFigures(id, values),
  };
}

/** Table II: OMG-RL trained on N expert trajectories, for each N. */
async function expertCountTable(
  { id, sizes, seeds, progress, parallel, cacheDir, preset, clock }: ReproductionArgs,
): Promise<ReproductionParts> {
  const rows: Record<string, unknown>[] = [];
  const maxN = Math.max(...sizes.expertCounts);
  for (const n of sizes.expertCounts) {
    const units: OmgRlUnit[] = seeds.map((seed) => ({
      kind: "table2",
      seed,
      n,
      patients: Math.ceil(maxN / 0.8) + 1,
      ...presetField(preset),
    }));
    const results = await runUnits<{ rPsi: number; trueRp: number; tir: number }>(
      units,
      sizes,
      progress,
      parallel,
      cacheDir,
      clock,
    );
    const finals = results.map((r) => r.rPsi), trueRp = results.map((r) => r.trueRp), tir = results.map((r) => r.tir);
    const s = (v: number[]) => meanSe(v.map((x) => [x]));
    rows.push({
      n,
      rPsi: s(finals),
      trueRp: s(trueRp),
      trueTimeInRange: s(tir),
      perSeed: { rPsi: finals, trueRp, tir },
    });
  }
  const values = { preset, rows, paper: { n: [100, 300, 500, 1000, 1500], omgRl: [11.7, 16.7, 19.5, 15.4, 12.74] } };
  return {
    id,
    title: "OMG-RL Table II: cumulative reward by number of expert trajectories",
    sizes,
    seeds,
    values,
    figures: omgRlFigures(id, values),
  };
}

/** Figure 4 and the comparison beyond the paper: OMG-RL and COMBO on the same data and model. */
async function comparison(
  { id, sizes, seeds, progress, parallel, cacheDir, preset, clock }: ReproductionArgs,
): Promise<ReproductionParts> {
  if (id === "omg-beyond") {
    const runs = await runUnits<HeparinComparison>(
      seeds.flatMap((seed) => HEPARIN_PRESET_NAMES.map((preset) => ({ kind: "compare", seed, id, preset }))),
      sizes,
      progress,
      parallel,
      cacheDir,
      clock,
    );
    return {
      id,
      title: "Beyond OMG-RL: every policy's true time in range and r_p return, on both state presets",
      sizes,
      seeds,
      values: comparisonValues(runs),
      figures: comparisonFigures(runs),
    };
  }
  // omg-fig4: OMG-RL and COMBO trained on the same data and model, judged by r_psi.
  const perSeed = await runUnits<Record<string, number>>(
    seeds.map((seed) => ({ kind: "compare", seed, id: "omg-fig4", ...presetField(preset) })),
    sizes,
    progress,
    parallel,
    cacheDir,
    clock,
  );
  const keys = Object.keys(perSeed[0]);
  const summary = Object.fromEntries(keys.map((k) => {
    const m = meanSe(perSeed.map((p) => [p[k]]));
    return [k, { mean: m.mean[0], se: m.se[0] }];
  }));
  return {
    id,
    title: "OMG-RL Figure 4: COMBO (trained on r_p) and OMG-RL (trained on r_psi), both judged by r_psi",
    sizes,
    seeds,
    values: { preset, perSeed, summary },
    figures: omgRlFigures(id, { perSeed, summary }),
  };
}

/** The controlled experiments on the clinical preset, per seed, and their means. */
async function diagnosis(
  { id, sizes, seeds, progress, parallel, cacheDir, clock }: ReproductionArgs,
): Promise<ReproductionParts> {
  const runs = await runUnits<HeparinDiagnosis>(
    seeds.map((seed) => ({ kind: "diagnosis", seed })),
    sizes,
    progress,
    parallel,
    cacheDir,
    clock,
  );
  const mean = (pick: (d: HeparinDiagnosis) => number) => meanSeOf(runs.map(pick));
  const fixed = Object.keys(runs[0].fixed).map((k) => [k, mean((d) => d.fixed[k])] as const);
  const imitation = (Object.keys(runs[0].imitation) as (keyof HeparinDiagnosis["imitation"])[])
    .map((k) => [k, mean((d) => d.imitation[k])] as const);
  const temps = Object.keys(runs[0].comboTemperature);
  const summary = {
    fixed: Object.fromEntries(fixed),
    imitation: Object.fromEntries(imitation),
    cqlReward: {
      recorded: mean((d) => d.cqlReward.recorded),
      noiseFree: mean((d) => d.cqlReward.noiseFree),
    },
    cqlState: Object.fromEntries(Object.keys(runs[0].cqlState).map((k) => [k, mean((d) => d.cqlState[k])])),
    cqlWeight: Object.fromEntries(Object.keys(runs[0].cqlWeight).map((k) => [k, mean((d) => d.cqlWeight[k])])),
    comboTemperature: Object.fromEntries(temps.map((t) => [t, {
      timeInRange: mean((d) => d.comboTemperature[t].timeInRange),
      entropy: mean((d) => d.comboTemperature[t].entropy),
    }])),
  };
  return {
    id,
    title: "Why the learners do not beat the clinician, and where one does: controlled experiments",
    sizes,
    seeds,
    values: { runs, summary },
    figures: omgRlFigures(id, { runs, summary }),
  };
}

/** The state presets every comparison runs, in order. */
const HEPARIN_PRESET_NAMES: readonly HeparinStatePreset[] = ["paper", "clinical", "dosing"];

/** One row of a comparison summary: a preset, a method, and its outcomes as mean ± s.e. over seeds. */
export interface ComparisonRow {
  /** The state preset. */
  readonly preset: HeparinStatePreset;
  /** The policy. */
  readonly method: string;
  /** Seeds averaged. */
  readonly seeds: number;
  /** True time in aPTT 60-100 s. */
  readonly timeInRange: { readonly mean: number; readonly se: number };
  /** True r_p return per stay (mean over seeds of each seed's mean over patients). */
  readonly rpReturn: { readonly mean: number; readonly se: number };
}

/** Mean ± s.e. over seeds of each preset's and method's outcomes. */
export function comparisonSummary(runs: readonly HeparinComparison[]): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const preset of HEPARIN_PRESET_NAMES) {
    const mine = runs.filter((r) => r.preset === preset);
    if (mine.length === 0) continue;
    for (const method of HEPARIN_METHODS) {
      const got = mine.map((r) => r.outcomes[method]).filter((o) => o !== undefined);
      if (got.length === 0) continue;
      rows.push({
        preset,
        method,
        seeds: got.length,
        timeInRange: meanSeOf(got.map((o) => o.timeInRange)),
        rpReturn: meanSeOf(got.map((o) => o.rpReturn)),
      });
    }
  }
  return rows;
}

/** The values a comparison records: every run, and the summary per preset and method. */
function comparisonValues(runs: readonly HeparinComparison[]): Record<string, unknown> {
  return {
    summary: comparisonSummary(runs),
    bcAgreement: Object.fromEntries(
      HEPARIN_PRESET_NAMES.map((p) => [p, runs.filter((r) => r.preset === p).map((r) => r.bcAgreement)]),
    ),
    runs,
  };
}

/** The comparison's figures: the table, time in range per preset and method, OMG-RL's curves in the model and on the truth. */
function comparisonFigures(runs: readonly HeparinComparison[]): Figure[] {
  const rows = comparisonSummary(runs);
  const pm = (x: { mean: number; se: number }, d: number) => `${x.mean.toFixed(d)} ± ${x.se.toFixed(d)}`;
  const figures: Figure[] = [
    tableFigure(
      "True outcomes on the evaluation patients (mean ± s.e. over seeds)",
      ["state preset", "policy", "time in aPTT 60-100 s", "r_p return per stay"],
      rows.map((r) => [r.preset, r.method, pm(r.timeInRange, 3), pm(r.rpReturn, 2)]),
    ),
    barFigure(
      "True time in aPTT 60-100 s by policy and state preset (mean ± s.e. over seeds)",
      "policy",
      "share of patient-hours",
      HEPARIN_PRESET_NAMES.filter((p) => rows.some((r) => r.preset === p)).map((p) => {
        const mine = rows.filter((r) => r.preset === p);
        return {
          name: `${p} state`,
          x: mine.map((r) => r.method),
          y: mine.map((r) => r.timeInRange.mean),
          error: mine.map((r) => r.timeInRange.se),
        };
      }),
    ),
  ];
  for (const preset of HEPARIN_PRESET_NAMES) {
    const mine = runs.filter((r) => r.preset === preset);
    if (mine.length === 0) continue;
    const x = mine[0].omgRl.map((e) => e.episode);
    const band = (pick: (e: OmgRlEvaluation) => number, name: string, dash?: "dash") => {
      const { mean, se } = meanSe(mine.map((r) => r.omgRl.map(pick)));
      return { name, x, y: mean, lower: mean.map((m, t) => m - se[t]), upper: mean.map((m, t) => m + se[t]), dash };
    };
    // Figure 3's curves on this preset: r_p in the model beside r_p on the true simulator.
    figures.push(lineFigure(
      `OMG-RL on the ${preset} state (Figure 3): r_p per stay inside the learned model and on the true simulator`,
      "episode",
      "cumulative r_p",
      [
        band((e) => e.modelRewardReturn, "in the model (h-step rollouts)"),
        band((e) => e.external!.trueRpReturn, "on the true simulator (whole stays)", "dash"),
      ],
    ));
  }
  // Figure 2's curve on every preset: OMG-RL's cumulative r_psi in the model.
  figures.push(lineFigure(
    "OMG-RL's cumulative r_psi over episodes, by state preset (Figure 2; model rollouts, mean ± s.e. over seeds)",
    "episode",
    "cumulative r_psi",
    HEPARIN_PRESET_NAMES.filter((p) => runs.some((r) => r.preset === p)).map((preset) => {
      const mine = runs.filter((r) => r.preset === preset);
      const { mean, se } = meanSe(mine.map((r) => r.omgRl.map((e) => e.learnedRewardReturn)));
      const x = mine[0].omgRl.map((e) => e.episode);
      return {
        name: `${preset} state`,
        x,
        y: mean,
        lower: mean.map((m, t) => m - se[t]),
        upper: mean.map((m, t) => m + se[t]),
      };
    }),
  ));
  return figures;
}

/**
 * Runs one reproduction; `parallel` workers share its independent units (seeds, presets). With
 * `cacheDir`, each finished unit's result is written there as it completes and a later run with
 * the same sizes reuses it: a long full-size run resumes where it stopped. `preset` is the state
 * of Figures 1-4 and Table II (omg-beyond runs every preset, omg-diagnosis its own).
 */
export async function runOmgRlReproduction(
  id: (typeof OMG_RL_REPRODUCTIONS)[number],
  sizes: OmgRlSizes,
  progress: Progress = () => {},
  parallel = 1,
  cacheDir?: string,
  preset: HeparinStatePreset = "paper",
): Promise<Reproduction> {
  heparinStatePreset(preset);
  const seeds = Array.from({ length: sizes.seeds }, (_, i) => i);
  const run = id === "omg-fig1"
    ? figure1
    : id === "omg-fig2" || id === "omg-fig3"
    ? learningCurves
    : id === "omg-table2"
    ? expertCountTable
    : id === "omg-diagnosis"
    ? diagnosis
    : comparison;
  const clock: UnitClock = { seconds: 0, untimed: 0 };
  return {
    ...(await run({ id, sizes, seeds, progress, parallel, cacheDir, preset, clock })),
    config: omgRlResolvedConfigs(sizes),
    unitClock: clock,
  };
}

/**
 * The kit's main job: on each state preset (the paper's and the clinical one), OMG-RL, COMBO,
 * behaviour cloning and discrete CQL trained on the bundled heparin simulator (one seed), then
 * judged on the true simulator beside the clinician, the fixed nomogram rule and a uniform
 * policy. `parallel` workers run the presets side by side (same numbers either way).
 */
export async function runOmgRlMain(
  sizes: OmgRlSizes,
  seed: number,
  progress: Progress = () => {},
  presets: readonly HeparinStatePreset[] = HEPARIN_PRESET_NAMES,
  parallel = 1,
): Promise<Reproduction> {
  presets.forEach((p) => heparinStatePreset(p));
  const runs = await runUnits<HeparinComparison>(
    presets.map((preset) => ({ kind: "compare", seed, id: "main", preset })),
    sizes,
    progress,
    parallel,
  );
  const first = runs[0];
  return {
    id: "main",
    title: "Heparin dosing on the simulated cohort: OMG-RL and the baselines, judged on the truth",
    sizes,
    config: omgRlResolvedConfigs(sizes),
    seeds: [seed],
    values: { presets, ...comparisonValues(runs) },
    figures: [
      ...comparisonFigures(runs),
      lineFigure(
        `Dynamics ensemble on the ${first.preset} state: validation NLL (elites solid)`,
        "epoch",
        "validation NLL",
        first.dynamics.validation[0].map((_, m) => ({
          name: `member ${m}`,
          x: first.dynamics.validation.map((_, e) => e + 1),
          y: first.dynamics.validation.map((v) => v[m]),
          dash: first.dynamics.elites.includes(m) ? "solid" as const : "dot" as const,
        })),
      ),
    ],
  };
}

/**
 * The Markdown tables of a recorded OMG-RL reproduction's values, for the docs (`deno task docs`):
 * omg-beyond's outcomes per preset and method, or omg-diagnosis's controlled experiments.
 */
export function omgRlSummaryMarkdown(id: string, values: Record<string, unknown>): string {
  const pm = (x: { mean: number; se: number }, d = 3) => `${x.mean.toFixed(d)} ± ${x.se.toFixed(d)}`;
  const table = (head: string[], rows: string[][]) =>
    [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)]
      .join("\n");
  if (id.startsWith("omg-beyond")) {
    const rows = values.summary as ComparisonRow[];
    const agreement = values.bcAgreement as Record<string, number[]>;
    const seeds = Math.max(...rows.map((r) => r.seeds));
    const runs = values.runs as HeparinComparison[];
    const patientSe = runs.flatMap((r) => Object.values(r.outcomes).map((o) => o.rpReturnStandardError));
    const patients = runs[0] ? Object.values(runs[0].outcomes)[0].patients : 0;
    return [
      table(
        ["state preset", "policy", "true time in aPTT 60-100 s", "true r_p return per stay"],
        rows.map((r) => [r.preset, r.method, pm(r.timeInRange), pm(r.rpReturn, 2)]),
      ),
      "",
      `Mean ± standard error over ${seeds} training seeds, on the same ${patients} evaluation patients (the s.e. of an r_p ` +
      `return over those patients is ${Math.min(...patientSe).toFixed(1)}-${Math.max(...patientSe).toFixed(1)}). ` +
      `Behaviour cloning's held-out agreement with the clinician's recorded bin: ${
        Object.entries(agreement).map(([p, v]) => `${p} ${pm(meanSeOf(v))}`).join(", ")
      }.`,
      ...(runs.every((r) => r.learnedReward)
        ? [
          "",
          `OMG-RL's learned reward r_ψ on held-out hours, per preset: its correlation with the recorded r_p of the same ` +
          `(state, action), and the share of hours where it ranks the clinician's recorded bin first (1/6 by chance): ${
            HEPARIN_PRESET_NAMES.filter((p) => runs.some((r) => r.preset === p)).map((p) => {
              const mine = runs.filter((r) => r.preset === p).map((r) => r.learnedReward!);
              return `${p} ${pm(meanSeOf(mine.map((l) => l.correlationWithRp)), 2)} and ${
                pm(meanSeOf(mine.map((l) => l.ranksClinicianFirst)), 2)
              }`;
            }).join("; ")
          }.`,
        ]
        : []),
    ].join("\n");
  }
  if (id.startsWith("omg-diagnosis")) {
    type S = { mean: number; se: number };
    const s = values.summary as {
      fixed: Record<string, S>;
      imitation: Record<string, S>;
      cqlReward: { recorded: S; noiseFree: S };
      cqlState: Record<string, S>;
      cqlWeight: Record<string, S>;
      comboTemperature: Record<string, { timeInRange: S; entropy: S }>;
    };
    const labels: Record<string, string> = {
      agreement: "agreement with the recorded bin, held-out patients",
      keepAgreement: "agreement on hours the clinician kept the previous bin",
      moveRecall: "agreement on hours the clinician moved to another bin (held out)",
      trainMoveRecall: "agreement on move hours of the training patients",
      moveShare: "share of recorded hours that move to another bin",
      timeInRange: "behaviour cloning's true time in range",
    };
    return [
      table(["fixed policy", "true time in range"], Object.entries(s.fixed).map(([k, v]) => [k, pm(v)])),
      "",
      table(["behaviour cloning", "value"], Object.entries(s.imitation).map(([k, v]) => [labels[k] ?? k, pm(v)])),
      "",
      table(
        ["discrete CQL on the state", "true time in range"],
        Object.entries(s.cqlState).map(([k, v]) => [k, pm(v)]),
      ),
      "",
      table(
        ["discrete CQL (dosing state), alpha_CQL", "true time in range"],
        Object.entries(s.cqlWeight).sort(([a], [b]) => Number(a) - Number(b)).map(([k, v]) => [k, pm(v)]),
      ),
      "",
      table(["discrete CQL (dosing state) trained on", "true time in range"], [
        ["r_p of the recorded (held) aPTT", pm(s.cqlReward.recorded)],
        ["r_p of the noise-free aPTT (no record has it)", pm(s.cqlReward.noiseFree)],
      ]),
      "",
      table(
        ["COMBO (r_p) entropy temperature", "true time in range", "policy entropy (uniform: 1.792)"],
        Object.entries(s.comboTemperature).map(([k, v]) => [k, pm(v.timeInRange), pm(v.entropy)]),
      ),
    ].join("\n");
  }
  if (id.startsWith("omg-fig1")) {
    const v = values as { validation: number[][]; validationMse: number[][]; elites: number[]; bestEpoch: number[] };
    const epochs = v.validation.length;
    return [
      table(
        ["member", "best epoch", "validation NLL there", "validation MSE there", "elite"],
        v.bestEpoch.map((e, m) => [
          String(m),
          String(e + 1),
          v.validation[e][m].toFixed(3),
          v.validationMse[e][m].toFixed(4),
          v.elites.includes(m) ? "yes" : "",
        ]),
      ),
      "",
      `${epochs} epochs were run; each member keeps its parameters of its best validation epoch, and the ${v.elites.length} ` +
      `members with the lowest validation loss are the elites the rollouts sample from.`,
    ].join("\n");
  }
  if (id.startsWith("omg-fig2") || id.startsWith("omg-fig3")) {
    const v = values as {
      episodes: number[];
      mean?: number[];
      se?: number[];
      perSeed?: number[][];
      inModel?: { mean: number[]; se: number[]; perSeed: number[][] };
      trueSimulator?: { mean: number[]; se: number[]; perSeed: number[][] };
      trueTimeInRange?: number[][];
    };
    const last = v.episodes.length - 1;
    const at = (band: { mean: number[]; se: number[] }, k: number, d = 2) =>
      pm({ mean: band.mean[k], se: band.se[k] }, d);
    const seeds = (v.perSeed ?? v.inModel?.perSeed ?? []).length;
    const head = ["", `episode ${v.episodes[0]}`, `episode ${v.episodes[last]}`];
    const rows: string[][] = [];
    if (v.mean && v.se) {
      rows.push(["cumulative r_ψ of the learned policy (in the model)", at(v as never, 0), at(v as never, last)]);
    }
    if (v.inModel) {
      rows.push(["in-model r_p return (rollouts from held-out states)", at(v.inModel, 0), at(v.inModel, last)]);
    }
    if (v.trueSimulator) {
      rows.push(["true r_p return per stay", at(v.trueSimulator, 0), at(v.trueSimulator, last)]);
    }
    if (v.trueTimeInRange) {
      const tir = (k: number) => pm(meanSeOf(v.trueTimeInRange!.map((r) => r[k])));
      rows.push(["true time in aPTT 60-100 s", tir(0), tir(last)]);
    }
    return [table(head, rows), "", `Mean ± standard error over ${seeds} training seed${seeds === 1 ? "" : "s"}.`].join(
      "\n",
    );
  }
  if (id.startsWith("omg-fig4")) {
    const summary = values.summary as Record<string, MeanSe>;
    const perSeed = values.perSeed as Record<string, number>[];
    const labels: Record<string, string> = {
      omgRlByRpsi: "OMG-RL's policy (trained on r_ψ)",
      comboByRpsi: "COMBO's policy (trained on r_p)",
    };
    const wins = perSeed.filter((p) => p.omgRlByRpsi > p.comboByRpsi).length;
    return [
      table(
        ["policy, judged by OMG-RL's r_ψ in the model", "mean ± s.e. over seeds", "per seed"],
        Object.entries(summary).map((
          [k, v],
        ) => [labels[k] ?? k, pm(v, 2), perSeed.map((p) => p[k].toFixed(2)).join(", ")]),
      ),
      "",
      `OMG-RL's policy scores higher by r_ψ than COMBO's in ${wins} of ${perSeed.length} seeds.`,
    ].join("\n");
  }
  if (id.startsWith("omg-table2")) {
    const rows = values.rows as {
      n: number;
      rPsi: { mean: number[]; se: number[] };
      trueRp: { mean: number[]; se: number[] };
      trueTimeInRange: { mean: number[]; se: number[] };
      perSeed: { rPsi: number[] };
    }[];
    const paper = values.paper as { n: number[]; omgRl: number[] };
    const at = (m: { mean: number[]; se: number[] }, d = 2) => pm({ mean: m.mean[0], se: m.se[0] }, d);
    const seeds = rows[0]?.perSeed.rPsi.length ?? 0;
    return [
      table(
        [
          "expert trajectories N",
          "paper: cumulative r_ψ",
          "kit: cumulative r_ψ (in the model)",
          "kit: true r_p return per stay",
          "kit: true time in aPTT 60-100 s",
        ],
        rows.map((r) => {
          const k = paper.n.indexOf(r.n);
          return [String(r.n), k < 0 ? "" : String(paper.omgRl[k]), at(r.rPsi), at(r.trueRp), at(r.trueTimeInRange, 3)];
        }),
      ),
      "",
      `Mean ± standard error over ${seeds} seed${seeds === 1 ? "" : "s"}; each run learns its own r_ψ, so the r_ψ ` +
      `column compares sums of different reward functions.`,
    ].join("\n");
  }
  throw new RangeError(`omgRlSummaryMarkdown: no docs table for ${id}`);
}

/** Mean and standard error of a list (standard error 0 for one value). */
function meanSeOf(v: readonly number[]): { mean: number; se: number } {
  const m = meanSe(v.map((x) => [x]));
  return { mean: m.mean[0], se: m.se[0] };
}

/** A mean and its standard error. */
type MeanSe = { readonly mean: number; readonly se: number };

/**
 * The figures of an OMG-RL reproduction drawn from its recorded values (what `<id>.json` holds),
 * so that a notebook redraws a recorded full-size run without rerunning it.
 */
export function omgRlFigures(id: string, values: Record<string, unknown>): Figure[] {
  const v = values as Record<string, any>; // the shapes each reproduction above records
  const pm = (x: MeanSe, d = 3) => `${x.mean.toFixed(d)} ± ${x.se.toFixed(d)}`;
  const band = (x: number[], m: { mean: number[]; se: number[] }, name: string, dash?: "dash") => ({
    name,
    x,
    y: m.mean,
    lower: m.mean.map((y, t) => y - m.se[t]),
    upper: m.mean.map((y, t) => y + m.se[t]),
    dash,
  });
  switch (id.replace(/-(main|clinical|dosing)$/, "")) {
    case "omg-fig1": {
      const validation = v.validation as number[][], elites = v.elites as number[];
      return [lineFigure(
        "Dynamics ensemble: validation Gaussian NLL per member (elites solid)",
        "epoch",
        "validation NLL (normalised targets)",
        validation[0].map((_, m) => ({
          name: `member ${m}${elites.includes(m) ? " (elite)" : ""}`,
          x: validation.map((_, e) => e + 1),
          y: validation.map((row) => row[m]),
          dash: elites.includes(m) ? "solid" as const : "dot" as const,
        })),
      )];
    }
    case "omg-fig2":
      return [lineFigure(
        "Cumulative r_psi over episodes (model rollouts, mean ± s.e. over seeds)",
        "episode",
        "cumulative r_psi",
        [band(v.episodes, v as { mean: number[]; se: number[] }, "OMG-RL, cumulative r_psi")],
      )];
    case "omg-fig3":
      return [lineFigure("Cumulative r_p over episodes (mean ± s.e. over seeds)", "episode", "cumulative r_p", [
        band(v.episodes, v.inModel, "inside the learned model"),
        band(v.episodes, v.trueSimulator, "on the true simulator", "dash"),
      ])];
    case "omg-table2": {
      const rows = v.rows as {
        n: number;
        rPsi: { mean: number[]; se: number[] };
        trueRp: { mean: number[]; se: number[] };
        trueTimeInRange: { mean: number[]; se: number[] };
      }[];
      const fmt = (m: { mean: number[]; se: number[] }) => `${m.mean[0].toFixed(2)} ± ${m.se[0].toFixed(2)}`;
      return [
        tableFigure("Table II (mean ± s.e. over seeds; r_psi is each run's own learned reward)", [
          "expert trajectories N",
          "cumulative r_psi",
          "true r_p return",
          "true time in range",
        ], rows.map((x) => [String(x.n), fmt(x.rPsi), fmt(x.trueRp), fmt(x.trueTimeInRange)])),
        barFigure("Cumulative r_psi by N", "expert trajectories N", "cumulative r_psi", [{
          name: "OMG-RL",
          x: rows.map((x) => String(x.n)),
          y: rows.map((x) => x.rPsi.mean[0]),
          error: rows.map((x) => x.rPsi.se[0]),
        }]),
      ];
    }
    case "omg-fig4": {
      const summary = v.summary as Record<string, MeanSe>;
      return [barFigure(
        "Cumulative r_psi of each final policy (model rollouts from held-out states; mean ± s.e.)",
        "policy",
        "cumulative r_psi",
        [{
          name: "judged by OMG-RL's r_psi",
          x: ["COMBO (r_p)", "OMG-RL (r_psi)"],
          y: [summary.comboByRpsi.mean, summary.omgRlByRpsi.mean],
          error: [summary.comboByRpsi.se, summary.omgRlByRpsi.se],
        }],
      )];
    }
    case "omg-beyond":
    case "main":
      return comparisonFigures(v.runs as HeparinComparison[]);
    case "omg-diagnosis": {
      const s = v.summary as {
        fixed: Record<string, MeanSe>;
        imitation: Record<string, MeanSe>;
        cqlReward: { recorded: MeanSe; noiseFree: MeanSe };
        cqlState: Record<string, MeanSe>;
        cqlWeight: Record<string, MeanSe>;
        comboTemperature: Record<string, { timeInRange: MeanSe; entropy: MeanSe }>;
      };
      return [
        tableFigure(
          "Fixed policies: true time in range (mean ± s.e. over seeds)",
          ["policy", "time in range"],
          Object.entries(s.fixed).map(([k, x]) => [k, pm(x)]),
        ),
        tableFigure(
          "Behaviour cloning against the recorded bins",
          ["measure", "value"],
          Object.entries(s.imitation).map(([k, x]) => [k, pm(x)]),
        ),
        tableFigure(
          "Discrete CQL by state preset",
          ["state", "true time in range"],
          Object.entries(s.cqlState).map(([k, x]) => [k, pm(x)]),
        ),
        tableFigure(
          "Discrete CQL on the dosing state by conservative weight",
          ["alpha_CQL", "true time in range"],
          Object.entries(s.cqlWeight).map(([k, x]) => [k, pm(x)]),
        ),
        tableFigure("Discrete CQL (dosing state) by reward", ["reward", "true time in range"], [
          ["r_p on the recorded (held) aPTT", pm(s.cqlReward.recorded)],
          ["r_p on the noise-free aPTT", pm(s.cqlReward.noiseFree)],
        ]),
        tableFigure(
          "COMBO (r_p) by entropy temperature",
          ["temperature", "true time in range", "policy entropy (ln 6 = 1.792)"],
          Object.entries(s.comboTemperature).map(([t, x]) => [t, pm(x.timeInRange), pm(x.entropy)]),
        ),
      ];
    }
  }
  throw new RangeError(`omgRlFigures: unknown reproduction ${JSON.stringify(id)}`);
}
