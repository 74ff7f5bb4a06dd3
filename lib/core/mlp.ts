/**
 * Multi-layer perceptrons and ensembles of them, as plain parameter records over tf.Variables.
 *
 * Initialisation follows PyTorch's `nn.Linear` default (weights and biases uniform in
 * +-1/sqrt(fan_in)), drawn from the kit's seeded {@linkcode Rng} so that the same seed gives the
 * same network; tfjs's own initialisers are never used.
 *
 * An ensemble is E independent members with identical shapes (PETS/MBPO "probabilistic
 * ensemble"); each layer is evaluated member by member as 2-D products, which on the wasm backend
 * is 80x faster than one 3-D batched product (see dense.ts).
 *
 * @module
 */
import { newVariable, tf } from "./backend.ts";
import { type Activation, dense } from "./dense.ts";
import type { Rng } from "./random.ts";

/** Shape of an MLP: `inputDim -> hiddenSizes... -> outputDim`. */
export interface MlpConfig {
  /** Input width. */
  readonly inputDim: number;
  /** Widths of the hidden layers, e.g. `[256, 256, 256]`. */
  readonly hiddenSizes: readonly number[];
  /** Output width. */
  readonly outputDim: number;
  /** Hidden activation. @default "relu" */
  readonly activation?: Activation;
}

/** Parameters of one MLP: `weights[l]` is `[in, out]`, `biases[l]` is `[out]`. */
export interface MlpParams {
  /** The resolved layer sizes and activation. */
  readonly config: Readonly<Required<MlpConfig>>;
  /** Weight matrix of each layer, `[in, out]`. */
  readonly weights: readonly tf.Variable<tf.Rank.R2>[];
  /** Bias of each layer, `[out]`. */
  readonly biases: readonly tf.Variable<tf.Rank.R1>[];
}

function checkMlpConfig(config: MlpConfig): Readonly<Required<MlpConfig>> {
  const { inputDim, hiddenSizes, outputDim } = config;
  for (const [name, v] of [["inputDim", inputDim], ["outputDim", outputDim]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`MlpConfig.${name} must be a positive integer, got ${v}`);
  }
  hiddenSizes.forEach((h, i) => {
    if (!Number.isInteger(h) || h < 1) {
      throw new RangeError(`MlpConfig.hiddenSizes[${i}] must be a positive integer, got ${h}`);
    }
  });
  return Object.freeze({
    inputDim,
    hiddenSizes: Object.freeze([...hiddenSizes]),
    outputDim,
    activation: config.activation ?? "relu",
  });
}

/** Layer widths `[in, h1, ..., out]`. */
function layerSizes(c: Required<MlpConfig>): number[] {
  return [c.inputDim, ...c.hiddenSizes, c.outputDim];
}

/**
 * A freshly initialised MLP (PyTorch `nn.Linear` initialisation, from `rng`).
 *
 * @example
 * ```ts
 * import { initMlp, mlpForward } from "./mlp.ts";
 * import { createRng } from "./random.ts";
 * import { initBackend, tf } from "./backend.ts";
 * import assert from "node:assert/strict";
 * await initBackend();
 * const net = initMlp(createRng(0), { inputDim: 4, hiddenSizes: [8], outputDim: 2 });
 * const y = mlpForward(net, tf.zeros([3, 4]));
 * assert.deepEqual(y.shape, [3, 2]);
 * ```
 */
export function initMlp(rng: Rng, config: MlpConfig): MlpParams {
  const c = checkMlpConfig(config);
  const sizes = layerSizes(c);
  const weights: tf.Variable<tf.Rank.R2>[] = [];
  const biases: tf.Variable<tf.Rank.R1>[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fanIn, fanOut] = [sizes[l], sizes[l + 1]];
    const bound = 1 / Math.sqrt(fanIn);
    const w = rng.fillUniform(new Float32Array(fanIn * fanOut), -bound, bound);
    const b = rng.fillUniform(new Float32Array(fanOut), -bound, bound);
    weights.push(newVariable(() => tf.tensor2d(w, [fanIn, fanOut])) as tf.Variable<tf.Rank.R2>);
    biases.push(newVariable(() => tf.tensor1d(b)) as tf.Variable<tf.Rank.R1>);
  }
  return Object.freeze({ config: c, weights: Object.freeze(weights), biases: Object.freeze(biases) });
}

/** Output of the MLP on a batch `x` of shape `[batch, inputDim]`: `[batch, outputDim]`. */
export function mlpForward(params: MlpParams, x: tf.Tensor2D): tf.Tensor2D {
  const n = params.weights.length;
  let h = x;
  for (let l = 0; l < n; l++) {
    h = dense(h, params.weights[l], params.biases[l], l + 1 < n ? params.config.activation : "linear");
  }
  return h;
}

/** All trainable variables of an MLP, weights then biases layer by layer. */
export function mlpVariables(params: MlpParams): tf.Variable[] {
  const out: tf.Variable[] = [];
  params.weights.forEach((w, l) => out.push(w, params.biases[l]));
  return out;
}

/** Number of scalar parameters. */
export function countParams(vars: readonly tf.Variable[]): number {
  return vars.reduce((s, v) => s + v.size, 0);
}

/** An ensemble of `numMembers` MLPs with the same shape and independent initialisations. */
export interface EnsembleParams {
  /** The shape every member shares. */
  readonly config: Readonly<Required<MlpConfig>>;
  /** The members' networks. */
  readonly members: readonly MlpParams[];
}

/** A freshly initialised ensemble; member `e` draws from the `e`-th split of `rng`. */
export function initEnsemble(rng: Rng, numMembers: number, config: MlpConfig): EnsembleParams {
  if (!Number.isInteger(numMembers) || numMembers < 1) {
    throw new RangeError(`initEnsemble(numMembers) must be a positive integer, got ${numMembers}`);
  }
  const streams = rng.split(numMembers);
  const members = streams.map((r) => initMlp(r, config));
  return Object.freeze({ config: members[0].config, members: Object.freeze(members) });
}

/**
 * Each member on its own batch: `inputs[e]` is `[batch_e, inputDim]`, output `e` is
 * `[batch_e, outputDim]`. Pass the same tensor E times to evaluate all members on one batch.
 */
export function ensembleForward(params: EnsembleParams, inputs: readonly tf.Tensor2D[]): tf.Tensor2D[] {
  if (inputs.length !== params.members.length) {
    throw new RangeError(`ensembleForward(): ${params.members.length} members but ${inputs.length} input batches`);
  }
  return params.members.map((m, e) => mlpForward(m, inputs[e]));
}

/** All trainable variables of an ensemble, member by member. */
export function ensembleVariables(params: EnsembleParams): tf.Variable[] {
  return params.members.flatMap(mlpVariables);
}
