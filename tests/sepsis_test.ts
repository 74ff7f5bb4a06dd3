import assert from "node:assert/strict";
import {
  createRng,
  createSepsisEnv,
  drawPopulation,
  evaluatePolicy,
  SEPSIS_NUM_STATES,
  sepsisActionTreatments,
  sepsisInitialState,
  sepsisReward,
  type SepsisState,
  sepsisStateFromIndex,
  sepsisStateFromObservation,
  sepsisStateIndex,
  sepsisTransition,
  sepsisTransitionDistribution,
  simulate,
  solveSepsisMdp,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

const BASE: SepsisState = {
  heartRate: 1,
  systolicBp: 1,
  oxygen: 1,
  glucose: 2,
  antibiotics: 0,
  vasopressors: 0,
  ventilation: 0,
  diabetic: 0,
};
const scripted = (draws: number[]) => () => {
  const u = draws.shift();
  if (u === undefined) throw new Error("ran out of scripted draws");
  return u;
};

Deno.test("sepsis: action indices decode as 4 antibiotic + 2 ventilation + vasopressors", () => {
  assert.deepEqual(sepsisActionTreatments(0), { antibiotics: 0, ventilation: 0, vasopressors: 0 });
  assert.deepEqual(sepsisActionTreatments(5), { antibiotics: 1, ventilation: 0, vasopressors: 1 });
  assert.deepEqual(sepsisActionTreatments(6), { antibiotics: 1, ventilation: 1, vasopressors: 0 });
  assert.throws(() => sepsisActionTreatments(8), /\[0, 8\)/);
});

Deno.test("sepsis: rewards are -1 with three abnormal vitals and +1 when all are normal off treatment", () => {
  assert.equal(sepsisReward(BASE), 1);
  assert.equal(sepsisReward({ ...BASE, antibiotics: 1 }), 0);
  assert.equal(sepsisReward({ ...BASE, heartRate: 2, systolicBp: 0, oxygen: 0 }), -1);
  assert.equal(sepsisReward({ ...BASE, heartRate: 2, glucose: 3 }), 0);
});

Deno.test("sepsis: scripted draws walk through the published rules by hand", () => {
  // Antibiotics on a high HR and BP: both draws < 0.5 bring them to normal; O2 and glucose then
  // fluctuate (draws 0.5 and 0.5: no change).
  const s1 = sepsisTransition({ ...BASE, heartRate: 2, systolicBp: 2 }, 4, scripted([0.4, 0.6, 0.5, 0.5]));
  assert.deepEqual([s1.heartRate, s1.systolicBp, s1.antibiotics], [1, 2, 1]);
  // Diabetic on vasopressors at low BP: draw 0.7 -> high BP (0.5 <= u < 0.9); glucose up on 0.2.
  const s2 = sepsisTransition({ ...BASE, systolicBp: 0, diabetic: 1 }, 1, scripted([0.7, 0.2, 0.5, 0.5]));
  assert.deepEqual([s2.systolicBp, s2.glucose, s2.vasopressors], [2, 3, 1]);
  // Original glucose rule: a non-diabetic at normal glucose cannot rise (cap at 1), corrected can.
  const up = [0.5, 0.5, 0.5, 0.15];
  assert.equal(sepsisTransition(BASE, 0, scripted([...up]), "original").glucose, 1);
  assert.equal(sepsisTransition(BASE, 0, scripted([...up]), "corrected").glucose, 3);
});

Deno.test("sepsis: transition frequencies match the published probabilities", () => {
  const rng = createRng(0);
  const n = 40_000;
  let ventFixed = 0, vasoUpNonDiab = 0, gluUpDiab = 0;
  for (let i = 0; i < n; i++) {
    const u = () => rng.uniform();
    if (sepsisTransition({ ...BASE, oxygen: 0 }, 2, u).oxygen === 1) ventFixed++;
    if (sepsisTransition({ ...BASE, systolicBp: 0 }, 1, u).systolicBp === 1) vasoUpNonDiab++;
    if (sepsisTransition({ ...BASE, diabetic: 1 }, 1, u).glucose === 3) gluUpDiab++;
  }
  assertClose(ventFixed / n, 0.7, { atol: 0.01 });
  assertClose(vasoUpNonDiab / n, 0.7, { atol: 0.01 });
  assertClose(gluUpDiab / n, 0.5, { atol: 0.01 });
});

Deno.test("sepsis: initial states are never absorbing and follow the published marginals", () => {
  const rng = createRng(1);
  let hrNormal = 0, gluHighDiab = 0;
  for (let i = 0; i < 20_000; i++) {
    const s = sepsisInitialState(rng, i % 2);
    assert.equal(sepsisReward(s), 0);
    if (s.heartRate === 1) hrNormal++;
    if (i % 2 && s.glucose >= 3) gluHighDiab++;
  }
  assert.ok(hrNormal / 20_000 > 0.4 && hrNormal / 20_000 < 0.6);
  assert.ok(gluHighDiab / 10_000 > 0.7, "diabetics start mostly high");
});

Deno.test("sepsis: state indices round-trip over all 1440 states", () => {
  for (let i = 0; i < SEPSIS_NUM_STATES; i++) assert.equal(sepsisStateIndex(sepsisStateFromIndex(i)), i);
  assert.throws(() => sepsisStateFromIndex(1440), /\[0, 1440\)/);
});

Deno.test("sepsis: enumerated transition probabilities sum to one and match sampled frequencies", () => {
  const rng = createRng(3);
  for (const [s, a] of [[{ ...BASE, systolicBp: 0, diabetic: 1 }, 1], [{ ...BASE, antibiotics: 1 }, 2]] as const) {
    const dist = sepsisTransitionDistribution(s, a);
    let total = 0;
    for (const p of dist.values()) total += p;
    assertClose(total, 1, { atol: 1e-12 });
    const n = 40_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const j = sepsisStateIndex(sepsisTransition(s, a, () => rng.uniform()));
      counts.set(j, (counts.get(j) ?? 0) + 1);
    }
    for (const j of counts.keys()) assert.ok(dist.has(j), `sampled state ${j} has probability 0`);
    for (const [j, p] of dist) assertClose((counts.get(j) ?? 0) / n, p, { atol: 0.012 });
  }
});

Deno.test("sepsis: value iteration satisfies the Bellman optimality equation", () => {
  const sol = solveSepsisMdp();
  const gamma = sol.discount;
  for (const i of [0, 137, 400, 777, 1100, 1439]) {
    const s = sepsisStateFromIndex(i);
    if (sepsisReward(s) !== 0) {
      assert.equal(sol.values[i], 0);
      continue;
    }
    let best = -Infinity;
    for (let a = 0; a < 8; a++) {
      let q = 0;
      for (const [j, p] of sepsisTransitionDistribution(s, a)) {
        const r = sepsisReward(sepsisStateFromIndex(j));
        q += p * (r + (r === 0 ? gamma * sol.values[j] : 0));
      }
      best = Math.max(best, q);
    }
    assertClose(sol.values[i], best, { atol: 1e-8 });
    assertClose(sol.qValues[i * 8 + sol.greedyActions[i]], best, { atol: 1e-12 });
  }
});

Deno.test("sepsis: the epsilon-soft clinician is far better than random treatment on the true simulator", () => {
  const env = createSepsisEnv();
  const individuals = drawPopulation(env, createRng(0), 100, env.groups);
  const clinician = evaluatePolicy(env, "behaviour", { individuals, trajectories: 10, seed: 1 });
  const random = evaluatePolicy(env, () => new Array(8).fill(1 / 8), { individuals, trajectories: 10, seed: 1 });
  assert.ok(clinician.overall.undiscounted.mean > random.overall.undiscounted.mean + 0.5);
  const probs = Array.from(
    env.behaviourPolicy(individuals[0])(
      Float64Array.of(2, 1, 0, 2, 0, 0, 0),
      { t: 0, individual: 0, id: "" },
      sepsisStateFromObservation(Float64Array.of(2, 1, 0, 2, 0, 0, 0), 0),
    ),
  );
  assertClose(Math.max(...probs), 0.95);
  assertClose(probs.reduce((x, y) => x + y, 0), 1);
});

Deno.test("sepsis: episodes end on death or discharge or at 20 steps, and repeat under a seed", () => {
  const env = createSepsisEnv();
  const individuals = drawPopulation(env, createRng(2), 50);
  const a = simulate(env, { individuals, seed: 4 });
  const b = simulate(env, { individuals, seed: 4 });
  assert.deepEqual(a.states, b.states);
  assert.deepEqual(a.actions, b.actions);
  for (let i = 0; i < a.size; i++) {
    assert.ok(a.times[i] < 20);
    assert.equal(a.terminals[i] === 1, a.rewards[i] !== 0);
  }
  assert.ok(individuals.filter((i) => i.group === "diabetic").length < 25, "diabetics are a minority (p = 0.2)");
});

Deno.test("sepsis: bad options are rejected with a clear error", () => {
  assert.throws(() => createSepsisEnv({ horizon: 0 }), /horizon must be an integer >= 1/);
  assert.throws(() => createSepsisEnv({ diabetesProbability: 1.5 }), /diabetesProbability/);
  assert.throws(() => createSepsisEnv({ glucoseRule: "fixed" as never }), /glucoseRule/);
  assert.throws(() => createSepsisEnv().drawIndividual(createRng(0), "elderly"), /unknown group "elderly"/);
});
