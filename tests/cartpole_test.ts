import assert from "node:assert/strict";
import {
  cartPoleDynamics,
  cartPoleFailed,
  createCartPoleEnv,
  createRng,
  drawPopulation,
  evaluatePolicy,
  simulate,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

Deno.test("cartpole: one step matches Gym's equations worked by hand", () => {
  // From rest with theta = 0, pushing right with force 10 at Gym's length 0.5:
  // temp = 10 / 1.1; thetaAcc = -temp / (0.5 * (4/3 - 0.1 / 1.1)); xAcc = temp - 0.05 * thetaAcc / 1.1.
  const temp = 10 / 1.1;
  const thetaAcc = -temp / (0.5 * (4 / 3 - 0.1 / 1.1));
  const xAcc = temp - 0.05 * thetaAcc / 1.1;
  const next = cartPoleDynamics([0, 0, 0, 0], 1, { length: 0.5, force: 10 });
  assertClose(Array.from(next), [0, 0.02 * xAcc, 0, 0.02 * thetaAcc], { atol: 1e-12 });
  // Positions move by the old velocities (explicit Euler).
  const moved = cartPoleDynamics([0.1, 1, 0.05, -0.5], 0, { length: 0.5, force: 10 });
  assertClose([moved[0], moved[2]], [0.1 + 0.02, 0.05 - 0.01], { atol: 1e-12 });
  assert.equal(cartPoleFailed([2.5, 0, 0, 0]), true);
  assert.equal(cartPoleFailed([0, 0, 0.21, 0]), true);
  assert.equal(cartPoleFailed([2.3, 0, 0.2, 0]), false);
});

Deno.test("cartpole: a longer pole falls more slowly and a stronger push accelerates the cart more", () => {
  const tilt = [0, 0, 0.1, 0];
  const short = cartPoleDynamics(tilt, 0, { length: 0.15, force: 5 });
  const long = cartPoleDynamics(tilt, 0, { length: 0.85, force: 5 });
  assert.ok(short[3] > long[3], "angular acceleration shrinks with length");
  const weak = cartPoleDynamics([0, 0, 0, 0], 1, { length: 0.5, force: 2 });
  const strong = cartPoleDynamics([0, 0, 0, 0], 1, { length: 0.5, force: 10 });
  assertClose(strong[1] / weak[1], 5, { atol: 1e-9 });
});

Deno.test("cartpole: starts are uniform in +-0.05, episodes cap at the horizon, the behaviour policy is sign(theta)", () => {
  const env = createCartPoleEnv({ setting: "C", horizon: 300 });
  const rng = createRng(0);
  const ind = env.drawIndividual(rng, "f5-l0.5");
  for (let i = 0; i < 1000; i++) for (const v of env.reset(rng, ind)) assert.ok(v >= -0.05 && v < 0.05);
  const pi = env.behaviourPolicy(ind);
  assert.deepEqual(
    Array.from(pi(Float64Array.of(0, 0, 0.01, 0), { t: 0, individual: 0, id: "x" }, new Float64Array(4))),
    [0, 1],
  );
  assert.deepEqual(
    Array.from(pi(Float64Array.of(0, 0, -0.01, 0), { t: 0, individual: 0, id: "x" }, new Float64Array(4))),
    [1, 0],
  );
  const people = drawPopulation(env, createRng(1), 9, env.groups);
  const data = simulate(env, { individuals: people, seed: 2 });
  const ev = evaluatePolicy(env, "behaviour", { individuals: people, trajectories: 5, seed: 3 });
  for (const r of ev.returns.flat()) assert.ok(r >= 1 && r <= 300);
  assert.equal(data.terminals.reduce((a, b) => a + b, 0) + data.timeouts.reduce((a, b) => a + b, 0), 9);
  // Always pushing one way fails fast under any setting.
  const left = evaluatePolicy(env, () => [1, 0], { individuals: people, trajectories: 5, seed: 3 });
  assert.ok(left.overall.undiscounted.mean < 60, `always-left lasted ${left.overall.undiscounted.mean}`);
});

Deno.test("cartpole: the same seed gives the same data", () => {
  const env = createCartPoleEnv({ setting: "B", epsilon: 0.2 });
  const people = drawPopulation(env, createRng(4), 6, env.groups);
  assert.deepEqual(
    simulate(env, { individuals: people, seed: 5 }).states,
    simulate(env, { individuals: people, seed: 5 }).states,
  );
});

Deno.test("cartpole: bad options are rejected with a clear error", () => {
  assert.throws(
    () => createCartPoleEnv({ setting: { g: { length: -1, force: 5 } } }),
    /length -1; lengths must be positive/,
  );
  assert.throws(() => createCartPoleEnv({ setting: { g: { length: 0.5, force: 0 } } }), /forces must be positive/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => createCartPoleEnv({ setting: "D" as any }), /unknown setting "D"/);
  assert.throws(() => createCartPoleEnv({ horizon: 0 }), /horizon must be an integer >= 1/);
  assert.throws(() => createCartPoleEnv({ epsilon: 2 }), /epsilon/);
  assert.throws(() => createCartPoleEnv().drawIndividual(createRng(0), "nope"), /unknown group "nope"/);
});
