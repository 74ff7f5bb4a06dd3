/**
 * Saving and loading parameters: a JSON document (readable, diff-able, for small networks and
 * checkpoints) and the TensorFlow.js weights format (`weights.json` manifest + `weights.bin`,
 * as written by `tf.io.encodeWeights`, loadable by any tfjs program).
 *
 * Parameters are named: `namedVariables({ actor, critic })` turns nested records of MLPs into
 * `{ "actor/0/w": Variable, ... }` so that the files are self-describing and loading checks
 * every name and shape.
 *
 * @module
 */
import { tf } from "./backend.ts";
import type { EnsembleParams, MlpParams } from "./mlp.ts";
import { writeFileAtomic, writeTextAtomic } from "../util/files.ts";

/** Named variables: the unit the kit saves and loads. */
export type NamedVariables = Readonly<Record<string, tf.Variable>>;

/** Flattens MLPs and ensembles into named variables `<key>/<layer>/w|b` (`<key>/<member>/...`). */
export function namedVariables(
  nets: Readonly<Record<string, MlpParams | EnsembleParams | tf.Variable>>,
): NamedVariables {
  const out: Record<string, tf.Variable> = {};
  const addMlp = (prefix: string, p: MlpParams) => {
    p.weights.forEach((w, l) => {
      out[`${prefix}/${l}/w`] = w;
      out[`${prefix}/${l}/b`] = p.biases[l];
    });
  };
  for (const [key, net] of Object.entries(nets)) {
    if (net instanceof tf.Variable) out[key] = net;
    else if ("members" in net) net.members.forEach((m, e) => addMlp(`${key}/${e}`, m));
    else addMlp(key, net);
  }
  return Object.freeze(out);
}

/** JSON form of named parameters. */
export interface ParamsJson {
  /** Version of the file layout. */
  readonly format: "clinical-rl-params/1";
  /** Each tensor's shape and values, by name. */
  readonly tensors: Record<string, { shape: number[]; data: number[] }>;
}

/** Named variables to a JSON-ready object (values copied). */
export function paramsToJson(vars: NamedVariables): ParamsJson {
  const tensors: ParamsJson["tensors"] = {};
  for (const [name, v] of Object.entries(vars)) tensors[name] = { shape: [...v.shape], data: Array.from(v.dataSync()) };
  return { format: "clinical-rl-params/1", tensors };
}

function assignChecked(
  vars: NamedVariables,
  get: (name: string) => { shape: readonly number[]; values: Float32Array } | undefined,
  source: string,
): void {
  for (const [name, v] of Object.entries(vars)) {
    const found = get(name);
    if (!found) throw new RangeError(`${source}: no parameter named "${name}"`);
    if (found.shape.length !== v.shape.length || found.shape.some((d, i) => d !== v.shape[i])) {
      throw new RangeError(`${source}: parameter "${name}" has shape [${found.shape}], expected [${v.shape}]`);
    }
    v.assign(tf.tensor(found.values, v.shape));
  }
}

/** Assigns values from a {@linkcode ParamsJson} to `vars`, checking every name and shape. */
export function paramsFromJson(vars: NamedVariables, json: ParamsJson, source = "paramsFromJson()"): void {
  if (json?.format !== "clinical-rl-params/1") throw new TypeError(`${source}: not a clinical-rl-params/1 document`);
  assignChecked(vars, (name) => {
    const t = json.tensors[name];
    return t && { shape: t.shape, values: Float32Array.from(t.data) };
  }, source);
}

/** Writes named parameters as JSON to `path` (atomically). */
export async function saveParamsJson(path: string, vars: NamedVariables): Promise<void> {
  await writeTextAtomic(path, JSON.stringify(paramsToJson(vars)));
}

/** Reads a JSON parameter file into `vars`. */
export async function loadParamsJson(path: string, vars: NamedVariables): Promise<void> {
  paramsFromJson(vars, JSON.parse(await Deno.readTextFile(path)), path);
}

/** Writes named parameters in the tfjs weights format: `<dir>/weights.json` + `<dir>/weights.bin`. */
export async function saveParamsTfjs(dir: string, vars: NamedVariables): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(vars as unknown as tf.NamedTensorMap);
  await writeFileAtomic(`${dir}/weights.bin`, new Uint8Array(data));
  await writeTextAtomic(`${dir}/weights.json`, JSON.stringify([{ paths: ["weights.bin"], weights: specs }], null, 1));
}

/** Reads parameters written by {@linkcode saveParamsTfjs} into `vars`, checking names and shapes. */
export async function loadParamsTfjs(dir: string, vars: NamedVariables): Promise<void> {
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/weights.json`)) as tf.io.WeightsManifestConfig;
  const bin = await Deno.readFile(`${dir}/${manifest[0].paths[0]}`);
  const decoded = tf.io.decodeWeights(
    bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    manifest[0].weights,
  );
  try {
    assignChecked(vars, (name) => {
      const t = decoded[name];
      return t && { shape: t.shape, values: t.dataSync() as Float32Array };
    }, `${dir}/weights.json`);
  } finally {
    tf.dispose(decoded);
  }
}
