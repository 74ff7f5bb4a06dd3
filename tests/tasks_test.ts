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

Deno.test("deno task repro --quick writes the figure's JSON and an HTML page that loads plotly beside it", async () => {
  await withTempDir(async (dir) => {
    const res = await runTask("repro.ts", ["omg-fig1", "--quick", "--out", dir]);
    assert.equal(res.code, 0, res.stderr);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/omg-fig1.json`));
    assert.equal(json.id, "omg-fig1");
    assert.equal(json.quick, true);
    assert.equal(json.values.validation[0].length, 7, "seven members");
    assert.equal(json.values.elites.length, 5, "five elites");
    const html = await Deno.readTextFile(`${dir}/omg-fig1.html`);
    assert.match(html, /<script src="plotly.js"><\/script>/);
    assert.match(html, /Plotly.newPlot\("fig0"/);
    assert.ok((await Deno.stat(`${dir}/plotly.js`)).size > 1e6);
    const bad = await runTask("repro.ts", ["omg-fig9", "--out", dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown id "omg-fig9"/);
  });
});

Deno.test("deno task main --quick trains OMG-RL and prints true outcomes beside the clinician's", async () => {
  await withTempDir(async (dir) => {
    const res = await runTask("main.ts", ["--quick", "--out", dir]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /\| simulated clinician \| 0\.\d{3} \|/);
    assert.match(res.stdout, /\| OMG-RL \(learned r_psi\) \| 0\.\d{3} \|/);
    assert.match(res.stderr, /OMG-RL episode 10\/10/);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/main.json`));
    assert.ok(json.values.outcomes["simulated clinician"].timeInRange > 0);
  });
});
