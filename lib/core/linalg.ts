/**
 * Small dense linear algebra for the linear-in-features learners (FQI, V-learning, P4L's linear
 * classes): a ridge-regularised symmetric positive-definite solve by Cholesky. Written by hand:
 * the systems are at most a few hundred unknowns, no npm package here offers a maintained
 * typed-array Cholesky, and tfjs has no solver kernel on wasm.
 *
 * @module
 */
import { nativeCrossProduct } from "./native_blas.ts";

/**
 * Cholesky factor of symmetric positive-definite `A` (row-major n x n) plus `ridge` on the
 * diagonal, as a solver for any number of right-hand sides.
 */
export function choleskySolver(a: Float64Array, n: number, ridge = 0): (b: ArrayLike<number>) => Float64Array {
  if (a.length !== n * n) throw new RangeError(`solveSpd: expected ${n}x${n} values`);
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] + (i === j ? ridge : 0);
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`solveSpd: matrix is not positive definite (pivot ${i} = ${s}); add ridge`);
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  }
  return (b) => {
    if (b.length !== n) throw new RangeError(`solveSpd: expected ${n} right-hand-side values, got ${b.length}`);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = b[i];
      for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
      y[i] = s / l[i * n + i];
    }
    const x = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
      x[i] = s / l[i * n + i];
    }
    return x;
  };
}

/** Solves A x = b for symmetric positive-definite `A` (row-major n x n), after adding `ridge` to the diagonal. */
export function solveSpd(a: Float64Array, b: Float64Array, n: number, ridge = 0): Float64Array {
  if (a.length !== n * n || b.length !== n) throw new RangeError(`solveSpd: expected ${n}x${n} and ${n} values`);
  return choleskySolver(a, n, ridge)(b);
}

/**
 * A^T B for row-major A `[rows, p]` and B `[rows, q]`: `[p, q]`, on the native BLAS when it is
 * installed (lib/core/native_blas.ts), else a JavaScript loop that skips zeros of A.
 *
 * @param a Row-major `[rows, p]`.
 * @param b Row-major `[rows, q]`.
 * @param rows Number of rows of both.
 * @param p Columns of A.
 * @param q Columns of B.
 */
export function crossProduct(a: Float64Array, b: Float64Array, rows: number, p: number, q: number): Float64Array {
  if (a.length !== rows * p || b.length !== rows * q) {
    throw new RangeError(`crossProduct: expected ${rows}x${p} and ${rows}x${q} values`);
  }
  const c = new Float64Array(p * q);
  if (nativeCrossProduct(a, b, rows, p, q, c)) return c;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < p; i++) {
      const ai = a[r * p + i];
      if (ai === 0) continue;
      for (let j = 0; j < q; j++) c[i * q + j] += ai * b[r * q + j];
    }
  }
  return c;
}

/** Ridge regression: argmin_w |X w - y|^2 + ridge |w|^2 for row-major X [n, d]. */
export function ridgeRegression(x: Float64Array, y: ArrayLike<number>, d: number, ridge: number): Float64Array {
  const n = y.length;
  if (x.length !== n * d) throw new RangeError(`ridgeRegression: X must be ${n} x ${d}`);
  const xtx = new Float64Array(d * d), xty = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    for (let i = 0; i < d; i++) {
      const xi = x[o + i];
      if (xi === 0) continue;
      xty[i] += xi * y[r];
      for (let j = 0; j <= i; j++) xtx[i * d + j] += xi * x[o + j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) xtx[j * d + i] = xtx[i * d + j];
  return solveSpd(xtx, xty, d, ridge);
}

/** Solves A x = b for a general square `A` (row-major n x n) by LU with partial pivoting. */
export function solveLinear(a: Float64Array, b: Float64Array, n: number): Float64Array {
  if (a.length !== n * n || b.length !== n) throw new RangeError(`solveLinear: expected ${n}x${n} and ${n} values`);
  const m = Float64Array.from(a), x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    if (Math.abs(m[p * n + c]) < 1e-300) throw new RangeError(`solveLinear: matrix is singular (column ${c})`);
    if (p !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k], m[c * n + k]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= m[r * n + k] * x[k];
    x[r] = s / m[r * n + r];
  }
  return x;
}
