/**
 * Seeded, splittable pseudo-random numbers: the only source of randomness in the kit.
 *
 * Generator: xoshiro128** (Blackman & Vigna 2018, 32-bit state words, period 2^128 - 1), seeded
 * through SplitMix32 so that nearby seeds give unrelated streams. `split` derives child streams
 * by hashing the parent's next outputs, in the spirit of JAX's `random.split`: the children are
 * independent of each other and of the parent's later draws.
 *
 * Written by hand because no npm package here offers a splittable, state-serialisable PRNG with
 * normal/categorical/permutation draws over typed arrays; the algorithm is 20 lines.
 *
 * @module
 */

/** Serialisable state of an {@linkcode Rng}: four 32-bit words (for checkpoints). */
export type RngState = readonly [number, number, number, number];

/** A seeded random stream. Methods advance the stream; `state()` / `restoreRng` resume it. */
export interface Rng {
  /** Uniform float in [0, 1) with 32 random bits. */
  uniform(): number;
  /** Standard normal draw (Box-Muller). */
  normal(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  categorical(weights: ArrayLike<number>): number;
  /** Index drawn from log-probabilities (or unnormalised log-weights), safely in log space. */
  categoricalLog(logWeights: ArrayLike<number>): number;
  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array;
  /** Fills `out` with N(mean, std^2) draws and returns it. */
  fillNormal<T extends Float32Array | Float64Array>(out: T, mean?: number, std?: number): T;
  /** Fills `out` with U[low, high) draws and returns it. */
  fillUniform<T extends Float32Array | Float64Array>(out: T, low?: number, high?: number): T;
  /** `k` new independent streams derived from this one (advances this stream). */
  split(k: number): Rng[];
  /**
   * A stream derived from this one's current state and `index`, without advancing this one (JAX's
   * `fold_in`): the i-th evaluation, episode or resample gets `base.fold(i)`, the same on every run
   * and after a resume.
   */
  fold(index: number): Rng;
  /** A copy of the current state, to resume the stream later with `restoreRng`. */
  state(): RngState;
}

function splitMix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

class Xoshiro128 implements Rng {
  private s: Uint32Array;

  constructor(state: ArrayLike<number>) {
    this.s = Uint32Array.from(state);
    if (this.s[0] === 0 && this.s[1] === 0 && this.s[2] === 0 && this.s[3] === 0) this.s[0] = 1;
  }

  private nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  normal(): number {
    // Box-Muller, one half per call: the stream's state stays the four words alone.
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`Rng.int(n) needs a positive integer n, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i];
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new RangeError(`Rng.categorical() needs finite non-negative weights, got ${w} at index ${i}`);
      }
      total += w;
    }
    if (!(total > 0)) throw new RangeError("Rng.categorical() needs at least one positive weight");
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  categoricalLog(logWeights: ArrayLike<number>): number {
    // Gumbel-max: argmax(log w + G) is a draw from the normalised weights, never exponentiating.
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < logWeights.length; i++) {
      const lw = logWeights[i];
      if (Number.isNaN(lw)) throw new RangeError(`Rng.categoricalLog() got NaN at index ${i}`);
      if (lw === -Infinity) continue;
      let u = 0;
      while (u === 0) u = this.uniform();
      const g = lw - Math.log(-Math.log(u));
      if (g > bestValue) {
        bestValue = g;
        best = i;
      }
    }
    if (best < 0) throw new RangeError("Rng.categoricalLog() needs at least one finite log-weight");
    return best;
  }

  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(this.uniform() * (i + 1));
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }

  fillNormal<T extends Float32Array | Float64Array>(out: T, mean = 0, std = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  fillUniform<T extends Float32Array | Float64Array>(out: T, low = 0, high = 1): T {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  split(k: number): Rng[] {
    const children: Rng[] = [];
    for (let c = 0; c < k; c++) {
      const mix = splitMix32(this.nextU32() ^ Math.imul(c + 1, 0x632be5ab));
      children.push(new Xoshiro128([mix(), mix(), mix(), mix()]));
    }
    return children;
  }

  fold(index: number): Rng {
    if (!Number.isInteger(index) || index < 0) {
      throw new RangeError(`rng.fold(index) needs an integer >= 0, got ${index}`);
    }
    let h = Math.imul((index % 4294967296) ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
    for (let i = 0; i < 4; i++) h = Math.imul(h ^ this.s[i] ^ (h >>> 15), 0x85ebca6b) >>> 0;
    const mix = splitMix32(h ^ Math.floor(index / 4294967296));
    return new Xoshiro128([mix(), mix(), mix(), mix()]);
  }

  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }
}

/**
 * A new random stream from an integer seed. The same seed always gives the same numbers.
 *
 * @example Same seed, same draws
 * ```ts
 * import { createRng } from "./random.ts";
 * import assert from "node:assert/strict";
 * assert.equal(createRng(7).uniform(), createRng(7).uniform());
 * ```
 */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`createRng(seed) needs an integer seed, got ${seed}`);
  const mix = splitMix32(seed >>> 0 ^ Math.floor(seed / 4294967296));
  return new Xoshiro128([mix(), mix(), mix(), mix()]);
}

/**
 * Independent integer seeds, one per name, split from `seed` (a number, or a stream such as
 * `base.fold(i)` for the i-th repetition): for the functions that take a seed
 * number (simulate, splits, feature fits), so that one run's streams never overlap another seed's.
 * The names' order is part of the derivation: append new names, never reorder.
 *
 * @example
 * ```ts
 * import { deriveSeeds } from "./random.ts";
 * import assert from "node:assert/strict";
 * const a = deriveSeeds(0, ["population", "simulation"]), b = deriveSeeds(1, ["population", "simulation"]);
 * assert.notEqual(a.simulation, b.population);
 * assert.deepEqual(a, deriveSeeds(0, ["population", "simulation"]));
 * ```
 */
export function deriveSeeds<K extends string>(seed: number | Rng, names: readonly K[]): Readonly<Record<K, number>> {
  const streams = (typeof seed === "number" ? createRng(seed) : seed).split(names.length);
  const out = {} as Record<K, number>;
  names.forEach((name, i) => (out[name] = Math.floor(streams[i].uniform() * 2147483647)));
  return Object.freeze(out);
}

/** Resumes a stream from a state returned by `rng.state()`. */
export function restoreRng(state: RngState): Rng {
  if (state.length !== 4) throw new RangeError(`restoreRng() needs 4 state words, got ${state.length}`);
  return new Xoshiro128(state);
}
