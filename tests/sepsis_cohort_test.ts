import assert from "node:assert/strict";
import { buildSepsisCohort, MimicInputError, readStepCsv, sirsCount, type SofaInputs, sofaScore } from "../mod.ts";
import { runTask, sharedDir, withTempDir } from "./helpers.ts";

const FIXTURE = new URL("../fixtures/mimic-iii-demo-sepsis", import.meta.url).pathname;
const CHECK = new URL("./independent/sepsis_check.py", import.meta.url).pathname;
const shared = sharedDir();
const demo = shared ? `${shared}mimic-iii-demo` : null;

const normal: SofaInputs = {
  pfRatio: 450,
  ventilated: false,
  platelets: 250,
  bilirubin: 0.8,
  map: 80,
  vasopressor: 0,
  gcs: 15,
  creatinine: 0.9,
  urinePerDay: NaN,
};

async function hasPython(): Promise<boolean> {
  try {
    return (await new Deno.Command("python3", { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
const python = await hasPython();

async function gunzipText(path: string): Promise<string> {
  return await new Response((await Deno.open(path)).readable.pipeThrough(new DecompressionStream("gzip"))).text();
}
async function gzipText(path: string, text: string): Promise<void> {
  const gz = new Response(new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")));
  await Deno.writeFile(path, new Uint8Array(await gz.arrayBuffer()));
}

Deno.test("SOFA scores each organ at the band edges of Vincent et al.'s table", () => {
  assert.equal(sofaScore(normal).total, 0);
  const organ = (patch: Partial<SofaInputs>) => sofaScore({ ...normal, ...patch });
  // Coagulation: platelets < 150, < 100, < 50, < 20.
  assert.deepEqual([150, 149, 99, 49, 19].map((p) => organ({ platelets: p }).coagulation), [0, 1, 2, 3, 4]);
  // Liver: bilirubin 1.2-1.9, 2.0-5.9, 6.0-11.9, >= 12.
  assert.deepEqual([1.1, 1.2, 2, 6, 12].map((b) => organ({ bilirubin: b }).liver), [0, 1, 2, 3, 4]);
  // Respiration: P/F < 400, < 300; < 200 and < 100 score 3 and 4 only with ventilation.
  assert.deepEqual([400, 399, 299, 199, 99].map((r) => organ({ pfRatio: r }).respiration), [0, 1, 2, 2, 2]);
  assert.deepEqual(
    [199, 99].map((r) => organ({ pfRatio: r, ventilated: true }).respiration),
    [3, 4],
  );
  // CNS: GCS 13-14, 10-12, 6-9, < 6.
  assert.deepEqual([15, 14, 12, 9, 5].map((g) => organ({ gcs: g }).cns), [0, 1, 2, 3, 4]);
  // Cardiovascular: MAP < 70; any vasopressor 3; > 0.1 mcg/kg/min norepinephrine 4.
  assert.deepEqual(
    [{ map: 69 }, { vasopressor: 0.05 }, { vasopressor: 0.1 }, { vasopressor: 0.11 }].map((p) =>
      organ(p).cardiovascular
    ),
    [1, 3, 3, 4],
  );
  // Renal: creatinine bands, or urine output < 500 / < 200 mL a day where urine was charted.
  assert.deepEqual([1.1, 1.2, 2, 3.5, 5].map((c) => organ({ creatinine: c }).renal), [0, 1, 2, 3, 4]);
  assert.deepEqual([600, 499, 199].map((u) => organ({ urinePerDay: u }).renal), [0, 3, 4]);
  // An organ with nothing measured scores 0.
  assert.equal(organ({ platelets: NaN, gcs: NaN, map: NaN, creatinine: NaN }).total, 0);
  const sick = organ({ platelets: 40, bilirubin: 3, gcs: 8, vasopressor: 0.2, creatinine: 2.5 });
  assert.equal(sick.total, 3 + 2 + 3 + 4 + 2);
});

Deno.test("SIRS counts temperature, heart rate, respiration or PaCO2, and white cells", () => {
  assert.equal(sirsCount(37, 80, 16, 40, 8), 0);
  assert.equal(sirsCount(38.5, 95, 16, 30, 13), 4);
  assert.equal(sirsCount(35.5, NaN, NaN, NaN, 3), 2);
});

Deno.test("on the fixture, the sepsis cohort counts each inclusion step and encodes 9 actions with -SOFA at t + 1 as reward", async () => {
  const c = await buildSepsisCohort(FIXTURE);
  assert.equal(c.version, "mimic-iii");
  assert.deepEqual(c.steps.map((s) => s.count), [8, 8, 5, 5, 5, 5]);
  const t = c.table;
  assert.equal(t.numActions, 9);
  const sofa = t.featureNames.indexOf("sofa"), F = t.featureNames.length;
  assert.ok(sofa >= 0 && t.featureNames.includes("age") && t.featureNames.includes("fluid_balance"));
  const runs = new Map<string, number>();
  for (let r = 0; r < t.ids.length; r++) {
    runs.set(t.ids[r], (runs.get(t.ids[r]) ?? 0) + 1);
    assert.equal(t.features[r * F + sofa], c.sofa[r], "the SOFA column is the computed score, never imputed");
    const last = r + 1 === t.ids.length || t.ids[r + 1] !== t.ids[r];
    if (last) {
      assert.equal(t.actions[r], -1);
      continue;
    }
    assert.ok(t.actions[r] >= 0 && t.actions[r] < 9);
    assert.equal(t.rewards[r], -c.sofa[r + 1], `reward of row ${r}`);
  }
  assert.equal(runs.size, 5);
  for (const n of runs.values()) assert.ok(n >= 3 && n <= 18, `a stay of ${n} steps (72 h at most)`);
  assert.ok(Array.from(t.features).every(Number.isFinite), "every value imputed");
  // The bins: 0 none, then the positive doses up to and above their median.
  const fluidBins = Array.from(t.actions).filter((a) => a >= 0).map((a) => Math.floor(a / 3));
  const vasoBins = Array.from(t.actions).filter((a) => a >= 0).map((a) => a % 3);
  Array.from(c.fluids).forEach((x, k) => assert.equal(fluidBins[k], x > 0 ? (x > c.fluidCut ? 2 : 1) : 0));
  Array.from(c.vasopressors).forEach((x, k) => assert.equal(vasoBins[k], x > 0 ? (x > c.vasopressorCut ? 2 : 1) : 0));
  assert.ok(new Set(fluidBins).size === 3 && new Set(vasoBins).size === 3, "the fixture uses every bin");
});

Deno.test({
  name: "on the fixture, the sepsis cohort agrees with an independent count in Python",
  ignore: !python,
  fn: () =>
    withTempDir(async (dir) => {
      const run = await runTask("cohort.ts", ["sepsis", "--mimic-dir", FIXTURE, "--out", `${dir}/sepsis.csv`]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/sepsis.report.json`));
      assert.ok((await Deno.readTextFile(`${dir}/sepsis.report.html`)).includes("Inclusion steps"));
      const out = await new Deno.Command("python3", { args: [CHECK, FIXTURE, `${dir}/sepsis.csv`], stdout: "piped" })
        .output();
      assert.ok(out.success);
      const check = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(Object.values(check.counts), report.steps.map((s: { count: number }) => s.count));
      assert.equal(check.stays, report.stays);
      assert.deepEqual([check.staysOnlyInKit, check.staysOnlyHere, check.sofaMismatched], [[], [], []]);
      assert.deepEqual(check.sofaCounts, report.sofa.counts);
      assert.deepEqual(check.stepsMismatched, []);
      assert.deepEqual(check.actionsMismatched, []);
      assert.ok(Math.abs(check.fluidCut - report.actions.fluidCutMl) < 1e-6);
      assert.ok(Math.abs(check.vasopressorCut - report.actions.vasopressorCutMcgKgMin) < 1e-6);
      const table = await readStepCsv(`${dir}/sepsis.csv`);
      assert.equal(table.numActions >= 1, true);
      assert.equal(new Set(table.ids).size, report.stays);
    }),
});

if (python && !demo) console.log("sepsis_cohort_test: ../shared is absent; the full-demo checks are skipped");
Deno.test({
  name:
    "on the MIMIC-III demo, the sepsis cohort's counts, windows, cut points and actions agree with an independent count",
  ignore: demo === null || !python,
  fn: () =>
    withTempDir(async (dir) => {
      const run = await runTask("cohort.ts", ["sepsis", "--mimic-dir", demo!, "--out", `${dir}/sepsis.csv`]);
      assert.equal(run.code, 0, run.stderr);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/sepsis.report.json`));
      const out = await new Deno.Command("python3", { args: [CHECK, demo!, `${dir}/sepsis.csv`], stdout: "piped" })
        .output();
      const check = JSON.parse(new TextDecoder().decode(out.stdout));
      // 136 ICU stays, 135 adult, 91 with a suspected infection, 64 patients, 60 septic, 59 with 3+ steps.
      assert.deepEqual(Object.values(check.counts), [136, 135, 91, 64, 60, 59]);
      assert.deepEqual(report.steps.map((s: { count: number }) => s.count), [136, 135, 91, 64, 60, 59]);
      assert.equal(check.stays, report.stays);
      assert.deepEqual([check.staysOnlyInKit, check.staysOnlyHere, check.sofaMismatched], [[], [], []]);
      assert.deepEqual(check.sofaCounts, report.sofa.counts, "every step's SOFA agrees");
      assert.deepEqual(check.stepsMismatched, []);
      assert.deepEqual(check.actionsMismatched, []);
      assert.ok(Math.abs(check.fluidCut - report.actions.fluidCutMl) < 1e-6);
      assert.ok(Math.abs(check.vasopressorCut - report.actions.vasopressorCutMcgKgMin) < 1e-6);
    }),
});

Deno.test("the same MetaVision patients in MIMIC-IV's layout give the same sepsis cohort", () =>
  withTempDir(async (dir) => {
    // MIMIC-IV: hosp/ and icu/ folders, stay_id, starttime, icd_code + icd_version, anchor_age.
    const iii = `${dir}/iii`, iv = `${dir}/iv`;
    for (const d of [iii, `${iv}/hosp`, `${iv}/icu`]) await Deno.mkdir(d, { recursive: true });
    const icu = (await gunzipText(`${FIXTURE}/ICUSTAYS.csv.gz`)).trim().split("\n");
    const mv = new Set(icu.slice(1).filter((l) => l.includes("metavision")).map((l) => l.split(",")[1]));
    const onlyMv = (text: string) => {
      const [head, ...lines] = text.trim().split("\n");
      const s = head.split(",").indexOf("subject_id");
      return [head, ...lines.filter((l) => mv.has(l.split(",")[s]))].join("\n") + "\n";
    };
    const tables = [
      "PATIENTS",
      "ICUSTAYS",
      "PRESCRIPTIONS",
      "MICROBIOLOGYEVENTS",
      "DIAGNOSES_ICD",
      "INPUTEVENTS_MV",
      "INPUTEVENTS_CV",
      "OUTPUTEVENTS",
      "CHARTEVENTS",
      "LABEVENTS",
    ];
    const text: Record<string, string> = {};
    for (const t of tables) {
      text[t] = onlyMv(await gunzipText(`${FIXTURE}/${t}.csv.gz`));
      await gzipText(`${iii}/${t}.csv.gz`, text[t]);
    }
    const rename = (
      t: string,
      names: Record<string, string>,
      extra?: (cells: string[], head: string[]) => string[],
    ) => {
      const [head, ...lines] = t.trim().split("\n");
      const h = head.split(",");
      const out = [[...h.map((c) => names[c] ?? c), ...(extra ? ["icd_version"] : [])].join(",")];
      for (const l of lines) out.push((extra ? [...l.split(","), ...extra(l.split(","), h)] : l.split(",")).join(","));
      return out.join("\n") + "\n";
    };
    // Patients: anchor_age as the whole years at the first ICU admission, anchor_year its year.
    const intime = new Map<string, string>();
    for (const l of icu.slice(1)) {
      const c = l.split(",");
      if (!intime.has(c[1])) intime.set(c[1], c[9]);
    }
    const [ph, ...pl] = text.PATIENTS.trim().split("\n");
    const patients = ["subject_id,gender,anchor_age,anchor_year"];
    for (const l of pl) {
      const c = l.split(",");
      const s = c[ph.split(",").indexOf("subject_id")], dob = c[ph.split(",").indexOf("dob")];
      const inTime = intime.get(s)!;
      const age = Math.floor(
        (Date.parse(inTime.replace(" ", "T") + "Z") - Date.parse(dob.replace(" ", "T") + "Z")) /
          (365.2425 * 864e5),
      );
      patients.push(`${s},${c[ph.split(",").indexOf("gender")]},${age},${inTime.slice(0, 4)}`);
    }
    await gzipText(`${iv}/hosp/patients.csv.gz`, patients.join("\n") + "\n");
    const stay = { icustay_id: "stay_id" };
    await gzipText(`${iv}/icu/icustays.csv.gz`, rename(text.ICUSTAYS, stay));
    await gzipText(`${iv}/icu/inputevents.csv.gz`, rename(text.INPUTEVENTS_MV, stay));
    await gzipText(`${iv}/icu/outputevents.csv.gz`, rename(text.OUTPUTEVENTS, stay));
    await gzipText(`${iv}/icu/chartevents.csv.gz`, rename(text.CHARTEVENTS, stay));
    await gzipText(`${iv}/hosp/labevents.csv.gz`, text.LABEVENTS);
    await gzipText(`${iv}/hosp/microbiologyevents.csv.gz`, text.MICROBIOLOGYEVENTS);
    await gzipText(`${iv}/hosp/prescriptions.csv.gz`, rename(text.PRESCRIPTIONS, { startdate: "starttime" }));
    await gzipText(
      `${iv}/hosp/diagnoses_icd.csv.gz`,
      rename(text.DIAGNOSES_ICD, { icd9_code: "icd_code" }, () => ["9"]),
    );
    const a = await buildSepsisCohort(iii), b = await buildSepsisCohort(iv);
    assert.equal(b.version, "mimic-iv");
    assert.ok(a.table.ids.length > 0);
    assert.deepEqual(b.steps.map((s) => s.count), a.steps.map((s) => s.count));
    assert.deepEqual(b.table.ids, a.table.ids);
    assert.deepEqual(b.table.actions, a.table.actions);
    assert.deepEqual(b.table.rewards, a.table.rewards);
    assert.deepEqual(b.table.featureNames, a.table.featureNames);
  }));

Deno.test("a MIMIC folder without the tables the sepsis cohort needs is refused, naming them", async () => {
  await assert.rejects(
    buildSepsisCohort(new URL("../fixtures/mimic-iii-demo-heparin", import.meta.url).pathname),
    (err: Error) =>
      err instanceof MimicInputError && /PRESCRIPTIONS/.test(err.message) && /OUTPUTEVENTS/.test(err.message),
  );
  const run = await runTask("cohort.ts", ["sepsis", "--mimic-dir", "/nonexistent-mimic"]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /not a directory/);
  const bad = await runTask("cohort.ts", ["sepsis", "--mimic-dir", FIXTURE, "--max-missing", "2"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-missing must be in \[0, 1\]/);
});
