import assert from "node:assert/strict";
import {
  createP4lSimpleEnv,
  createRng,
  drawPopulation,
  evaluatePolicies,
  fitBehaviourPolicy,
  fitRbfFeatures,
  logWeightsEss,
  OpeError,
  selectIndividuals,
  simulate,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

const env = createP4lSimpleEnv({ horizon: 10 });
const individuals = drawPopulation(env, createRng(1), 40, env.groups);
const data = simulate(env, { individuals, horizon: 10, seed: 2 });
const features = fitRbfFeatures(data.states, 2, { centres: 6, seed: 1 });

Deno.test("the effective sample size of equal weights is their count, of one dominant weight about 1", () => {
  assertClose(logWeightsEss([0, 0, 0, 0]), 4, { atol: 1e-12 });
  assertClose(logWeightsEss([0, -50, -50]), 1, { atol: 1e-12 });
  assert.equal(logWeightsEss([-Infinity, -Infinity]), 0);
});

Deno.test("the estimated behaviour of a coin-flip clinician is close to one half, with nothing clipped", () => {
  const mu = fitBehaviourPolicy(data, features, { seed: 0 });
  const p = mu.probabilities(Float64Array.of(0.2, -0.1));
  assertClose(p[0], 0.5, { atol: 0.1 });
  assert.equal(mu.clippedShare, 0);
});

Deno.test("off-policy evaluation stops with a clear error on a zero-support policy or a single individual", () => {
  const mu = fitBehaviourPolicy(data, features, { seed: 0 });
  // Puts all mass on the action the clinicians did not take... at every recorded state: impossible to weight.
  const never = (s: ArrayLike<number>) => {
    const r = Array.from({ length: data.size }, (_, k) => k).find((k) =>
      data.states[2 * k] === s[0] && data.states[2 * k + 1] === s[1]
    );
    return r === undefined ? [0.5, 0.5] : data.actions[r] === 0 ? [0, 1] : [1, 0];
  };
  assert.throws(
    () => evaluatePolicies(data, features, mu, { never }, { bootstrap: 5, warn: () => {} }),
    (e: unknown) => e instanceof OpeError && /zero probability on every action/.test((e as Error).message),
  );
  assert.throws(
    () => evaluatePolicies(selectIndividuals(data, [0]), features, mu, { half: () => [0.5, 0.5] }, { bootstrap: 5 }),
    /one individual/,
  );
});

Deno.test("for the behaviour policy itself, WIS equals the recorded return and intervals bracket it", () => {
  const mu = fitBehaviourPolicy(data, features, { seed: 0 });
  const table = evaluatePolicies(data, features, mu, { same: (s) => mu.probabilities(s) }, {
    discount: 0.8,
    bootstrap: 50,
    warn: () => {},
  });
  const onPolicy = table.rows.find((r) => r.estimator === "on-policy")!;
  const wis = table.rows.find((r) => r.estimator === "WIS")!;
  assertClose(wis.estimate, onPolicy.estimate, { atol: 1e-9 });
  assertClose(wis.ess, 40, { atol: 1e-6 });
  for (const r of table.rows) assert.ok(r.lower <= r.estimate && r.estimate <= r.upper, JSON.stringify(r));
});
