/**
 * Writes simulated data in the kit's CSV format.
 *
 *   deno task simulate <env> --episodes N --seed S --out data.csv [options]
 *
 * Environments and their options:
 *   p4l-simple   P4L section 6.1        --horizon T (default 50)  --groups a,b,c
 *   cartpole     P4L section 6.2        --setting A|B|C  --horizon (300)  --epsilon (0)  --groups ...
 *   sepsis       Oberst & Sontag        --horizon (20)  --epsilon (clinician, 0.05)  --glucose original|corrected
 *                                       --groups non-diabetic,diabetic (default: diabetic w.p. 0.2)
 *   heparin      OMG-RL's cohort        --horizon (72; each stay is 7-72 h)
 *
 * One episode per individual; individuals cycle through the groups in order. The behaviour
 * policy generates the actions.
 */
import { parseCli } from "./cli.ts";
import {
  createCartPoleEnv,
  createHeparinEnv,
  createP4lSimpleEnv,
  createRng,
  createSepsisEnv,
  drawPopulation,
  type Environment,
  simulate,
  writeMdpCsv,
} from "../mod.ts";

const USAGE =
  "usage: deno task simulate <p4l-simple|cartpole|sepsis|heparin> --episodes N --seed S --out data.csv [--horizon T] [--groups g1,g2] [--setting A|B|C] [--epsilon e] [--glucose original|corrected]";

function fail(message: string): never {
  console.error(`simulate: ${message}\n${USAGE}`);
  Deno.exit(2);
}

const { values, positionals } = parseCli("simulate", USAGE, {
  allowPositionals: true,
  options: {
    episodes: { type: "string", default: "30" },
    seed: { type: "string", default: "0" },
    out: { type: "string" },
    horizon: { type: "string" },
    groups: { type: "string" },
    setting: { type: "string" },
    epsilon: { type: "string" },
    glucose: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const name = positionals[0] ?? fail("name an environment");
const int = (flag: string, v: string | undefined) => {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n)) fail(`--${flag} needs an integer, got ${v}`);
  return n;
};
const episodes = int("episodes", values.episodes);
const seed = int("seed", values.seed);
const horizon = values.horizon === undefined ? undefined : int("horizon", values.horizon);
const out = values.out ?? fail("--out is required");

// deno-lint-ignore no-explicit-any
let env: Environment<any, any>;
try {
  switch (name) {
    case "p4l-simple":
      env = createP4lSimpleEnv({ horizon });
      break;
    case "cartpole":
      env = createCartPoleEnv({
        horizon,
        setting: (values.setting ?? "A") as "A" | "B" | "C",
        epsilon: values.epsilon === undefined ? undefined : Number(values.epsilon),
      });
      break;
    case "sepsis":
      env = createSepsisEnv({
        horizon,
        clinicianEpsilon: values.epsilon === undefined ? undefined : Number(values.epsilon),
        glucoseRule: (values.glucose ?? "original") as "original" | "corrected",
      });
      break;
    case "heparin":
      env = createHeparinEnv({ horizon });
      break;
    default:
      fail(`unknown environment ${JSON.stringify(name)}`);
  }
  const groups = values.groups?.split(",") ?? (name === "sepsis" || name === "heparin" ? undefined : env.groups);
  const individuals = drawPopulation(env, createRng(seed), episodes, groups);
  const data = simulate(env, { individuals, seed: seed + 1 });
  await writeMdpCsv(out, data);
  console.log(`${name}: ${data.individualIds.length} episodes, ${data.size} transitions -> ${out}`);
} catch (err) {
  fail((err as Error).message);
}
