import assert from "node:assert/strict";
import { runTask, withTempDir } from "./helpers.ts";

Deno.test("deno task train omg-rl resumes after a crash and ends exactly like an uninterrupted run", async () => {
  await withTempDir(async (dir) => {
    const sim = await runTask("simulate.ts", ["heparin", "--episodes", "40", "--seed", "5", "--out", `${dir}/h.csv`]);
    assert.equal(sim.code, 0, sim.stderr);
    const common = [
      "omg-rl",
      "--data",
      `${dir}/h.csv`,
      "--quick",
      "--episodes",
      "4",
      "--checkpoint-every",
      "2",
      "--drop",
      "aptt",
    ];
    const straight = await runTask("train.ts", [...common, "--out", `${dir}/a`]);
    assert.equal(straight.code, 0, straight.stderr);
    assert.match(straight.stderr, /episode 4\/4: critic/);
    // Crash after episode 3: the checkpoint of episode 2 survives, episode 3 is redone.
    const crashed = await runTask("train.ts", [...common, "--out", `${dir}/b`, "--stop-after", "3"]);
    assert.equal(crashed.code, 0, crashed.stderr);
    await assert.rejects(Deno.stat(`${dir}/b/policy.json`));
    const resumed = await runTask("train.ts", [...common, "--out", `${dir}/b`]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, /resuming from episode 2/);
    assert.equal(await Deno.readTextFile(`${dir}/b/policy.json`), await Deno.readTextFile(`${dir}/a/policy.json`));
    assert.equal(await Deno.readTextFile(`${dir}/b/history.json`), await Deno.readTextFile(`${dir}/a/history.json`));
    // The saved policy recommends a dose bin for a new state.
    const policy = JSON.parse(await Deno.readTextFile(`${dir}/a/policy.json`));
    assert.equal(policy.featureNames.includes("aptt"), false);
    const rec = await runTask("train.ts", [
      "recommend",
      "--policy",
      `${dir}/a/policy.json`,
      "--state",
      policy.mean.join(","),
    ]);
    assert.equal(rec.code, 0, rec.stderr);
    const r = JSON.parse(rec.stdout);
    assert.ok(r.action >= 0 && r.action < 6);
    assert.equal(r.probabilities.length, 6);
    const short = await runTask("train.ts", ["recommend", "--policy", `${dir}/a/policy.json`, "--state", "1,2"]);
    assert.equal(short.code, 1);
    assert.match(short.stderr, /a state has 16 features/);
    // The saved policy is judged off-policy on the recorded cohort (its features picked by name).
    const ev = await runTask("evaluate.ts", [
      "--data",
      `${dir}/h.csv`,
      "--policy",
      `${dir}/a/policy.json`,
      "--uniform",
      "--bootstrap",
      "20",
      "--out",
      `${dir}/ev`,
    ]);
    assert.equal(ev.code, 0, ev.stderr);
    const table = JSON.parse(await Deno.readTextFile(`${dir}/ev/evaluation.json`));
    const kinds = table.rows.map((r: { policy: string; estimator: string }) => `${r.policy}/${r.estimator}`);
    assert.deepEqual(kinds, [
      "clinicians (recorded)/on-policy",
      ...["a", "uniform"].flatMap((p) => ["FQE", "WIS", "WDR"].map((e) => `${p}/${e}`)),
    ]);
    for (const r of table.rows.filter((r: { estimator: string }) => r.estimator !== "FQE")) {
      assert.ok(r.lower <= r.estimate && r.estimate <= r.upper, JSON.stringify(r));
    }
    assert.match(await Deno.readTextFile(`${dir}/ev/evaluation.html`), /plotly/);
    const missing = await runTask("evaluate.ts", ["--data", `${dir}/h.csv`, "--policy", `${dir}/nope.json`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read policy/);
  });
});

Deno.test("deno task train reports bad data and bad options clearly", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/bad.csv`, "id,t,x,action,reward\np1,0,1,0,0\np1,1,abc,,\n");
    const bad = await runTask("train.ts", ["omg-rl", "--data", `${dir}/bad.csv`, "--out", `${dir}/o`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.csv, line 3, column "x"/);
    const noData = await runTask("train.ts", ["omg-rl"]);
    assert.equal(noData.code, 2);
    assert.match(noData.stderr, /--data is required/);
  });
});
