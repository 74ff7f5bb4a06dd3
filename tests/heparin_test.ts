import assert from "node:assert/strict";
import {
  apttReward,
  createHeparinEnv,
  createRng,
  drawPopulation,
  evaluatePolicy,
  HEPARIN_BIN_RATES,
  HEPARIN_CONTEXT_FEATURES,
  HEPARIN_FEATURES,
  HEPARIN_RECORD_FEATURES,
  HEPARIN_STATE_PRESETS,
  heparinDoseBin,
  heparinDripStats,
  heparinNomogram,
  heparinOutcome,
  heparinRulePolicy,
  type HeparinState,
  heparinStatePreset,
  listEpisodes,
  MIMIC_DEMO_HEPARIN_STATS,
  simulate,
  traceHeparin,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

const APTT = HEPARIN_FEATURES.indexOf("aptt");

Deno.test("heparin: r_p is about +1 inside 60-100 s, -1 outside, 0 at the edges", () => {
  assertClose(apttReward(80), 1, { atol: 1e-6 });
  assertClose(apttReward(30), -1, { atol: 1e-6 });
  assertClose(apttReward(140), -1, { atol: 1e-6 });
  assertClose(apttReward(60), 0, { atol: 1e-6 });
  // 2 sigma(1) - 2 sigma(-39) - 1 by hand.
  assertClose(apttReward(61), 2 / (1 + Math.exp(-1)) - 1, { atol: 1e-9 });
});

Deno.test("heparin: dose bins follow the demo's sextile edges", () => {
  assert.deepEqual([0, 10.49, 10.5, 14.2, 20.0, 20.1, 35].map((r) => heparinDoseBin(r)), [0, 0, 1, 3, 4, 5, 5]);
  assert.deepEqual(HEPARIN_BIN_RATES.map((r) => heparinDoseBin(r)), [0, 1, 2, 3, 4, 5]);
});

Deno.test("heparin: the nomogram re-boluses low, holds high and leaves the range alone", () => {
  assert.deepEqual(heparinNomogram(35, 18, "standard"), { rate: 22, bolus: 80, hold: false });
  assert.deepEqual(heparinNomogram(50, 18, "standard"), { rate: 20, bolus: 40, hold: false });
  assert.deepEqual(heparinNomogram(50, 12, "low-intensity"), { rate: 14, bolus: 30, hold: false });
  assert.deepEqual(heparinNomogram(80, 18, "standard"), { rate: 18, bolus: 0, hold: false });
  assert.deepEqual(heparinNomogram(110, 18, "standard"), { rate: 16, bolus: 0, hold: false });
  assert.deepEqual(heparinNomogram(130, 2, "standard"), { rate: 0, bolus: 0, hold: true });
});

Deno.test("heparin: one hour of infusion matches the one-compartment solution by hand", () => {
  const env = createHeparinEnv();
  const ind = env.drawIndividual(createRng(5));
  const p = ind.params;
  const s0: HeparinState = { ...env.reset(createRng(6), ind), amount: 0, effect: 0 };
  const bin = 3;
  const out = env.step(createRng(7), ind, s0, bin, 0).state;
  const rate = heparinDoseBin(s0.orderRate) === bin ? s0.orderRate : HEPARIN_BIN_RATES[bin];
  const k = p.clearance / p.volume;
  const expected = (rate * p.weight / k) * (1 - Math.exp(-k));
  assertClose(out.amount, expected, { rtol: 1e-9 });
  assert.equal(out.rate, rate);
  // Long infusion: concentration approaches rate / clearance; aPTT = baseline + sensitivity x C.
  let s = s0;
  for (let t = 0; t < 60; t++) s = { ...env.step(createRng(t), ind, s, bin, t).state, orderRate: rate };
  const css = rate * p.weight / p.clearance / 1000;
  assertClose(s.amount / p.volume / 1000, css, { rtol: 1e-3 });
  assertClose(s.trueAptt, p.apttBaseline + p.apttSensitivity * css, { rtol: 1e-3 });
});

Deno.test("heparin: patients are heterogeneous with log-normal clearance near 50% CV", () => {
  const env = createHeparinEnv();
  const rng = createRng(11);
  const logCl: number[] = [];
  for (let i = 0; i < 4000; i++) {
    const p = env.drawIndividual(rng).params;
    logCl.push(Math.log(p.clearance / (p.weight / 80) ** 0.75));
    assert.ok(p.hours >= 7 && p.hours <= 72);
    assert.ok(p.age >= 18);
  }
  const m = logCl.reduce((a, b) => a + b, 0) / logCl.length;
  const sd = Math.sqrt(logCl.reduce((a, b) => a + (b - m) ** 2, 0) / logCl.length);
  assert.ok(sd > 0.45 && sd < 0.6, `log-clearance SD ${sd} (0.5 plus age and renal spread)`);
});

Deno.test("heparin: under the simulated clinician the drips look like the MIMIC-III demo's", () => {
  const env = createHeparinEnv();
  const individuals = drawPopulation(env, createRng(21), 1000);
  const stats = heparinDripStats(traceHeparin(env, individuals, { seed: 22 }));
  const demo = MIMIC_DEMO_HEPARIN_STATS;
  for (const k of ["inRange", "below", "above"] as const) {
    assert.ok(Math.abs(stats[k] - demo[k]) <= 0.08, `${k}: simulated ${stats[k].toFixed(3)} vs demo ${demo[k]}`);
  }
  assert.ok(Math.abs(stats.medianRate - demo.medianRate) <= 2, `median rate ${stats.medianRate}`);
  assert.ok(Math.abs(stats.apttQuartiles[1] - demo.apttQuartiles[1]) <= 8, `median aPTT ${stats.apttQuartiles[1]}`);
  assert.ok(stats.trueTimeInRange > 0.3 && stats.trueTimeInRange < 0.8);
});

Deno.test("heparin: typical bin rates are the clinician's medians within each bin", () => {
  const env = createHeparinEnv();
  const trace = traceHeparin(env, drawPopulation(env, createRng(31), 600), { seed: 32 });
  const bins: number[][] = [[], [], [], [], [], []];
  for (const rt of trace.rates) for (const r of rt) bins[heparinDoseBin(r)].push(r);
  bins.forEach((b, i) => {
    b.sort((x, y) => x - y);
    assertClose(b[Math.floor(b.length / 2)], HEPARIN_BIN_RATES[i], { atol: 0.8 });
  });
});

Deno.test("heparin: labs are held between draws and aPTT is drawn about every 6 h", () => {
  const env = createHeparinEnv();
  const individuals = drawPopulation(env, createRng(41), 40);
  const data = simulate(env, { individuals, seed: 42 });
  let changes = 0, hours = 0;
  for (let i = 0; i < data.size; i++) {
    const S = data.stateDim, a = data.states[i * S + APTT], b = data.nextStates[i * S + APTT];
    if (a !== b) changes++;
    hours++;
  }
  const every = hours / changes;
  assert.ok(every > 4 && every < 12, `aPTT changes every ${every.toFixed(1)} h`);
  // Episode lengths: 7-72 h, ending with a time-out, never a terminal.
  for (const ep of individuals.map((ind) => ind.params.hours)) assert.ok(ep >= 7 && ep <= 72);
  assert.equal(data.terminals.reduce((a, b) => a + b, 0), 0);
  assert.equal(data.timeouts.reduce((a, b) => a + b, 0), individuals.length);
  assert.equal(data.size, individuals.reduce((a, ind) => a + ind.params.hours, 0));
});

Deno.test("heparin: the same seed gives the same cohort, and the noise-free aPTT is exposed", () => {
  const env = createHeparinEnv();
  const run = () => simulate(env, { individuals: drawPopulation(env, createRng(51), 10), seed: 52 });
  assert.deepEqual(run().states, run().states);
  const trace = traceHeparin(env, drawPopulation(env, createRng(51), 10), { seed: 52 });
  assert.ok(trace.trueAptt.every((a) => a.every((x) => x > 15 && Number.isFinite(x))));
});

Deno.test("heparin: bad options are rejected with a clear error", () => {
  assert.throws(() => createHeparinEnv({ horizon: 0 }), /horizon must be an integer >= 1/);
  assert.throws(() => createHeparinEnv({ population: { clearance: -1 } }), /population.clearance/);
  assert.throws(() => createHeparinEnv({ population: { skipAdjustment: 2 } }), /probability/);
  assert.throws(() => createHeparinEnv({ binRates: [1, 2, 3] }), /binRates/);
  assert.throws(() => createHeparinEnv().drawIndividual(createRng(0), "ward"), /unknown group "ward"/);
  const env = createHeparinEnv();
  const ind = env.drawIndividual(createRng(0));
  assert.throws(() => env.step(createRng(0), ind, env.reset(createRng(0), ind), 6, 0), /action must be/);
  assert.throws(
    () => env.behaviourPolicy(ind)(new Float64Array(17), { t: 0, individual: 0, id: "x" }, undefined as never),
    /state/,
  );
});

Deno.test("the clinicians' recorded discounted return equals their Monte Carlo return on the same patients and streams", () => {
  // The recorded on-policy estimate has no bias of its own: any gap to a Monte Carlo truth on other
  // patients is sampling (stays of 7-72 h make the per-stay return's SD about 20).
  const env = createHeparinEnv();
  const individuals = drawPopulation(env, createRng(5), 60);
  const data = simulate(env, { individuals, seed: 9 });
  const returns = listEpisodes(data).map((e) => {
    let s = 0;
    for (let r = e.start, k = 0; r < e.end; r++, k++) s += env.discount ** k * data.rewards[r];
    return s;
  });
  const recorded = returns.reduce((a, b) => a + b, 0) / returns.length;
  const mc = evaluatePolicy(env, "behaviour", { individuals, seed: 9 }).overall.discounted.mean;
  assertClose(recorded, mc, { atol: 1e-5 }); // rewards are stored as float32 in the dataset
});

Deno.test("heparin: the record carries the dosing context, looking back only", () => {
  const env = createHeparinEnv();
  assert.deepEqual(env.featureNames, HEPARIN_RECORD_FEATURES);
  assert.equal(HEPARIN_RECORD_FEATURES.length, 17 + HEPARIN_CONTEXT_FEATURES.length);
  const col = (n: string) => HEPARIN_RECORD_FEATURES.indexOf(n);
  const people = drawPopulation(env, createRng(3), 30);
  const data = simulate(env, { individuals: people, seed: 4 });
  const S = data.stateDim;
  let draws = 0;
  for (let i = 0; i < data.size; i++) {
    const x = (n: string) => data.states[i * S + col(n)];
    const next = (n: string) => data.nextStates[i * S + col(n)];
    assert.equal(x("hours_on_heparin"), data.times[i]);
    // The next record's previous rate is the rate the action ran; its bin is the action.
    assert.equal(heparinDoseBin(next("prev_rate")), data.actions[i]);
    assert.equal(next(`prev_bin_${data.actions[i]}`), 1);
    // hours_since_aptt restarts at 0 exactly when a new aPTT is on the record, else grows by one.
    if (next("hours_since_aptt") === 0) draws++;
    else {
      assert.equal(next("hours_since_aptt"), x("hours_since_aptt") + 1);
      assert.equal(next("aptt"), x("aptt"));
    }
  }
  assert.ok(draws > 30, `${draws} draws`);
});

Deno.test("heparin: the presets are the paper's 16 variables, the clinical 27 and the dosing 12; an unknown one is named", () => {
  assert.equal(HEPARIN_STATE_PRESETS.paper.length, 16);
  assert.ok(!HEPARIN_STATE_PRESETS.paper.includes("aptt"));
  assert.deepEqual(HEPARIN_STATE_PRESETS.clinical, HEPARIN_RECORD_FEATURES);
  assert.deepEqual(HEPARIN_STATE_PRESETS.dosing, ["aptt", "weight", ...HEPARIN_CONTEXT_FEATURES]);
  assert.throws(() => heparinStatePreset("icu"), /unknown state preset "icu"; presets are paper, clinical, dosing/);
  assert.throws(() => heparinRulePolicy(HEPARIN_STATE_PRESETS.paper), /no column "aptt"/);
});

Deno.test("heparin: the nomogram rule on the recorded state keeps more patient-hours in range than the clinician", () => {
  // Measured at the main job's size in docs/omg-rl.md; here 60 patients, so a margin of 0.03.
  const env = createHeparinEnv();
  const people = drawPopulation(env, createRng(11), 60);
  const clinician = heparinOutcome(env, people, { seed: 12 });
  const rule = heparinOutcome(env, people, { seed: 12, policy: heparinRulePolicy() });
  assert.ok(
    rule.timeInRange > clinician.timeInRange + 0.03,
    `rule ${rule.timeInRange}, clinician ${clinician.timeInRange}`,
  );
});
