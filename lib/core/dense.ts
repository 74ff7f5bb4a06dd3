/**
 * Dense (fully connected) layers whose backward pass stays on a fast matrix-product path: the
 * native BLAS kernels when they are installed (transposes as sgemm flags), else XNNPACK.
 *
 * The wasm backend runs a matrix product through XNNPACK only when neither operand is marked
 * transposed; tfjs autodiff of `matMul` asks for transposed products and falls to a naive loop
 * (measured 12x slower at 256x256, see BENCHMARKS.md). These layers are `tf.customGrad` ops whose
 * gradients are `dy @ W^T` and `x^T @ dy` with explicit `transpose()` copies, and whose forward
 * pass is one fused matMul + bias (+ ReLU) kernel.
 *
 * Batched (3-D) products also fall to the naive loop on wasm (25 ms for 7x256x128x128 against
 * about 0.3 ms per 2-D member), so ensembles call these 2-D layers once per member.
 *
 * @module
 */
import { tf } from "./backend.ts";
import { nativeBlasInfo } from "./native_blas.ts";

/**
 * The two products of a dense layer's gradient, dy W^T and x^T dy: transposes as flags on the
 * native BLAS path (sgemm reads the operand transposed, no copy), explicit `transpose()` copies
 * on the stock wasm kernels (whose transposed products fall to a naive loop).
 */
function backwardProducts(dy: tf.Tensor2D, x: tf.Tensor2D, w: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  if (nativeBlasInfo() !== null) return [tf.matMul(dy, w, false, true), tf.matMul(x, dy, true, false)];
  return [tf.matMul(dy, w.transpose()), tf.matMul(x.transpose(), dy)];
}

/** Activations the kit's networks use between layers. */
export type Activation = "relu" | "silu" | "tanh" | "linear";

type Dense3 = (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** Column sums of `d` as a product `ones[1, n] @ d` (3-6x faster than `tf.sum(d, 0)` on wasm). */
function columnSums(d: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(tf.matMul(tf.ones([1, d.shape[0]]), d), [d.shape[1]]);
}

/** y = x W + b, with the explicit-transpose gradient. */
export const denseLinear: Dense3 = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: any) => {
    const value = tf.fused.matMul({ a: x, b: w, bias: b });
    save([x, w]);
    return {
      value,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [...backwardProducts(dy, xs, ws), columnSums(dy)];
      },
    };
    // deno-lint-ignore no-explicit-any
  }) as any,
) as unknown as Dense3;

/** y = relu(x W + b) in one fused kernel, with the explicit-transpose gradient. */
export const denseRelu: Dense3 = tf.customGrad(
  // deno-lint-ignore no-explicit-any
  ((x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, save: any) => {
    const value = tf.fused.matMul({ a: x, b: w, bias: b, activation: "relu" });
    save([x, w, value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ws, ys] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        const dPre = tf.mul(dy, tf.step(ys)) as tf.Tensor2D;
        return [...backwardProducts(dPre, xs, ws), columnSums(dPre)];
      },
    };
    // deno-lint-ignore no-explicit-any
  }) as any,
) as unknown as Dense3;

/** One dense layer followed by `activation`, differentiable with the fast backward pass. */
export function dense(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  activation: Activation,
): tf.Tensor2D {
  switch (activation) {
    case "relu":
      return denseRelu(x, w, b);
    case "linear":
      return denseLinear(x, w, b);
    case "silu": {
      const pre = denseLinear(x, w, b);
      return tf.mul(pre, tf.sigmoid(pre));
    }
    case "tanh":
      return tf.tanh(denseLinear(x, w, b));
    default:
      throw new RangeError(`dense(): unknown activation ${JSON.stringify(activation)}`);
  }
}
