/**
 * Trains OMG-RL on your own data in the kit's CSV format (README), with progress, checkpoints and
 * resume; then recommends dose bins from the saved policy.
 *
 *   deno task train omg-rl --data my.csv [--out dir] [--num-actions 6] [--drop aptt] [--episodes 200]
 *                          [--checkpoint-every 5] [--seed 0] [--fresh] [--quick] [--stop-after k]
 *   deno task train recommend --policy dir/policy.json --state "age=70,gender=1,..."   (or --state v1,v2,...)
 *
 * The run writes <out>/dynamics.json (the trained ensemble, reused on resume), <out>/checkpoint.json
 * (every few episodes, atomically), <out>/history.json and, at the end, <out>/policy.json. A run
 * killed at any point continues from the last checkpoint when started again with the same
 * arguments, and ends with the same result as an uninterrupted run (--fresh starts over). A NaN
 * or infinite loss stops the run naming the loss and step; the last good checkpoint is kept.
 * --quick uses the CI sizes (small networks); --stop-after k stops after episode k as a crash
 * would (to try resuming).
 */
import { parseArgs } from "node:util";
import {
  createOmgRlState,
  createRng,
  deriveSeeds,
  dynamicsFromJson,
  type DynamicsJson,
  dynamicsToJson,
  fitNormalizer,
  initBackend,
  keepFeatures,
  NonFiniteLossError,
  normalizeDataset,
  OMG_RL_QUICK,
  type OmgRlCheckpoint,
  omgRlCheckpoint,
  policyFromJson,
  type PolicyJson,
  policyToJson,
  provenance,
  readMdpCsv,
  removeStaleTemps,
  restoreOmgRl,
  runOmgRl,
  splitByIndividual,
  trainDynamics,
  writeTextAtomic,
} from "../mod.ts";

const USAGE = `usage:
  deno task train omg-rl --data my.csv [--out dir] [--num-actions 6] [--drop aptt] [--episodes 200]
                         [--checkpoint-every 5] [--seed 0] [--fresh]
  deno task train recommend --policy dir/policy.json --state "name=value,..." | --state v1,v2,...`;

function fail(message: string, code = 2): never {
  console.error(`train: ${message}${code === 2 ? `\n${USAGE}` : ""}`);
  Deno.exit(code);
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    data: { type: "string" },
    out: { type: "string", default: "out/train" },
    "num-actions": { type: "string", default: "6" },
    drop: { type: "string", default: "" },
    episodes: { type: "string", default: "200" },
    "checkpoint-every": { type: "string", default: "5" },
    seed: { type: "string", default: "0" },
    fresh: { type: "boolean", default: false },
    policy: { type: "string" },
    state: { type: "string" },
    "dynamics-epochs": { type: "string", default: "100" },
    quick: { type: "boolean", default: false },
    "stop-after": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const int = (flag: string, v: string | undefined, min = 0) => {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) fail(`--${flag} needs an integer >= ${min}, got ${v}`);
  return n;
};
const readJson = async <T>(path: string): Promise<T | null> => {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new Error(`${path}: ${(err as Error).message}`);
  }
};

await initBackend();
const mode = positionals[0];
if (mode === "recommend") {
  if (!values.policy || !values.state) fail("recommend needs --policy and --state");
  const json = await readJson<PolicyJson>(values.policy!);
  if (!json) fail(`no policy file at ${values.policy}`, 1);
  try {
    const policy = policyFromJson(json!, values.policy);
    const parts = values.state!.split(",").map((p) => p.trim());
    let state: number[];
    if (parts.every((p) => p.includes("="))) {
      const named = new Map(parts.map((p) => [p.split("=")[0].trim(), Number(p.split("=")[1])]));
      state = policy.featureNames.map((f) => {
        if (!named.has(f)) throw new RangeError(`--state is missing feature "${f}"`);
        return named.get(f)!;
      });
    } else state = parts.map(Number);
    const r = policy.recommend(state);
    console.log(JSON.stringify({ action: r.action, probabilities: r.probabilities.map((p) => Number(p.toFixed(4))) }));
  } catch (err) {
    fail((err as Error).message, 1);
  }
  Deno.exit(0);
}
if (mode !== "omg-rl") fail(mode ? `unknown mode ${JSON.stringify(mode)}` : "name a mode (omg-rl or recommend)");
if (!values.data) fail("--data is required");

const out = values.out!;
const episodes = int("episodes", values.episodes, 1);
const every = int("checkpoint-every", values["checkpoint-every"], 1);
const seed = int("seed", values.seed);
// One seed, split once into named streams (never seed + k: that is another seed's stream).
const seeds = deriveSeeds(seed, ["split", "dynamics", "agent"]);
const numActions = int("num-actions", values["num-actions"], 1);
await Deno.mkdir(out, { recursive: true });
for (const f of await removeStaleTemps(out)) console.error(`train: removed ${f}, left by a killed run`);
if (values.fresh) {
  for (const f of ["dynamics.json", "checkpoint.json", "history.json", "policy.json", "provenance.json"]) {
    await Deno.remove(`${out}/${f}`).catch(() => {});
  }
}

let raw;
try {
  raw = await readMdpCsv(values.data!, { numActions });
} catch (err) {
  fail((err as Error).message, 1);
}
const drop = new Set(values.drop!.split(",").map((s) => s.trim()).filter(Boolean));
for (const d of drop) {
  if (!raw.featureNames.includes(d)) fail(`--drop names "${d}", which is not a column of ${values.data}`);
}
const keep = raw.featureNames.flatMap((f, j) => (drop.has(f) ? [] : [j]));
const data = keepFeatures(raw, keep);
const { train, test } = splitByIndividual(data, { trainFraction: 0.8, seed: seeds.split });
const normalizer = fitNormalizer(train);
const trainZ = normalizeDataset(train, normalizer), testZ = normalizeDataset(test, normalizer);
console.error(
  `train: ${train.individualIds.length} individuals (${train.size} transitions) for training, ${test.individualIds.length} held out; state: ${
    data.featureNames.join(", ")
  }`,
);

const started = performance.now();
const stamp = () => `[${((performance.now() - started) / 1000).toFixed(0)} s]`;
let dynJson = await readJson<DynamicsJson>(`${out}/dynamics.json`);
if (!dynJson) {
  const dynConfig = values.quick
    ? OMG_RL_QUICK.dynamics
    : { maxEpochs: int("dynamics-epochs", values["dynamics-epochs"], 1) };
  const { model, curves } = trainDynamics(
    trainZ,
    createRng(seeds.dynamics),
    dynConfig,
    (e, _t, v) =>
      console.error(`${stamp()} dynamics epoch ${e + 1}: validation NLL ${v.map((x) => x.toFixed(3)).join(" ")}`),
  );
  dynJson = dynamicsToJson(model);
  await writeTextAtomic(`${out}/dynamics.json`, JSON.stringify(dynJson));
  await writeTextAtomic(`${out}/dynamics_curves.json`, JSON.stringify(curves));
} else console.error(`${stamp()} reusing ${out}/dynamics.json`);
const model = dynamicsFromJson(dynJson, `${out}/dynamics.json`);

const omgConfig = values.quick ? { ...OMG_RL_QUICK.omg, episodes } : { episodes };
const state = createOmgRlState(trainZ.stateDim, numActions, omgConfig, seeds.agent);
const cp = await readJson<OmgRlCheckpoint>(`${out}/checkpoint.json`);
if (cp) {
  restoreOmgRl(state, cp);
  console.error(`${stamp()} resuming from episode ${state.episode} (${out}/checkpoint.json)`);
}
const runStart = performance.now(), firstEpisode = state.episode;
try {
  await runOmgRl(state, trainZ, model, {
    validation: testZ,
    stopAfter: values["stop-after"] === undefined ? undefined : int("stop-after", values["stop-after"], 1),
    onEpisode: async (s, log) => {
      const done = s.episode - firstEpisode, secs = (performance.now() - runStart) / 1000;
      const left = (secs / done) * (s.config.episodes - s.episode);
      console.error(
        `${stamp()} episode ${s.episode}/${s.config.episodes}: critic ${log.sac.criticLoss.toFixed(3)} (td ${
          log.sac.tdLoss.toFixed(3)
        }, conservative ${log.sac.conservativeLoss.toFixed(3)}), actor ${log.sac.actorLoss.toFixed(3)}, reward ${
          log.reward?.loss.toFixed(3)
        }; ~${left.toFixed(0)} s left`,
      );
      if (s.episode % every === 0 || s.episode === s.config.episodes) {
        await writeTextAtomic(`${out}/checkpoint.json`, JSON.stringify(omgRlCheckpoint(s)));
      }
    },
  });
} catch (err) {
  if (err instanceof NonFiniteLossError) {
    fail(`${err.message}. The last good checkpoint (${out}/checkpoint.json) is kept.`, 1);
  }
  throw err;
}
if (state.episode < state.config.episodes) {
  console.error(`${stamp()} stopped after episode ${state.episode} (--stop-after); run again to resume`);
  Deno.exit(0);
}
await writeTextAtomic(
  `${out}/history.json`,
  JSON.stringify({
    config: state.config,
    seed,
    seeds,
    evaluations: state.evaluations,
    logs: state.logs,
  }),
);
// How this (last) stretch of the run was computed: volatile (wall time), so apart from the history.
await writeTextAtomic(`${out}/provenance.json`, JSON.stringify(provenance(runStart), null, 1));
await writeTextAtomic(`${out}/policy.json`, JSON.stringify(policyToJson(state.agent.actor, normalizer)));
const last = state.evaluations[state.evaluations.length - 1];
console.log(
  `omg-rl: ${state.episode} episodes; cumulative r_psi ${last.learnedRewardReturn.toFixed(3)}, model reward ${
    last.modelRewardReturn.toFixed(3)
  } on held-out starts; wrote ${out}/policy.json`,
);
