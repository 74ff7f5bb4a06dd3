import assert from "node:assert/strict";
import { readMdpCsv } from "../mod.ts";
import { withTempDir } from "./helpers.ts";

async function runTask(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../tasks/${script}`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task simulate writes a CSV that reads back as the requested episodes", async () => {
  await withTempDir(async (dir) => {
    const simulateTo = (path: string) =>
      runTask("simulate.ts", ["p4l-simple", "--episodes", "6", "--seed", "3", "--horizon", "12", "--out", path]);
    const res = await simulateTo(`${dir}/d.csv`);
    assert.equal(res.code, 0, res.stderr);
    const ds = await readMdpCsv(`${dir}/d.csv`, { numActions: 2 });
    assert.equal(ds.individualIds.length, 6);
    assert.equal(ds.size, 6 * 12);
    const again = await simulateTo(`${dir}/e.csv`);
    assert.equal(again.code, 0);
    assert.equal(
      await Deno.readTextFile(`${dir}/e.csv`),
      await Deno.readTextFile(`${dir}/d.csv`),
      "same seed, same file",
    );
  });
});

Deno.test("deno task simulate rejects an unknown environment or bad option with usage", async () => {
  const res = await runTask("simulate.ts", ["sepsis-x", "--out", "/tmp/never.csv"]);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /unknown environment "sepsis-x"/);
  const bad = await runTask("simulate.ts", ["cartpole", "--setting", "Z", "--out", "/tmp/never.csv"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown setting "Z"/);
});

Deno.test("deno task simulate writes heparin and sepsis cohorts with their features and actions", async () => {
  await withTempDir(async (dir) => {
    for (const [env, numActions, features] of [["heparin", 6, 17], ["sepsis", 8, 7]] as const) {
      const res = await runTask("simulate.ts", [env, "--episodes", "5", "--seed", "1", "--out", `${dir}/${env}.csv`]);
      assert.equal(res.code, 0, res.stderr);
      const ds = await readMdpCsv(`${dir}/${env}.csv`, { numActions });
      assert.equal(ds.stateDim, features);
      assert.equal(ds.individualIds.length, 5);
    }
  });
});
