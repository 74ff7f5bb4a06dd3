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
      "--preset",
      "paper",
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
    // Empty or non-decimal values are errors, not zeros.
    const blanks = policy.mean.map(() => "").join(",");
    const empty = await runTask("train.ts", ["recommend", "--policy", `${dir}/a/policy.json`, "--state", blanks]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /--state: value 1 is "", not a number/);
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

Deno.test("a run folder refuses other data, another seed, a second writer and corrupt files, each with one clear line", async () => {
  await withTempDir(async (dir) => {
    for (const [name, seed] of [["h", "5"], ["h2", "6"]]) {
      const sim = await runTask("simulate.ts", [
        "heparin",
        "--episodes",
        "12",
        "--seed",
        seed,
        "--out",
        `${dir}/${name}.csv`,
      ]);
      assert.equal(sim.code, 0, sim.stderr);
    }
    const base = ["omg-rl", "--quick", "--episodes", "2", "--checkpoint-every", "1", "--out", `${dir}/m`];
    const first = await runTask("train.ts", [...base, "--data", `${dir}/h.csv`, "--stop-after", "1"]);
    assert.equal(first.code, 0, first.stderr);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/m/run.json`));
    assert.equal(manifest.data.sha256.length, 64);
    await assert.rejects(Deno.stat(`${dir}/m/run.lock`), "the lock is released at exit");
    const noStack = (r: { stderr: string }) => assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    // Other data, another seed: refused, saying what differs and how to start over.
    const otherData = await runTask("train.ts", [...base, "--data", `${dir}/h2.csv`]);
    assert.equal(otherData.code, 1);
    assert.match(otherData.stderr, /other inputs \(data\.sha256 was "[0-9a-f]{64}", now "[0-9a-f]{64}".*--fresh/);
    noStack(otherData);
    const otherSeed = await runTask("train.ts", [...base, "--data", `${dir}/h.csv`, "--seed", "1"]);
    assert.equal(otherSeed.code, 1);
    assert.match(otherSeed.stderr, /options\.seed was 0, now 1/);
    // A second writer: this test holds the folder's lock, as a running train would.
    {
      using holder = await Deno.open(`${dir}/m/run.lock`, { read: true, write: true, create: true });
      await holder.lock(true);
      await holder.write(new TextEncoder().encode(String(Deno.pid)));
      const locked = await runTask("train.ts", [...base, "--data", `${dir}/h.csv`]);
      assert.equal(locked.code, 1);
      assert.match(locked.stderr, new RegExp(`another run \\(pid ${Deno.pid}\\) is writing to`));
    }
    // A lock file left by a killed run is taken over; a truncated checkpoint is named, not a stack trace.
    await Deno.writeTextFile(`${dir}/m/run.lock`, "2147483646");
    const good = await Deno.readTextFile(`${dir}/m/checkpoint.json`);
    await Deno.writeTextFile(`${dir}/m/checkpoint.json`, good.slice(0, good.length / 2));
    const corrupt = await runTask("train.ts", [...base, "--data", `${dir}/h.csv`]);
    assert.equal(corrupt.code, 1);
    assert.match(corrupt.stderr, /took over .*run\.lock/);
    assert.match(corrupt.stderr, /checkpoint\.json is corrupt or truncated .*--fresh/);
    noStack(corrupt);
    // --fresh starts over on the new data.
    const fresh = await runTask("train.ts", [...base, "--data", `${dir}/h2.csv`, "--fresh"]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.notEqual(JSON.parse(await Deno.readTextFile(`${dir}/m/run.json`)).data.sha256, manifest.data.sha256);
  });
});

Deno.test("train's flags are checked before any work: one line and exit 2, no stack trace", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    await Deno.writeTextFile(`${dir}/d.csv`, "id,t,x,action,reward\np1,0,1,0,0\n");
    const cases: [string[], RegExp, number][] = [
      [["omg-rl", "--data", `${dir}/d.csv`, "--bogus"], /Unknown option '--bogus'/, 2],
      [["omg-rl", "--data", `${dir}/d.csv`, "--episodes=-3"], /--episodes needs an integer >= 1, got -3/, 2],
      [["omg-rl", "--data", `${dir}/d.csv`, "--seed", "abc"], /--seed needs an integer >= 0, got abc/, 2],
      [["omg-rl", "--data", `${dir}/d.csv`, "--out", `${dir}/file`], /--out: .* is not a folder/, 2],
      [
        ["omg-rl", "--data", `${dir}/d.csv`, "--quick", "--dynamics-epochs", "3"],
        /give --dynamics-epochs or --quick/,
        2,
      ],
      [["omg-rl", "--data", dir], /is not a regular file/, 1],
      [["omg-rl", "--data", `${dir}/none.csv`], /no file at/, 1],
    ];
    for (const [args, message, code] of cases) {
      const r = await runTask("train.ts", [...args]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(" ")}: no stack trace`);
    }
    await assert.rejects(Deno.stat(`${dir}/out`), "nothing was written");
  });
});

Deno.test("kill -9 through the CLI, during the dynamics and after a checkpoint: the next run resumes and ends like an uninterrupted one", async () => {
  await withTempDir(async (dir) => {
    const sim = await runTask("simulate.ts", ["heparin", "--episodes", "30", "--seed", "7", "--out", `${dir}/h.csv`]);
    assert.equal(sim.code, 0, sim.stderr);
    const args = (out: string) => [
      "run",
      "-A",
      new URL("../tasks/train.ts", import.meta.url).pathname,
      "omg-rl",
      "--data",
      `${dir}/h.csv`,
      "--quick",
      "--episodes",
      "4",
      "--checkpoint-every",
      "1",
      "--out",
      out,
    ];
    const finish = async (out: string) => {
      const r = await new Deno.Command(Deno.execPath(), { args: args(out), stdout: "piped", stderr: "piped" }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, stderr);
      return stderr;
    };
    await finish(`${dir}/straight`);
    const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
    for (
      const [name, ready] of [
        ["dynamics", (out: string) => exists(`${out}/run.json`)],
        ["checkpoint", (out: string) => exists(`${out}/checkpoint.json`)],
      ] as const
    ) {
      const out = `${dir}/${name}`;
      const child = new Deno.Command(Deno.execPath(), { args: args(out), stdout: "null", stderr: "null" }).spawn();
      const deadline = Date.now() + 120_000;
      while (!(await ready(out)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGKILL");
      const status = await child.status;
      assert.equal(status.signal, "SIGKILL", `${name}: the run was killed, not finished`);
      assert.ok(await exists(`${out}/run.lock`), `${name}: a killed run leaves its lock`);
      const stderr = await finish(out);
      assert.match(stderr, /took over .*run\.lock/);
      for (const f of ["policy.json", "history.json"]) {
        assert.equal(
          await Deno.readTextFile(`${out}/${f}`),
          await Deno.readTextFile(`${dir}/straight/${f}`),
          `${name}: ${f} matches the uninterrupted run`,
        );
      }
      const left = [...Deno.readDirSync(out)].map((e) => e.name).filter((n) => n.includes(".tmp-") || n === "run.lock");
      assert.deepEqual(left, [], `${name}: no temporary file or lock is left`);
    }
  });
});

Deno.test("deno task train cql learns a greedy dosing policy on the dosing preset that recommend and evaluate read", async () => {
  await withTempDir(async (dir) => {
    const sim = await runTask("simulate.ts", ["heparin", "--episodes", "30", "--seed", "3", "--out", `${dir}/h.csv`]);
    assert.equal(sim.code, 0, sim.stderr);
    const run = await runTask("train.ts", [
      "cql",
      "--data",
      `${dir}/h.csv`,
      "--preset",
      "dosing",
      "--quick",
      "--steps",
      "1000",
      "--out",
      `${dir}/c`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /cql step 1000\/1000: loss/);
    const policy = JSON.parse(await Deno.readTextFile(`${dir}/c/policy.json`));
    assert.equal(policy.greedy, true);
    assert.deepEqual(policy.featureNames.slice(0, 2), ["aptt", "weight"]);
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/c/run.json`));
    assert.equal(manifest.task, "train cql");
    assert.equal(manifest.options.preset, "dosing");
    // A greedy policy recommends with probability 1.
    const rec = await runTask("train.ts", [
      "recommend",
      "--policy",
      `${dir}/c/policy.json`,
      "--state",
      policy.mean.join(","),
    ]);
    assert.equal(rec.code, 0, rec.stderr);
    const r = JSON.parse(rec.stdout);
    assert.equal(r.probabilities[r.action], 1);
    assert.equal(r.probabilities.reduce((a: number, b: number) => a + b, 0), 1);
    // Off-policy evaluation reads it as the deterministic policy it is.
    const ev = await runTask("evaluate.ts", [
      "--data",
      `${dir}/h.csv`,
      "--policy",
      `${dir}/c/policy.json`,
      "--bootstrap",
      "10",
      "--out",
      `${dir}/ev`,
    ]);
    assert.equal(ev.code, 0, ev.stderr);
    const table = JSON.parse(await Deno.readTextFile(`${dir}/ev/evaluation.json`));
    assert.ok(
      table.rows.some((row: { policy: string; estimator: string }) => row.policy === "c" && row.estimator === "WIS"),
    );
    // A flag of the other mode is refused before any work.
    const wrong = await runTask("train.ts", ["cql", "--data", `${dir}/h.csv`, "--episodes", "5", "--out", `${dir}/d`]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /--episodes is a flag of train omg-rl, not of train cql/);
    await assert.rejects(Deno.stat(`${dir}/d`));
    // A CSV without the dosing context cannot give the dosing preset.
    const csv = (await Deno.readTextFile(`${dir}/h.csv`)).split("\n");
    const header = csv[0].split(","),
      keep = header.map((h, j) => (h.startsWith("prev_") ? -1 : j)).filter((j) => j >= 0);
    await Deno.writeTextFile(
      `${dir}/old.csv`,
      csv.map((line) => line === "" ? line : keep.map((j) => line.split(",")[j]).join(",")).join("\n"),
    );
    const old = await runTask("train.ts", [
      "cql",
      "--data",
      `${dir}/old.csv`,
      "--preset",
      "dosing",
      "--out",
      `${dir}/e`,
    ]);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /--preset dosing needs the dosing context, and .* lacks prev_rate, prev_bin_0/);
  });
});
