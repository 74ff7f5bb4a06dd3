/**
 * OMG-RL, Algorithm 2 (Lim & Lee, offline model-based guided reward learning), as one loop over
 * the pieces: a dynamics ensemble trained on the data (section IV-A), model rollouts from data
 * start states under the current policy (Algorithm 1), K reward updates on expert and sample
 * trajectories (eq. 7-8, expert batch appended to the samples), then conservative critic and
 * actor updates on batches mixing data and rollouts at ratio f (eq. 5-6). The policy learns from
 * r_psi only. With `rewardSource: "data"` the same loop is COMBO on the data's reward (the
 * model predicts it for rollouts), the paper's Figure 4 baseline.
 *
 * Departures, each a choice the paper leaves open: the paper's "episode" is read as one pass of
 * the outer loop; per episode, `rewardSteps` reward updates and `criticSteps` SAC updates;
 * evaluation inside the model uses `evalStarts` held-out start states.
 *
 * The whole training state (networks, optimisers, random stream, buffer, history) can be saved
 * and restored between episodes, and a restored run ends exactly as an uninterrupted one.
 *
 * @module
 */
import { tf } from "../core/backend.ts";
import type { AdamState } from "../core/optim.ts";
import { namedVariables, paramsFromJson, type ParamsJson } from "../core/params.ts";
import { createRng, restoreRng, type Rng, type RngState } from "../core/random.ts";
import { listEpisodes, type MdpDataset } from "../data/dataset.ts";
import { gatherBatch } from "../data/preprocess.ts";
import { type DynamicsModel, predictDynamics } from "./dynamics.ts";
import {
  appendTrajectories,
  createRewardModel,
  guidedRewardUpdate,
  resolveRewardConfig,
  REWARD_DEFAULTS,
  type RewardConfig,
  type RewardLosses,
  type RewardModel,
  rewardValues,
  type TrajectoryBatch,
} from "./guided_reward.ts";
import { checkIntegers, checkInterval, resolveConfig } from "../core/config.ts";
import {
  createSacAgent,
  policyLogProbabilities,
  policyProbabilities,
  resolveSacConfig,
  SAC_DEFAULTS,
  type SacAgent,
  type SacBatch,
  type SacConfig,
  type SacLosses,
  sacUpdate,
  sacVariables,
} from "./sac.ts";

/** Settings of Algorithm 2; {@linkcode OMG_RL_DEFAULTS} holds the defaults. */
export interface OmgRlConfig {
  /** The conservative discrete SAC (eqs. 5-6). */
  readonly sac?: SacConfig;
  /** The reward network r_psi (eqs. 7-8). */
  readonly reward?: RewardConfig;
  /** "learned": the critic learns from r_psi (OMG-RL); "data": from the data's reward (COMBO). */
  readonly rewardSource?: "learned" | "data";
  /** Rollout length h (Algorithm 1). */
  readonly rolloutHorizon?: number;
  /** Rollouts per episode, b. */
  readonly rolloutBatch?: number;
  /** Share f of data rows in each SAC batch; the rest are model-rollout rows. */
  readonly mixingRatio?: number;
  /** Outer iterations ("episodes") of Algorithm 2. */
  readonly episodes?: number;
  /** Reward updates per episode, K. */
  readonly rewardSteps?: number;
  /** SAC updates per episode. */
  readonly criticSteps?: number;
  /** SAC batch size. */
  readonly batchSize?: number;
  /** Expert (and sample) trajectories per reward update. */
  readonly rewardTrajectories?: number;
  /** Capacity of the rollout buffer (transitions). */
  readonly bufferCapacity?: number;
  /** Evaluate every this many episodes. */
  readonly evaluateEvery?: number;
  /** Start states for the in-model evaluation. */
  readonly evalStarts?: number;
}

/** A resolved OMG-RL config: every hyper-parameter, the nested SAC and reward configs included. */
export type OmgRlResolvedConfig = Readonly<
  Required<Omit<OmgRlConfig, "sac" | "reward">> & {
    readonly sac: Readonly<Required<SacConfig>>;
    readonly reward: Readonly<Required<RewardConfig>>;
  }
>;

/** The defaults of {@linkcode OmgRlConfig}: OMG-RL Table I where it speaks (docs/omg-rl.md). */
export const OMG_RL_DEFAULTS: OmgRlResolvedConfig = Object.freeze({
  sac: SAC_DEFAULTS,
  reward: REWARD_DEFAULTS,
  rewardSource: "learned" as const,
  rolloutHorizon: 20,
  rolloutBatch: 64,
  mixingRatio: 0.5,
  episodes: 200,
  rewardSteps: 5,
  criticSteps: 20,
  batchSize: 256,
  rewardTrajectories: 32,
  bufferCapacity: 100_000,
  evaluateEvery: 5,
  evalStarts: 100,
});

/**
 * An OMG-RL config with every default filled in (the nested SAC and reward configs too), checked
 * and frozen. The conservative term compares model-rollout rows with data rows, so a batch must
 * hold at least one data row while its weight is positive (mixingRatio 1 leaves only data rows:
 * the term is then CQL(H)'s on data states).
 *
 * @param config Overrides of {@linkcode OMG_RL_DEFAULTS}.
 */
export function resolveOmgRlConfig(config: OmgRlConfig = {}): OmgRlResolvedConfig {
  const { sac, reward, ...rest } = config;
  const base = resolveConfig("omg-rl", { ...OMG_RL_DEFAULTS, sac: {}, reward: {} }, { ...rest, sac: {}, reward: {} });
  const r: OmgRlResolvedConfig = Object.freeze({
    ...base,
    sac: resolveSacConfig(sac),
    reward: resolveRewardConfig(reward),
  });
  checkIntegers("omg-rl", r, [
    "rolloutHorizon",
    "rolloutBatch",
    "episodes",
    "criticSteps",
    "batchSize",
    "evaluateEvery",
    "rewardTrajectories",
    "bufferCapacity",
    "evalStarts",
  ]);
  checkIntegers("omg-rl", r, ["rewardSteps"], 0);
  checkInterval("omg-rl", r, "mixingRatio", 0, 1);
  if (r.sac.conservativeWeight > 0 && Math.round(r.batchSize * r.mixingRatio) < 1) {
    throw new RangeError(
      `omg-rl: mixingRatio ${r.mixingRatio} leaves no data row in a batch of ${r.batchSize}, so the conservative ` +
        `term would compare model rows with model rows; raise mixingRatio or set sac.conservativeWeight to 0`,
    );
  }
  if (r.rewardSource !== "learned" && r.rewardSource !== "data") {
    throw new RangeError(`omg-rl: rewardSource must be "learned" or "data", got ${JSON.stringify(r.rewardSource)}`);
  }
  return r;
}

/** Transitions from model rollouts, a FIFO ring of fixed capacity. */
export interface RolloutBuffer {
  /** Most transitions held. */
  readonly capacity: number;
  /** State dimension S. */
  readonly stateDim: number;
  /** Transitions held now. */
  size: number;
  /** Slot the next transition goes to. */
  next: number;
  /** States, row-major `[rows, stateDim]`. */
  readonly states: Float32Array;
  /** Actions, one per row. */
  readonly actions: Int32Array;
  /** The model's reward prediction of each transition. */
  readonly rewards: Float32Array;
  /** Next states, row-major `[rows, stateDim]`. */
  readonly nextStates: Float32Array;
}

function createBuffer(capacity: number, stateDim: number): RolloutBuffer {
  return {
    capacity,
    stateDim,
    size: 0,
    next: 0,
    states: new Float32Array(capacity * stateDim),
    actions: new Int32Array(capacity),
    rewards: new Float32Array(capacity),
    nextStates: new Float32Array(capacity * stateDim),
  };
}

/** Trajectories of one round of model rollouts (b of length h). */
export interface Rollouts {
  /** Number of rollouts b. */
  readonly count: number;
  /** Rollout length h. */
  readonly horizon: number;
  /** States, row-major `[count * horizon, stateDim]` (rollout-major). */
  readonly states: Float32Array;
  /** Actions drawn from the policy. */
  readonly actions: Int32Array;
  /** The model's reward prediction (the data's reward, e.g. r_p). */
  readonly modelRewards: Float32Array;
  /** Next states predicted by the model. */
  readonly nextStates: Float32Array;
}

/** Algorithm 1's inner loop: `count` rollouts of length `horizon` from `startStates` under the actor. */
export function modelRollouts(
  model: DynamicsModel,
  agent: SacAgent,
  startStates: Float32Array,
  horizon: number,
  rng: Rng,
): Rollouts {
  const S = model.stateDim;
  const count = startStates.length / S;
  const states = new Float32Array(count * horizon * S), nextStates = new Float32Array(count * horizon * S);
  const actions = new Int32Array(count * horizon), modelRewards = new Float32Array(count * horizon);
  let s = startStates;
  for (let t = 0; t < horizon; t++) {
    const probs = policyProbabilities(agent.actor, s, S);
    const a = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      a[i] = rng.categorical(probs.subarray(i * agent.numActions, (i + 1) * agent.numActions));
    }
    const out = predictDynamics(model, s, a, rng);
    for (let i = 0; i < count; i++) {
      const row = i * horizon + t;
      states.set(s.subarray(i * S, (i + 1) * S), row * S);
      nextStates.set(out.nextStates.subarray(i * S, (i + 1) * S), row * S);
      actions[row] = a[i];
      modelRewards[row] = out.rewards[i];
    }
    s = out.nextStates;
  }
  return { count, horizon, states, actions, modelRewards, nextStates };
}

function pushRollouts(buffer: RolloutBuffer, r: Rollouts): void {
  const S = buffer.stateDim;
  for (let k = 0; k < r.actions.length; k++) {
    const i = buffer.next;
    buffer.states.set(r.states.subarray(k * S, (k + 1) * S), i * S);
    buffer.nextStates.set(r.nextStates.subarray(k * S, (k + 1) * S), i * S);
    buffer.actions[i] = r.actions[k];
    buffer.rewards[i] = r.modelRewards[k];
    buffer.next = (i + 1) % buffer.capacity;
    buffer.size = Math.min(buffer.size + 1, buffer.capacity);
  }
}

/** Windows of at most `length` steps from random data episodes (expert trajectories). */
export function expertTrajectories(data: MdpDataset, rng: Rng, count: number, length: number): TrajectoryBatch {
  const episodes = listEpisodes(data);
  const S = data.stateDim;
  const rows: number[] = [], segments: number[] = [];
  for (let j = 0; j < count; j++) {
    const ep = episodes[rng.int(episodes.length)];
    const n = ep.end - ep.start;
    const len = Math.min(length, n);
    const start = ep.start + rng.int(n - len + 1);
    for (let k = 0; k < len; k++) {
      rows.push(start + k);
      segments.push(j);
    }
  }
  const states = new Float32Array(rows.length * S);
  rows.forEach((i, k) => states.set(data.states.subarray(i * S, (i + 1) * S), k * S));
  return { count, states, actions: Int32Array.from(rows, (i) => data.actions[i]), segments: Int32Array.from(segments) };
}

/** sum_t log pi(a_t | s_t) per trajectory, under the current actor. */
export function trajectoryLogProbs(agent: SacAgent, batch: TrajectoryBatch): Float64Array {
  const lp = policyLogProbabilities(agent.actor, batch.states, agent.stateDim);
  const out = new Float64Array(batch.count);
  for (let k = 0; k < batch.actions.length; k++) out[batch.segments[k]] += lp[k * agent.numActions + batch.actions[k]];
  return out;
}

/** One evaluation point of the learning curves. */
export interface OmgRlEvaluation {
  /** Episodes completed at this evaluation. */
  readonly episode: number;
  /** Mean cumulative r_psi of the policy's model rollouts from held-out start states (Figure 2). */
  readonly learnedRewardReturn: number;
  /** Mean cumulative model-predicted data reward (r_p on heparin) of the same rollouts (Figure 3). */
  readonly modelRewardReturn: number;
  /** What the caller's `evaluate` returned (e.g. values on the true simulator). */
  readonly external?: Readonly<Record<string, number>>;
}

/** Per-episode losses. */
export interface OmgRlEpisodeLog {
  /** The episode (0-based) these losses belong to. */
  readonly episode: number;
  /** The last SAC update's losses. */
  readonly sac: SacLosses;
  /** The last reward update's losses (null for COMBO). */
  readonly reward: RewardLosses | null;
}

/** The live training state. */
export interface OmgRlState {
  /** The resolved config. */
  readonly config: OmgRlResolvedConfig;
  /** The conservative discrete SAC agent. */
  readonly agent: SacAgent;
  /** r_psi and its optimiser (null for COMBO). */
  readonly rewardModel: RewardModel | null;
  /** The model-rollout buffer. */
  readonly buffer: RolloutBuffer;
  /** The training stream (rollouts, batches), advanced by every episode. */
  rng: Rng;
  /**
   * The evaluation stream, never advanced: `fold(0)` draws the in-model evaluation's start
   * states, `fold(e)` the rollouts of the evaluation after episode e.
   */
  readonly evaluationRng: Rng;
  /** Episodes completed. */
  episode: number;
  /** The evaluation points so far. */
  readonly evaluations: OmgRlEvaluation[];
  /** The losses of every episode so far. */
  readonly logs: OmgRlEpisodeLog[];
}

/**
 * A fresh training state. `seed` is split once into named streams: the agent's networks, the
 * reward network, the training loop and the evaluation.
 */
export function createOmgRlState(stateDim: number, numActions: number, config: OmgRlConfig, seed: number): OmgRlState {
  const c = resolveOmgRlConfig(config);
  const rng = createRng(seed);
  const [agentRng, rewardRng, loopRng, evaluationRng] = rng.split(4);
  return {
    config: c,
    agent: createSacAgent(agentRng, stateDim, numActions, c.sac),
    rewardModel: c.rewardSource === "learned" ? createRewardModel(rewardRng, stateDim, numActions, c.reward) : null,
    buffer: createBuffer(c.bufferCapacity, stateDim),
    rng: loopRng,
    evaluationRng,
    episode: 0,
    evaluations: [],
    logs: [],
  };
}

function startStates(data: MdpDataset, rng: Rng, count: number): Float32Array {
  const S = data.stateDim;
  const out = new Float32Array(count * S);
  for (let i = 0; i < count; i++) {
    const r = rng.int(data.size);
    out.set(data.states.subarray(r * S, (r + 1) * S), i * S);
  }
  return out;
}

/** Mean cumulative r_psi and model reward of rollouts from fixed start states. */
export function evaluateInModel(
  state: OmgRlState,
  model: DynamicsModel,
  starts: Float32Array,
  rng: Rng,
): { learnedRewardReturn: number; modelRewardReturn: number } {
  const r = modelRollouts(model, state.agent, starts, state.config.rolloutHorizon, rng);
  const learned = state.rewardModel ? rewardValues(state.rewardModel, r.states, r.actions) : null;
  let l = 0, m = 0;
  for (let k = 0; k < r.actions.length; k++) {
    l += learned ? learned[k] : NaN;
    m += r.modelRewards[k];
  }
  return { learnedRewardReturn: l / r.count, modelRewardReturn: m / r.count };
}

/** Options of {@linkcode runOmgRl}. */
export interface OmgRlRunOptions {
  /** Held-out data whose states start the in-model evaluation. @default the training data */
  readonly validation?: MdpDataset;
  /** Extra evaluation at each evaluation point (e.g. on the true simulator). */
  readonly evaluate?: (state: OmgRlState) => Readonly<Record<string, number>>;
  /** Called after every episode (progress, checkpoints). */
  readonly onEpisode?: (state: OmgRlState, log: OmgRlEpisodeLog) => void | Promise<void>;
  /** Stop after this episode (exclusive), e.g. to test resuming. @default config.episodes */
  readonly stopAfter?: number;
}

/**
 * The reward update's batch (Algorithm 2): `rewardTrajectories` expert windows from the data, and
 * as many sample trajectories drawn from this episode's rollouts with the expert batch appended,
 * each sample carrying sum_t log pi(a_t | s_t) under the current policy (eq. 8's denominator).
 */
export function rewardBatch(
  state: OmgRlState,
  data: MdpDataset,
  rollouts: Rollouts,
): { expert: TrajectoryBatch; samples: TrajectoryBatch & { logProbSums: Float64Array } } {
  const c = state.config, rng = state.rng, S = data.stateDim;
  const expert = expertTrajectories(data, rng, c.rewardTrajectories, c.rolloutHorizon);
  const pick = Int32Array.from(
    { length: Math.min(c.rewardTrajectories, rollouts.count) },
    () => rng.int(rollouts.count),
  );
  const sampleRows: number[] = [], segs: number[] = [];
  pick.forEach((j, m) => {
    for (let t = 0; t < rollouts.horizon; t++) {
      sampleRows.push(j * rollouts.horizon + t);
      segs.push(m);
    }
  });
  const sampleStates = new Float32Array(sampleRows.length * S);
  sampleRows.forEach((i, q) => sampleStates.set(rollouts.states.subarray(i * S, (i + 1) * S), q * S));
  const samples = appendTrajectories({
    count: pick.length,
    states: sampleStates,
    actions: Int32Array.from(sampleRows, (i) => rollouts.actions[i]),
    segments: Int32Array.from(segs),
  }, expert);
  return { expert, samples: { ...samples, logProbSums: trajectoryLogProbs(state.agent, samples) } };
}

/**
 * A SAC batch mixing data and rollouts at ratio f (eq. 5's d_f): the first round(B f) rows from
 * the data (all B while the buffer is empty), the rest from the rollout buffer, drawn uniformly
 * with replacement. Rewards are the data's and the model's; the caller replaces them by r_psi.
 */
export function mixedBatch(state: OmgRlState, data: MdpDataset): SacBatch {
  const c = state.config, rng = state.rng, buffer = state.buffer, S = data.stateDim, B = c.batchSize;
  const nData = buffer.size === 0 ? B : Math.round(B * c.mixingRatio);
  const fromData = gatherBatch(data, Int32Array.from({ length: nData }, () => rng.int(data.size)));
  const states = new Float32Array(B * S), nextStates = new Float32Array(B * S);
  const actions = new Int32Array(B), rewards = new Float32Array(B), terminals = new Float32Array(B);
  states.set(fromData.states);
  nextStates.set(fromData.nextStates);
  actions.set(fromData.actions);
  rewards.set(fromData.rewards);
  terminals.set(fromData.terminals);
  for (let b = nData; b < B; b++) {
    const i = rng.int(buffer.size);
    states.set(buffer.states.subarray(i * S, (i + 1) * S), b * S);
    nextStates.set(buffer.nextStates.subarray(i * S, (i + 1) * S), b * S);
    actions[b] = buffer.actions[i];
    rewards[b] = buffer.rewards[i];
  }
  return { states, actions, rewards, nextStates, terminals, dataRows: nData };
}

/**
 * One episode of Algorithm 2: rollouts from data start states (Algorithm 1), K reward updates
 * (eqs. 7-8) on expert and sample trajectories, then SAC updates (eqs. 5-6) on mixed batches,
 * the critic learning from r_psi only (or the data's reward for COMBO).
 */
export function omgRlEpisode(state: OmgRlState, data: MdpDataset, model: DynamicsModel): OmgRlEpisodeLog {
  const c = state.config;
  const rollouts = modelRollouts(
    model,
    state.agent,
    startStates(data, state.rng, c.rolloutBatch),
    c.rolloutHorizon,
    state.rng,
  );
  pushRollouts(state.buffer, rollouts);
  let rewardLog: RewardLosses | null = null;
  for (let k = 0; state.rewardModel && k < c.rewardSteps; k++) {
    const { expert, samples } = rewardBatch(state, data, rollouts);
    rewardLog = guidedRewardUpdate(state.rewardModel, expert, samples, state.episode * c.rewardSteps + k);
  }
  let sacLog: SacLosses | null = null;
  for (let k = 0; k < c.criticSteps; k++) {
    const batch = mixedBatch(state, data);
    // OMG-RL: the critic learns from r_psi only, on data and rollout rows alike.
    const rewards = state.rewardModel ? rewardValues(state.rewardModel, batch.states, batch.actions) : batch.rewards;
    sacLog = sacUpdate(state.agent, { ...batch, rewards }, state.episode * c.criticSteps + k);
  }
  const log = { episode: state.episode, sac: sacLog!, reward: rewardLog };
  state.logs.push(log);
  state.episode++;
  return log;
}

/**
 * Algorithm 2 from the state's current episode to the end (or `stopAfter`): episodes, with an
 * evaluation every `evaluateEvery` episodes (and after the first).
 */
export async function runOmgRl(
  state: OmgRlState,
  data: MdpDataset,
  model: DynamicsModel,
  options: OmgRlRunOptions = {},
): Promise<OmgRlState> {
  const c = state.config;
  const evalData = options.validation ?? data;
  const starts = startStates(evalData, state.evaluationRng.fold(0), c.evalStarts);
  const end = Math.min(options.stopAfter ?? c.episodes, c.episodes);
  while (state.episode < end) {
    const log = omgRlEpisode(state, data, model);
    if (state.episode % c.evaluateEvery === 0 || state.episode === 1) {
      // A stream per evaluation point, folded from the evaluation stream: evaluations do not
      // disturb training's randomness, and a resumed run evaluates with the same streams.
      const inModel = evaluateInModel(state, model, starts, state.evaluationRng.fold(state.episode));
      const external = options.evaluate?.(state);
      state.evaluations.push({ episode: state.episode, ...inModel, ...(external ? { external } : {}) });
    }
    await options.onEpisode?.(state, log);
  }
  return state;
}

/** The policy as a function of a (model-space) state: probabilities over actions. */
export function omgRlPolicy(agent: SacAgent): (state: Float32Array) => Float32Array {
  return (s) => policyProbabilities(agent.actor, s, agent.stateDim);
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

/** Serialisable training state. */
export interface OmgRlCheckpoint {
  /**
   * Version of the layout. Format 3 stores weights and optimiser moments as base64 float32
   * (about a quarter of format 2's decimal text); format 2 is still read.
   */
  readonly format: "omg-rl-checkpoint/3" | "omg-rl-checkpoint/2";
  /** The resolved config the run was created with. */
  readonly config: OmgRlResolvedConfig;
  /** Episodes completed. */
  readonly episode: number;
  /** The training stream's state. */
  readonly rng: RngState;
  /** The evaluation stream's state (constant over a run). */
  readonly evaluationRng: RngState;
  /** Every network's weights (format 3: each tensor's data as base64 float32). */
  readonly params: ParamsJson | PackedParams;
  /** Every optimiser's moments and step (format 3: moments as base64 float32). */
  readonly adam: Record<string, AdamState | PackedAdamState>;
  /** The rollout buffer (base64 of its typed arrays). */
  readonly buffer: { size: number; next: number; states: string; actions: string; rewards: string; nextStates: string };
  /** The evaluation points so far. */
  readonly evaluations: OmgRlEvaluation[];
  /** The losses of every episode so far. */
  readonly logs: OmgRlEpisodeLog[];
}

/** Named tensors with their data as base64 float32 (checkpoint format 3). */
export interface PackedParams {
  /** Layout of this object. */
  readonly format: "clinical-rl-params/b64";
  /** Each tensor's shape and base64 float32 values, by name. */
  readonly tensors: Record<string, { shape: number[]; data: string }>;
}

/** An optimiser's state with its moments as base64 float32 (checkpoint format 3). */
export interface PackedAdamState {
  /** Steps taken. */
  readonly step: number;
  /** First moments, one base64 float32 string per variable. */
  readonly firstMoments: string[];
  /** Second moments, likewise. */
  readonly secondMoments: string[];
}

function b64(a: ArrayBufferView): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function unb64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function stateVariables(state: OmgRlState) {
  return namedVariables({
    ...sacVariables(state.agent),
    ...(state.rewardModel ? { reward: state.rewardModel.net } : {}),
  });
}

/** Everything needed to continue training exactly where it stopped. */
export function omgRlCheckpoint(state: OmgRlState): OmgRlCheckpoint {
  const n = state.buffer.size;
  const S = state.buffer.stateDim;
  const pack = (a: AdamState): PackedAdamState => ({
    step: a.step,
    firstMoments: a.firstMoments.map((m) => b64(Float32Array.from(m))),
    secondMoments: a.secondMoments.map((m) => b64(Float32Array.from(m))),
  });
  const adam: Record<string, PackedAdamState> = {
    actor: pack(state.agent.actorAdam.state()),
    critic: pack(state.agent.criticAdam.state()),
  };
  if (state.agent.alphaAdam) adam.alpha = pack(state.agent.alphaAdam.state());
  if (state.rewardModel) adam.reward = pack(state.rewardModel.adam.state());
  const tensors: PackedParams["tensors"] = {};
  for (const [name, v] of Object.entries(stateVariables(state))) {
    tensors[name] = { shape: [...v.shape], data: b64(Float32Array.from(v.dataSync())) };
  }
  return {
    format: "omg-rl-checkpoint/3",
    config: state.config,
    episode: state.episode,
    rng: state.rng.state(),
    evaluationRng: state.evaluationRng.state(),
    params: { format: "clinical-rl-params/b64", tensors },
    adam,
    buffer: {
      size: n,
      next: state.buffer.next,
      states: b64(state.buffer.states.subarray(0, n * S)),
      actions: b64(state.buffer.actions.subarray(0, n)),
      rewards: b64(state.buffer.rewards.subarray(0, n)),
      nextStates: b64(state.buffer.nextStates.subarray(0, n * S)),
    },
    evaluations: state.evaluations,
    logs: state.logs,
  };
}

/** Restores a checkpoint into a state created with the same dimensions and config. */
export function restoreOmgRl(state: OmgRlState, cp: OmgRlCheckpoint): OmgRlState {
  if (cp.format !== "omg-rl-checkpoint/3" && cp.format !== "omg-rl-checkpoint/2") {
    throw new RangeError(
      `restoreOmgRl: checkpoint format ${JSON.stringify(cp.format)} is not "omg-rl-checkpoint/3" or /2 ` +
        `(format 1 predates the stored config and evaluation stream); start the run fresh`,
    );
  }
  if (JSON.stringify(cp.config) !== JSON.stringify(state.config)) {
    throw new RangeError(
      "restoreOmgRl: the checkpoint was written with another config; resume with the same settings or start fresh",
    );
  }
  if (JSON.stringify(cp.evaluationRng) !== JSON.stringify(state.evaluationRng.state())) {
    throw new RangeError(
      "restoreOmgRl: the checkpoint was written with another seed; resume with the same seed or start fresh",
    );
  }
  const S = state.buffer.stateDim;
  const f32 = (s: string) => new Float32Array(unb64(s).buffer);
  const params: ParamsJson = cp.params.format === "clinical-rl-params/b64"
    ? {
      format: "clinical-rl-params/1",
      tensors: Object.fromEntries(
        Object.entries((cp.params as PackedParams).tensors).map((
          [name, t],
        ) => [name, { shape: t.shape, data: f32(t.data) as unknown as number[] }]),
      ),
    }
    : cp.params as ParamsJson;
  paramsFromJson(stateVariables(state), params, "OMG-RL checkpoint");
  const unpack = (a: AdamState | PackedAdamState): AdamState =>
    typeof a.firstMoments[0] === "string"
      ? {
        step: a.step,
        firstMoments: (a as PackedAdamState).firstMoments.map((m) => Array.from(f32(m))),
        secondMoments: (a as PackedAdamState).secondMoments.map((m) => Array.from(f32(m))),
      }
      : a as AdamState;
  state.agent.actorAdam.restore(unpack(cp.adam.actor));
  state.agent.criticAdam.restore(unpack(cp.adam.critic));
  if (state.agent.alphaAdam && cp.adam.alpha) state.agent.alphaAdam.restore(unpack(cp.adam.alpha));
  if (state.rewardModel) {
    if (!cp.adam.reward) throw new RangeError("restoreOmgRl: the checkpoint has no reward network");
    state.rewardModel.adam.restore(unpack(cp.adam.reward));
  }
  state.buffer.states.set(f32(cp.buffer.states));
  state.buffer.nextStates.set(f32(cp.buffer.nextStates));
  state.buffer.rewards.set(f32(cp.buffer.rewards));
  state.buffer.actions.set(new Int32Array(unb64(cp.buffer.actions).buffer));
  state.buffer.size = cp.buffer.size;
  state.buffer.next = cp.buffer.next;
  if (state.buffer.states.length < cp.buffer.size * S) {
    throw new RangeError("restoreOmgRl: buffer larger than capacity");
  }
  state.rng = restoreRng(cp.rng);
  state.episode = cp.episode;
  state.evaluations.splice(0, state.evaluations.length, ...cp.evaluations);
  state.logs.splice(0, state.logs.length, ...cp.logs);
  return state;
}

/** Frees the state's tensors. */
export function disposeOmgRl(state: OmgRlState): void {
  tf.dispose(Object.values(stateVariables(state)));
}
