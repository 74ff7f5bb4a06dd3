import assert from "node:assert/strict";
import {
  createRng,
  sepsisActionTreatments,
  sepsisInitialState,
  sepsisReward,
  type SepsisState,
  sepsisTransition,
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
