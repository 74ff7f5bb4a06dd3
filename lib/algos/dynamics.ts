/**
 * Probabilistic dynamics ensemble (OMG-RL section IV-A, eq. 4; the PETS/MBPO model it follows):
 * N members, each an MLP from (normalised state, one-hot action) to a diagonal Gaussian over the
 * normalised (next-state change, reward). Trained by maximum likelihood (eq. 4) with the
 * log-variance kept within learned soft bounds (Chua et al. 2018, appendix A.1):
 *   lv = maxLv - softplus(maxLv - raw);  lv = minLv + softplus(lv - minLv),
 * plus 0.01 (sum maxLv - sum minLv). A held-out split gives per-member validation curves; training
 * stops when no member has improved by 1% for `patience` epochs, each member keeps its best
 * epoch's weights, and the `elites` best members by validation loss are used for rollouts.
 *
 * Terminal states are not modelled: the heparin data have none (stays end by time-out).
 *
 * @module
 */
import { newVariable, readValues, replaceVariable, tf } from "../core/backend.ts";
import { ensembleForward, type EnsembleParams, ensembleVariables, initEnsemble } from "../core/mlp.ts";
import { type Adam, createAdam, minimize } from "../core/optim.ts";
import { createRng, type Rng } from "../core/random.ts";
import { namedVariables, paramsFromJson, type ParamsJson, paramsToJson } from "../core/params.ts";
import type { MdpDataset } from "../data/dataset.ts";
import { checkIntegers, resolveConfig } from "../core/config.ts";

/** Options of {@linkcode trainDynamics}; {@linkcode DYNAMICS_DEFAULTS} holds the defaults. */
export interface DynamicsConfig {
  /** Ensemble size N. */
  readonly members?: number;
  /** Members kept for rollouts (the elites). */
  readonly elites?: number;
  /** Hidden layer widths of each member. */
  readonly hiddenSizes?: readonly number[];
  /** Adam step size. */
  readonly learningRate?: number;
  /** Minibatch size. */
  readonly batchSize?: number;
  /** Share of transitions held out for validation (at most `maxHoldout`). */
  readonly holdoutFraction?: number;
  /** Most transitions held out. */
  readonly maxHoldout?: number;
  /** Most training epochs. */
  readonly maxEpochs?: number;
  /** Epochs without a 1% improvement of any member before stopping. */
  readonly patience?: number;
}

/** The defaults of {@linkcode DynamicsConfig}: OMG-RL section V-B (four layers of 128) and MBPO. */
export const DYNAMICS_DEFAULTS: Readonly<Required<DynamicsConfig>> = Object.freeze({
  members: 7,
  elites: 5,
  hiddenSizes: Object.freeze([128, 128, 128, 128]),
  learningRate: 1e-3,
  batchSize: 256,
  holdoutFraction: 0.2,
  maxHoldout: 5000,
  maxEpochs: 100,
  patience: 5,
});

/** A trained ensemble with its normalisation. */
export interface DynamicsModel {
  /** State dimension S. */
  readonly stateDim: number;
  /** Number of actions A. */
  readonly numActions: number;
  /** The ensemble members (each outputs mean and raw log-variance of [s' - s, r]). */
  readonly ensemble: EnsembleParams;
  /** Learned soft upper bound of the log-variance, `[1, stateDim + 1]`. */
  readonly maxLogVar: tf.Variable;
  /** Learned soft lower bound of the log-variance, `[1, stateDim + 1]`. */
  readonly minLogVar: tf.Variable;
  /** Mean of each input (state) feature, fitted on the training rows. */
  readonly inputMean: Float32Array;
  /** Standard deviation of each input feature. */
  readonly inputStd: Float32Array;
  /** Mean of each target ([s' - s, r]) component. */
  readonly targetMean: Float32Array;
  /** Standard deviation of each target component. */
  readonly targetStd: Float32Array;
  /** Indices of the elite members, best first. */
  readonly elites: readonly number[];
}

/** Per-epoch, per-member losses (`[epoch][member]`), returned rather than printed. */
export interface DynamicsCurves {
  /** Training Gaussian NLL per epoch and member. */
  readonly train: number[][];
  /** Validation Gaussian NLL (normalised targets), the loss that ranks members. */
  readonly validation: number[][];
  /** Validation mean squared error of the mean (normalised targets). */
  readonly validationMse: number[][];
  /** Epoch whose weights each member kept. */
  readonly bestEpoch: number[];
}

/**
 * A dynamics config with every default filled in, checked and frozen.
 *
 * @param config Overrides of {@linkcode DYNAMICS_DEFAULTS}.
 */
export function resolveDynamicsConfig(config: DynamicsConfig = {}): Readonly<Required<DynamicsConfig>> {
  const c = resolveConfig("dynamics", DYNAMICS_DEFAULTS, config);
  checkIntegers("dynamics", c, ["batchSize", "maxHoldout", "maxEpochs", "patience"]);
  if (!Number.isInteger(c.members) || c.members < 1) {
    throw new RangeError(`dynamics: members must be >= 1, got ${c.members}`);
  }
  if (!Number.isInteger(c.elites) || c.elites < 1 || c.elites > c.members) {
    throw new RangeError(`dynamics: elites must be in [1, members = ${c.members}], got ${c.elites}`);
  }
  if (!(c.holdoutFraction > 0 && c.holdoutFraction < 1)) {
    throw new RangeError(`dynamics: holdoutFraction must be in (0, 1), got ${c.holdoutFraction}`);
  }
  return c;
}

/** Model inputs [normalised state, one-hot action] for rows of `states` / `actions`. */
function encodeInputs(
  model: Pick<DynamicsModel, "stateDim" | "numActions" | "inputMean" | "inputStd">,
  states: Float32Array,
  actions: ArrayLike<number>,
  rows: ArrayLike<number> | null,
): Float32Array {
  const S = model.stateDim, A = model.numActions, W = S + A;
  const n = rows ? rows.length : actions.length;
  const out = new Float32Array(n * W);
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    for (let j = 0; j < S; j++) out[k * W + j] = (states[i * S + j] - model.inputMean[j]) / model.inputStd[j];
    out[k * W + S + actions[i]] = 1;
  }
  return out;
}

function meanStd(
  values: Float32Array,
  width: number,
  rows: ArrayLike<number>,
  names: readonly string[],
): [Float32Array, Float32Array] {
  // Sums in float64: squares of large values overflow float32 long before the values do.
  const mean = new Float64Array(width), sq = new Float64Array(width);
  for (let k = 0; k < rows.length; k++) for (let j = 0; j < width; j++) mean[j] += values[rows[k] * width + j];
  for (let j = 0; j < width; j++) mean[j] /= rows.length;
  for (let k = 0; k < rows.length; k++) {
    for (let j = 0; j < width; j++) sq[j] += (values[rows[k] * width + j] - mean[j]) ** 2;
  }
  const std = new Float32Array(width);
  for (let j = 0; j < width; j++) {
    std[j] = Math.max(Math.sqrt(sq[j] / rows.length), 1e-6);
    if (!Number.isFinite(std[j]) || !Number.isFinite(Math.fround(mean[j]))) {
      throw new RangeError(
        `dynamics: ${names[j]} has mean ${mean[j].toExponential(2)} and spread ${
          Math.sqrt(sq[j] / rows.length).toExponential(2)
        }, beyond what float32 training can hold; rescale it`,
      );
    }
  }
  return [Float32Array.from(mean), std];
}

/** Bounded log-variance (soft bounds, differentiable). */
function boundLogVar(raw: tf.Tensor, maxLv: tf.Tensor, minLv: tf.Tensor): tf.Tensor {
  const upper = tf.sub(maxLv, tf.softplus(tf.sub(maxLv, raw)));
  return tf.add(minLv, tf.softplus(tf.sub(upper, minLv)));
}

/** Mean Gaussian NLL (up to constants) and MSE of a member's output against targets. */
function gaussianLoss(out: tf.Tensor2D, y: tf.Tensor2D, maxLv: tf.Tensor, minLv: tf.Tensor) {
  const [mu, raw] = tf.split(out, 2, 1);
  const lv = boundLogVar(raw, maxLv, minLv);
  const sq = tf.square(tf.sub(mu, y));
  return { nll: tf.mean(tf.add(tf.mul(sq, tf.exp(tf.neg(lv))), lv)) as tf.Scalar, mse: tf.mean(sq) as tf.Scalar };
}

/** Live state of dynamics training: the split, normalisation, ensemble, optimiser and curves. */
export interface DynamicsTraining {
  /** The resolved config. */
  readonly config: Readonly<Required<DynamicsConfig>>;
  /** The training data. */
  readonly data: MdpDataset;
  /** The training stream (epoch shuffles). */
  readonly rng: Rng;
  /** Rows the members train on. */
  readonly trainRows: Int32Array;
  /** Rows held out for validation. */
  readonly holdRows: Int32Array;
  /** Targets [s' - s, r] of every row, `[rows, stateDim + 1]`. */
  readonly targets: Float32Array;
  /** Mean of each input (state) feature, fitted on the training rows. */
  readonly inputMean: Float32Array;
  /** Standard deviation of each input feature. */
  readonly inputStd: Float32Array;
  /** Mean of each target ([s' - s, r]) component. */
  readonly targetMean: Float32Array;
  /** Standard deviation of each target component. */
  readonly targetStd: Float32Array;
  /** The ensemble members' networks. */
  readonly ensemble: EnsembleParams;
  /** Learned soft upper bound of the log-variance, `[1, stateDim + 1]`. */
  readonly maxLogVar: tf.Variable;
  /** Learned soft lower bound of the log-variance, `[1, stateDim + 1]`. */
  readonly minLogVar: tf.Variable;
  /** Adam over every member and both log-variance bounds. */
  readonly adam: Adam;
  /** Encoded held-out inputs `[held, stateDim + numActions]`. */
  readonly holdX: tf.Tensor2D;
  /** Normalised held-out targets `[held, stateDim + 1]`. */
  readonly holdY: tf.Tensor2D;
  /** Losses per epoch and member so far. */
  readonly curves: DynamicsCurves;
  /** Each member's best validation NLL and its weights then. */
  readonly best: number[];
  /** Each member's weights at its best epoch. */
  readonly snapshots: Float32Array[][];
  /** Epochs done, and epochs since any member improved by 1%. */
  epoch: number;
  /** Epochs since any member last improved by 1%. */
  sinceImprovement: number;
}

/** Normalised targets of `rows`. */
function encodeTargets(
  t: Pick<DynamicsTraining, "targets" | "targetMean" | "targetStd">,
  rows: ArrayLike<number>,
): Float32Array {
  const O = t.targetMean.length;
  const out = new Float32Array(rows.length * O);
  for (let k = 0; k < rows.length; k++) {
    for (let j = 0; j < O; j++) out[k * O + j] = (t.targets[rows[k] * O + j] - t.targetMean[j]) / t.targetStd[j];
  }
  return out;
}

/** Each member's variables, weights and biases interleaved by layer. */
function memberVariables(ensemble: EnsembleParams): tf.Variable[][] {
  return ensemble.members.map((m) => m.weights.flatMap((w, l) => [w, m.biases[l]]));
}

/**
 * A fresh training state: the held-out split, the normalisation (fitted on the training rows), the
 * ensemble and its log-variance bounds. `rng` is the training stream (split, weights, shuffles).
 */
export function initDynamics(data: MdpDataset, rng: Rng, config: DynamicsConfig = {}): DynamicsTraining {
  const c = resolveDynamicsConfig(config);
  const S = data.stateDim, A = data.numActions, O = S + 1;
  if (data.size < 10) throw new RangeError(`dynamics: need at least 10 transitions, got ${data.size}`);
  const perm = rng.permutation(data.size);
  const nHold = Math.max(1, Math.min(c.maxHoldout, Math.round(data.size * c.holdoutFraction)));
  const holdRows = perm.slice(0, nHold), trainRows = perm.slice(nHold);
  const targets = new Float32Array(data.size * O);
  for (let i = 0; i < data.size; i++) {
    for (let j = 0; j < S; j++) targets[i * O + j] = data.nextStates[i * S + j] - data.states[i * S + j];
    targets[i * O + S] = data.rewards[i];
  }
  const names = data.featureNames;
  const [inputMean, inputStd] = meanStd(data.states, S, trainRows, names.map((f) => `state feature "${f}"`));
  const [targetMean, targetStd] = meanStd(targets, O, trainRows, [
    ...names.map((f) => `the change of "${f}"`),
    "the reward",
  ]);
  const ensemble = initEnsemble(rng, c.members, {
    inputDim: S + A,
    hiddenSizes: c.hiddenSizes,
    outputDim: 2 * O,
    activation: "silu",
  });
  const maxLogVar = newVariable(() => tf.fill([1, O], 0.5));
  const minLogVar = newVariable(() => tf.fill([1, O], -10));
  const norm = { stateDim: S, numActions: A, inputMean, inputStd };
  return {
    config: c,
    data,
    rng,
    trainRows,
    holdRows,
    targets,
    inputMean,
    inputStd,
    targetMean,
    targetStd,
    ensemble,
    maxLogVar,
    minLogVar,
    adam: createAdam([...ensembleVariables(ensemble), maxLogVar, minLogVar], { learningRate: c.learningRate }),
    holdX: tf.tensor2d(encodeInputs(norm, data.states, data.actions, holdRows), [nHold, S + A]),
    holdY: tf.tensor2d(encodeTargets({ targets, targetMean, targetStd }, holdRows), [nHold, O]),
    curves: { train: [], validation: [], validationMse: [], bestEpoch: new Array(c.members).fill(-1) },
    best: new Array(c.members).fill(Infinity),
    snapshots: ensemble.members.map(() => []),
    epoch: 0,
    sinceImprovement: 0,
  };
}

/** Validation Gaussian NLL and MSE of each member on the held-out rows. */
function validateDynamics(t: DynamicsTraining): { nll: number[]; mse: number[] } {
  return tf.tidy(() => {
    const outs = ensembleForward(t.ensemble, t.ensemble.members.map(() => t.holdX));
    const nll: number[] = [], mse: number[] = [];
    for (const o of outs) {
      const l = gaussianLoss(o, t.holdY, t.maxLogVar, t.minLogVar);
      nll.push(l.nll.dataSync()[0]);
      mse.push(l.mse.dataSync()[0]);
    }
    return { nll, mse };
  });
}

/** One minibatch step of eq. 4 for every member (each on its own shuffled rows), plus the bound term. */
function dynamicsStep(t: DynamicsTraining, orders: readonly Int32Array[], k: number): number[] {
  const { config: c, data, trainRows } = t;
  const S = data.stateDim, A = data.numActions, O = S + 1, nTrain = trainRows.length;
  const norm = { stateDim: S, numActions: A, inputMean: t.inputMean, inputStd: t.inputStd };
  const xs: tf.Tensor2D[] = [], ys: tf.Tensor2D[] = [];
  for (let e = 0; e < c.members; e++) {
    const rows = new Int32Array(Math.min(c.batchSize, nTrain));
    for (let b = 0; b < rows.length; b++) rows[b] = trainRows[orders[e][(k * c.batchSize + b) % nTrain]];
    xs.push(tf.tensor2d(encodeInputs(norm, data.states, data.actions, rows), [rows.length, S + A]));
    ys.push(tf.tensor2d(encodeTargets(t, rows), [rows.length, O]));
  }
  try {
    const parts = minimize(t.adam, () => {
      const outs = ensembleForward(t.ensemble, xs);
      const per = outs.map((o, e) => gaussianLoss(o, ys[e], t.maxLogVar, t.minLogVar).nll);
      const bound = tf.mul(0.01, tf.sub(tf.sum(t.maxLogVar), tf.sum(t.minLogVar)));
      const named: Record<string, tf.Tensor> = {};
      per.forEach((p, e) => (named[`member${e}`] = p));
      return { loss: tf.add(tf.div(tf.addN(per), c.members), bound), ...named };
    }, `dynamics epoch ${t.epoch} step ${k}`) as Record<string, number>;
    return Array.from({ length: c.members }, (_, e) => parts[`member${e}`]);
  } finally {
    tf.dispose([...xs, ...ys]);
  }
}

/**
 * One epoch: every member passes once over its own shuffle of the training rows, then the
 * validation losses; a member that improved by 1% keeps a snapshot of its weights.
 */
export function dynamicsEpoch(t: DynamicsTraining): { train: number[]; validation: number[]; improved: boolean } {
  const { config: c, trainRows } = t;
  const nTrain = trainRows.length, steps = Math.max(1, Math.ceil(nTrain / c.batchSize));
  const orders = t.ensemble.members.map(() => t.rng.permutation(nTrain));
  const sums = new Array(c.members).fill(0);
  for (let k = 0; k < steps; k++) dynamicsStep(t, orders, k).forEach((l, e) => (sums[e] += l));
  const v = validateDynamics(t);
  const train = sums.map((s) => s / steps);
  t.curves.train.push(train);
  t.curves.validation.push(v.nll);
  t.curves.validationMse.push(v.mse);
  const vars = memberVariables(t.ensemble);
  let improved = false;
  for (let e = 0; e < c.members; e++) {
    const gain = (t.best[e] - v.nll[e]) / Math.abs(t.best[e]);
    if (!Number.isFinite(t.best[e]) || gain > 0.01) {
      t.best[e] = v.nll[e];
      t.curves.bestEpoch[e] = t.epoch;
      t.snapshots[e] = vars[e].map((x) => Float32Array.from(readValues(x)));
      improved = true;
    }
  }
  t.sinceImprovement = improved ? 0 : t.sinceImprovement + 1;
  t.epoch++;
  return { train, validation: v.nll, improved };
}

/** Whether training should stop: the epoch budget is spent or no member improved for `patience` epochs. */
export function dynamicsDone(t: DynamicsTraining): boolean {
  return t.epoch >= t.config.maxEpochs || t.sinceImprovement >= t.config.patience;
}

/** The trained model: each member back at its best epoch, the elites ranked by validation NLL. */
export function finishDynamics(t: DynamicsTraining): { model: DynamicsModel; curves: DynamicsCurves } {
  if (t.snapshots.some((s) => s.length === 0)) {
    throw new RangeError("finishDynamics: run at least one dynamicsEpoch first");
  }
  memberVariables(t.ensemble).forEach((vars, e) =>
    vars.forEach((v, k) => replaceVariable(v, (out) => out.set(t.snapshots[e][k])))
  );
  tf.dispose([t.holdX, t.holdY]);
  const order = t.best.map((b, e) => [b, e] as const).sort((x, y) => x[0] - y[0]).map(([, e]) => e);
  const model: DynamicsModel = Object.freeze({
    stateDim: t.data.stateDim,
    numActions: t.data.numActions,
    ensemble: t.ensemble,
    maxLogVar: t.maxLogVar,
    minLogVar: t.minLogVar,
    inputMean: t.inputMean,
    inputStd: t.inputStd,
    targetMean: t.targetMean,
    targetStd: t.targetStd,
    elites: Object.freeze(order.slice(0, t.config.elites)),
  });
  return { model, curves: t.curves };
}

/**
 * Trains an ensemble on `data` (eq. 4). Returns the model (best weights per member, elites) and
 * the loss curves. `onEpoch` sees each epoch's losses (for progress).
 */
export function trainDynamics(
  data: MdpDataset,
  rng: Rng,
  config: DynamicsConfig = {},
  onEpoch?: (epoch: number, train: number[], validation: number[]) => void,
): { model: DynamicsModel; curves: DynamicsCurves } {
  const t = initDynamics(data, rng, config);
  while (!dynamicsDone(t)) {
    const { train, validation } = dynamicsEpoch(t);
    onEpoch?.(t.epoch - 1, train, validation);
  }
  return finishDynamics(t);
}

/** One model step for a batch: a random elite per row (Algorithm 1), sampled or mean prediction. */
export function predictDynamics(
  model: DynamicsModel,
  states: Float32Array,
  actions: ArrayLike<number>,
  rng: Rng,
  options: { deterministic?: boolean; members?: readonly number[] } = {},
): { nextStates: Float32Array; rewards: Float32Array; members: Int32Array } {
  const S = model.stateDim, A = model.numActions, O = S + 1;
  const n = actions.length;
  for (let i = 0; i < n; i++) {
    if (!(actions[i] >= 0 && actions[i] < A)) {
      throw new RangeError(`predictDynamics: action ${actions[i]} out of range`);
    }
  }
  const pool = options.members ?? model.elites;
  const members = new Int32Array(n);
  for (let i = 0; i < n; i++) members[i] = pool[rng.int(pool.length)];
  const nextStates = new Float32Array(n * S), rewards = new Float32Array(n);
  const inputs = encodeInputs(model, states, actions, null);
  for (const e of new Set(members)) {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (members[i] === e) rows.push(i);
    const x = new Float32Array(rows.length * (S + A));
    rows.forEach((i, k) => x.set(inputs.subarray(i * (S + A), (i + 1) * (S + A)), k * (S + A)));
    let mu: Float32Array, lv: Float32Array;
    tf.tidy(() => {
      const out = ensembleForwardOne(model, e, tf.tensor2d(x, [rows.length, S + A]));
      const [m, raw] = tf.split(out, 2, 1);
      mu = m.dataSync() as Float32Array;
      lv = boundLogVar(raw, model.maxLogVar, model.minLogVar).dataSync() as Float32Array;
    });
    rows.forEach((i, k) => {
      for (let j = 0; j < O; j++) {
        let z = mu![k * O + j];
        if (!options.deterministic) z += Math.exp(0.5 * lv![k * O + j]) * rng.normal();
        const value = z * model.targetStd[j] + model.targetMean[j];
        if (j < S) nextStates[i * S + j] = states[i * S + j] + value;
        else rewards[i] = value;
      }
    });
  }
  for (let i = 0; i < nextStates.length; i++) {
    if (!Number.isFinite(nextStates[i])) {
      throw new RangeError("predictDynamics: the model predicted a non-finite state");
    }
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(rewards[i])) throw new RangeError("predictDynamics: the model predicted a non-finite reward");
  }
  return { nextStates, rewards, members };
}

function ensembleForwardOne(model: DynamicsModel, member: number, x: tf.Tensor2D): tf.Tensor2D {
  const single: EnsembleParams = { config: model.ensemble.config, members: [model.ensemble.members[member]] };
  return ensembleForward(single, [x])[0];
}

/** Every variable of the model (for saving): the ensemble and the log-variance bounds. */
export function dynamicsVariables(model: DynamicsModel): tf.Variable[] {
  return [...ensembleVariables(model.ensemble), model.maxLogVar, model.minLogVar];
}

/** Frees the model's tensors. */
export function disposeDynamics(model: DynamicsModel): void {
  tf.dispose(dynamicsVariables(model));
}

/** JSON form of a trained model (parameters, normalisation, elites). */
export interface DynamicsJson {
  /** Version of the file layout. */
  readonly format: "dynamics-ensemble/1";
  /** State dimension S. */
  readonly stateDim: number;
  /** Number of actions A. */
  readonly numActions: number;
  /** Ensemble size N. */
  readonly members: number;
  /** Hidden layer widths. */
  readonly hiddenSizes: readonly number[];
  /** Indices of the elite members, best first. */
  readonly elites: readonly number[];
  /** Normalisation of the inputs and targets (see {@linkcode DynamicsModel}). */
  readonly inputMean: number[];
  /** Standard deviation of each input feature. */
  readonly inputStd: number[];
  /** Mean of each target ([s' - s, r]) component. */
  readonly targetMean: number[];
  /** Standard deviation of each target component. */
  readonly targetStd: number[];
  /** The members' weights and the log-variance bounds. */
  readonly params: ParamsJson;
}

function modelVariables(model: DynamicsModel) {
  return namedVariables({ ensemble: model.ensemble, maxLogVar: model.maxLogVar, minLogVar: model.minLogVar });
}

/** A model as JSON (for saving next to a run). */
export function dynamicsToJson(model: DynamicsModel): DynamicsJson {
  return {
    format: "dynamics-ensemble/1",
    stateDim: model.stateDim,
    numActions: model.numActions,
    members: model.ensemble.members.length,
    hiddenSizes: model.ensemble.config.hiddenSizes,
    elites: model.elites,
    inputMean: Array.from(model.inputMean),
    inputStd: Array.from(model.inputStd),
    targetMean: Array.from(model.targetMean),
    targetStd: Array.from(model.targetStd),
    params: paramsToJson(modelVariables(model)),
  };
}

/** A model from its JSON form; every name and shape is checked. */
export function dynamicsFromJson(json: DynamicsJson, source = "dynamics file"): DynamicsModel {
  if (json.format !== "dynamics-ensemble/1") throw new RangeError(`${source}: not a dynamics ensemble file`);
  const S = json.stateDim, A = json.numActions, O = S + 1;
  const ensemble = initEnsemble(createRng(0), json.members, {
    inputDim: S + A,
    hiddenSizes: json.hiddenSizes,
    outputDim: 2 * O,
    activation: "silu",
  });
  const model: DynamicsModel = Object.freeze({
    stateDim: S,
    numActions: A,
    ensemble,
    maxLogVar: newVariable(() => tf.zeros([1, O])),
    minLogVar: newVariable(() => tf.zeros([1, O])),
    inputMean: Float32Array.from(json.inputMean),
    inputStd: Float32Array.from(json.inputStd),
    targetMean: Float32Array.from(json.targetMean),
    targetStd: Float32Array.from(json.targetStd),
    elites: Object.freeze([...json.elites]),
  });
  paramsFromJson(modelVariables(model), json.params, source);
  return model;
}
