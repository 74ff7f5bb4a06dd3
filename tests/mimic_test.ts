import assert from "node:assert/strict";
import {
  apttReward,
  buildHeparinCohort,
  MIMIC_DEMO_HEPARIN_STATS,
  MimicInputError,
  quantiles,
  readMdpCsv,
  readStepCsv,
  streamTable,
} from "../mod.ts";
import { runTask, sharedDir, withTempDir } from "./helpers.ts";

const FIXTURE = new URL("../fixtures/mimic-iii-demo-heparin", import.meta.url).pathname;
const FIXTURE_IV = new URL("../fixtures/mimic-iv-layout-heparin", import.meta.url).pathname;
const shared = sharedDir();
const demo = shared ? `${shared}mimic-iii-demo` : null;

async function copyDir(from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

async function rewriteGz(path: string, edit: (text: string) => string) {
  const text = await new Response(
    (await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip")),
  ).text();
  const gz = new Response(new Blob([edit(text)]).stream().pipeThrough(new CompressionStream("gzip")));
  await Deno.writeFile(path, new Uint8Array(await gz.arrayBuffer()));
}

Deno.test({
  name: "on the MIMIC-III demo, the heparin cohort finds the README's drip stays, aPTT and dose statistics",
  ignore: demo === null,
  fn: async () => {
    const c = await buildHeparinCohort(demo!);
    assert.equal(c.version, "mimic-iii");
    // README: 14 admissions with a non-rewritten MetaVision drip; CareVue 30025 in 11 ICU stays.
    assert.equal(c.dripRows.admissions, 14);
    assert.equal(c.steps[0].count, c.dripRows.stays + 11);
    // README: aPTT during drips n = 61, quartiles 51.8 / 65.2 / 82.2 s, 41% in 60-100 s.
    const a = c.dripRows.apttDuringDrips;
    assert.equal(a.length, MIMIC_DEMO_HEPARIN_STATS.apttCount);
    quantiles(a, [0.25, 0.5, 0.75], "weibull").forEach((q, k) =>
      assert.ok(Math.abs(q - MIMIC_DEMO_HEPARIN_STATS.apttQuartiles[k]) < 0.05, `aPTT quartile ${k}: ${q}`)
    );
    const inRange = Array.from(a).filter((x) => x >= 60 && x <= 100).length / a.length;
    assert.ok(Math.abs(inRange - MIMIC_DEMO_HEPARIN_STATS.inRange) < 0.005, `in range ${inRange}`);
    // README: rate per kg sextiles 10.5, 12.2, 14.2, 17.0, 20.1 U/kg/h.
    quantiles(c.dripRows.ratePerKg, [1, 2, 3, 4, 5].map((k) => k / 6), "weibull").forEach((q, k) =>
      assert.ok(Math.abs(q - MIMIC_DEMO_HEPARIN_STATS.rateSextiles[k]) < 0.05, `sextile ${k}: ${q}`)
    );
    // The dataset: hourly rows, 7 to 72 h per stay, every action bin used, rewards in [-1, 1].
    const runs = new Map<string, number>();
    for (const id of c.table.ids) runs.set(id, (runs.get(id) ?? 0) + 1);
    for (const n of runs.values()) assert.ok(n >= 8 && n <= 73, `a stay of ${n} rows`);
    assert.equal(runs.size, c.steps.at(-1)!.count);
    assert.deepEqual(new Set(Array.from(c.table.actions).filter((x) => x >= 0)), new Set([0, 1, 2, 3, 4, 5]));
    for (const r of c.table.rewards) assert.ok(Number.isNaN(r) || (r >= -1 && r <= 1));
    assert.ok(c.table.features.every(Number.isFinite), "imputation leaves no gap");
  },
});

Deno.test({
  name: "deno task train omg-rl --quick runs end to end on the MIMIC-III demo cohort",
  ignore: demo === null,
  fn: () =>
    withTempDir(async (dir) => {
      const c = await runTask("cohort.ts", ["heparin", "--mimic-dir", demo!, "--out", `${dir}/heparin.csv`]);
      assert.equal(c.code, 0, c.stderr);
      const t = await runTask("train.ts", [
        "omg-rl",
        "--data",
        `${dir}/heparin.csv`,
        "--quick",
        "--drop",
        "aptt",
        "--out",
        `${dir}/run`,
      ]);
      assert.equal(t.code, 0, t.stderr);
      const policy = JSON.parse(await Deno.readTextFile(`${dir}/run/policy.json`));
      assert.equal(policy.numActions, 6);
    }),
});

Deno.test("the cohort task builds the kit's CSV and a report from MIMIC-III and MIMIC-IV folders", async () => {
  await withTempDir(async (dir) => {
    for (
      const [name, folder, version, stays] of [["iii", FIXTURE, "mimic-iii", 3], [
        "iv",
        FIXTURE_IV,
        "mimic-iv",
        2,
      ]] as const
    ) {
      const run = await runTask("cohort.ts", ["heparin", "--mimic-dir", folder, "--out", `${dir}/${name}.csv`]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/${name}.report.json`));
      assert.equal(report.version, version);
      assert.equal(report.stays, stays);
      assert.match(await Deno.readTextFile(`${dir}/${name}.report.html`), /Inclusion steps/);
      const data = await readMdpCsv(`${dir}/${name}.csv`, { numActions: 6 });
      assert.equal(data.individualIds.length, stays);
      assert.ok(data.featureNames.includes("aptt") && data.featureNames.includes("weight"));
    }
  });
});

Deno.test("r_p is about 1 inside the therapeutic aPTT range and about -1 outside", () => {
  assert.ok(apttReward(80) > 0.99);
  assert.ok(apttReward(40) < -0.99 && apttReward(130) < -0.99);
  assert.ok(Math.abs(apttReward(60)) < 1e-6);
});

Deno.test("a missing table, a missing column or a broken gzip stops with an error naming the file", async () => {
  await withTempDir(async (dir) => {
    await copyDir(FIXTURE, `${dir}/a`);
    await Deno.remove(`${dir}/a/LABEVENTS.csv.gz`);
    await assert.rejects(
      buildHeparinCohort(`${dir}/a`),
      (e: Error) => e instanceof MimicInputError && /LABEVENTS/.test(e.message),
    );
    await copyDir(FIXTURE, `${dir}/b`);
    await rewriteGz(`${dir}/b/PATIENTS.csv.gz`, (t) => t.replace("gender", "sex"));
    await assert.rejects(
      buildHeparinCohort(`${dir}/b`),
      (e: Error) => e instanceof MimicInputError && /PATIENTS\.csv\.gz: missing column "gender"/.test(e.message),
    );
    await copyDir(FIXTURE, `${dir}/c`);
    const bytes = await Deno.readFile(`${dir}/c/CHARTEVENTS.csv.gz`);
    await Deno.writeFile(`${dir}/c/CHARTEVENTS.csv.gz`, bytes.subarray(0, bytes.length / 2));
    await assert.rejects(
      buildHeparinCohort(`${dir}/c`),
      (e: Error) => e instanceof MimicInputError && /CHARTEVENTS\.csv\.gz: not a readable gzip/.test(e.message),
    );
    const task = await runTask("cohort.ts", ["heparin", "--mimic-dir", `${dir}/a`]);
    assert.equal(task.code, 1);
    assert.match(task.stderr, /missing LABEVENTS/);
  });
});

Deno.test("a patient with no usable aPTT is excluded and counted, not crashed on", async () => {
  await withTempDir(async (dir) => {
    await copyDir(FIXTURE, `${dir}/m`);
    // Remove every aPTT (51275) of patient 40124.
    await rewriteGz(`${dir}/m/LABEVENTS.csv.gz`, (t) =>
      t.split("\n").filter((line) => {
        const f = line.split(",");
        return !(f[1] === "40124" && f[3] === "51275");
      }).join("\n"));
    const c = await buildHeparinCohort(`${dir}/m`);
    const [before, after] = c.steps.slice(-2).map((s) => s.count);
    assert.equal(after, before - 1);
    assert.equal(new Set(c.table.ids).size, after);
  });
});

Deno.test("a MIMIC table cut mid-row is reported, not half-read; a FIFO is refused, not waited on", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/LABEVENTS.csv`, "row_id,subject_id,itemid,value\n1,10,51274,12.1\n2,10,512");
    const seen: string[][] = [];
    await assert.rejects(
      streamTable(`${dir}/LABEVENTS.csv`, ["subject_id", "itemid", "value"], (v) => void seen.push([...v])),
      /LABEVENTS\.csv: data row 2 has 3 fields, the header 4 \(is the file cut mid-row\?/,
    );
    const fifo = await new Deno.Command("mkfifo", { args: [`${dir}/pipe.csv`] }).output().catch(() => null);
    if (fifo?.code === 0) {
      await assert.rejects(streamTable(`${dir}/pipe.csv`, ["subject_id"], () => {}), /not a regular file/);
      await assert.rejects(readStepCsv(`${dir}/pipe.csv`), /not a regular file/);
    }
  });
});

Deno.test("the cohort's dosing context is computed from the tables with no look-ahead", async () => {
  await withTempDir(async (dir) => {
    await copyDir(FIXTURE, `${dir}/m`);
    // Patient 40304's bolus at heparin start (10:00) was rewritten in the record; count it as given.
    await rewriteGz(
      `${dir}/m/INPUTEVENTS_MV.csv.gz`,
      (t) => t.replace(/(231434,.*Drug Push,.*,)Rewritten,/, "$1FinishedRunning,"),
    );
    const c = await buildHeparinCohort(`${dir}/m`);
    const { featureNames: names, features, ids, times, actions } = c.table;
    const F = names.length;
    const col = (name: string) => {
      const j = names.indexOf(name);
      assert.ok(j >= 0, `column ${name}`);
      return j;
    };
    const [rate, since, on, bolus, aptt] = ["prev_rate", "hours_since_aptt", "hours_on_heparin", "bolus", "aptt"].map(
      col,
    );
    const bins = [0, 1, 2, 3, 4, 5].map((b) => col(`prev_bin_${b}`));
    let fresh = 0, held = 0;
    for (let r = 0; r < ids.length; r++) {
      const x = (j: number) => features[r * F + j];
      assert.equal(x(on), times[r]);
      assert.equal(bins.reduce((s, j) => s + x(j), 0), 1, "one previous bin");
      if (times[r] === 0) {
        assert.equal(x(rate), 0);
        assert.equal(x(bins[0]), 1);
        continue;
      }
      // The previous hour's bin is the previous row's action: the context looks back, never ahead.
      assert.equal(x(bins[actions[r - 1]]), 1, `row ${r}: previous bin`);
      assert.ok(x(since) >= 0 && x(since) <= 48);
      // Between draws the held aPTT does not change.
      if (x(since) >= 1 && x(since) < 48 && features[(r - 1) * F + since] === x(since) - 1) {
        assert.equal(x(aptt), features[(r - 1) * F + aptt], `row ${r}: aPTT held`);
        held++;
      }
      if (x(since) === 0) fresh++;
    }
    assert.ok(fresh > 0 && held > 0, `${fresh} fresh and ${held} held aPTT hours`);
    const first = ids.indexOf("icu-261743");
    assert.equal(features[first * F + bolus], 1, "the bolus at heparin start");
    assert.equal(features[(first + 1) * F + bolus], 0);
  });
});
