/**
 * Command-line parsing shared by the tasks: node:util's parseArgs, with a mistake in the flags
 * (an unknown option, a missing value) reported as one line and the usage, exit code 2, instead
 * of a stack trace.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Parses `Deno.args` with `config`; on a malformed command line prints `task: message` and `usage`, exits 2. */
export function parseCli<T extends Omit<ParseArgsConfig, "args">>(task: string, usage: string, config: T) {
  try {
    return parseArgs({ ...config, args: Deno.args } as T & { args: string[] });
  } catch (err) {
    console.error(`${task}: ${(err as Error).message}\n${usage}`);
    Deno.exit(2);
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
