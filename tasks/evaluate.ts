/**
 * Off-policy evaluation of saved policies on a recorded cohort (the kit's CSV format, README):
 * FQE, per-decision WIS and weighted DR estimates with bootstrap intervals over individuals, the
 * effective sample size of each, and the clinicians' own recorded return for reference.
 *
 *   deno task evaluate --data cohort.csv --policy run/policy.json [--policy other.json ...]
 *                      [--out out/evaluate] [--num-actions 6] [--discount 0.99] [--bootstrap 200]
 *                      [--centres 16] [--horizon H] [--uniform] [--seed 0]
 *
 * A policy file is what `deno task train omg-rl` writes (policy.json); its state features are
 * matched to the CSV's columns by name, so the CSV may hold more columns than the policy reads.
 * The behaviour policy and FQE use RBF features of the standardised state (all CSV columns).
 * Writes <out>/evaluation.json (the table, and what was assumed) and <out>/evaluation.html (the
 * estimates with their intervals).
 */
import { parseCli } from "./cli.ts";
import {
  BEHAVIOUR_DEFAULTS,
  evaluatePolicies,
  type EvaluationPolicy,
  type FeatureMap,
  fitBehaviourPolicy,
  fitNormalizer,
  fitRbfFeatures,
  initBackend,
  intervalFigure,
  normalizeStates,
  OpeError,
  policyFromJson,
  type PolicyJson,
  provenance,
  readMdpCsv,
  removeStaleTemps,
  resolveConfig,
  tableFigure,
  writeFigureHtml,
  writeTextAtomic,
} from "../mod.ts";

const USAGE = `usage:
  deno task evaluate --data cohort.csv --policy run/policy.json [--policy other.json ...]
                     [--out out/evaluate] [--num-actions 6] [--discount 0.99] [--bootstrap 200]
                     [--centres 16] [--horizon H] [--uniform] [--seed 0]`;

function fail(message: string, code = 2): never {
  console.error(`evaluate: ${message}${code === 2 ? `\n${USAGE}` : ""}`);
  Deno.exit(code);
}

const { values } = parseCli("evaluate", USAGE, {
  options: {
    data: { type: "string" },
    policy: { type: "string", multiple: true, default: [] },
    out: { type: "string", default: "out/evaluate" },
    "num-actions": { type: "string", default: "6" },
    discount: { type: "string", default: "0.99" },
    bootstrap: { type: "string", default: "200" },
    centres: { type: "string", default: "16" },
    horizon: { type: "string" },
    uniform: { type: "boolean", default: false },
    seed: { type: "string", default: "0" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!values.data) fail("--data is required");
if (values.policy!.length === 0 && !values.uniform) fail("name at least one --policy (or --uniform)");
const num = (name: string, v: string | undefined, lo: number, hi = Infinity, int = true): number => {
  const x = Number(v);
  if (!(Number.isFinite(x) && x >= lo && x <= hi && (!int || Number.isInteger(x)))) {
    fail(`--${name} must be ${int ? "an integer" : "a number"} in [${lo}, ${hi}], got "${v}"`);
  }
  return x;
};
const numActions = num("num-actions", values["num-actions"], 2);
const discount = num("discount", values.discount, 0, 0.999999, false);
const bootstrap = num("bootstrap", values.bootstrap, 10);
const centres = num("centres", values.centres, 1);
const seed = num("seed", values.seed, 0);
const horizon = values.horizon === undefined ? undefined : num("horizon", values.horizon, 1);

await initBackend();
let data;
try {
  data = await readMdpCsv(values.data!, { numActions });
} catch (err) {
  fail((err as Error).message, 1);
}
const S = data.stateDim;

// Policies, their features picked from the CSV's columns by name. Files beyond this size are
// refused before parsing (a 300 MB JSON aborts V8; real policies are a few MB).
const MAX_POLICY_BYTES = 256 * 2 ** 20;
const policies: Record<string, EvaluationPolicy> = {};
for (const path of values.policy!) {
  let json: PolicyJson;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_POLICY_BYTES) throw new Error(`${info.size} bytes, more than a policy file holds; refused`);
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    fail(`cannot read policy ${path}: ${(err as Error).message}`, 1);
  }
  let policy;
  try {
    policy = policyFromJson(json, path);
  } catch (err) {
    fail((err as Error).message, 1);
  }
  if (json.numActions !== numActions) {
    fail(`${path} chooses among ${json.numActions} actions, the data has ${numActions} (--num-actions)`, 1);
  }
  const pick = policy.featureNames.map((f) => {
    const j = data.featureNames.indexOf(f);
    if (j < 0) fail(`${path} reads feature "${f}", which is not a column of ${values.data}`, 1);
    return j;
  });
  let name = path.replace(/\/policy\.json$/, "").split("/").pop() || path;
  while (name in policies) name += "'";
  const x = new Float64Array(pick.length);
  policies[name] = (s) => {
    for (let k = 0; k < pick.length; k++) x[k] = s[pick[k]];
    return policy.recommend(x).probabilities;
  };
}
if (values.uniform) policies.uniform = () => new Array(numActions).fill(1 / numActions);

// Behaviour and FQE features: RBF of the standardised state.
const normalizer = fitNormalizer(data);
const standardise = (s: ArrayLike<number>) => normalizeStates(normalizer, Float32Array.from(s));
let features: FeatureMap;
try {
  const rbf = fitRbfFeatures(standardise(data.states), S, { centres, seed });
  features = { dim: rbf.dim, stateDim: S, transform: (s) => rbf.transform(standardise(s)) };
} catch (err) {
  fail((err as Error).message, 1);
}
console.error(
  `evaluate: ${data.individualIds.length} individuals, ${data.size} transitions, ${numActions} actions; ` +
    `policies: ${Object.keys(policies).join(", ")}`,
);
const started = performance.now();
const mu = fitBehaviourPolicy(data, features, { seed });
console.error(
  `evaluate: behaviour model: held-out log-loss ${mu.heldOutLogLoss.toFixed(3)}, temperature ${
    mu.temperature.toFixed(2)
  }, ${(100 * mu.clippedShare).toFixed(1)}% of probabilities clipped to ${mu.floor}`,
);
let table;
try {
  table = evaluatePolicies(data, features, mu, policies, {
    discount,
    bootstrap,
    seed,
    horizon,
    progress: (m) => console.error(`evaluate: ${m} [${((performance.now() - started) / 1000).toFixed(0)} s]`),
  });
} catch (err) {
  if (err instanceof OpeError || err instanceof RangeError) fail(err.message, 1);
  throw err;
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "n/a");
const header = ["policy", "estimator", "estimate", "95% interval", "ESS"];
const rows = table.rows.map((r) => [
  r.policy,
  r.estimator,
  f(r.estimate),
  `[${f(r.lower)}, ${f(r.upper)}]`,
  r.ess.toFixed(1),
]);
console.log(header.join("\t"));
for (const r of rows) console.log(r.join("\t"));

await Deno.mkdir(values.out!, { recursive: true });
await removeStaleTemps(values.out!);
await writeTextAtomic(
  `${values.out}/evaluation.json`,
  JSON.stringify(
    {
      data: values.data,
      policies: values.policy,
      discount,
      bootstrap,
      seed,
      episodes: table.episodes,
      behaviour: {
        heldOutLogLoss: mu.heldOutLogLoss,
        temperature: mu.temperature,
        floor: mu.floor,
        clippedShare: mu.clippedShare,
      },
      rows: table.rows,
      config: {
        behaviour: resolveConfig("fitBehaviourPolicy", BEHAVIOUR_DEFAULTS, { seed }),
        evaluation: { discount, bootstrap, seed },
      },
      provenance: provenance(started),
    },
    null,
    2,
  ) + "\n",
);
const estimators = [...new Set(table.rows.map((r) => r.estimator))];
const page = await writeFigureHtml(values.out!, "evaluation", "Off-policy evaluation", [
  intervalFigure(
    `Estimated discounted return (discount ${discount}) with 95% bootstrap intervals over individuals`,
    "policy",
    "value",
    estimators.map((e) => {
      const mine = table.rows.filter((r) => r.estimator === e);
      return {
        name: e,
        x: mine.map((r) => r.policy),
        y: mine.map((r) => r.estimate),
        lower: mine.map((r) => r.lower),
        upper: mine.map((r) => r.upper),
      };
    }),
  ),
  tableFigure("Estimates", header, rows),
]);
console.error(`evaluate: wrote ${values.out}/evaluation.json and ${page}`);
