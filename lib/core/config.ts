/**
 * Frozen configs: every algorithm has one `*_DEFAULTS` record (the single source of each default)
 * and resolves a user's partial config against it here, so that the resolved config (every
 * hyper-parameter, not just the overridden ones) can be stored in checkpoints and output JSON.
 * Unknown keys are refused (a misspelt option must not be silently ignored), and the checks below
 * give one sentence naming the algorithm, the option and the bad value.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * import assert from "node:assert/strict";
 * const DEFAULTS: Readonly<{ steps: number; rate: number }> = Object.freeze({ steps: 10, rate: 0.1 });
 * assert.deepEqual(resolveConfig("demo", DEFAULTS, { rate: 0.5 }), { steps: 10, rate: 0.5 });
 * assert.throws(() => resolveConfig("demo", DEFAULTS, { rat: 0.5 } as never), /unknown option "rat"/);
 * ```
 *
 * @module
 */

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * `defaults` overridden by the defined fields of `overrides`, deeply frozen. Throws a RangeError
 * for a key `defaults` does not have.
 *
 * @param name The algorithm, for error messages.
 * @param defaults The algorithm's defaults record (every key present).
 * @param overrides The user's partial config; `undefined` fields keep their default.
 * @returns A new frozen record with every key of `defaults`.
 */
export function resolveConfig<T extends object>(name: string, defaults: T, overrides: Partial<T> = {}): Readonly<T> {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults)) {
      throw new RangeError(
        `${name}: unknown option ${JSON.stringify(key)}; options are ${Object.keys(defaults).join(", ")}`,
      );
    }
    if (value !== undefined) out[key] = Array.isArray(value) ? [...value] : value;
  }
  return deepFreeze(out as T);
}

/**
 * Throws unless `config[key]` is an integer >= `min`.
 *
 * @param name The algorithm, for the message.
 * @param config The resolved config.
 * @param keys The options to check.
 * @param min The smallest allowed value.
 */
export function checkIntegers<T extends object>(name: string, config: T, keys: readonly (keyof T)[], min = 1): void {
  for (const key of keys) {
    const v = config[key] as unknown as number;
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${name}: ${String(key)} must be an integer >= ${min}, got ${v}`);
    }
  }
}

/**
 * Throws unless `config[key]` is a number in the interval `[low, high]` (ends excluded where
 * `open` says so).
 *
 * @param name The algorithm, for the message.
 * @param config The resolved config.
 * @param key The option to check.
 * @param low Lower end.
 * @param high Upper end.
 * @param open Which ends are excluded: "low", "high", "both" or "none".
 */
export function checkInterval<T extends object>(
  name: string,
  config: T,
  key: keyof T,
  low: number,
  high: number,
  open: "low" | "high" | "both" | "none" = "none",
): void {
  const v = config[key] as unknown as number;
  const aboveLow = open === "low" || open === "both" ? v > low : v >= low;
  const belowHigh = open === "high" || open === "both" ? v < high : v <= high;
  if (typeof v !== "number" || !(aboveLow && belowHigh)) {
    const l = open === "low" || open === "both" ? "(" : "[", r = open === "high" || open === "both" ? ")" : "]";
    throw new RangeError(`${name}: ${String(key)} must be in ${l}${low}, ${high}${r}, got ${v}`);
  }
}

/** What differs between two records (run manifests, resolved configs), as "where was X, now Y" lines. */
export function recordDifferences(before: Record<string, unknown>, now: Record<string, unknown>, at = ""): string[] {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(now)]);
  return [...keys].flatMap((k) => {
    const a = (before ?? {})[k], b = now[k], where = at ? `${at}.${k}` : k;
    if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a)) {
      return recordDifferences(a as Record<string, unknown>, b as Record<string, unknown>, where);
    }
    return JSON.stringify(a) === JSON.stringify(b)
      ? []
      : [`${where} was ${JSON.stringify(a)}, now ${JSON.stringify(b)}`];
  });
}
