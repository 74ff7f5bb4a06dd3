/**
 * Discrete soft actor-critic (Haarnoja et al. 2018; discrete form of Christodoulou 2019) with
 * the conservative critic term of COMBO (Yu et al. 2021) as OMG-RL writes it (eq. 5):
 *
 *   L_Q = 1/2 E_{d_f}[(Q(s, a) - (r + gamma (1 - d) V_target(s')))^2]
 *         + beta (E_{s ~ rho}[logsumexp_a Q(s, a)] - E_{(s, a) ~ D}[Q(s, a)]),
 *   V_target(s') = sum_a pi(a|s') (min_k Q'_k(s', a) - alpha log pi(a|s')),
 *   L_pi = E_s[sum_a pi(a|s) (alpha log pi(a|s) - min_k Q_k(s, a))]              (eq. 6),
 *
 * where rho is the model-rollout state distribution, D the data, and d_f the batch mixing data and
 * rollouts at ratio f. Twin critics, Polyak-averaged targets (tau 0.005). The entropy
 * temperature alpha is fixed (1.0, Table I) or tuned towards a target entropy.
 * The log-sum-exp form over the 6 actions is the CQL(H) choice of the penalty's first term.
 *
 * @module
 */
import { newVariable, tf } from "../core/backend.ts";
import { initMlp, mlpForward, type MlpParams, mlpVariables } from "../core/mlp.ts";
import { type Adam, createAdam, minimize, softUpdate } from "../core/optim.ts";
import { createRng, type Rng } from "../core/random.ts";
import { namedVariables, paramsFromJson, type ParamsJson, paramsToJson } from "../core/params.ts";
import { checkInterval, resolveConfig } from "../core/config.ts";

/** SAC settings. Every field is optional; {@linkcode SAC_DEFAULTS} holds the defaults. */
export interface SacConfig {
  /** Hidden layer widths of the actor and each critic. */
  readonly hiddenSizes?: readonly number[];
  /** Adam step size of the actor. */
  readonly actorLearningRate?: number;
  /** Adam step size of the twin critics. */
  readonly criticLearningRate?: number;
  /** Discount factor gamma, in [0, 1). */
  readonly discount?: number;
  /** Polyak step of the target critics, tau. */
  readonly tau?: number;
  /** Entropy temperature (SAC's alpha), or "auto" to tune it towards a target entropy. */
  readonly temperature?: number | "auto";
  /** Target entropy for "auto", as a share of log(numActions). */
  readonly targetEntropyShare?: number;
  /** Weight of the conservative term (OMG-RL eq. 5's alpha, COMBO's beta); 0 is plain SAC. */
  readonly conservativeWeight?: number;
  /** Gradient-norm clip. */
  readonly maxGradNorm?: number;
}

/** The defaults of {@linkcode SacConfig}: OMG-RL Table I and section V-B. */
export const SAC_DEFAULTS: Readonly<Required<SacConfig>> = Object.freeze({
  hiddenSizes: Object.freeze([256, 256, 256]),
  actorLearningRate: 5e-4,
  criticLearningRate: 5e-4,
  discount: 0.99,
  tau: 0.005,
  temperature: 1.0,
  targetEntropyShare: 0.5,
  conservativeWeight: 1.0,
  maxGradNorm: 10,
});

/**
 * A SAC config with every default filled in, checked and frozen.
 *
 * @param config Overrides of {@linkcode SAC_DEFAULTS}.
 */
export function resolveSacConfig(config: SacConfig = {}): Readonly<Required<SacConfig>> {
  const c = resolveConfig("sac", SAC_DEFAULTS, config);
  if (c.temperature !== "auto" && !(c.temperature >= 0)) {
    throw new RangeError(`sac: temperature must be >= 0 or "auto", got ${c.temperature}`);
  }
  checkInterval("sac", c, "discount", 0, 1, "high");
  checkInterval("sac", c, "conservativeWeight", 0, Infinity);
  checkInterval("sac", c, "tau", 0, 1, "low");
  return c;
}

/** An agent: actor, twin critics and their targets, optimisers. */
export interface SacAgent {
  /** The resolved config. */
  readonly config: Readonly<Required<SacConfig>>;
  /** State dimension S. */
  readonly stateDim: number;
  /** Number of actions A. */
  readonly numActions: number;
  /** The policy network pi (logits). */
  readonly actor: MlpParams;
  /** First critic Q_1. */
  readonly critic1: MlpParams;
  /** Second critic Q_2. */
  readonly critic2: MlpParams;
  /** Polyak-averaged target of Q_1. */
  readonly target1: MlpParams;
  /** Polyak-averaged target of Q_2. */
  readonly target2: MlpParams;
  /** log of the entropy temperature. */
  readonly logAlpha: tf.Variable;
  /** Adam of the actor. */
  readonly actorAdam: Adam;
  /** Adam of both critics. */
  readonly criticAdam: Adam;
  /** Adam of the temperature (null when it is fixed). */
  readonly alphaAdam: Adam | null;
}

/** A training batch: rows `[0, dataRows)` come from the data, the rest from model rollouts. */
export interface SacBatch {
  /** States, row-major `[rows, stateDim]`. */
  readonly states: Float32Array;
  /** Actions, one per row. */
  readonly actions: Int32Array;
  /** Rewards, one per row. */
  readonly rewards: Float32Array;
  /** Next states, row-major `[rows, stateDim]`. */
  readonly nextStates: Float32Array;
  /** 1 where the next state is terminal (float, for arithmetic). */
  readonly terminals: Float32Array;
  /** Rows `[0, dataRows)` come from the data. */
  readonly dataRows: number;
}

/** A new agent with its networks drawn from `rng`. */
export function createSacAgent(rng: Rng, stateDim: number, numActions: number, config: SacConfig = {}): SacAgent {
  const c = resolveSacConfig(config);
  const net = () => initMlp(rng, { inputDim: stateDim, hiddenSizes: c.hiddenSizes, outputDim: numActions });
  const actor = net(), critic1 = net(), critic2 = net(), target1 = net(), target2 = net();
  softUpdate(mlpVariables(target1), mlpVariables(critic1), 1);
  softUpdate(mlpVariables(target2), mlpVariables(critic2), 1);
  const logAlpha = newVariable(() =>
    tf.scalar(Math.log(c.temperature === "auto" ? 1 : Math.max(c.temperature, 1e-30)))
  );
  return Object.freeze({
    config: c,
    stateDim,
    numActions,
    actor,
    critic1,
    critic2,
    target1,
    target2,
    logAlpha,
    actorAdam: createAdam(mlpVariables(actor), { learningRate: c.actorLearningRate, maxGradNorm: c.maxGradNorm }),
    criticAdam: createAdam([...mlpVariables(critic1), ...mlpVariables(critic2)], {
      learningRate: c.criticLearningRate,
      maxGradNorm: c.maxGradNorm,
    }),
    alphaAdam: c.temperature === "auto" ? createAdam([logAlpha], { learningRate: c.actorLearningRate }) : null,
  });
}

/** The conservative term beta (E_rho[logsumexp Q] - E_D[Q(s, a)]) on a Q table. Pure tensor math. */
export function conservativePenalty(
  qModel: tf.Tensor2D,
  qData: tf.Tensor2D,
  dataActions: tf.Tensor1D,
): tf.Scalar {
  return tf.tidy(() => {
    const lse = tf.mean(tf.logSumExp(qModel, 1));
    const chosen = tf.mean(tf.sum(tf.mul(qData, tf.oneHot(dataActions, qData.shape[1])), 1));
    return tf.sub(lse, chosen) as tf.Scalar;
  });
}

/** Losses of one update, as numbers. */
export interface SacLosses {
  /** The critic loss: TD plus the weighted conservative term. */
  readonly criticLoss: number;
  /** The TD part (summed over both critics). */
  readonly tdLoss: number;
  /** The conservative term before its weight. */
  readonly conservativeLoss: number;
  /** The actor loss (eq. 6). */
  readonly actorLoss: number;
  /** Mean policy entropy on the batch. */
  readonly entropy: number;
  /** The temperature used. */
  readonly alpha: number;
}

/** One critic + actor (+ temperature) update and a soft target update. */
export function sacUpdate(agent: SacAgent, batch: SacBatch, step = 0): SacLosses {
  const { stateDim: S, numActions: A, config: c } = agent;
  const B = batch.actions.length;
  if (batch.states.length !== B * S || batch.nextStates.length !== B * S) {
    throw new RangeError(`sacUpdate: states must be ${B} x ${S}`);
  }
  // A fixed temperature is known in JS; only a tuned one is read back from its variable.
  const alpha = agent.alphaAdam ? Math.exp(agent.logAlpha.dataSync()[0]) : (c.temperature as number);
  const s = tf.tensor2d(batch.states, [B, S]);
  const s2 = tf.tensor2d(batch.nextStates, [B, S]);
  const a = tf.tensor1d(batch.actions, "int32");
  const r = tf.tensor1d(batch.rewards);
  const d = tf.tensor1d(batch.terminals);
  const target = tf.tidy(() => {
    const logits = mlpForward(agent.actor, s2);
    const logp = tf.logSoftmax(logits);
    const p = tf.exp(logp);
    const qmin = tf.minimum(mlpForward(agent.target1, s2), mlpForward(agent.target2, s2));
    const v = tf.sum(tf.mul(p, tf.sub(qmin, tf.mul(alpha, logp))), 1);
    return tf.add(r, tf.mul(c.discount, tf.mul(tf.sub(1, d), v)));
  });
  const nData = batch.dataRows;
  if (c.conservativeWeight > 0 && !(Number.isInteger(nData) && nData >= 1 && nData <= B)) {
    throw new RangeError(
      `sacUpdate: the conservative term needs data rows (dataRows in [1, ${B}]), got ${nData}; ` +
        `set conservativeWeight to 0 for plain SAC`,
    );
  }
  const critic = minimize(agent.criticAdam, () => {
    const mask = tf.oneHot(a, A);
    let td: tf.Tensor = tf.scalar(0), cons: tf.Tensor = tf.scalar(0);
    for (const q of [agent.critic1, agent.critic2]) {
      const qs = mlpForward(q, s);
      const qa = tf.sum(tf.mul(qs, mask), 1);
      td = tf.add(td, tf.mul(0.5, tf.mean(tf.square(tf.sub(qa, target)))));
      if (c.conservativeWeight > 0) {
        // With no model rows (mixing ratio 1) the penalty is CQL(H)'s on the data states.
        const qModel = nData < B ? tf.slice(qs, [nData, 0], [B - nData, A]) : qs;
        const qData = nData < B ? tf.slice(qs, [0, 0], [nData, A]) : qs;
        const aData = nData < B ? tf.slice(a, [0], [nData]) : a;
        cons = tf.add(cons, conservativePenalty(qModel as tf.Tensor2D, qData as tf.Tensor2D, aData as tf.Tensor1D));
      }
    }
    return {
      loss: tf.add(td, tf.mul(c.conservativeWeight, cons)) as tf.Scalar,
      tdLoss: td as tf.Scalar,
      conservativeLoss: cons as tf.Scalar,
    };
  }, `critic step ${step}`);
  const qmin = tf.tidy(() => tf.minimum(mlpForward(agent.critic1, s), mlpForward(agent.critic2, s)));
  let entropy = 0;
  const actor = minimize(agent.actorAdam, () => {
    const logp = tf.logSoftmax(mlpForward(agent.actor, s));
    const p = tf.exp(logp);
    const ent = tf.mean(tf.neg(tf.sum(tf.mul(p, logp), 1))) as tf.Scalar;
    return {
      loss: tf.mean(tf.sum(tf.mul(p, tf.sub(tf.mul(alpha, logp), qmin)), 1)) as tf.Scalar,
      entropy: ent,
    };
  }, `actor step ${step}`);
  entropy = actor.entropy;
  if (agent.alphaAdam) {
    const targetEntropy = c.targetEntropyShare * Math.log(A);
    minimize(agent.alphaAdam, () => ({
      loss: tf.mul(agent.logAlpha, entropy - targetEntropy) as tf.Scalar,
    }), `temperature step ${step}`);
  }
  softUpdate(mlpVariables(agent.target1), mlpVariables(agent.critic1), c.tau);
  softUpdate(mlpVariables(agent.target2), mlpVariables(agent.critic2), c.tau);
  tf.dispose([s, s2, a, r, d, target, qmin]);
  return {
    criticLoss: critic.loss,
    tdLoss: critic.tdLoss,
    conservativeLoss: critic.conservativeLoss,
    actorLoss: actor.loss,
    entropy,
    alpha,
  };
}

/** The actor's softmax or log-softmax over `n` states, read back as numbers. */
function actorOutput(
  actor: MlpParams,
  states: Float32Array,
  stateDim: number,
  head: (logits: tf.Tensor2D) => tf.Tensor,
): Float32Array {
  const n = states.length / stateDim;
  let out: Float32Array = new Float32Array(0);
  // Read inside the tidy: returning a typed array from tf.tidy walks it element by element.
  tf.tidy(() => void (out = head(mlpForward(actor, tf.tensor2d(states, [n, stateDim]))).dataSync() as Float32Array));
  return out;
}

/** pi(a | s) for `n` states, row-major `[n, numActions]`. */
export function policyProbabilities(actor: MlpParams, states: Float32Array, stateDim: number): Float32Array {
  return actorOutput(actor, states, stateDim, (z) => tf.softmax(z));
}

/** log pi(a | s) for `n` states, row-major `[n, numActions]` (log-softmax, never log of a probability). */
export function policyLogProbabilities(actor: MlpParams, states: Float32Array, stateDim: number): Float32Array {
  return actorOutput(actor, states, stateDim, (z) => tf.logSoftmax(z));
}

/** Frees the agent's tensors (networks, temperature); the agent must not be used afterwards. */
export function disposeSacAgent(agent: SacAgent): void {
  tf.dispose(Object.values(namedVariables(sacVariables(agent))));
}

/** Every variable of the agent, named by role (for checkpoints). */
export function sacVariables(agent: SacAgent): Record<string, MlpParams | tf.Variable> {
  return {
    actor: agent.actor,
    critic1: agent.critic1,
    critic2: agent.critic2,
    target1: agent.target1,
    target2: agent.target2,
    logAlpha: agent.logAlpha,
  };
}

/** A trained policy as a file: the actor, the state's features and their normalisation. */
export interface PolicyJson {
  /** Version of the file layout. */
  readonly format: "softmax-policy/1";
  /** Names of the state features, in the order the network reads them. */
  readonly featureNames: readonly string[];
  /** Number of actions A. */
  readonly numActions: number;
  /** Hidden layer widths of the network. */
  readonly hiddenSizes: readonly number[];
  /** Per-feature mean of the normaliser. */
  readonly mean: number[];
  /** Per-feature standard deviation of the normaliser. */
  readonly std: number[];
  /** The network's weights. */
  readonly params: ParamsJson;
  /**
   * When true the network's outputs are action values Q(s, .) and the policy takes their argmax
   * (a deterministic policy: probability 1 on that action); otherwise they are a softmax's logits.
   */
  readonly greedy?: boolean;
}

/** The actor (or, with `greedy`, a Q-network whose argmax is the policy) and normalisation as JSON. */
export function policyToJson(
  actor: MlpParams,
  normalizer: { featureNames: readonly string[]; mean: ArrayLike<number>; std: ArrayLike<number> },
  options: { readonly greedy?: boolean } = {},
): PolicyJson {
  return {
    format: "softmax-policy/1",
    featureNames: [...normalizer.featureNames],
    numActions: actor.config.outputDim,
    hiddenSizes: actor.config.hiddenSizes,
    mean: Array.from(normalizer.mean),
    std: Array.from(normalizer.std),
    params: paramsToJson(namedVariables({ actor })),
    ...(options.greedy ? { greedy: true } : {}),
  };
}

/** Largest number of weights a policy file may hold (a larger file is refused, not loaded). */
const MAX_POLICY_WEIGHTS = 50_000_000;

/**
 * Checks a parsed policy file against its schema before anything uses it: the format, unique
 * non-empty feature names, a positive integer action count and hidden sizes, a finite mean and a
 * positive finite standard deviation per feature, and weights that are finite float32 numbers, in
 * bounded number. Throws naming the file and the first problem (a malformed file must never give
 * a confident recommendation).
 */
export function validatePolicyJson(json: unknown, source = "policy file"): asserts json is PolicyJson {
  const bad = (what: string): never => {
    throw new RangeError(`${source}: ${what}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) bad("not a policy file (not a JSON object)");
  const j = json as Record<string, unknown>;
  if (j.format !== "softmax-policy/1") {
    bad(`not a policy file (format ${JSON.stringify(j.format)}, expected "softmax-policy/1")`);
  }
  const names = j.featureNames;
  if (!Array.isArray(names) || names.length === 0 || names.length > 100_000) {
    bad("featureNames must be a non-empty list of feature names");
  }
  const featureNames = names as unknown[];
  if (!featureNames.every((n) => typeof n === "string" && n.length > 0)) {
    bad("every feature name must be a non-empty string");
  }
  if (new Set(featureNames).size !== featureNames.length) bad("feature names must be unique");
  const S = featureNames.length;
  const isCount = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max;
  if (!isCount(j.numActions, 100_000)) {
    bad(`numActions must be a positive integer, got ${JSON.stringify(j.numActions)}`);
  }
  if (!Array.isArray(j.hiddenSizes) || j.hiddenSizes.length > 64 || !j.hiddenSizes.every((h) => isCount(h, 1 << 16))) {
    bad("hiddenSizes must be a list of positive integers");
  }
  if (j.greedy !== undefined && typeof j.greedy !== "boolean") {
    bad(`greedy must be true or false, got ${JSON.stringify(j.greedy)}`);
  }
  const finite32 = (v: unknown) => typeof v === "number" && Number.isFinite(Math.fround(v));
  for (const [key, positive] of [["mean", false], ["std", true]] as const) {
    const v = j[key];
    if (!Array.isArray(v) || v.length !== S) bad(`${key} must hold one number per feature (${S})`);
    (v as unknown[]).forEach((x, k) => {
      if (!finite32(x) || (positive && !((x as number) > 0))) {
        bad(
          `${key}[${k}] (${featureNames[k]}) must be a ${positive ? "positive " : ""}finite number, got ${
            JSON.stringify(x)
          }`,
        );
      }
    });
  }
  const params = j.params as { format?: unknown; tensors?: Record<string, { shape?: unknown; data?: unknown }> } | null;
  if (typeof params !== "object" || params === null || typeof params.tensors !== "object" || params.tensors === null) {
    bad("params must hold the network's tensors");
  }
  let count = 0;
  for (const [name, t] of Object.entries(params!.tensors!)) {
    if (!Array.isArray(t?.data)) bad(`tensor ${name} has no data array`);
    count += (t.data as unknown[]).length;
    if (count > MAX_POLICY_WEIGHTS) bad(`more than ${MAX_POLICY_WEIGHTS} weights; refused`);
    const k = (t.data as unknown[]).findIndex((x) => !finite32(x));
    if (k >= 0) bad(`tensor ${name}[${k}] is ${JSON.stringify((t.data as unknown[])[k])}, not a finite float32 number`);
  }
}

/** A recommender from a policy file: raw (unnormalised) state -> probabilities and the most likely dose bin. */
export function policyFromJson(json: PolicyJson, source = "policy file"): {
  readonly featureNames: readonly string[];
  recommend(state: ArrayLike<number>): { probabilities: number[]; action: number };
} {
  validatePolicyJson(json, source);
  const S = json.featureNames.length;
  const actor = initMlp(createRng(0), { inputDim: S, hiddenSizes: json.hiddenSizes, outputDim: json.numActions });
  paramsFromJson(namedVariables({ actor }), json.params, source);
  return {
    featureNames: json.featureNames,
    recommend(state) {
      if (state.length !== S) {
        throw new RangeError(
          `${source}: a state has ${S} features (${json.featureNames.join(", ")}), got ${state.length}`,
        );
      }
      const z = new Float32Array(S);
      for (let j = 0; j < S; j++) {
        if (!Number.isFinite(state[j])) {
          throw new RangeError(`${source}: feature ${json.featureNames[j]} is ${state[j]}`);
        }
        z[j] = (state[j] - json.mean[j]) / json.std[j];
      }
      const probabilities = Array.from(policyProbabilities(actor, z, S));
      const action = probabilities.indexOf(Math.max(...probabilities));
      // A greedy (Q-network) policy puts all its probability on the argmax.
      if (json.greedy) return { probabilities: probabilities.map((_, a) => (a === action ? 1 : 0)), action };
      return { probabilities, action };
    },
  };
}
