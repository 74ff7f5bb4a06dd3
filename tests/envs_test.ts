import assert from "node:assert/strict";
import {
  conflictGroupLabels,
  conflictOracle,
  conflictPooledCandidates,
  createCartPoleEnv,
  createP4lConflictEnv,
  createP4lSimpleEnv,
  createRng,
  drawPopulation,
  evaluatePolicy,
  type Rng,
  simulate,
  summarize,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

/** A stand-in random stream whose draws are fixed: normal() = 0, uniform() = 0.5. */
const FIXED: Rng = {
  uniform: () => 0.5,
  normal: () => 0,
  int: () => 0,
  categorical: () => 0,
  categoricalLog: () => 0,
  permutation: (n) => Int32Array.from({ length: n }, (_, i) => i),
  fillNormal: <T extends Float32Array | Float64Array>(out: T): T => out.fill(0) as T,
  fillUniform: <T extends Float32Array | Float64Array>(out: T): T => out.fill(0.5) as T,
  split: (k) => Array.from({ length: k }, () => FIXED),
  fold: () => FIXED,
  state: () => [0, 0, 0, 0],
};

Deno.test("p4l-simple: a step matches the transition and reward of P4L section 6.1 by hand", () => {
  const env = createP4lSimpleEnv();
  const b = env.drawIndividual(createRng(0), "b"); // c1 = 0.6, c2 = 0.4
  const s = Float64Array.of(1.0, -0.5);
  const out1 = env.step(FIXED, b, s, 1, 0);
  // A = 1: s1' = 0.8 * 1 + 0.6 * -0.5 = 0.5; s2' = 0.4 * 1 - 0.8 * -0.5 = 0.8
  assertClose(Array.from(out1.state), [0.5, 0.8], { atol: 1e-12 });
  assertClose(out1.reward, 0.9 / (1 + Math.exp(1 * (1.0 + 1.0))), { atol: 1e-12 });
  const out0 = env.step(FIXED, b, s, 0, 0);
  // A = 0: s1' = -0.8 + 0.6 * -0.5 = -1.1; s2' = 0.4 + 0.8 * -0.5 = 0
  assertClose(Array.from(out0.state), [-1.1, 0], { atol: 1e-12 });
  assertClose(out0.reward, 0.9 / (1 + Math.exp(-2)), { atol: 1e-12 });
  assert.equal(out0.terminal, false);
});

Deno.test("p4l-simple: noise and reward jitter have the published moments", () => {
  const env = createP4lSimpleEnv();
  const a = env.drawIndividual(createRng(0), "a");
  const rng = createRng(1);
  const e1: number[] = [], e2: number[] = [], jitter: number[] = [];
  const s = Float64Array.of(0.3, 0.2);
  for (let i = 0; i < 40_000; i++) {
    const out = env.step(rng, a, s, 1, 0);
    e1.push(out.state[0] - 0.8 * 0.3 - 0 * 0.2);
    e2.push(out.state[1] - (-0.6 * 0.3) + 0.8 * 0.2);
    jitter.push(out.reward - 0.9 / (1 + Math.exp(0.3 - 0.4)));
  }
  const v = (x: number[]) => summarize(x.map((z) => z * z)).mean;
  assertClose(summarize(e1).mean, 0, { atol: 0.01 });
  assertClose(v(e1), 0.25, { atol: 0.01 });
  assertClose(v(e2), 0.25, { atol: 0.01 });
  assertClose(summarize(jitter).mean, 0, { atol: 0.002 });
  assertClose(Math.max(...jitter), 0.1, { atol: 0.001 });
  assertClose(v(jitter), 0.04 / 12, { atol: 2e-4 });
});

Deno.test("simulate() is deterministic under a seed and follows the behaviour policy", () => {
  const env = createP4lSimpleEnv({ horizon: 20 });
  const people = drawPopulation(env, createRng(3), 6, env.groups);
  const d1 = simulate(env, { individuals: people, seed: 9 });
  const d2 = simulate(env, { individuals: people, seed: 9 });
  assert.deepEqual(d1.states, d2.states);
  assert.deepEqual(d1.actions, d2.actions);
  assert.notDeepEqual(simulate(env, { individuals: people, seed: 10 }).states, d1.states);
  assert.equal(d1.size, 6 * 20);
  assert.deepEqual(d1.individualIds, ["a-0000", "b-0001", "c-0002", "a-0003", "b-0004", "c-0005"]);
  assert.equal(d1.timeouts.reduce((a, b) => a + b, 0), 6);
  const ones = d1.actions.reduce((a, b) => a + b, 0) / d1.size;
  assert.ok(Math.abs(ones - 0.5) < 0.15, `behaviour is Bernoulli(1/2), got ${ones}`);
});

Deno.test("evaluatePolicy() reports per-group means, standard errors and counts", () => {
  const env = createP4lSimpleEnv({ horizon: 10 });
  const people = drawPopulation(env, createRng(3), 6, env.groups);
  const ev = evaluatePolicy(env, () => [0, 1], { individuals: people, trajectories: 50, seed: 1 });
  assert.deepEqual(Object.keys(ev.perGroup).sort(), ["a", "b", "c"]);
  assert.equal(ev.perGroup.a.discounted.count, 100);
  assert.ok(ev.perGroup.a.discounted.standardError > 0);
  // Undiscounted returns of 10 steps lie in [10 * -0.1, 10 * 1.0].
  for (const r of ev.returns.flat()) assert.ok(r > -1 && r < 10);
  const again = evaluatePolicy(env, () => [0, 1], { individuals: people, trajectories: 50, seed: 1 });
  assert.deepEqual(again.discountedReturns, ev.discountedReturns);
});

Deno.test("bad environment options are rejected with a clear error", () => {
  assert.throws(() => createP4lSimpleEnv({ horizon: 0 }), /horizon must be an integer >= 1/);
  const env = createP4lSimpleEnv();
  assert.throws(() => env.drawIndividual(createRng(0), "d"), /unknown group "d"/);
  assert.throws(() => drawPopulation(env, createRng(0), 3, ["z"]), /unknown group "z"/);
  const people = drawPopulation(env, createRng(0), 3);
  assert.throws(() => simulate(env, { individuals: people, horizon: 0 }), /horizon must be an integer >= 1/);
  assert.throws(() => evaluatePolicy(env, () => [1, 0, 0], { individuals: people }), /3 probabilities for 2 actions/);
});

Deno.test("observeInto writes what observe returns, and a batch policy sees the same rows with episodes ending apart", () => {
  const cart = createCartPoleEnv({ setting: "A" });
  const simple = createP4lSimpleEnv();
  for (const env of [cart, simple] as const) {
    const rng = createRng(2), ind = env.drawIndividual(rng);
    // deno-lint-ignore no-explicit-any
    const e = env as any;
    let s = e.reset(rng, ind);
    for (let t = 0; t < 5; t++) {
      const out = new Float64Array(3 + env.featureNames.length).fill(NaN);
      e.observeInto(s, ind, out, 3);
      assert.deepEqual(Array.from(out.subarray(3)), Array.from(e.observe(s, ind)), env.name);
      s = e.step(rng, ind, s, t % 2, t).state;
    }
  }
  // CartPole's episodes end at different steps: the batch loop must drop finished rows.
  const people = drawPopulation(cart, createRng(3), 6, cart.groups);
  const lean = (o: ArrayLike<number>) => (o[2] > 0 ? [0.2, 0.8] : [0.8, 0.2]);
  const seen: number[] = [];
  const batch = {
    batch: (obs: Float64Array, c: { individuals: Int32Array }) => {
      seen.push(c.individuals.length);
      const out = new Float64Array(c.individuals.length * 2);
      for (let r = 0; r < c.individuals.length; r++) out.set(lean(obs.subarray(r * 4, r * 4 + 4)), r * 2);
      return out;
    },
  };
  const opts = { individuals: people, trajectories: 2, horizon: 200, seed: 1 };
  const many = evaluatePolicy(cart, batch, opts), one = evaluatePolicy(cart, (o) => lean(o), opts);
  assert.deepEqual(many.returns, one.returns);
  assert.ok(Math.min(...seen) < 6, "some episodes ended before others");
  assert.throws(
    () => evaluatePolicy(cart, { batch: () => new Float64Array(3) }, opts),
    /batch policy returned 3 probabilities for 6 rows of 2 actions/,
  );
});

Deno.test("p4l-conflict: a step follows its equations by hand, and groups a and b want opposite actions", () => {
  const env = createP4lConflictEnv();
  const a = env.drawIndividual(createRng(0), "a"), b = env.drawIndividual(createRng(0), "b");
  const s = [0.5, -1];
  // With normal() = 0 and uniform() = 0.5: no noise.
  const next = env.step(FIXED, a, s, 1, 0);
  assertClose(Array.from(next.state), [0.6 * 0.5 + 0.2 * -1 + 0.5, -0.2 * 0.5 + 0.6 * -1]);
  assertClose(next.reward, Math.tanh(0.5));
  assertClose(env.step(FIXED, b, s, 1, 0).reward, -Math.tanh(0.5));
  const labels = conflictGroupLabels(60);
  assert.deepEqual(["a", "b", "c"].map((g) => labels.filter((x) => x === g).length), [27, 24, 9]);
});

Deno.test("p4l-conflict: each group's oracle beats every pooled candidate on its own group", () => {
  const env = createP4lConflictEnv({ horizon: 30 });
  const oracle = conflictOracle({ points: 41, sweeps: 30 });
  const pooled = conflictPooledCandidates({ points: 41, sweeps: 30 });
  const people = drawPopulation(env, createRng(5), 40, conflictGroupLabels(40));
  const opts = { individuals: people, trajectories: 10, seed: 6 };
  const best = evaluatePolicy(env, (o, c) => oracle[people[c.individual].group].policy(o, c), opts);
  for (const [name, policy] of Object.entries(pooled)) {
    const ev = evaluatePolicy(env, policy, opts);
    assert.ok(best.overall.discounted.mean > ev.overall.discounted.mean + 1, `${name}: ${ev.overall.discounted.mean}`);
    for (const g of ["a", "b", "c"]) {
      assert.ok(best.perGroup[g].discounted.mean > ev.perGroup[g].discounted.mean - 0.15, `${name} on ${g}`);
    }
  }
  // No pooled candidate serves both a and b: one of them ends below zero.
  for (const [name, policy] of Object.entries(pooled)) {
    const ev = evaluatePolicy(env, policy, opts);
    assert.ok(Math.min(ev.perGroup.a.discounted.mean, ev.perGroup.b.discounted.mean) < 0, name);
  }
});
