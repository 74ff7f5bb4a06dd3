/**
 * MDP datasets: frozen records of transitions (s_t, a_t, r_t, s_{t+1}) over individuals
 * (patients), with terminal and time-out flags kept apart as offline-RL users need (an episode
 * that ends in death or discharge bootstraps no value; one cut at the end of the record does).
 *
 * Layout: transitions sorted by individual, then time; each individual's transitions are one
 * contiguous episode. States are row-major `Float32Array [size, stateDim]`.
 *
 * @module
 */

/** A dataset of transitions over individuals. All arrays have `size` rows. */
export interface MdpDataset {
  /** Number of transitions. */
  readonly size: number;
  /** Width of a state vector. */
  readonly stateDim: number;
  /** Actions are integers in `[0, numActions)`. */
  readonly numActions: number;
  /** Names of the state features, `stateDim` of them. */
  readonly featureNames: readonly string[];
  /** Distinct individual ids; `individuals[i]` indexes this list. */
  readonly individualIds: readonly string[];
  /** Individual of each transition, `Int32Array [size]`. */
  readonly individuals: Int32Array;
  /** Time index t of s_t, `Int32Array [size]`. */
  readonly times: Int32Array;
  /** s_t, `Float32Array [size, stateDim]`. */
  readonly states: Float32Array;
  /** a_t, `Int32Array [size]`. */
  readonly actions: Int32Array;
  /** r_t, `Float32Array [size]`. */
  readonly rewards: Float32Array;
  /** s_{t+1}, `Float32Array [size, stateDim]`. */
  readonly nextStates: Float32Array;
  /** 1 where s_{t+1} is terminal (no value beyond it), `Uint8Array [size]`. */
  readonly terminals: Uint8Array;
  /** 1 where the record stops at s_{t+1} without a terminal state, `Uint8Array [size]`. */
  readonly timeouts: Uint8Array;
}

/** The fields needed to build a dataset; `createMdpDataset` checks and freezes them. */
export type MdpDatasetFields = Omit<MdpDataset, "size" | "stateDim">;

/**
 * Checks the fields' shapes, ordering and values, and returns a frozen dataset.
 * Throws RangeError naming the first bad field and transition.
 */
export function createMdpDataset(fields: MdpDatasetFields): MdpDataset {
  const size = fields.actions.length;
  const stateDim = fields.featureNames.length;
  if (stateDim < 1) throw new RangeError("createMdpDataset(): at least one state feature is needed");
  if (!Number.isInteger(fields.numActions) || fields.numActions < 1) {
    throw new RangeError(`createMdpDataset(): numActions must be a positive integer, got ${fields.numActions}`);
  }
  const expect = (name: string, got: number, want: number) => {
    if (got !== want) throw new RangeError(`createMdpDataset(): ${name} has length ${got}, expected ${want}`);
  };
  expect("individuals", fields.individuals.length, size);
  expect("times", fields.times.length, size);
  expect("states", fields.states.length, size * stateDim);
  expect("rewards", fields.rewards.length, size);
  expect("nextStates", fields.nextStates.length, size * stateDim);
  expect("terminals", fields.terminals.length, size);
  expect("timeouts", fields.timeouts.length, size);
  for (let i = 0; i < size; i++) {
    const a = fields.actions[i];
    if (a < 0 || a >= fields.numActions) {
      throw new RangeError(`createMdpDataset(): action ${a} at transition ${i} is outside [0, ${fields.numActions})`);
    }
    const ind = fields.individuals[i];
    if (ind < 0 || ind >= fields.individualIds.length) {
      throw new RangeError(`createMdpDataset(): individual index ${ind} at transition ${i} has no id`);
    }
    if (i > 0) {
      const prev = fields.individuals[i - 1];
      if (ind === prev && fields.times[i] <= fields.times[i - 1]) {
        throw new RangeError(
          `createMdpDataset(): times of individual ${fields.individualIds[ind]} are not increasing at transition ${i}`,
        );
      }
      if (ind !== prev && !(fields.terminals[i - 1] || fields.timeouts[i - 1])) {
        throw new RangeError(
          `createMdpDataset(): episode of ${fields.individualIds[prev]} ends at transition ${
            i - 1
          } without a terminal or time-out flag`,
        );
      }
    }
    if (!Number.isFinite(fields.rewards[i])) {
      throw new RangeError(`createMdpDataset(): reward at transition ${i} is ${fields.rewards[i]}`);
    }
  }
  if (size > 0 && !(fields.terminals[size - 1] || fields.timeouts[size - 1])) {
    throw new RangeError("createMdpDataset(): the last transition has neither a terminal nor a time-out flag");
  }
  for (let j = 0; j < size * stateDim; j++) {
    if (!Number.isFinite(fields.states[j]) || !Number.isFinite(fields.nextStates[j])) {
      const i = Math.floor(j / stateDim);
      throw new RangeError(
        `createMdpDataset(): state feature "${fields.featureNames[j % stateDim]}" at transition ${i} is not finite`,
      );
    }
  }
  return Object.freeze({
    ...fields,
    size,
    stateDim,
    featureNames: Object.freeze([...fields.featureNames]),
    individualIds: Object.freeze([...fields.individualIds]),
  });
}

/** One individual's contiguous run of transitions `[start, end)`. */
export interface Episode {
  /** Index into `individualIds`. */
  readonly individual: number;
  /** The individual's id. */
  readonly id: string;
  /** First row of the episode. */
  readonly start: number;
  /** One past its last row. */
  readonly end: number;
}

/** Lists the episodes (one per individual, in dataset order). */
export function listEpisodes(ds: MdpDataset): Episode[] {
  const out: Episode[] = [];
  let start = 0;
  for (let i = 1; i <= ds.size; i++) {
    if (i === ds.size || ds.individuals[i] !== ds.individuals[start]) {
      const individual = ds.individuals[start];
      out.push({ individual, id: ds.individualIds[individual], start, end: i });
      start = i;
    }
  }
  return out;
}

/** Copies the listed transition rows (in the given order) into a new dataset. Ids are renumbered. */
export function selectTransitions(
  ds: MdpDataset,
  rows: ArrayLike<number>,
  options: { readonly truncate?: boolean } = {},
): MdpDataset {
  const n = rows.length;
  const S = ds.stateDim;
  const states = new Float32Array(n * S);
  const nextStates = new Float32Array(n * S);
  const actions = new Int32Array(n);
  const rewards = new Float32Array(n);
  const times = new Int32Array(n);
  const terminals = new Uint8Array(n);
  const timeouts = new Uint8Array(n);
  const individuals = new Int32Array(n);
  const idIndex = new Map<number, number>();
  const individualIds: string[] = [];
  for (let k = 0; k < n; k++) {
    const i = rows[k];
    if (!(i >= 0 && i < ds.size)) throw new RangeError(`selectTransitions(): row ${i} is outside [0, ${ds.size})`);
    states.set(ds.states.subarray(i * S, (i + 1) * S), k * S);
    nextStates.set(ds.nextStates.subarray(i * S, (i + 1) * S), k * S);
    actions[k] = ds.actions[i];
    rewards[k] = ds.rewards[i];
    times[k] = ds.times[i];
    terminals[k] = ds.terminals[i];
    timeouts[k] = ds.timeouts[i];
    let code = idIndex.get(ds.individuals[i]);
    if (code === undefined) {
      code = individualIds.length;
      idIndex.set(ds.individuals[i], code);
      individualIds.push(ds.individualIds[ds.individuals[i]]);
    }
    individuals[k] = code;
  }
  if (options.truncate) {
    // Each individual's last selected row ends its (now shorter) episode: a time-out unless terminal.
    for (let k = 0; k < n; k++) {
      if ((k === n - 1 || individuals[k + 1] !== individuals[k]) && !terminals[k]) timeouts[k] = 1;
    }
  }
  return createMdpDataset({
    numActions: ds.numActions,
    featureNames: ds.featureNames,
    individualIds,
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

/** The episodes of the listed individuals (indices into `individualIds`), in the given order. */
export function selectIndividuals(ds: MdpDataset, individuals: ArrayLike<number>): MdpDataset {
  const episodes = listEpisodes(ds);
  const byIndividual = new Map(episodes.map((e) => [e.individual, e]));
  const rows: number[] = [];
  for (let k = 0; k < individuals.length; k++) {
    const e = byIndividual.get(individuals[k]);
    if (!e) throw new RangeError(`selectIndividuals(): individual ${individuals[k]} has no episode`);
    for (let i = e.start; i < e.end; i++) rows.push(i);
  }
  return selectTransitions(ds, rows);
}

/** Episodes `[from, to)` in dataset order, as a new dataset. */
export function sliceEpisodes(ds: MdpDataset, from: number, to = Infinity): MdpDataset {
  const eps = listEpisodes(ds).slice(from, to);
  return selectIndividuals(ds, eps.map((e) => e.individual));
}

/** Datasets concatenated (same features and actions); individual ids must not collide. */
export function concatDatasets(parts: readonly MdpDataset[]): MdpDataset {
  if (parts.length === 0) throw new RangeError("concatDatasets(): no datasets given");
  const first = parts[0];
  const ids: string[] = [];
  const seen = new Set<string>();
  const offsets: number[] = [];
  for (const p of parts) {
    if (
      p.stateDim !== first.stateDim || p.numActions !== first.numActions ||
      p.featureNames.join() !== first.featureNames.join()
    ) {
      throw new RangeError("concatDatasets(): datasets differ in features or number of actions");
    }
    offsets.push(ids.length);
    for (const id of p.individualIds) {
      if (seen.has(id)) throw new RangeError(`concatDatasets(): individual id "${id}" appears in two datasets`);
      seen.add(id);
      ids.push(id);
    }
  }
  const cat = <T extends Float32Array | Int32Array | Uint8Array>(
    Ctor: new (n: number) => T,
    pick: (d: MdpDataset) => T,
  ): T => {
    const total = parts.reduce((s, p) => s + pick(p).length, 0);
    const out = new Ctor(total);
    let off = 0;
    for (const p of parts) {
      out.set(pick(p) as never, off);
      off += pick(p).length;
    }
    return out;
  };
  const individuals = cat(Int32Array, (d) => d.individuals);
  let off = 0;
  parts.forEach((p, k) => {
    for (let i = 0; i < p.size; i++) individuals[off + i] += offsets[k];
    off += p.size;
  });
  return createMdpDataset({
    numActions: first.numActions,
    featureNames: first.featureNames,
    individualIds: ids,
    individuals,
    times: cat(Int32Array, (d) => d.times),
    states: cat(Float32Array, (d) => d.states),
    actions: cat(Int32Array, (d) => d.actions),
    rewards: cat(Float32Array, (d) => d.rewards),
    nextStates: cat(Float32Array, (d) => d.nextStates),
    terminals: cat(Uint8Array, (d) => d.terminals),
    timeouts: cat(Uint8Array, (d) => d.timeouts),
  });
}

/** The dataset with only the state columns `keep` (indices into `featureNames`), in that order. */
export function keepFeatures(data: MdpDataset, keep: readonly number[]): MdpDataset {
  const S = data.stateDim, K = keep.length;
  const pick = (src: Float32Array) => {
    const out = new Float32Array(data.size * K);
    for (let i = 0; i < data.size; i++) for (let k = 0; k < K; k++) out[i * K + k] = src[i * S + keep[k]];
    return out;
  };
  return {
    ...data,
    stateDim: K,
    featureNames: keep.map((j) => data.featureNames[j]),
    states: pick(data.states),
    nextStates: pick(data.nextStates),
  };
}
