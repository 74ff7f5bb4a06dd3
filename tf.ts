/**
 * The TensorFlow.js namespace the kit runs on (wasm backend, started by `initBackend`), for users
 * who write their own networks beside the kit's. Types come from `npm:@tensorflow/tfjs`.
 *
 * @example
 * ```ts
 * import { tf } from "./tf.ts";
 * import { initBackend } from "./core.ts";
 * import assert from "node:assert/strict";
 * await initBackend();
 * const s = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).arraySync());
 * assert.equal(s, 6);
 * ```
 *
 * @module
 */
import { tf as tfNamespace } from "./lib/core/backend.ts";

/** TensorFlow.js (`npm:@tensorflow/tfjs@4.22.0`), the same instance the kit's backend set up. */
export const tf: typeof tfNamespace = tfNamespace;
