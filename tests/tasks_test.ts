import assert from "node:assert/strict";
import { omgRlSummaryMarkdown, readMdpCsv } from "../mod.ts";
import { assertClose, runTask, withTempDir } from "./helpers.ts";

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
    for (const [env, numActions, features] of [["heparin", 6, 27], ["sepsis", 8, 7]] as const) {
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

Deno.test("omg-table2 records every number of expert trajectories and its docs table sets the kit's truth beside the paper", async () => {
  await withTempDir(async (dir) => {
    const res = await runTask("repro.ts", ["omg-table2", "--quick", "--seeds", "2", "--workers", "2", "--out", dir]);
    assert.equal(res.code, 0, res.stderr);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/omg-table2.json`));
    assert.deepEqual(json.values.rows.map((r: { n: number }) => r.n), [10, 30, 50]);
    for (const r of json.values.rows) assert.equal(r.perSeed.tir.length, 2);
    const md = omgRlSummaryMarkdown("omg-table2", json.values).split("\n");
    assert.match(md[0], /paper: cumulative r_ψ .* kit: true time in aPTT 60-100 s/);
    for (const [k, r] of json.values.rows.entries()) {
      const cells = md[2 + k].split("|").map((c: string) => c.trim());
      assert.equal(cells[1], String(r.n));
      assert.equal(cells[2], "", "no paper value at a quick size the paper did not run");
      assert.equal(cells[5], `${r.trueTimeInRange.mean[0].toFixed(3)} ± ${r.trueTimeInRange.se[0].toFixed(3)}`);
    }
    assert.match(md.at(-1)!, /over 2 seeds/);
  });
});

Deno.test("deno task main --quick trains every learner on each state preset and prints one table of true outcomes", async () => {
  await withTempDir(async (dir) => {
    const res = await runTask("main.ts", ["--quick", "--out", dir]);
    assert.equal(res.code, 0, res.stderr);
    for (const preset of ["paper", "clinical", "dosing"]) {
      for (
        const m of [
          "simulated clinician",
          "behaviour cloning",
          "OMG-RL \\(learned r_psi\\)",
          "COMBO \\(r_p\\)",
          "discrete CQL \\(r_p\\)",
          "uniform random",
        ]
      ) {
        assert.match(res.stdout, new RegExp(`\\| ${preset} \\| ${m} \\| 0\\.\\d{3} \\|`), `${preset} ${m}`);
      }
    }
    assert.match(res.stdout, /\| clinical \| nomogram rule \(recorded state\) \| 0\.\d{3} \|/);
    assert.match(res.stdout, /\| dosing \| nomogram rule \(recorded state\) \| 0\.\d{3} \|/);
    assert.doesNotMatch(res.stdout, /\| paper \| nomogram rule/);
    assert.match(res.stderr, /clinical seed 0 OMG-RL episode 10\/10/);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/main.json`));
    assert.deepEqual(json.values.presets, ["paper", "clinical", "dosing"]);
    const rows = json.values.summary as { preset: string; method: string; timeInRange: { mean: number } }[];
    // The clinician and the uniform policy do not read the state: the same on both presets.
    const tir = (p: string, m: string) => rows.find((r) => r.preset === p && r.method === m)!.timeInRange.mean;
    assert.equal(tir("paper", "simulated clinician"), tir("clinical", "simulated clinician"));
    assert.equal(tir("paper", "uniform random"), tir("clinical", "uniform random"));
    assert.equal(json.values.runs[1].stateFeatures.length, 27);
    assert.equal(json.values.runs[0].stateFeatures.length, 16);
    assert.equal(json.values.runs[2].stateFeatures.length, 12);
  });
});

Deno.test("an OMG-RL reproduction keeps each finished unit and a rerun resumes from them with the same numbers", async () => {
  await withTempDir(async (dir) => {
    const first = await runTask("repro.ts", ["omg-beyond", "--quick", "--seeds", "1", "--workers", "1", "--out", dir]);
    assert.equal(first.code, 0, first.stderr);
    const units = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("unit.")).sort();
    assert.deepEqual(units, [
      "unit.compare.seed-0.id-omg-beyond.preset-clinical.json",
      "unit.compare.seed-0.id-omg-beyond.preset-dosing.json",
      "unit.compare.seed-0.id-omg-beyond.preset-paper.json",
    ]);
    const before = JSON.parse(await Deno.readTextFile(`${dir}/omg-beyond.json`)).values;
    // As if stopped after one unit: the others are rerun, the kept one is reused.
    await Deno.remove(`${dir}/${units[0]}`);
    await Deno.remove(`${dir}/${units[1]}`);
    const again = await runTask("repro.ts", ["omg-beyond", "--quick", "--seeds", "1", "--workers", "1", "--out", dir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /compare\.seed-0\.id-omg-beyond\.preset-paper: kept from an earlier run/);
    assert.doesNotMatch(again.stderr, /preset-clinical: kept/);
    const resumed = JSON.parse(await Deno.readTextFile(`${dir}/omg-beyond.json`));
    assert.deepEqual(resumed.values, before);
    // The record counts every unit's own seconds, the kept one's included, beside the last sitting's.
    const unitSeconds = await Promise.all(
      units.map(async (u) => JSON.parse(await Deno.readTextFile(`${dir}/${u}`)).seconds as number),
    );
    assert.ok(unitSeconds.every((t) => t > 0), String(unitSeconds));
    assertClose(resumed.provenance.unitSeconds, unitSeconds.reduce((a, b) => a + b, 0));
    assert.equal(resumed.provenance.unitsUntimed, 0);
    // A kept unit made with another config (another kit's defaults) is refused, naming what differs.
    const keptPath = `${dir}/${units[2]}`, keptText = await Deno.readTextFile(keptPath);
    const edited = JSON.parse(keptText);
    edited.config.cql.conservativeWeight = 7;
    await Deno.writeTextFile(keptPath, JSON.stringify(edited));
    const changed = await runTask("repro.ts", [
      "omg-beyond",
      "--quick",
      "--seeds",
      "1",
      "--workers",
      "1",
      "--out",
      dir,
    ]);
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /was made with another config \(config\.cql\.conservativeWeight was 7, now 0\.3\)/);
    await Deno.writeTextFile(keptPath, keptText);
    // A kept unit made at other sizes is refused, not mixed in.
    const other = await runTask("repro.ts", ["omg-beyond", "--main-sizes", "--seeds", "1", "--out", dir]);
    assert.equal(other.code, 1);
    assert.match(
      other.stderr,
      /^repro: .*was made at other sizes or for another unit; remove it, or use another --out/m,
    );
    assert.doesNotMatch(other.stderr, /\n\s+at /);
  });
});

Deno.test("grid shards collected give the same p4l-fig1.json as an unsharded run", async () => {
  await withTempDir(async (dir) => {
    const whole = await runTask("repro.ts", ["p4l-fig1", "--quick", "--out", `${dir}/whole`]);
    assert.equal(whole.code, 0, whole.stderr);
    for (const shard of ["0/2", "1/2"]) {
      const res = await runTask("grid.ts", ["p4l-fig1", "--quick", "--shard", shard, "--out", `${dir}/grid`]);
      assert.equal(res.code, 0, res.stderr);
    }
    const again = await runTask("grid.ts", ["p4l-fig1", "--quick", "--shard", "1/2", "--out", `${dir}/grid`]);
    assert.match(again.stdout, /exists; skipping/);
    const merged = await runTask("collect.ts", ["p4l-fig1", "--out", `${dir}/grid`]);
    assert.equal(merged.code, 0, merged.stderr);
    // Identical results; only the provenance (wall time, shard count) differs.
    const json = JSON.parse(await Deno.readTextFile(`${dir}/whole/p4l-fig1.json`));
    const collected = JSON.parse(await Deno.readTextFile(`${dir}/grid/p4l-fig1.json`));
    assert.deepEqual({ ...collected, provenance: null }, { ...json, provenance: null });
    assert.equal(collected.provenance.shards, 2);
    assert.ok(
      json.config.p4l.pessimismLevel > 0 && json.config.fqi.discount === 0.8,
      "the resolved config is recorded",
    );
    assert.ok(json.values.summary["N=30, T=50"]["P4L (K=3)"].a.n === 2);
    // A shard computed with other hyper-parameters is refused, naming the file and what differs.
    const shardPath = `${dir}/grid/p4l-fig1.shard-1-of-2.json`;
    const original = await Deno.readTextFile(shardPath);
    const edited = JSON.parse(original);
    edited.config.p4l.policyStep = "gradient";
    await Deno.writeTextFile(shardPath, JSON.stringify(edited));
    const mixed = await runTask("collect.ts", ["p4l-fig1", "--out", `${dir}/grid`]);
    assert.equal(mixed.code, 1);
    assert.match(
      mixed.stderr,
      /shard-1-of-2\.json was computed with another config .*p4l\.policyStep was "gradient", now "mirror"/,
    );
    delete edited.config;
    await Deno.writeTextFile(shardPath, JSON.stringify(edited));
    const older = await runTask("collect.ts", ["p4l-fig1", "--out", `${dir}/grid`]);
    assert.equal(older.code, 1);
    assert.match(older.stderr, /records no config \(made by an older kit\)/);
    await Deno.writeTextFile(shardPath, original);
    // A missing shard is named.
    await Deno.remove(`${dir}/grid/p4l-fig1.shard-1-of-2.json`);
    const partial = await runTask("collect.ts", ["p4l-fig1", "--out", `${dir}/grid`]);
    assert.equal(partial.code, 1);
    assert.match(partial.stderr, /missing cells 1/);
    const bad = await runTask("grid.ts", ["p4l-fig1", "--shard", "3/2", "--out", `${dir}/grid`]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /shard must be i\/n/);
  });
});

Deno.test("the docs quote the committed results exactly: deno task docs --check finds nothing to rewrite", async () => {
  const r = await runTask("docs.ts", ["--check"]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test("tasks run with the permissions they need, named in deno.json: no -A, no network, no system or process access for the compute tasks", () => {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).tasks as Record<
    string,
    string
  >;
  const compute = ["main", "simulate", "calibrate", "repro", "train", "cohort", "evaluate", "grid", "collect"];
  for (const name of compute) {
    const command = tasks[name];
    assert.ok(command, name);
    const flags = command.split(/\s+/).filter((w) => w.startsWith("-") && w !== "-q");
    assert.deepEqual(flags, [
      "--allow-read",
      "--allow-write",
      "--allow-ffi",
      "--allow-env=CLINICAL_RL_NATIVE_BLAS,CLINICAL_RL_BLAS",
    ], name);
  }
  for (const [name, command] of Object.entries(tasks)) {
    if (["test", "bench"].includes(name)) continue; // the developer's own suite and benches
    assert.doesNotMatch(command, /(^|\s)(-A|--allow-all|--allow-net|--allow-sys)(\s|=|$)/, name);
  }
});
