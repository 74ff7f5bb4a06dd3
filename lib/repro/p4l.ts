/**
 * P4L's Figure 1 (section 6.1) as a grid of independent cells, so that it can run whole, or as
 * shards on a scheduler and be collected: each cell is one (N, T, repetition), simulates its data,
 * fits every method on the same RBF features, and values each individual's policy by Monte Carlo
 * on that individual's own dynamics. `assembleP4lFig1` turns cell results (in any order, from any
 * shards) into the same `<id>.json` values and box plots.
 *
 * @module
 */
import { createRng } from "../core/random.ts";
import { drawPopulation, evaluatePolicy, type Policy, simulate, summarize } from "../envs/env.ts";
import { createP4lSimpleEnv } from "../envs/p4l_simple.ts";
import { fitRbfFeatures } from "../algos/features.ts";
import { fittedQIteration, greedyPolicy } from "../algos/fqi.ts";
import { vLearning, vLearningPolicy } from "../algos/vlearning.ts";
import { acpiPolicy, fitAcpi } from "../algos/acpi.ts";
import { fitP4l, p4lPolicy } from "../algos/p4l.ts";
import { boxFigure, type Figure } from "../plots/figures.ts";

/** Sizes of the Figure 1 grid. */
export interface P4lFig1Sizes {
  /** Individuals per group (N = 3 x this). */
  readonly perGroup: readonly number[];
  readonly horizons: readonly number[];
  readonly repetitions: number;
  /** P4L's K values. */
  readonly ks: readonly number[];
  /** Monte Carlo trajectories per individual (the paper: 1000 per group). */
  readonly trajectories: number;
  readonly p4lIterations: number;
  readonly vlSteps: number;
}

/** The paper's grid: N in {30, 60}, T in {50, 100, 200}, K = 2..5, 50 repetitions. */
export const P4L_FIG1_FULL: P4lFig1Sizes = Object.freeze({
  perGroup: [10, 20],
  horizons: [50, 100, 200],
  repetitions: 50,
  ks: [2, 3, 4, 5],
  trajectories: 100,
  p4lIterations: 60,
  vlSteps: 150,
});

/** CI sizes: one (N, T), two repetitions, K = 3. */
export const P4L_FIG1_QUICK: P4lFig1Sizes = Object.freeze({
  perGroup: [10],
  horizons: [50],
  repetitions: 2,
  ks: [3],
  trajectories: 10,
  p4lIterations: 60,
  vlSteps: 40,
});

/** One cell of the grid. */
export interface P4lCell {
  readonly index: number;
  readonly perGroup: number;
  readonly horizon: number;
  readonly repetition: number;
}

/** The grid's cells, in a fixed order. */
export function p4lFig1Cells(sizes: P4lFig1Sizes): P4lCell[] {
  const cells: P4lCell[] = [];
  for (const perGroup of sizes.perGroup) {
    for (const horizon of sizes.horizons) {
      for (let repetition = 0; repetition < sizes.repetitions; repetition++) {
        cells.push({ index: cells.length, perGroup, horizon, repetition });
      }
    }
  }
  return cells;
}

/** A cell's result: per method, per group, the mean discounted value. */
export interface P4lCellResult {
  readonly cell: P4lCell;
  readonly values: Record<string, Record<string, number>>;
}

/** Runs one cell (deterministic in the cell). */
export function runP4lFig1Cell(cell: P4lCell, sizes: P4lFig1Sizes): P4lCellResult {
  const env = createP4lSimpleEnv({ horizon: cell.horizon });
  const seed = 1000 * cell.index + 17;
  const individuals = drawPopulation(env, createRng(seed), 3 * cell.perGroup, env.groups);
  const data = simulate(env, { individuals, horizon: cell.horizon, seed: seed + 1 });
  const features = fitRbfFeatures(data.states, 2, { centres: 16, seed });
  const perIndividual: Record<string, (i: number) => (s: ArrayLike<number>) => ArrayLike<number>> = {};
  const q = fittedQIteration(data, features, { discount: 0.8 });
  perIndividual.FQI = () => greedyPolicy(q);
  const vl = vLearning(data, features, { discount: 0.8, behaviour: () => 0.5, steps: sizes.vlSteps });
  perIndividual.VL = () => vLearningPolicy(vl);
  const acpi = fitAcpi(data, features, { discount: 0.8 });
  perIndividual.ACPI = (i) => acpiPolicy(acpi, i);
  for (const k of sizes.ks) {
    const model = fitP4l(data, features, { groups: k, seed, iterations: sizes.p4lIterations });
    perIndividual[`P4L (K=${k})`] = (i) => p4lPolicy(model, i);
  }
  perIndividual.Behaviour = () => () => [0.5, 0.5];
  const values: Record<string, Record<string, number>> = {};
  for (const [method, make] of Object.entries(perIndividual)) {
    const policies = individuals.map((_, i) => make(i));
    const policy: Policy = (o, c) => policies[c.individual](o);
    const ev = evaluatePolicy(env, policy, {
      individuals,
      trajectories: sizes.trajectories,
      horizon: cell.horizon,
      discount: 0.8,
      seed: seed + 2,
    });
    values[method] = Object.fromEntries(Object.entries(ev.perGroup).map(([g, s]) => [g, s.discounted.mean]));
  }
  return { cell, values };
}

/** The cells of shard `i` of `n` (cell index modulo n): one shard per array index. */
export function shardCells(cells: readonly P4lCell[], shard: number, shards: number): P4lCell[] {
  if (!Number.isInteger(shards) || shards < 1 || !Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new RangeError(`shard must be i/n with 0 <= i < n, got ${shard}/${shards}`);
  }
  return cells.filter((c) => c.index % shards === shard);
}

/** Cell results (any order, complete) to the figure's values and box plots. */
export function assembleP4lFig1(
  results: readonly P4lCellResult[],
  sizes: P4lFig1Sizes,
): { values: Record<string, unknown>; figures: Figure[] } {
  const cells = p4lFig1Cells(sizes);
  const byIndex = new Map(results.map((r) => [r.cell.index, r]));
  const missing = cells.filter((c) => !byIndex.has(c.index)).map((c) => c.index);
  if (missing.length > 0) {
    throw new RangeError(
      `p4l-fig1: missing cells ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""}`,
    );
  }
  const ordered = cells.map((c) => byIndex.get(c.index)!);
  const figures: Figure[] = [];
  const summary: Record<string, Record<string, Record<string, { mean: number; se: number; n: number }>>> = {};
  for (const perGroup of sizes.perGroup) {
    for (const horizon of sizes.horizons) {
      const mine = ordered.filter((r) => r.cell.perGroup === perGroup && r.cell.horizon === horizon);
      const methods = Object.keys(mine[0].values);
      const groups = Object.keys(mine[0].values[methods[0]]);
      const key = `N=${3 * perGroup}, T=${horizon}`;
      summary[key] = {};
      const boxes = [];
      for (const m of methods) {
        summary[key][m] = {};
        for (const g of groups) {
          const v = mine.map((r) => r.values[m][g]);
          const s = summarize(v);
          summary[key][m][g] = { mean: s.mean, se: s.count > 1 ? s.standardError : 0, n: s.count };
          boxes.push({ method: m, group: g, values: v });
        }
      }
      figures.push(boxFigure(`P4L Figure 1, ${key}: discounted value per group over repetitions`, "value", boxes));
    }
  }
  return { values: { cells: ordered, summary }, figures };
}
