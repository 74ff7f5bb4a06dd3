/** Shared test helpers: a tolerance assert and the shared-folder probe. */
import assert from "node:assert/strict";

/** Asserts |actual - expected| <= atol + rtol * |expected|, elementwise for arrays. */
export function assertClose(
  actual: number | ArrayLike<number>,
  expected: number | ArrayLike<number>,
  { atol = 1e-6, rtol = 1e-6, message = "" } = {},
): void {
  const a = typeof actual === "number" ? [actual] : Array.from(actual);
  const e = typeof expected === "number" ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `${message} length ${a.length} != ${e.length}`);
  for (let i = 0; i < a.length; i++) {
    const tol = atol + rtol * Math.abs(e[i]);
    if (!(Math.abs(a[i] - e[i]) <= tol)) {
      assert.fail(`${message} index ${i}: ${a[i]} differs from ${e[i]} by more than ${tol}`);
    }
  }
}

/** Path of ../shared beside the checkout, or null (with a note) when it is absent. */
export function sharedDir(): string | null {
  const url = new URL("../../shared/", import.meta.url);
  try {
    Deno.statSync(url);
    return url.pathname;
  } catch {
    return null;
  }
}

/** Runs `fn` in a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "clinical-rl-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The permission flags deno.json's task gives `tasks/<script>` (`-A` for scripts no task runs),
 * so that the tests exercise the permissions users get.
 */
export function taskPermissions(script: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  for (const command of Object.values(config.tasks) as string[]) {
    const m = new RegExp(`deno run ((?:--[\\w-]+(?:=\\S+)? )*)tasks/${script.replace(".", "\\.")}`).exec(command);
    if (m) return m[1].trim().split(/\s+/).filter(Boolean);
  }
  return ["-A"];
}

/** Runs `tasks/<script>` with `args` in a fresh Deno process with its task's permissions, capturing its exit code and output. */
export async function runTask(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskPermissions(script), new URL(`../tasks/${script}`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
