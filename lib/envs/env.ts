/**
 * The common interface of the kit's simulators, and the two functions every experiment uses:
 * `simulate` (data under a policy, as an MDP dataset) and `evaluatePolicy` (Monte Carlo returns
 * on the true dynamics, per individual and per group, with standard errors).
 *
 * An environment is plain data and functions. Heterogeneity lives in individuals: each has a
 * group label and parameters drawn by `drawIndividual`, and the dynamics read them. Simulators
 * know nothing of the algorithms; a policy is any function from an observation (and who and
 * when) to action probabilities.
 *
 * @module
 */
import { createMdpDataset, type MdpDataset } from "../data/dataset.ts";
import { createRng, type Rng } from "../core/random.ts";
import { summarize, type Summary } from "../core/numeric.ts";

/** One simulated individual: a group label and the parameters the dynamics read. */
export interface Individual<P> {
  /** The individual's id (as in the dataset). */
  readonly id: string;
  /** Its group label. */
  readonly group: string;
  /** The parameters its dynamics read. */
  readonly params: P;
}

/** What a policy may know besides the observation: when, and who (never the simulator's state). */
export interface PolicyContext {
  /** Step within the episode. */
  readonly t: number;
  /** Index of the individual in the simulated population. */
  readonly individual: number;
  /** The individual's id (as in the dataset). */
  readonly id: string;
}

/**
 * A policy: action probabilities (non-negative, summing to 1) for an observation. Learned and
 * hand-written policies alike see only the observation and the context.
 */
export type Policy = (observation: Float64Array, context: PolicyContext) => ArrayLike<number>;

/**
 * An environment's own behaviour policy (the clinician or data-generating policy). Only it may
 * read the simulator's private state `S`: a clinician sees more than the data record (the sepsis
 * clinician sees diabetes, the heparin clinician its standing orders).
 */
export type BehaviourPolicy<S> = (observation: Float64Array, context: PolicyContext, state: S) => ArrayLike<number>;

/** What to roll out: a {@linkcode Policy}, or `"behaviour"` for each individual's behaviour policy. */
export type PolicyChoice = Policy | "behaviour";

/** What a batched policy call knows: the step, and the individual (population index) of each row. */
export interface BatchPolicyContext {
  /** Step within the episodes. */
  readonly t: number;
  /** Population index of each row's individual. */
  readonly individuals: Int32Array;
}

/**
 * A policy over many observations at once (one row per individual being rolled out): given
 * row-major `[n, obsDim]` observations, row-major `[n, numActions]` probabilities. Learned
 * policies that are linear in features compute the features of all rows in one pass; Monte Carlo
 * evaluation with one is bit-identical to the same policy row by row (tested).
 */
export interface BatchPolicy {
  /** The probabilities of every row. */
  readonly batch: (observations: Float64Array, context: BatchPolicyContext) => Float64Array;
}

/** What {@linkcode evaluatePolicy} rolls out: a policy, `"behaviour"`, or a batched policy. */
export type RolloutPolicy = PolicyChoice | BatchPolicy;

/** One step's outcome. */
export interface StepResult<S> {
  /** The state after the transition. */
  readonly state: S;
  /** The reward of the transition. */
  readonly reward: number;
  /** The episode ended in a terminal state (no value beyond it). */
  readonly terminal: boolean;
}

/** A simulator with individual heterogeneity. `S` is its internal state, `P` an individual's parameters. */
export interface Environment<S, P> {
  /** The simulator's name. */
  readonly name: string;
  /** Names of the observed features, in order. */
  readonly featureNames: readonly string[];
  /** Number of actions A. */
  readonly numActions: number;
  /** Discount factor the source paper evaluates with. */
  readonly discount: number;
  /** Longest episode (steps). */
  readonly horizon: number;
  /** An individual's own episode length (at most `horizon`), where it varies (e.g. the heparin cohort's stays). */
  episodeLength?(individual: Individual<P>): number;
  /** Group labels of the population. */
  readonly groups: readonly string[];
  /** Draws an individual of `group` (or of a group drawn by the population's mix). */
  drawIndividual(rng: Rng, group?: string): Individual<P>;
  /** Start state. */
  reset(rng: Rng, individual: Individual<P>): S;
  /** Observed features of a state (what the data record). */
  observe(state: S, individual: Individual<P>): Float64Array;
  /**
   * Writes `observe(state, individual)` into `out` from `offset`, allocating nothing (optional:
   * Monte Carlo evaluation of a batched policy uses it where present; in Deno each small typed
   * array costs about a microsecond to allocate, more than a simulator step).
   */
  observeInto?(state: S, individual: Individual<P>, out: Float64Array, offset: number): void;
  /** One transition under `action` (0 <= action < numActions). */
  step(rng: Rng, individual: Individual<P>, state: S, action: number, t: number): StepResult<S>;
  /** The behaviour (clinician's or data-generating) policy of an individual. */
  behaviourPolicy(individual: Individual<P>): BehaviourPolicy<S>;
}

/**
 * An individual of a population made of fixed groups (`table` maps a group to its parameters):
 * of `group`, or of a uniformly drawn group. Throws naming the environment for an unknown group.
 */
export function individualFromGroups<P>(
  envName: string,
  table: Readonly<Record<string, P>>,
  rng: Rng,
  group?: string,
): Individual<P> {
  const groups = Object.keys(table);
  const g = group ?? groups[rng.int(groups.length)];
  const params = table[g];
  if (params === undefined) {
    throw new RangeError(`${envName}: unknown group ${JSON.stringify(g)}; groups are ${groups.join(", ")}`);
  }
  return { id: g, group: g, params };
}

/** Population of `count` individuals: `groups` cycled in order, or drawn when omitted. */
export function drawPopulation<S, P>(
  env: Environment<S, P>,
  rng: Rng,
  count: number,
  groups?: readonly string[],
): Individual<P>[] {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`drawPopulation(count) must be a positive integer, got ${count}`);
  }
  return Array.from({ length: count }, (_, i) => {
    const g = groups?.length ? groups[i % groups.length] : undefined;
    if (g !== undefined && !env.groups.includes(g)) {
      throw new RangeError(`${env.name}: unknown group ${JSON.stringify(g)}; groups are ${env.groups.join(", ")}`);
    }
    const ind = env.drawIndividual(rng, g);
    return { ...ind, id: `${ind.group}-${String(i).padStart(4, "0")}` };
  });
}

function checkedAction(probs: ArrayLike<number>, numActions: number, rng: Rng, where: string): number {
  if (probs.length !== numActions) {
    throw new RangeError(`${where}: policy returned ${probs.length} probabilities for ${numActions} actions`);
  }
  return rng.categorical(probs);
}

/** One step of an episode, as {@linkcode runEpisode} reports it. */
export interface EpisodeStep<S> {
  /** Step index. */
  readonly t: number;
  /** State before the action. */
  readonly state: S;
  /** Observation of `state`. */
  readonly observation: Float64Array;
  /** Observation of the next state (`result.state`). */
  readonly nextObservation: Float64Array;
  /** The action taken. */
  readonly action: number;
  /** The transition's outcome. */
  readonly result: StepResult<S>;
  /** This is the episode's last step (terminal, or its length reached). */
  readonly last: boolean;
}

/**
 * The kit's one episode loop: individual `k` of a population under `policy` for at most `length`
 * steps, drawing from `rng`; `visit` sees every step. Stops early at a terminal state.
 *
 * @param env The simulator.
 * @param individual The individual.
 * @param k Its index in the population (the policy's `context.individual`).
 * @param policy A policy, or "behaviour" for the individual's behaviour policy.
 * @param rng The episode's random stream.
 * @param length Most steps.
 * @param visit Called once per step.
 */
export function runEpisode<S, P>(
  env: Environment<S, P>,
  individual: Individual<P>,
  k: number,
  policy: PolicyChoice,
  rng: Rng,
  length: number,
  visit: (step: EpisodeStep<S>) => void,
): void {
  const behaviour = policy === "behaviour" ? env.behaviourPolicy(individual) : null;
  let s = env.reset(rng, individual);
  let observation = env.observe(s, individual);
  for (let t = 0; t < length; t++) {
    const context = { t, individual: k, id: individual.id };
    const probs = behaviour ? behaviour(observation, context, s) : (policy as Policy)(observation, context);
    const action = checkedAction(probs, env.numActions, rng, env.name);
    const result = env.step(rng, individual, s, action, t);
    const last = result.terminal || t === length - 1;
    const nextObservation = env.observe(result.state, individual);
    visit({ t, state: s, observation, nextObservation, action, result, last });
    s = result.state;
    observation = nextObservation;
    if (result.terminal) break;
  }
}

/** An individual's episode length: its own (`env.episodeLength`) within `horizon`. */
export function episodeLengthOf<S, P>(env: Environment<S, P>, individual: Individual<P>, horizon: number): number {
  return Math.min(horizon, env.episodeLength?.(individual) ?? horizon);
}

/** Options of {@linkcode simulate}. */
export interface SimulateOptions<P> {
  /** The individuals to simulate, one episode each (see `drawPopulation`). */
  readonly individuals: readonly Individual<P>[];
  /** Steps per episode (at most; terminal states end earlier). @default env.horizon */
  readonly horizon?: number;
  /** Seed of the simulation noise. @default 0 */
  readonly seed?: number;
}

/** Data of one episode per individual under `policy` (the behaviour policy by default). */
export function simulate<S, P>(
  env: Environment<S, P>,
  options: SimulateOptions<P>,
  policy?: PolicyChoice,
): MdpDataset {
  const horizon = options.horizon ?? env.horizon;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`${env.name}: horizon must be an integer >= 1, got ${horizon}`);
  }
  const rng = createRng(options.seed ?? 0);
  const F = env.featureNames.length;
  const states: number[] = [], nextStates: number[] = [], actions: number[] = [], rewards: number[] = [];
  const times: number[] = [], individuals: number[] = [], terminals: number[] = [], timeouts: number[] = [];
  const streams = rng.split(options.individuals.length);
  options.individuals.forEach((ind, k) => {
    runEpisode(env, ind, k, policy ?? "behaviour", streams[k], episodeLengthOf(env, ind, horizon), (step) => {
      for (let j = 0; j < F; j++) {
        states.push(step.observation[j]);
        nextStates.push(step.nextObservation[j]);
      }
      actions.push(step.action);
      rewards.push(step.result.reward);
      times.push(step.t);
      individuals.push(k);
      terminals.push(step.result.terminal ? 1 : 0);
      timeouts.push(!step.result.terminal && step.last ? 1 : 0);
    });
  });
  return createMdpDataset({
    numActions: env.numActions,
    featureNames: env.featureNames,
    individualIds: options.individuals.map((i) => i.id),
    individuals: Int32Array.from(individuals),
    times: Int32Array.from(times),
    states: Float32Array.from(states),
    actions: Int32Array.from(actions),
    rewards: Float32Array.from(rewards),
    nextStates: Float32Array.from(nextStates),
    terminals: Uint8Array.from(terminals),
    timeouts: Uint8Array.from(timeouts),
  });
}

/** Monte Carlo value of a policy. */
export interface PolicyEvaluation {
  /** Discounted return of each trajectory, grouped by individual: `[individual][trajectory]`. */
  readonly discountedReturns: number[][];
  /** Undiscounted return of each trajectory, `[individual][trajectory]`. */
  readonly returns: number[][];
  /** Per individual: mean discounted return. */
  readonly perIndividual: Summary[];
  /** Per group: over all that group's trajectories. */
  readonly perGroup: Readonly<Record<string, { discounted: Summary; undiscounted: Summary }>>;
  /** Over all trajectories. */
  readonly overall: { readonly discounted: Summary; readonly undiscounted: Summary };
  /** The discount factor used. */
  readonly discount: number;
}

/** Options of {@linkcode evaluatePolicy}. */
export interface EvaluateOptions<P> {
  /** The individuals to evaluate on. */
  readonly individuals: readonly Individual<P>[];
  /** Trajectories per individual. @default 1 */
  readonly trajectories?: number;
  /** @default env.horizon */
  /** Steps per trajectory (at most); defaults to the environment's horizon. */
  readonly horizon?: number;
  /** @default env.discount */
  /** Discount factor; defaults to the environment's. */
  readonly discount?: number;
  /** @default 0 */
  /** Seed of the evaluation's randomness (0 when omitted). */
  readonly seed?: number;
}

/**
 * Probabilities of a batch of rows (`who[r]` the population index of row r), row-major
 * `[rows, numActions]`, whatever the kind of policy; checks their shape. Called once per
 * trajectory: behaviour policies are made afresh for each episode, as `runEpisode` does.
 */
function rowProbabilities<S, P>(
  env: Environment<S, P>,
  policy: RolloutPolicy,
  people: readonly Individual<P>[],
): () => (who: Int32Array, t: number, states: readonly S[]) => Float64Array {
  const A = env.numActions, F = env.featureNames.length;
  if (typeof policy === "object") {
    const matrix = new Float64Array(people.length * F);
    return () => (who, t, states) => {
      const rows = matrix.subarray(0, who.length * F);
      for (let r = 0; r < who.length; r++) {
        const k = who[r];
        if (env.observeInto) env.observeInto(states[k], people[k], rows, r * F);
        else rows.set(env.observe(states[k], people[k]), r * F);
      }
      const probs = policy.batch(rows, { t, individuals: who });
      if (probs.length !== who.length * A) {
        throw new RangeError(
          `${env.name}: batch policy returned ${probs.length} probabilities for ${who.length} rows of ${A} actions`,
        );
      }
      return probs;
    };
  }
  return () => {
    const behaviours = policy === "behaviour" ? people.map((ind) => env.behaviourPolicy(ind)) : null;
    return (who, t, states) => {
      const out = new Float64Array(who.length * A);
      for (let r = 0; r < who.length; r++) {
        const k = who[r], context = { t, individual: k, id: people[k].id };
        const o = env.observe(states[k], people[k]);
        const p = behaviours ? behaviours[k](o, context, states[k]) : (policy as Policy)(o, context);
        if (p.length !== A) {
          throw new RangeError(`${env.name}: policy returned ${p.length} probabilities for ${A} actions`);
        }
        for (let a = 0; a < A; a++) out[r * A + a] = p[a];
      }
      return out;
    };
  };
}

/**
 * Monte Carlo evaluation of `policy` (or `"behaviour"`: each individual's behaviour policy, or a
 * {@linkcode BatchPolicy}) on the true dynamics: discounted and undiscounted returns per
 * trajectory, summarised per individual, per group and overall.
 *
 * Individual k draws from its own stream (split from `seed`) in the order of its trajectories, so
 * the result does not depend on how the population is batched: the loop steps every individual's
 * j-th trajectory together, one policy call per step for all of them.
 */
export function evaluatePolicy<S, P>(
  env: Environment<S, P>,
  policy: RolloutPolicy,
  options: EvaluateOptions<P>,
): PolicyEvaluation {
  const trajectories = options.trajectories ?? 1;
  const horizon = options.horizon ?? env.horizon;
  const discount = options.discount ?? env.discount;
  if (!Number.isInteger(trajectories) || trajectories < 1) {
    throw new RangeError(`evaluatePolicy(): trajectories must be a positive integer, got ${trajectories}`);
  }
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new RangeError(`evaluatePolicy(): horizon must be an integer >= 1, got ${horizon}`);
  }
  if (!(discount >= 0 && discount <= 1)) {
    throw new RangeError(`evaluatePolicy(): discount must be in [0, 1], got ${discount}`);
  }
  const people = options.individuals, n = people.length, A = env.numActions;
  const streams = createRng(options.seed ?? 0).split(n);
  const lengths = people.map((ind) => episodeLengthOf(env, ind, horizon));
  const longest = Math.max(0, ...lengths);
  const trajectoryPolicy = rowProbabilities(env, policy, people);
  const discountedReturns: number[][] = people.map(() => []);
  const returns: number[][] = people.map(() => []);
  const states: S[] = new Array(n);
  const g = new Float64Array(n), u = new Float64Array(n), w = new Float64Array(n);
  let active = new Int32Array(n), next = new Int32Array(n);
  for (let j = 0; j < trajectories; j++) {
    const rows = trajectoryPolicy();
    let count = 0;
    for (let k = 0; k < n; k++) {
      states[k] = env.reset(streams[k], people[k]);
      g[k] = 0, u[k] = 0, w[k] = 1;
      if (lengths[k] > 0) active[count++] = k;
    }
    for (let t = 0; t < longest && count > 0; t++) {
      const who = active.subarray(0, count);
      const probs = rows(who, t, states);
      let kept = 0;
      for (let r = 0; r < count; r++) {
        const k = who[r], rng = streams[k];
        const action = rng.categorical(probs.subarray(r * A, (r + 1) * A));
        const result = env.step(rng, people[k], states[k], action, t);
        g[k] += w[k] * result.reward;
        u[k] += result.reward;
        w[k] *= discount;
        states[k] = result.state;
        if (!result.terminal && t + 1 < lengths[k]) next[kept++] = k;
      }
      [active, next] = [next, active];
      count = kept;
    }
    for (let k = 0; k < n; k++) {
      discountedReturns[k].push(g[k]);
      returns[k].push(u[k]);
    }
  }
  const perGroup: Record<string, { discounted: Summary; undiscounted: Summary }> = {};
  for (const g of new Set(options.individuals.map((i) => i.group))) {
    const idx = options.individuals.flatMap((ind, k) => (ind.group === g ? [k] : []));
    perGroup[g] = {
      discounted: summarize(idx.flatMap((k) => discountedReturns[k])),
      undiscounted: summarize(idx.flatMap((k) => returns[k])),
    };
  }
  return {
    discountedReturns,
    returns,
    perIndividual: discountedReturns.map(summarize),
    perGroup,
    overall: { discounted: summarize(discountedReturns.flat()), undiscounted: summarize(returns.flat()) },
    discount,
  };
}
