/**
 * Validation of the off-policy estimators against simulator ground truth (`deno task repro
 * ope-validation`): on the sepsis and heparin simulators, a fixed set of policies (learned once
 * on a separate training dataset) is valued by Monte Carlo on the simulator, then estimated by
 * FQE, WIS and WDR from many independent recorded datasets; the table reports each estimator's
 * bias, RMSE, the coverage of its 95% bootstrap intervals and the mean effective sample size.
 *
 * Policies: "behaviour cloning" (the behaviour model fitted on the training data), "learned"
 * (softmax of FQI's Q, temperature 0.3 of the Q range), "bad" (the same softmax on -Q: it seeks
 * the worst actions), "uniform". All are functions of the recorded state only (the sepsis
 * clinician, who sees diabetes, is not, so it appears only as the on-policy reference).
 *
 * @module
 */
import { createRng, deriveSeeds } from "../core/random.ts";
import { drawPopulation, evaluatePolicy, simulate } from "../envs/env.ts";
import type { Environment, Individual } from "../envs/env.ts";
import { createSepsisEnv } from "../envs/sepsis.ts";
import { createHeparinEnv, HEPARIN_STATE_PRESETS } from "../envs/heparin.ts";
import { type FeatureMap, fitRbfFeatures, levelFeatures } from "../algos/features.ts";
import { fittedQIteration, linearQValues } from "../algos/fqi.ts";
import { evaluatePolicies, type EvaluationPolicy, fitBehaviourPolicy, type OpeRow } from "../algos/ope.ts";
import { barFigure, type Figure, tableFigure } from "../plots/figures.ts";
import { softmaxInPlace } from "../core/numeric.ts";
import { BEHAVIOUR_DEFAULTS, OPE_DEFAULTS } from "../algos/ope.ts";
import { FQI_DEFAULTS } from "../algos/fqi.ts";
import { RBF_DEFAULTS } from "../algos/features.ts";

/** The settings the validation can run in. */
export type OpeValidationEnv = "sepsis" | "sepsis-observed" | "heparin-paper" | "heparin-clinical";

/** The settings `--env` may name. */
export const OPE_VALIDATION_ENVS: readonly OpeValidationEnv[] = Object.freeze([
  "sepsis-observed",
  "sepsis",
  "heparin-paper",
  "heparin-clinical",
]);

/** Sizes of the validation. */
export interface OpeValidationSizes {
  /**
   * "sepsis": Oberst & Sontag's simulator, whose clinician sees the hidden diabetes (unobserved
   * confounding: importance weights from a state-only behaviour model are biased, by design of
   * the check); "sepsis-observed": the same with no diabetics, so the clinician depends on the
   * recorded state only; "heparin-paper": the calibrated heparin cohort on the paper's 16
   * variables; "heparin-clinical": the same on the clinical record (the last aPTT and the dosing
   * context, 27 columns), where the clinician's dose is close to a function of the recorded state.
   */
  readonly envs: readonly OpeValidationEnv[];
  /** Individuals per recorded dataset. */
  readonly individuals: number;
  /** Independent datasets per environment. */
  readonly datasets: number;
  /** Bootstrap resamples per estimate. */
  readonly bootstrap: number;
  /** Monte Carlo individuals for the true values. */
  readonly truthIndividuals: number;
  /** Clinician exploration of the sepsis simulator (its epsilon; 0.05 in Oberst & Sontag). */
  readonly sepsisEpsilon: number;
}

/** The main job's scale for one or two settings: 300 patients, 10 datasets, 50 resamples (`--main-sizes`). */
export const OPE_VALIDATION_MAIN: OpeValidationSizes = Object.freeze<OpeValidationSizes>({
  envs: ["heparin-paper", "heparin-clinical"],
  individuals: 300,
  datasets: 10,
  bootstrap: 50,
  truthIndividuals: 4000,
  sepsisEpsilon: 0.5,
});

/** The full-size validation (about an hour). */
export const OPE_VALIDATION_FULL: OpeValidationSizes = Object.freeze<OpeValidationSizes>({
  envs: ["sepsis-observed", "sepsis", "heparin-paper", "heparin-clinical"],
  individuals: 500,
  datasets: 30,
  bootstrap: 100,
  truthIndividuals: 20_000,
  sepsisEpsilon: 0.5,
});

/** CI sizes (about 30 s). */
export const OPE_VALIDATION_QUICK: OpeValidationSizes = Object.freeze<OpeValidationSizes>({
  envs: ["sepsis-observed"],
  individuals: 200,
  datasets: 10,
  bootstrap: 40,
  truthIndividuals: 4000,
  sepsisEpsilon: 0.5,
});

/**
 * The resolved config of what the validation fits: the behaviour model, the evaluation (FQE and
 * the bootstrap; each environment's own discount replaces the default), and the FQI that makes
 * the "learned" policy (discount min(gamma, 0.95)).
 */
export function opeValidationConfigs(sizes: OpeValidationSizes): Record<string, unknown> {
  return {
    behaviour: BEHAVIOUR_DEFAULTS,
    evaluation: { ...OPE_DEFAULTS, bootstrap: sizes.bootstrap, discount: "the environment's" },
    fqi: { ...FQI_DEFAULTS, discount: "min(the environment's, 0.95)" },
    features: {
      heparin: { kind: "rbf", ...RBF_DEFAULTS, centres: 16, standardize: true },
      sepsis: { kind: "levels" },
    },
  };
}

/** Per environment, policy and estimator: bias, RMSE, coverage, mean ESS, and the truth. */
export interface OpeValidationRow {
  /** The setting. */
  readonly env: string;
  /** The policy evaluated. */
  readonly policy: string;
  /** The estimator. */
  readonly estimator: string;
  /** The policy's true value (Monte Carlo). */
  readonly truth: number;
  /** Mean estimate minus the truth. */
  readonly bias: number;
  /** Root mean squared error over the datasets. */
  readonly rmse: number;
  /** Share of the datasets whose interval holds the truth. */
  readonly coverage: number;
  /** Mean effective sample size. */
  readonly meanEss: number;
  /** Datasets the row averages over. */
  readonly datasets: number;
  /**
   * Datasets where the estimator gave no estimate (FQE's linear fixed point diverged, and WDR with
   * it): bias and RMSE are over the others, and a diverged dataset counts as not covering.
   */
  readonly diverged: number;
}

/** `env` observed through `names` only (its other columns dropped; the behaviour policy still reads the state). */
function withColumns<S, P>(env: Environment<S, P>, names: readonly string[]): Environment<S, P> {
  const idx = names.map((n) => env.featureNames.indexOf(n));
  const { observeInto: _, ...rest } = env;
  return Object.freeze({
    ...rest,
    featureNames: names,
    observe: (s: S, ind: Individual<P>) => {
      const o = env.observe(s, ind);
      return Float64Array.from(idx, (j) => o[j]);
    },
  });
}

function makeEnv(name: OpeValidationEnv, sizes: OpeValidationSizes): Environment<any, any> {
  if (name === "heparin-paper") return withColumns(createHeparinEnv(), HEPARIN_STATE_PRESETS.paper);
  if (name === "heparin-clinical") return createHeparinEnv();
  return createSepsisEnv({
    clinicianEpsilon: sizes.sepsisEpsilon,
    ...(name === "sepsis-observed" ? { diabetesProbability: 0 } : {}),
  });
}

type ValidationSeeds = Readonly<
  Record<"population" | "simulation" | "features" | "behaviourCloning" | "truth" | "datasets", number>
>;

/** The policies to evaluate, from a separate training dataset, and the features the estimators use. */
function validationPolicies(
  env: Environment<unknown, unknown>,
  name: OpeValidationEnv,
  sizes: OpeValidationSizes,
  seeds: ValidationSeeds,
) {
  const gamma = env.discount;
  // Policies from a separate training dataset.
  const trainInd = drawPopulation(env, createRng(seeds.population), sizes.individuals);
  const train = simulate(env, { individuals: trainInd, seed: seeds.simulation });
  // Sepsis states are small integers (levels of 3 vitals, glucose, 3 treatments): indicators.
  const features: FeatureMap = name.startsWith("heparin")
    // Standardised first: the record mixes scales (platelets in the hundreds, one-hot bins).
    ? fitRbfFeatures(train.states, train.stateDim, { centres: 16, seed: seeds.features, standardize: true })
    : levelFeatures([3, 3, 2, 5, 2, 2, 2]);
  const bc = fitBehaviourPolicy(train, features, { seed: seeds.behaviourCloning });
  const q = fittedQIteration(train, features, { discount: Math.min(gamma, 0.95) });
  const A = env.numActions;
  const soft = (sign: number): EvaluationPolicy => (s) => {
    const v = linearQValues(q, s);
    let mx = -Infinity, mn = Infinity;
    for (const x of v) {
      mx = Math.max(mx, sign * x);
      mn = Math.min(mn, sign * x);
    }
    const tau = 0.3 * Math.max(mx - mn, 1e-6);
    const p = Float64Array.from(v, (x) => sign * x);
    softmaxInPlace(p, 0, p.length, tau);
    return p;
  };
  const policies: Record<string, EvaluationPolicy> = {
    "behaviour cloning": (s) => bc.probabilities(s),
    learned: soft(1),
    bad: soft(-1),
    uniform: () => new Array(A).fill(1 / A),
  };
  return { features, policies };
}

/** Each policy's true value by Monte Carlo, and the clinicians'. */
function trueValues(
  env: Environment<unknown, unknown>,
  policies: Record<string, EvaluationPolicy>,
  sizes: OpeValidationSizes,
  seeds: ValidationSeeds,
): Record<string, number> {
  const gamma = env.discount;
  // True values by Monte Carlo.
  const truthSeeds = deriveSeeds(seeds.truth, ["population", "outcomes"]);
  const truthInd = drawPopulation(env, createRng(truthSeeds.population), sizes.truthIndividuals);
  const truth: Record<string, number> = {};
  for (const [p, pol] of Object.entries(policies)) {
    truth[p] = evaluatePolicy(env, (o) =>
      pol(o), { individuals: truthInd, discount: gamma, seed: truthSeeds.outcomes }).overall
      .discounted.mean;
  }
  truth["clinicians (recorded)"] = evaluatePolicy(
    env,
    "behaviour",
    { individuals: truthInd, discount: gamma, seed: truthSeeds.outcomes },
  ).overall.discounted.mean;
  return truth;
}

/** The estimators' tables on `sizes.datasets` independent datasets. */
function estimatesOnDatasets(
  env: Environment<unknown, unknown>,
  name: OpeValidationEnv,
  features: FeatureMap,
  policies: Record<string, EvaluationPolicy>,
  sizes: OpeValidationSizes,
  seeds: ValidationSeeds,
  progress: (m: string) => void,
): OpeRow[][] {
  const gamma = env.discount;
  const results: OpeRow[][] = [];
  for (let d = 0; d < sizes.datasets; d++) {
    const ds = deriveSeeds(createRng(seeds.datasets).fold(d), ["population", "simulation", "behaviour", "bootstrap"]);
    const ind = drawPopulation(env, createRng(ds.population), sizes.individuals);
    const data = simulate(env, { individuals: ind, seed: ds.simulation });
    const mu = fitBehaviourPolicy(data, features, { seed: ds.behaviour });
    const table = evaluatePolicies(data, features, mu, policies, {
      discount: gamma,
      horizon: env.horizon,
      bootstrap: sizes.bootstrap,
      seed: ds.bootstrap,
      warn: () => {},
    });
    results.push([...table.rows]);
    progress(`${name}: dataset ${d + 1}/${sizes.datasets}`);
  }
  return results;
}

/** Bias, RMSE, coverage and mean ESS of each (policy, estimator) over the datasets. */
function summarizeEstimates(
  name: OpeValidationEnv,
  results: OpeRow[][],
  truth: Record<string, number>,
): OpeValidationRow[] {
  const rows: OpeValidationRow[] = [];
  const keys = results[0].map((r) => `${r.policy}\u0000${r.estimator}`);
  for (const key of keys) {
    const [policy, estimator] = key.split("\u0000");
    const mine = results.map((rs) => rs.find((r) => r.policy === policy && r.estimator === estimator)!);
    const t = truth[policy];
    const err = mine.filter((r) => Number.isFinite(r.estimate)).map((r) => r.estimate - t);
    rows.push({
      env: name,
      policy,
      estimator,
      truth: t,
      bias: err.length > 0 ? err.reduce((a, b) => a + b, 0) / err.length : NaN,
      rmse: err.length > 0 ? Math.sqrt(err.reduce((a, b) => a + b * b, 0) / err.length) : NaN,
      coverage: mine.filter((r) => r.lower <= t && t <= r.upper).length / mine.length,
      meanEss: mine.reduce((a, r) => a + r.ess, 0) / mine.length,
      datasets: mine.length,
      diverged: mine.length - err.length,
    });
  }
  return rows;
}

/** The validation's table and one RMSE bar chart per environment. */
function validationFigures(rows: readonly OpeValidationRow[], sizes: OpeValidationSizes): Figure[] {
  const f = (x: number) => x.toFixed(3);
  return [
    tableFigure(
      "Off-policy estimators against simulator ground truth",
      ["env", "policy", "estimator", "true value", "bias", "RMSE", "95% coverage", "mean ESS"],
      rows.map((
        r,
      ) => [
        r.env,
        r.policy,
        r.estimator,
        f(r.truth),
        f(r.bias),
        f(r.rmse),
        r.coverage.toFixed(2),
        r.meanEss.toFixed(1),
      ]),
    ),
    ...sizes.envs.map((name) => {
      const mine = rows.filter((r) => r.env === name);
      const estimators = [...new Set(mine.map((r) => r.estimator))];
      const policies = [...new Set(mine.map((r) => r.policy))];
      return barFigure(
        `${name}: RMSE of each estimator, per policy`,
        "policy",
        "RMSE",
        estimators.map((e) => ({
          name: e,
          x: policies,
          y: policies.map((p) => mine.find((r) => r.policy === p && r.estimator === e)?.rmse ?? NaN),
        })),
      );
    }),
  ];
}

/** Runs the validation; `progress` gets a line per dataset. */
export function runOpeValidation(
  sizes: OpeValidationSizes,
  progress: (m: string) => void = () => {},
): { rows: OpeValidationRow[]; figures: Figure[] } {
  const rows: OpeValidationRow[] = [];
  // One seed split into named streams: training data, truth, and one stream per validation dataset.
  const seeds = deriveSeeds(0, ["population", "simulation", "features", "behaviourCloning", "truth", "datasets"]);
  for (const name of sizes.envs) {
    const env = makeEnv(name, sizes) as Environment<unknown, unknown>;
    const { features, policies } = validationPolicies(env, name, sizes, seeds);
    const truth = trueValues(env, policies, sizes, seeds);
    const results = estimatesOnDatasets(env, name, features, policies, sizes, seeds, progress);
    rows.push(...summarizeEstimates(name, results, truth));
  }
  return { rows, figures: validationFigures(rows, sizes) };
}

/** The validation's table as Markdown, for the docs (`deno task docs`). */
export function opeValidationMarkdown(rows: readonly OpeValidationRow[]): string {
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "-");
  return [
    "| setting | policy | estimator | truth | bias | RMSE | coverage | mean ESS | diverged |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| ${r.env} | ${r.policy} | ${r.estimator} | ${f(r.truth)} | ${f(r.bias)} | ${f(r.rmse)} | ${
        r.coverage.toFixed(2)
      } | ${r.meanEss.toFixed(1)} | ${r.diverged ?? "not recorded"} |`
    ),
    "",
    `Over ${rows[0]?.datasets ?? 0} independent recorded datasets per setting; "diverged" counts the datasets where ` +
    "FQE's linear fixed point diverged (no FQE or WDR estimate); bias and RMSE are over the others.",
  ].join("\n");
}
