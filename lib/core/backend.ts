/**
 * TensorFlow.js backend set-up: the wasm backend by default (XNNPACK matrix products, SIMD),
 * the pure-JS `cpu` backend only when asked for by name. Banner-free (prod mode).
 *
 * Also the one piece of backend-specific access the kit allows itself: `wasmHeapView`, a
 * Float32Array view straight onto a tensor's memory in the wasm heap. The optimiser and the
 * soft target update use it to update parameters in place in one JavaScript loop instead of a
 * dozen tensor ops per variable (see BENCHMARKS.md for what that saves). Everything else goes
 * through the public tfjs API, and every user of the view has a plain-tensor fallback.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { installNativeBlas, nativeBlasInfo, uninstallNativeBlas } from "./native_blas.ts";

/** Backends the kit knows how to start. */
export type BackendName = "wasm" | "cpu";

let started: BackendName | null = null;

/** Options of {@linkcode initBackend}. */
export interface BackendOptions {
  /**
   * Matrix products on the system BLAS through FFI (lib/core/native_blas.ts): "auto" installs them
   * when FFI is permitted, a library opens and the self-test passes, unless the environment
   * variable `CLINICAL_RL_NATIVE_BLAS` is `0`; false keeps the stock wasm kernels.
   */
  readonly nativeBlas?: "auto" | false;
  /** Print the one line that says which path runs (to stderr). */
  readonly announce?: boolean;
}

function nativeWanted(options: BackendOptions): boolean {
  if (options.nativeBlas === false) return false;
  try {
    return Deno.env.get("CLINICAL_RL_NATIVE_BLAS") !== "0";
  } catch {
    return true; // no --allow-env: the default
  }
}

/**
 * Starts the tensor backend once (wasm unless `name` says otherwise) and returns its name, with
 * matrix products on the system BLAS where possible (see {@linkcode BackendOptions}). Calling it
 * again with the same name and options is free; with another name it switches.
 *
 * @param name `"wasm"` (default, fast) or `"cpu"` (pure JS, ~3x slower, for debugging).
 * @param options The native BLAS path.
 */
export async function initBackend(name: BackendName = "wasm", options: BackendOptions = {}): Promise<BackendName> {
  const wantNative = name === "wasm" && nativeWanted(options);
  if (started === name && tf.getBackend() === name && nativeTried === wantNative) return name;
  if (name !== "wasm" && name !== "cpu") {
    throw new RangeError(`initBackend(name) accepts "wasm" or "cpu", got ${JSON.stringify(name)}`);
  }
  tf.enableProdMode();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`initBackend(): the TensorFlow.js ${name} backend failed to start`);
  await tf.ready();
  started = name;
  if (!wantNative) {
    uninstallNativeBlas();
    nativeNote = name === "wasm" ? "switched off" : "";
  } else {
    const result = installNativeBlas();
    nativeNote = "reason" in result ? result.reason : "";
  }
  nativeTried = wantNative;
  if (options.announce ?? true) console.error(`clinical-rl: ${describePath()}`);
  return name;
}

let nativeTried = false;
let nativeNote = "";

/** One line: which path multiplies matrices, and why when it is not the native one. */
function describePath(): string {
  const info = nativeBlasInfo();
  if (info) {
    return `matrix products on ${info.library} (${info.coretype}, ${info.threads} thread${
      info.threads > 1 ? "s" : ""
    })`;
  }
  const backend = started ?? "none";
  const kernels = backend === "wasm" ? "the wasm backend's kernels (XNNPACK)" : `the ${backend} backend`;
  return `matrix products on ${kernels}${nativeNote ? `; native BLAS: ${nativeNote}` : ""}`;
}

/** Where the tensor arithmetic runs, as recorded in every output JSON. */
export interface ComputePath {
  /** The TensorFlow.js backend ("wasm" or "cpu"), or "none" before `initBackend`. */
  readonly backend: string;
  /** Who multiplies matrices: "native-blas" or the backend's own kernels ("xnnpack" on wasm). */
  readonly matmul: string;
  /** The BLAS library, when the native path runs. */
  readonly library: string | null;
  /** The CPU kernel the BLAS library chose (OpenBLAS's core name), when the native path runs. */
  readonly coretype: string | null;
  /** Threads of the matrix products. */
  readonly threads: number;
  /** The one line {@linkcode initBackend} prints. */
  readonly description: string;
}

/** The compute path in use now (see {@linkcode ComputePath}). */
export function computePath(): ComputePath {
  const backend = started === null ? "none" : tf.getBackend();
  const info = nativeBlasInfo();
  return Object.freeze({
    backend,
    matmul: info ? "native-blas" : backend === "wasm" ? "xnnpack" : backend,
    library: info?.library ?? null,
    coretype: info?.coretype ?? null,
    threads: info?.threads ?? 1,
    description: describePath(),
  });
}

interface WasmBackendInternals {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
}

/**
 * A Float32Array aliasing the tensor's storage on the wasm backend, or `null` on any other
 * backend or dtype. Take a fresh view after any tensor allocation: the heap may grow and detach
 * older views.
 *
 * Read-only for tensors that have been used: the wasm backend caches XNNPACK operators with the
 * weights packed, keyed by tensor id, so a weight changed in place would go unseen by later
 * matMuls (a bug found and fixed here). Write only into a tensor no kernel has read yet, as
 * {@linkcode replaceVariable} does.
 */
export function wasmHeapView(t: tf.Tensor): Float32Array | null {
  if (t.dtype !== "float32" || tf.getBackend() !== "wasm") return null;
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const info = backend.dataIdMap?.get(t.dataId);
  if (!info || backend.wasm?.HEAPF32 === undefined) return null;
  return new Float32Array(backend.wasm.HEAPF32.buffer, info.memoryOffset, t.size);
}

/**
 * Gives `v` new storage filled by `fill(out)`, where `out` is a writable Float32Array of `v.size`
 * values, then assigns it (the old storage is released). On wasm `out` is a view of the new
 * tensor's heap memory (no copy); elsewhere it is a JS array uploaded afterwards. `fill` must not
 * allocate tensors, and views of other tensors must be taken inside it.
 */
export function replaceVariable(v: tf.Variable, fill: (out: Float32Array) => void): void {
  if (tf.getBackend() === "wasm" && v.dtype === "float32") {
    const next = tf.zeros(v.shape);
    fill(wasmHeapView(next)!);
    v.assign(next);
    next.dispose();
  } else {
    const out = new Float32Array(v.size);
    fill(out);
    const next = tf.tensor(out, v.shape);
    v.assign(next);
    next.dispose();
  }
}

/**
 * A trainable variable holding `init`'s values, without leaking `init` (`tf.variable` keeps its
 * argument registered as a tensor; here it is created and dropped inside a tidy).
 */
export function newVariable(make: () => tf.Tensor, trainable = true): tf.Variable {
  return tf.tidy(() => tf.variable(make(), trainable));
}

/** The tensor's values without copying where possible (a heap view on wasm); read only. */
export function readValues(t: tf.Tensor): Float32Array {
  return wasmHeapView(t) ?? (t.dataSync() as Float32Array);
}

export { tf };
