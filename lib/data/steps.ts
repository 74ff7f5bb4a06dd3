/**
 * The long format: one row per individual and time step (id, t, features..., action, reward,
 * done), the form a user produces from their own records and the kit's CSV files hold.
 *
 * Row t carries the state s_t, the action a_t taken in it and the reward r_t that followed.
 * Each individual's last row carries the final state only: its action and reward are ignored
 * (and may be empty); `done = 1` there marks a terminal state (death, discharge), `done = 0` or
 * no done column a record that was cut off (a time-out). Missing feature values are NaN here
 * and must be imputed (see preprocess.ts) before building a dataset.
 *
 * @module
 */
import { createMdpDataset, listEpisodes, type MdpDataset } from "./dataset.ts";

/** Long-format table of steps. All per-row arrays have the same length. */
export interface StepTable {
  /** Names of the feature columns, in order. */
  readonly featureNames: readonly string[];
  /** Number of actions; actions are integers in `[0, numActions)`. */
  readonly numActions: number;
  /** Individual id of each row. */
  readonly ids: readonly string[];
  /** Time index of each row. */
  readonly times: Int32Array;
  /**
   * Row-major `[rows, features]`; NaN marks a missing value. Float64 from the parsers and
   * preprocessing; float32 where a reader builds a dataset straight away.
   */
  readonly features: Float64Array | Float32Array;
  /** Action of each row; -1 where empty (allowed on an individual's last row only). */
  readonly actions: Int32Array;
  /** Reward of each row; NaN where empty (allowed on an individual's last row only). */
  readonly rewards: Float64Array;
  /** 1 on a terminal last row. */
  readonly dones: Uint8Array;
  /** Where the table came from, for error messages (a file name). */
  readonly source?: string;
  /** File line of each row (1-based, header is line 1), for error messages. */
  readonly lines?: Int32Array;
}

/** Number of rows of a step table. */
export function stepCount(table: StepTable): number {
  return table.times.length;
}

/** "file, line 12" or "row 10" for messages. */
export function describeRow(table: StepTable, row: number): string {
  const where = table.lines ? `line ${table.lines[row]}` : `row ${row}`;
  return table.source ? `${table.source}, ${where}` : where;
}

/**
 * Row ranges `[start, end)` of each individual, checking rows are contiguous and times increase.
 * `seen` holds the ids of earlier tables of the same file (a streamed read), and gains this one's.
 */
export function individualRuns(
  table: StepTable,
  seen: Set<string> = new Set(),
): { id: string; start: number; end: number }[] {
  const n = stepCount(table);
  const runs: { id: string; start: number; end: number }[] = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && table.ids[i] === table.ids[start]) {
      if (table.times[i] === table.times[i - 1]) {
        throw new RangeError(`${describeRow(table, i)}: duplicate (id, t) = (${table.ids[i]}, ${table.times[i]})`);
      }
      if (table.times[i] < table.times[i - 1]) {
        throw new RangeError(
          `${describeRow(table, i)}: t = ${table.times[i]} comes after t = ${table.times[i - 1]} for id ${
            table.ids[i]
          }; rows of an individual must be in increasing t`,
        );
      }
      continue;
    }
    const id = table.ids[start];
    if (seen.has(id)) {
      throw new RangeError(
        `${describeRow(table, start)}: rows of id ${id} are not contiguous (the id appeared earlier)`,
      );
    }
    seen.add(id);
    runs.push({ id, start, end: i });
    start = i;
  }
  return runs;
}

/**
 * Builds the transitions of a complete (imputed) step table. Throws RangeError naming the row
 * for: missing feature values, individuals with fewer than two steps, a done flag before an
 * individual's last row, empty or out-of-range actions and rewards on other rows.
 */
export function stepTableToDataset(table: StepTable, seen?: Set<string>): MdpDataset {
  const F = table.featureNames.length;
  const runs = individualRuns(table, seen);
  if (runs.length === 0) throw new RangeError(`${table.source ?? "step table"}: no rows`);
  let size = 0;
  for (const r of runs) {
    if (r.end - r.start < 2) {
      throw new RangeError(
        `${describeRow(table, r.start)}: id ${r.id} has ${
          r.end - r.start
        } step; at least two are needed for a transition`,
      );
    }
    size += r.end - r.start - 1;
  }
  for (let i = 0; i < stepCount(table); i++) {
    for (let f = 0; f < F; f++) {
      if (Number.isNaN(table.features[i * F + f])) {
        throw new RangeError(
          `${describeRow(table, i)}: feature "${
            table.featureNames[f]
          }" is missing; impute first (sampleAndHold, knnImpute) or drop the feature`,
        );
      }
    }
  }
  const states = new Float32Array(size * F);
  const nextStates = new Float32Array(size * F);
  const actions = new Int32Array(size);
  const rewards = new Float32Array(size);
  const times = new Int32Array(size);
  const individuals = new Int32Array(size);
  const terminals = new Uint8Array(size);
  const timeouts = new Uint8Array(size);
  let k = 0;
  runs.forEach((r, ind) => {
    for (let i = r.start; i < r.end - 1; i++, k++) {
      const a = table.actions[i];
      if (!(a >= 0 && a < table.numActions)) {
        throw new RangeError(
          `${describeRow(table, i)}: action ${
            a < 0 ? "is empty" : a
          } ; expected an integer in [0, ${table.numActions})`,
        );
      }
      if (Number.isNaN(table.rewards[i])) throw new RangeError(`${describeRow(table, i)}: reward is empty`);
      if (table.dones[i]) throw new RangeError(`${describeRow(table, i)}: done = 1 before the last row of id ${r.id}`);
      states.set(table.features.subarray(i * F, (i + 1) * F), k * F);
      nextStates.set(table.features.subarray((i + 1) * F, (i + 2) * F), k * F);
      actions[k] = a;
      rewards[k] = table.rewards[i];
      times[k] = table.times[i];
      individuals[k] = ind;
    }
    const last = r.end - 1;
    terminals[k - 1] = table.dones[last] ? 1 : 0;
    timeouts[k - 1] = table.dones[last] ? 0 : 1;
  });
  return createMdpDataset({
    numActions: table.numActions,
    featureNames: table.featureNames,
    individualIds: runs.map((r) => r.id),
    individuals,
    times,
    states,
    actions,
    rewards,
    nextStates,
    terminals,
    timeouts,
  });
}

/** The long-format table of a dataset (each episode's final state becomes its last row). */
export function datasetToStepTable(ds: MdpDataset): StepTable {
  const F = ds.stateDim;
  const eps = listEpisodes(ds);
  const n = ds.size + eps.length;
  const ids: string[] = new Array(n);
  const times = new Int32Array(n);
  const features = new Float64Array(n * F);
  const actions = new Int32Array(n);
  const rewards = new Float64Array(n);
  const dones = new Uint8Array(n);
  let row = 0;
  for (const e of eps) {
    for (let i = e.start; i < e.end; i++, row++) {
      ids[row] = e.id;
      times[row] = ds.times[i];
      features.set(ds.states.subarray(i * F, (i + 1) * F), row * F);
      actions[row] = ds.actions[i];
      rewards[row] = ds.rewards[i];
    }
    const last = e.end - 1;
    ids[row] = e.id;
    times[row] = ds.times[last] + 1;
    features.set(ds.nextStates.subarray(last * F, (last + 1) * F), row * F);
    actions[row] = -1;
    rewards[row] = NaN;
    dones[row] = ds.terminals[last];
    row++;
  }
  return { featureNames: ds.featureNames, numActions: ds.numActions, ids, times, features, actions, rewards, dones };
}
