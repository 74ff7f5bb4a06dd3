/**
 * Matrix products on the system's BLAS, behind TensorFlow.js (which stays the tensor library).
 *
 * The wasm backend multiplies on XNNPACK only when neither operand is transposed, and its
 * `_FusedMatMul` gives wrong results when an operand is transposed and a bias is present
 * (../shared/PLATFORM.md). This module replaces the wasm backend's `BatchMatMul` and
 * `_FusedMatMul` kernels in tfjs's kernel registry with kernels that call `cblas_sgemm` through
 * Deno's FFI, directly on the wasm heap (no copies): transposes are sgemm flags and a bias is
 * pre-filled into the output (beta = 1). The library is OpenBLAS on Linux (Debian's
 * `libopenblas0-pthread`), Accelerate on macOS (the same cblas symbol), or any library named by
 * the `CLINICAL_RL_BLAS` environment variable. A self-test against a float64 reference in
 * JavaScript must pass before the kernels are installed; the stock kernels are kept and
 * {@linkcode uninstallNativeBlas} puts them back.
 *
 * Why by hand: no npm package binds a native BLAS for Deno, and the kernels are small (one sgemm
 * call per batch member). Threads: one by default (two did not help on two loaded cores).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** What the native path runs on. */
export interface NativeBlasInfo {
  /** The library opened (a path or soname). */
  readonly library: string;
  /** The CPU kernel the library picked (OpenBLAS's core name), or "unknown". */
  readonly coretype: string;
  /** Threads the library uses. */
  readonly threads: number;
}

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  cblas_dgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f64",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f64",
      "buffer",
      "i32",
    ],
    result: "void",
    optional: true,
  },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
} as const;

type BlasLib = Deno.DynamicLibrary<typeof SYMBOLS>;

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

interface WasmInternals {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(id: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: string): tf.TensorInfo;
}

let lib: BlasLib | null = null;
let installed: NativeBlasInfo | null = null;
const stock = new Map<string, tf.KernelConfig>();

function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: as if unset
  }
}

function candidates(): string[] {
  const named = envValue("CLINICAL_RL_BLAS");
  if (named) return [named];
  if (Deno.build.os === "darwin") return ["/System/Library/Frameworks/Accelerate.framework/Accelerate"];
  if (Deno.build.os === "windows") return ["libopenblas.dll", "openblas.dll"];
  return ["libopenblas.so.0", "libopenblas.so", "libblas.so.3"];
}

function openLibrary(): { lib: BlasLib; path: string } | { reason: string } {
  if (Deno.permissions.querySync?.({ name: "ffi" }).state !== "granted") {
    return { reason: "FFI is not permitted (run with --allow-ffi)" };
  }
  const errors: string[] = [];
  for (const path of candidates()) {
    try {
      return { lib: Deno.dlopen(path, SYMBOLS), path };
    } catch (err) {
      errors.push(`${path}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return { reason: `no BLAS library opened (${errors.join("; ")}); on Debian: apt-get install libopenblas0-pthread` };
}

function corename(l: BlasLib): string {
  const fn = l.symbols.openblas_get_corename;
  if (!fn) return "unknown";
  const ptr = fn();
  return ptr === null ? "unknown" : new Deno.UnsafePointerView(ptr).getCString();
}

/** A heap view of a tensor's storage on the wasm backend. */
function heapView(backend: WasmInternals, t: tf.TensorInfo, size: number): Float32Array {
  const info = backend.dataIdMap.get(t.dataId);
  if (!info) throw new Error("native BLAS: a tensor has no storage on the wasm backend");
  return new Float32Array(backend.wasm.HEAPF32.buffer, info.memoryOffset, size);
}

interface ProductShape {
  readonly batch: number;
  readonly batchA: number;
  readonly batchB: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly outShape: number[];
}

function productShape(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): ProductShape | null {
  const ra = a.shape.length, rb = b.shape.length;
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((x, y) => x * y, 1), batchB = outerB.reduce((x, y) => x * y, 1);
  // Only the broadcasts the kit uses: equal batches, or one operand with a single batch.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  // The output's batch dimensions are those of the operand with more than one batch member (or A's).
  const outer = batchA >= batchB ? (batchA === batchB && outerB.length > outerA.length ? outerB : outerA) : outerB;
  if (batchA === batchB && outerA.join() !== outerB.join()) return null;
  return { batch: Math.max(batchA, batchB), batchA, batchB, m, n, k, outShape: [...outer, m, n] };
}

/** C (+)= op(A) op(B) for every batch member, on heap views. */
function sgemmBatches(
  l: BlasLib,
  s: ProductShape,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  transposeA: boolean,
  transposeB: boolean,
  beta: number,
): void {
  const { m, n, k } = s;
  const lda = transposeA ? m : k, ldb = transposeB ? k : n;
  for (let i = 0; i < s.batch; i++) {
    const ao = s.batchA === 1 ? 0 : i * m * k, bo = s.batchB === 1 ? 0 : i * k * n;
    l.symbols.cblas_sgemm(
      ROW_MAJOR,
      transposeA ? TRANS : NO_TRANS,
      transposeB ? TRANS : NO_TRANS,
      m,
      n,
      k,
      1,
      a.subarray(ao, ao + m * k),
      lda,
      b.subarray(bo, bo + k * n),
      ldb,
      beta,
      c.subarray(i * m * n, (i + 1) * m * n),
      n,
    );
  }
}

type KernelArgs = {
  inputs: Record<string, tf.TensorInfo | undefined>;
  backend: unknown;
  attrs?: Record<string, unknown>;
};

function nativeProduct(args: KernelArgs, kernel: string): tf.TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs ?? {};
  const transposeA = Boolean(attrs.transposeA), transposeB = Boolean(attrs.transposeB);
  const activation = (attrs.activation as string | undefined) ?? "linear";
  const fallback = () => stock.get(kernel)!.kernelFunc(args as never) as tf.TensorInfo;
  if (a.dtype !== "float32" || b.dtype !== "float32") return fallback();
  const shape = productShape(a, b, transposeA, transposeB);
  if (shape === null || preluActivationWeights) return fallback();
  if (activation !== "linear" && activation !== "relu") return fallback();
  const { batch, m, n, k } = shape;
  // Never write past the output: its size must be the batches' products.
  if (shape.outShape.reduce((x, y) => x * y, 1) !== batch * m * n) return fallback();
  if (bias && !(bias.shape.reduce((x, y) => x * y, 1) === n && bias.shape[bias.shape.length - 1] === n)) {
    return fallback();
  }
  const backend = args.backend as WasmInternals;
  const out = backend.makeOutput(shape.outShape, "float32");
  const size = batch * m * n;
  if (size === 0) return out;
  // Views after makeOutput: a grown heap detaches older ones.
  const c = heapView(backend, out, size);
  if (k === 0) {
    c.fill(0);
  } else {
    const av = heapView(backend, a, shape.batchA * m * k), bv = heapView(backend, b, shape.batchB * k * n);
    if (bias) {
      const bb = heapView(backend, bias, n);
      for (let r = 0; r < batch * m; r++) c.set(bb, r * n);
    }
    sgemmBatches(lib!, shape, av, bv, c, transposeA, transposeB, bias ? 1 : 0);
  }
  if (k === 0 && bias) {
    const bb = heapView(backend, bias, n);
    for (let r = 0; r < batch * m; r++) c.set(bb, r * n);
  }
  if (activation === "relu") { for (let i = 0; i < size; i++) if (c[i] < 0) c[i] = 0; }
  return out;
}

function swapKernel(name: string, kernelFunc: tf.KernelFunc): void {
  const original = tf.getKernel(name, "wasm");
  if (!original) throw new Error(`native BLAS: the wasm backend has no ${name} kernel`);
  if (!stock.has(name)) stock.set(name, original);
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ ...original, kernelFunc, setupFunc: undefined });
}

function restoreKernels(): void {
  for (const [name, config] of stock) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
  }
  stock.clear();
}

/** op(A) op(B) + bias in float64, row-major, for the self-test. */
function referenceProduct(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  tA: boolean,
  tB: boolean,
  bias: Float32Array | null,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let p = 0; p < k; p++) s += (tA ? a[p * m + i] : a[i * k + p]) * (tB ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = s;
    }
  }
  return out;
}

/** Every transpose combination, with and without a bias, batched and broadcast, against the reference. */
function selfTest(): string | null {
  const m = 7, n = 5, k = 3;
  let seed = 12345;
  const rand = (len: number) =>
    Float32Array.from({ length: len }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1);
  for (const tA of [false, true]) {
    for (const tB of [false, true]) {
      for (const withBias of [false, true]) {
        const av = rand(m * k), bv = rand(k * n), biasV = withBias ? rand(n) : null;
        const want = referenceProduct(av, bv, m, n, k, tA, tB, biasV);
        const got = tf.tidy(() => {
          const a = tf.tensor2d(av, tA ? [k, m] : [m, k]), b = tf.tensor2d(bv, tB ? [n, k] : [k, n]);
          const r = withBias
            ? tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias: tf.tensor1d(biasV!) })
            : tf.matMul(a, b, tA, tB);
          return r.dataSync() as Float32Array;
        });
        for (let i = 0; i < want.length; i++) {
          if (!(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])))) {
            return `self-test failed (transposeA=${tA}, transposeB=${tB}, bias=${withBias}): ${got[i]} against ${
              want[i]
            }`;
          }
        }
      }
    }
  }
  // A batched product with a broadcast operand.
  const av = rand(2 * m * k), bv = rand(k * n);
  const got = tf.tidy(() => tf.matMul(tf.tensor3d(av, [2, m, k]), tf.tensor3d(bv, [1, k, n])).dataSync());
  for (let e = 0; e < 2; e++) {
    const want = referenceProduct(av.subarray(e * m * k, (e + 1) * m * k), bv, m, n, k, false, false, null);
    for (let i = 0; i < want.length; i++) {
      if (!(Math.abs(got[e * m * n + i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])))) {
        return `self-test failed (batched): ${got[e * m * n + i]} against ${want[i]}`;
      }
    }
  }
  return null;
}

/**
 * Installs the native matrix-product kernels on the wasm backend (which must be the active
 * backend), after a self-test; returns what runs, or the reason it could not.
 *
 * @param threads BLAS threads (OpenBLAS only).
 */
export function installNativeBlas(threads = 1): NativeBlasInfo | { readonly reason: string } {
  if (installed) return installed;
  if (tf.getBackend() !== "wasm") return { reason: "the active backend is not wasm" };
  const opened = openLibrary();
  if ("reason" in opened) return opened;
  lib = opened.lib;
  lib.symbols.openblas_set_num_threads?.(threads);
  swapKernel("BatchMatMul", (args) => nativeProduct(args as KernelArgs, "BatchMatMul"));
  swapKernel("_FusedMatMul", (args) => nativeProduct(args as KernelArgs, "_FusedMatMul"));
  const failure = selfTest();
  if (failure) {
    restoreKernels();
    lib.close();
    lib = null;
    return { reason: `${opened.path}: ${failure}` };
  }
  installed = Object.freeze({
    library: opened.path,
    coretype: corename(lib),
    threads: lib.symbols.openblas_get_num_threads?.() ?? threads,
  });
  return installed;
}

/** Puts the stock wasm kernels back and closes the library. */
export function uninstallNativeBlas(): void {
  restoreKernels();
  lib?.close();
  lib = null;
  installed = null;
}

/**
 * C = A^T B in float64 on the native library (row-major A `[rows, p]`, B `[rows, q]`, C `[p, q]`),
 * or false when the native path is not installed (the caller then computes it in JavaScript).
 */
export function nativeCrossProduct(
  a: Float64Array,
  b: Float64Array,
  rows: number,
  p: number,
  q: number,
  c: Float64Array,
): boolean {
  const dgemm = lib?.symbols.cblas_dgemm;
  if (!dgemm || rows === 0 || p === 0 || q === 0) return false;
  dgemm(ROW_MAJOR, TRANS, NO_TRANS, p, q, rows, 1, a, p, b, q, 0, c, q);
  return true;
}

/** What the native path runs on, or null when the stock kernels run. */
export function nativeBlasInfo(): NativeBlasInfo | null {
  return installed;
}
