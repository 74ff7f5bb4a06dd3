/**
 * Trains OMG-RL, or the model-free discrete CQL, on your own data in the kit's CSV format
 * (README), with progress, checkpoints and resume; then recommends dose bins from the saved policy.
 *
 *   deno task train omg-rl --data my.csv [--out dir] [--num-actions 6] [--preset paper|clinical|dosing]
 *                          [--drop aptt] [--episodes 200] [--checkpoint-every 5] [--seed 0] [--fresh] [--quick]
 *                          [--stop-after k]
 *   deno task train cql --data my.csv [--out dir] [--preset dosing] [--steps 10000] [--conservative-weight 0.3]
 *                       [--seed 0] [--fresh] [--quick]
 *   deno task train recommend --policy dir/policy.json --state "age=70,gender=1,..."   (or --state v1,v2,...)
 *
 * CQL trains in one go (about a minute; a killed run starts again) and writes a greedy policy
 * (the argmax of its Q-network), history.json and provenance.json beside run.json.
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
import { createHash } from "node:crypto";
import {
  CQL_DEFAULTS,
  createOmgRlState,
  createRng,
  deriveSeeds,
  dynamicsFromJson,
  type DynamicsJson,
  dynamicsToJson,
  fitNormalizer,
  HEPARIN_CONTEXT_FEATURES,
  heparinStatePreset,
  initBackend,
  isDecimal,
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
  recordDifferences,
  removeStaleTemps,
  resolveCqlConfig,
  restoreOmgRl,
  runOmgRl,
  splitByIndividual,
  trainCql,
  trainDynamics,
  writeTextAtomic,
} from "../mod.ts";

const USAGE = `usage:
  deno task train omg-rl --data my.csv [--out dir] [--num-actions 6] [--preset paper|clinical|dosing] [--drop aptt]
                         [--episodes 200] [--checkpoint-every 5] [--seed 0] [--fresh]
  deno task train cql --data my.csv [--out dir] [--preset dosing] [--steps 10000] [--conservative-weight 0.3] [--seed 0]
  deno task train recommend --policy dir/policy.json --state "name=value,..." | --state v1,v2,...`;

function fail(message: string, code = 2): never {
  console.error(`train: ${message}${code === 2 ? `\n${USAGE}` : ""}`);
  Deno.exit(code);
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      data: { type: "string" },
      out: { type: "string", default: "out/train" },
      "num-actions": { type: "string", default: "6" },
      drop: { type: "string", default: "" },
      preset: { type: "string" },
      episodes: { type: "string", default: "200" },
      "checkpoint-every": { type: "string", default: "5" },
      seed: { type: "string", default: "0" },
      fresh: { type: "boolean", default: false },
      policy: { type: "string" },
      state: { type: "string" },
      "dynamics-epochs": { type: "string" },
      quick: { type: "boolean", default: false },
      "stop-after": { type: "string" },
      steps: { type: "string" },
      "conservative-weight": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (err) {
  fail((err as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const int = (flag: string, v: string | undefined, min = 0) => {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) fail(`--${flag} needs an integer >= ${min}, got ${v}`);
  return n;
};
let runLock: Deno.FsFile | null = null;
const readJson = async <T>(path: string): Promise<T | null> => {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    fail(`cannot read ${path}: ${(err as Error).message}`, 1);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    fail(
      `${path} is corrupt or truncated (${
        (err as Error).message
      }); it cannot be used. Start over with --fresh, or remove that file`,
      1,
    );
  }
};

/** SHA-256 of a file's bytes, read in chunks (the data's identity in run.json). */
async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Takes `<out>/run.lock`, an exclusive file lock, or stops: two runs writing one folder would
 * leave a policy matching neither. The kernel releases the lock when the process ends, however it
 * ends, so a killed run never blocks the next one; a clean exit also removes the file, so a pid
 * still in it means the last run was killed (said when taking over).
 */
async function takeRunLock(dir: string): Promise<void> {
  const path = `${dir}/run.lock`;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (!(await file.tryLock(true))) {
    const owner = (await Deno.readTextFile(path).catch(() => "")).trim();
    fail(`another run${owner ? ` (pid ${owner})` : ""} is writing to ${dir}; wait for it, or use another --out`, 1);
  }
  const previous = (await Deno.readTextFile(path).catch(() => "")).trim();
  if (previous) console.error(`train: took over ${path}, left by a run that did not end cleanly (pid ${previous})`);
  await file.truncate(0);
  await file.write(new TextEncoder().encode(String(Deno.pid)));
  runLock = file; // held open (and locked) until the process ends
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(path);
      runLock?.close();
    } catch { /* gone or closed already */ }
  });
}

await initBackend();
const mode = positionals[0];
if (mode === "recommend") {
  if (!values.policy || !values.state) fail("recommend needs --policy and --state");
  const info = await Deno.stat(values.policy!).catch(() => fail(`no policy file at ${values.policy}`, 1));
  if (!info.isFile || info.size > 256 * 2 ** 20) {
    fail(`${values.policy} is not a policy file (not a regular file, or over 256 MiB)`, 1);
  }
  const json = await readJson<PolicyJson>(values.policy!);
  if (!json) fail(`no policy file at ${values.policy}`, 1);
  try {
    const policy = policyFromJson(json!, values.policy);
    const parts = values.state!.split(",").map((p) => p.trim());
    // Decimal numbers only: Number("") is 0 and Number("0x1") is 1, neither what was meant.
    const num = (text: string, what: string) => {
      const t = text.trim();
      if (!isDecimal(t)) {
        throw new RangeError(`--state: ${what} is ${JSON.stringify(t)}, not a number`);
      }
      return Number(t);
    };
    let state: number[];
    if (parts.every((p) => p.includes("="))) {
      const named = new Map(parts.map((p) => {
        const [name, value = ""] = p.split("=");
        return [name.trim(), num(value, `feature "${name.trim()}"`)] as const;
      }));
      state = policy.featureNames.map((f) => {
        if (!named.has(f)) throw new RangeError(`--state is missing feature "${f}"`);
        return named.get(f)!;
      });
    } else state = parts.map((p, k) => num(p, `value ${k + 1}`));
    const r = policy.recommend(state);
    console.log(JSON.stringify({ action: r.action, probabilities: r.probabilities.map((p) => Number(p.toFixed(4))) }));
  } catch (err) {
    fail((err as Error).message, 1);
  }
  Deno.exit(0);
}
if (mode !== "omg-rl" && mode !== "cql") {
  fail(mode ? `unknown mode ${JSON.stringify(mode)}` : "name a mode (omg-rl, cql or recommend)");
}
if (!values.data) fail("--data is required");
// A flag of the other mode is a mistake, said before any work.
const cqlFlags = ["steps", "conservative-weight"],
  omgFlags = ["episodes", "checkpoint-every", "dynamics-epochs", "stop-after"];
for (const f of mode === "cql" ? omgFlags : cqlFlags) {
  const given = Deno.args.some((a) => a === `--${f}` || a.startsWith(`--${f}=`));
  if (given) fail(`--${f} is a flag of train ${mode === "cql" ? "omg-rl" : "cql"}, not of train ${mode}`);
}
const cqlSteps = values.steps === undefined ? (values.quick ? 300 : CQL_DEFAULTS.steps) : int("steps", values.steps, 1);
const cqlWeight = values["conservative-weight"] === undefined
  ? CQL_DEFAULTS.conservativeWeight
  : Number(values["conservative-weight"]);
if (!(cqlWeight >= 0) || !isDecimal(values["conservative-weight"] ?? "0")) {
  fail(`--conservative-weight needs a number >= 0, got ${values["conservative-weight"]}`);
}

// Every flag is checked before any work, so a mistake costs nothing.
const out = values.out!;
const episodes = int("episodes", values.episodes, 1);
const every = int("checkpoint-every", values["checkpoint-every"], 1);
const seed = int("seed", values.seed);
const numActions = int("num-actions", values["num-actions"], 1);
const stopAfter = values["stop-after"] === undefined ? undefined : int("stop-after", values["stop-after"], 1);
if (values.quick && values["dynamics-epochs"] !== undefined) {
  fail("--quick sets the dynamics' epochs itself; give --dynamics-epochs or --quick, not both");
}
const dynamicsEpochs = values.quick ? null : int("dynamics-epochs", values["dynamics-epochs"] ?? "100", 1);
const dataInfo = await Deno.stat(values.data!).catch(() => fail(`--data: no file at ${values.data}`, 1));
if (!dataInfo.isFile) fail(`--data: ${values.data} is not a regular file (a FIFO, device or folder is refused)`, 1);
const outInfo = await Deno.stat(out).catch(() => null);
if (outInfo && !outInfo.isDirectory) fail(`--out: ${out} exists and is not a folder`);
// One seed, split once into named streams (never seed + k: that is another seed's stream).
const seeds = deriveSeeds(seed, ["split", "dynamics", "agent"]);
// The data are read and checked before anything is written: a bad file leaves no run folder.
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
// A state preset keeps its columns; a variable the cohort builder dropped as too sparse is said,
// a missing dosing-context column is an error (the clinical preset is that context).
let presetColumns: readonly string[] | null = null;
if (values.preset !== undefined) {
  try {
    presetColumns = heparinStatePreset(values.preset);
  } catch (err) {
    fail(`--preset: ${(err as Error).message}`);
  }
  const missing = presetColumns!.filter((f) => !raw.featureNames.includes(f));
  const context = missing.filter((f) => HEPARIN_CONTEXT_FEATURES.includes(f));
  if (context.length > 0) {
    fail(
      `--preset ${values.preset} needs the dosing context, and ${values.data} lacks ${
        context.join(", ")
      }: rebuild it with deno task cohort heparin or deno task simulate heparin`,
      1,
    );
  }
  if (missing.length > 0) console.error(`train: --preset ${values.preset}: the data lack ${missing.join(", ")}`);
  presetColumns = presetColumns!.filter((f) => raw.featureNames.includes(f));
}
await Deno.mkdir(out, { recursive: true });
await takeRunLock(out);
for (const f of await removeStaleTemps(out)) console.error(`train: removed ${f}, left by a killed run`);
const OUTPUTS = [
  "run.json",
  "dynamics.json",
  "dynamics_curves.json",
  "checkpoint.json",
  "history.json",
  "policy.json",
  "provenance.json",
];
if (values.fresh) { for (const f of OUTPUTS) await Deno.remove(`${out}/${f}`).catch(() => {}); }
// What made this run folder: resuming with anything else would stitch two runs together.
const manifest = {
  format: "clinical-rl-run/1",
  task: `train ${mode}`,
  kit: provenance(performance.now()).version,
  data: { sha256: await sha256File(values.data!), bytes: dataInfo.size },
  options: {
    numActions,
    drop: values.drop!.split(",").map((x) => x.trim()).filter(Boolean).sort(),
    ...(values.preset === undefined ? {} : { preset: values.preset }),
    ...(mode === "cql" ? { steps: cqlSteps, conservativeWeight: cqlWeight } : { episodes, dynamicsEpochs }),
    seed,
    quick: values.quick,
  },
};
const previous = await readJson<typeof manifest>(`${out}/run.json`);
if (previous) {
  const differs = recordDifferences(previous, manifest);
  if (differs.length > 0) {
    fail(
      `${out} holds a run made with other inputs (${
        differs.join("; ")
      }); resuming would mix two runs. Start over with --fresh, or use another --out`,
      1,
    );
  }
} else {
  const leftovers = [];
  for (const f of OUTPUTS.slice(1)) if (await Deno.stat(`${out}/${f}`).then(() => true, () => false)) leftovers.push(f);
  if (leftovers.length > 0) {
    fail(
      `${out} holds ${
        leftovers.join(", ")
      } but no run.json saying what made them; start over with --fresh, or use another --out`,
      1,
    );
  }
  await writeTextAtomic(`${out}/run.json`, JSON.stringify(manifest, null, 1));
}

const keep = (presetColumns ?? raw.featureNames).filter((f) => !drop.has(f)).map((f) => raw.featureNames.indexOf(f));
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
if (mode === "cql") {
  // Discrete CQL trains in one go (about a minute at 10,000 steps); a killed run starts again.
  const config = { steps: cqlSteps, conservativeWeight: cqlWeight, ...(values.quick ? { hiddenSizes: [64, 64] } : {}) };
  const { q, losses } = trainCql(trainZ, createRng(seeds.agent), config, (step, loss) => {
    const secs = (performance.now() - started) / 1000;
    console.error(
      `${stamp()} cql step ${step}/${cqlSteps}: loss ${loss.toFixed(3)}; ~${
        (secs / step * (cqlSteps - step)).toFixed(0)
      } s left`,
    );
    if (!Number.isFinite(loss)) fail(`cql: the loss is ${loss} at step ${step}; nothing was written`, 1);
  });
  await writeTextAtomic(
    `${out}/history.json`,
    JSON.stringify({ config: resolveCqlConfig(config), seed, seeds, losses }),
  );
  await writeTextAtomic(`${out}/provenance.json`, JSON.stringify(provenance(started), null, 1));
  await writeTextAtomic(`${out}/policy.json`, JSON.stringify(policyToJson(q, normalizer, { greedy: true })));
  console.log(
    `cql: ${cqlSteps} steps, final loss ${
      losses[losses.length - 1]?.toFixed(3)
    }; wrote ${out}/policy.json (greedy in Q)`,
  );
  Deno.exit(0);
}
let dynJson = await readJson<DynamicsJson>(`${out}/dynamics.json`);
if (!dynJson) {
  const dynConfig = dynamicsEpochs === null ? OMG_RL_QUICK.dynamics : { maxEpochs: dynamicsEpochs };
  const { model, curves } = trainDynamics(
    trainZ,
    createRng(seeds.dynamics),
    dynConfig,
    (e, _t, v) =>
      console.error(`${stamp()} dynamics epoch ${e + 1}: validation NLL ${v.map((x) => x.toFixed(3)).join(" ")}`),
  );
  dynJson = dynamicsToJson(model);
  // The curves first: dynamics.json is what a resumed run looks for, so it marks a complete set.
  await writeTextAtomic(`${out}/dynamics_curves.json`, JSON.stringify(curves));
  await writeTextAtomic(`${out}/dynamics.json`, JSON.stringify(dynJson));
} else console.error(`${stamp()} reusing ${out}/dynamics.json`);
const model = dynamicsFromJson(dynJson, `${out}/dynamics.json`);

const omgConfig = values.quick ? { ...OMG_RL_QUICK.omg, episodes } : { episodes };
const state = createOmgRlState(trainZ.stateDim, numActions, omgConfig, seeds.agent);
const cp = await readJson<OmgRlCheckpoint>(`${out}/checkpoint.json`);
if (cp) {
  try {
    restoreOmgRl(state, cp);
  } catch (err) {
    fail(`${out}/checkpoint.json cannot be resumed: ${(err as Error).message}. Start over with --fresh`, 1);
  }
  console.error(`${stamp()} resuming from episode ${state.episode} (${out}/checkpoint.json)`);
}
const runStart = performance.now(), firstEpisode = state.episode;
try {
  await runOmgRl(state, trainZ, model, {
    validation: testZ,
    stopAfter,
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
