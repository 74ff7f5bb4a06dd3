import assert from "node:assert/strict";
import {
  createMdpDataset,
  createRng,
  fitGaussianPersim,
  gaussianPersimMoments,
  initBackend,
  P4L_TABLE3_DATA_COLUMNS,
  P4L_TABLE3_DATA_QUICK,
  p4lTable3DataGrid,
  type StepTable,
  writeStepCsv,
} from "../mod.ts";
import { tf } from "../tf.ts";
import { runTask, sharedDir, withTempDir } from "./helpers.ts";

await initBackend();
const shared = sharedDir();

Deno.test("the Gaussian PerSim-style simulator recovers each individual's own drift and the noise scale", () => {
  // Two groups: action 1 moves x by +0.5 in one, -0.5 in the other; action 0 holds it; noise sd 0.2.
  const rng = createRng(3), N = 40, T = 20;
  const states: number[] = [], next: number[] = [], actions: number[] = [], individuals: number[] = [];
  for (let i = 0; i < N; i++) {
    let x = rng.normal(), y = rng.normal();
    for (let t = 0; t < T; t++) {
      const a = rng.int(2), drift = a === 1 ? (i % 2 === 0 ? 0.5 : -0.5) : 0;
      const nx = x + drift + 0.2 * rng.normal(), ny = 0.8 * y + 0.2 * rng.normal();
      states.push(x, y);
      next.push(nx, ny);
      actions.push(a);
      individuals.push(i);
      x = nx;
      y = ny;
    }
  }
  const n = N * T;
  const data = createMdpDataset({
    numActions: 2,
    featureNames: ["x", "y"],
    individualIds: Array.from({ length: N }, (_, i) => `p${i}`),
    individuals: Int32Array.from(individuals),
    times: Int32Array.from({ length: n }, (_, k) => k % T),
    states: Float32Array.from(states),
    actions: Int32Array.from(actions),
    rewards: new Float32Array(n),
    nextStates: Float32Array.from(next),
    terminals: new Uint8Array(n),
    timeouts: Uint8Array.from({ length: n }, (_, k) => (k % T === T - 1 ? 1 : 0)),
  });
  const before = tf.memory().numTensors;
  const m = fitGaussianPersim(data, { rank: 4, steps: 400, seed: 1 });
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  const drift = (i: number, a: number) => {
    const { mean } = gaussianPersimMoments(m, i, [0, 0], a);
    return mean[0] * m.stds[0];
  };
  for (const i of [0, 2, 4]) assert.ok(Math.abs(drift(i, 1) - 0.5) < 0.15, `individual ${i}: ${drift(i, 1)}`);
  for (const i of [1, 3, 5]) assert.ok(Math.abs(drift(i, 1) + 0.5) < 0.15, `individual ${i}: ${drift(i, 1)}`);
  assert.ok(Math.abs(drift(0, 0)) < 0.1 && Math.abs(drift(1, 0)) < 0.1);
  const { logVariance } = gaussianPersimMoments(m, 0, [0, 0], 0);
  const sd = Math.exp(0.5 * logVariance[0]) * m.stds[0];
  assert.ok(sd > 0.12 && sd < 0.32, `noise sd ${sd}`);
});

/** A synthetic cohort in the sepsis builder's shape: 6 variables with SOFA last, 9 actions, -SOFA(t + 1). */
function syntheticCohort(stays: number): StepTable {
  const rng = createRng(5);
  const ids: string[] = [],
    times: number[] = [],
    features: number[] = [],
    actions: number[] = [],
    rewards: number[] = [];
  for (let i = 0; i < stays; i++) {
    const length = 4 + rng.int(6);
    let sofa = 2 + rng.int(8);
    const rowsSofa: number[] = [];
    for (let t = 0; t < length; t++) {
      ids.push(`icu-${i}`);
      times.push(t);
      features.push(...Array.from({ length: 5 }, () => rng.normal() + 0.1 * sofa), sofa);
      rowsSofa.push(sofa);
      const a = rng.int(9);
      actions.push(t + 1 < length ? a : -1);
      sofa = Math.max(0, Math.min(24, sofa + (a % 3 === 2 ? -1 : 0) + rng.int(3) - 1));
    }
    for (let t = 0; t < length; t++) rewards.push(t + 1 < length ? -rowsSofa[t + 1] : NaN);
  }
  return {
    featureNames: ["v1", "v2", "v3", "v4", "v5", "sofa"],
    numActions: 9,
    ids,
    times: Int32Array.from(times),
    features: Float64Array.from(features),
    actions: Int32Array.from(actions),
    rewards: Float64Array.from(rewards),
    dones: new Uint8Array(ids.length),
  };
}

Deno.test("Table 3 on a cohort values every method in a learned simulator and off-policy, with the clinicians' recorded return", () => {
  const grid = p4lTable3DataGrid(syntheticCohort(30), "synthetic.csv");
  const sizes = {
    ...P4L_TABLE3_DATA_QUICK,
    repetitions: 1,
    components: 3,
    trajectories: 2,
    p4lIterations: 3,
    vlSteps: 3,
    persimSteps: 30,
    bootstrap: 5,
  };
  const cells = grid.cells(sizes);
  assert.equal(cells.length, 1);
  const before = tf.memory().numTensors;
  const result = grid.run(cells[0], sizes);
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  assert.deepEqual(Object.keys(result.values), ["Clinician", "FQI", "VL", "ACPI", "P4L (K=Auto)"]);
  for (const [m, v] of Object.entries(result.values)) {
    assert.deepEqual(Object.keys(v), [...P4L_TABLE3_DATA_COLUMNS], m);
    assert.ok(Number.isFinite(v["PerSim estimate"]) && v["PerSim estimate"] <= 0, `${m}: rewards are -SOFA`);
  }
  const c = result.values.Clinician;
  assert.equal(c["OPE: FQE"], c["OPE: WIS"], "the clinicians' off-policy columns hold their recorded return");
  assert.ok(c["FQE 95% low"] <= c["OPE: FQE"] && c["OPE: FQE"] <= c["FQE 95% high"]);
  assert.equal(result.facts!.admissions, 24, "a cohort below 1000 stays is subsampled to 80%");
  assert.throws(
    () => p4lTable3DataGrid({ ...syntheticCohort(30), featureNames: ["v1", "v2", "v3", "v4", "v5", "x"] }, "bad.csv"),
    /no "sofa" column/,
  );
});

Deno.test("repro refuses --data for anything but p4l-table3", async () => {
  const run = await runTask("repro.ts", ["p4l-fig1", "--quick", "--data", "x.csv"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--data is for p4l-table3/);
});

Deno.test({
  name: "on the MIMIC-III demo, deno task repro p4l-table3 --data runs Table 3 on the sepsis cohort at quick size",
  ignore: shared === null,
  fn: () =>
    withTempDir(async (dir) => {
      const c = await runTask("cohort.ts", [
        "sepsis",
        "--mimic-dir",
        `${shared}mimic-iii-demo`,
        "--out",
        `${dir}/sepsis.csv`,
      ]);
      assert.equal(c.code, 0, c.stderr);
      const r = await runTask("repro.ts", ["p4l-table3", "--data", `${dir}/sepsis.csv`, "--quick", "--out", dir]);
      assert.equal(r.code, 0, r.stderr);
      const record = JSON.parse(await Deno.readTextFile(`${dir}/p4l-table3-data.json`));
      assert.equal(record.config.dataSha256.length, 64);
      assert.equal(record.config.admissions, 59);
      const summary = record.values.summary.cohort;
      for (const m of ["Clinician", "FQI", "VL", "ACPI", "P4L (K=Auto)"]) {
        assert.ok(Number.isFinite(summary[m]["PerSim estimate"].mean), m);
      }
    }),
});

Deno.test("Table 3 on a cohort shards with deno task grid --data and collects into the unsharded run's values", () =>
  withTempDir(async (dir) => {
    await writeStepCsv(`${dir}/cohort.csv`, syntheticCohort(30));
    const data = ["--data", `${dir}/cohort.csv`, "--quick"];
    for (const shard of ["0/2", "1/2"]) {
      const r = await runTask("grid.ts", ["p4l-table3", ...data, "--shard", shard, "--out", `${dir}/shards`]);
      assert.equal(r.code, 0, r.stderr);
    }
    const c = await runTask("collect.ts", ["p4l-table3", ...data.slice(0, 2), "--out", `${dir}/shards`]);
    assert.equal(c.code, 0, c.stderr);
    const whole = await runTask("repro.ts", ["p4l-table3", ...data, "--out", `${dir}/whole`]);
    assert.equal(whole.code, 0, whole.stderr);
    const sharded = JSON.parse(await Deno.readTextFile(`${dir}/shards/p4l-table3-data.json`));
    const unsharded = JSON.parse(await Deno.readTextFile(`${dir}/whole/p4l-table3-data.json`));
    assert.deepEqual(sharded.values.summary, unsharded.values.summary);
    assert.equal(sharded.config.dataSha256, unsharded.config.dataSha256);
    // Shards of another file are refused.
    await Deno.writeTextFile(
      `${dir}/other.csv`,
      (await Deno.readTextFile(`${dir}/cohort.csv`)).replaceAll("icu-0,", "icu-zero,"),
    );
    const other = await runTask("collect.ts", ["p4l-table3", "--data", `${dir}/other.csv`, "--out", `${dir}/shards`]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /not all computed from .*other\.csv \(SHA-256 differs\)/);
  }));
