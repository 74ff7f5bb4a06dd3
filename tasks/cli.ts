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
