/**
 * The kit's main job on bundled defaults (README, first command).
 *
 * Until the OMG-RL pipeline lands this runs the most complete path that exists: simulate P4L's
 * heterogeneous 2-D environment under its behaviour policy, write the data in the kit's CSV
 * format, read them back with full validation, split by individual, fit a normaliser on the
 * training split, and value the behaviour policy and two fixed policies by Monte Carlo on the
 * true dynamics, per group.
 *
 *   deno task main [--out out/main] [--seed 0]
 */
import {
  createP4lSimpleEnv,
  createRng,
  drawPopulation,
  evaluatePolicy,
  fitNormalizer,
  type Policy,
  readMdpCsv,
  simulate,
  splitByIndividual,
  writeMdpCsv,
} from "../mod.ts";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { out: { type: "string", default: "out/main" }, seed: { type: "string", default: "0" } },
});
const seed = Number(values.seed);
const out = values.out!;
await Deno.mkdir(out, { recursive: true });

const started = performance.now();
const env = createP4lSimpleEnv({ horizon: 50 });
const individuals = drawPopulation(env, createRng(seed), 30, env.groups);
const data = simulate(env, { individuals, seed: seed + 1 });
const csvPath = `${out}/p4l-simple.csv`;
await writeMdpCsv(csvPath, data);
const back = await readMdpCsv(csvPath, { numActions: env.numActions });
const { train, test } = splitByIndividual(back, { seed });
const norm = fitNormalizer(train);
console.log(`simulated ${data.size} transitions of ${data.individualIds.length} individuals -> ${csvPath}`);
console.log(
  `split by individual: ${train.individualIds.length} train / ${test.individualIds.length} test; state mean ${
    Array.from(norm.mean, (v) => v.toFixed(3))
  }`,
);

const policies: Record<string, Policy> = {
  "behaviour (Bernoulli 1/2)": env.behaviourPolicy(individuals[0]),
  "always 0": () => [1, 0],
  "always 1": () => [0, 1],
};
console.log(`\nMonte Carlo value (discount ${env.discount}, 100 trajectories per individual, mean ± s.e.):`);
console.log(["policy".padEnd(28), ...env.groups.map((g) => `group ${g}`.padEnd(18))].join(""));
for (const [name, policy] of Object.entries(policies)) {
  const ev = evaluatePolicy(env, policy, { individuals, trajectories: 100, seed: seed + 2 });
  const cells = env.groups.map((g) => {
    const s = ev.perGroup[g].discounted;
    return `${s.mean.toFixed(3)} ± ${s.standardError.toFixed(3)}`.padEnd(18);
  });
  console.log([name.padEnd(28), ...cells].join(""));
}
console.log(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
