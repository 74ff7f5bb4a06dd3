/**
 * The bad-input catalogue: malformed data and policy files through the CLI, each asserting the
 * exit code, the message (file, line and column where there are some), that no stack trace is
 * printed, and that nothing is written.
 */
import assert from "node:assert/strict";
import { runTask, withTempDir } from "./helpers.ts";

const HEAD = "id,t,x,y,action,reward";
const GOOD = [`${HEAD}`, "p1,0,1,2,0,0.5", "p1,1,1.5,2,1,0.2", "p1,2,2,2,,"];
const withRow = (line: number, row: string) => GOOD.map((r, k) => (k === line ? row : r)).join("\n") + "\n";

/** [name, file contents (text or bytes), expected message]; every case exits 1. */
const CSV_CASES: [string, string | Uint8Array, RegExp][] = [
  ["an empty file", "", /the file is empty/],
  ["a header only", `${HEAD}\n`, /header but no data rows/],
  ["no id column", "t,x,action,reward\n0,1,0,0\n", /line 1: missing column "id"/],
  ["a doubled column", "id,t,x,x,action,reward\np,0,1,1,0,0\n", /line 1: column "x" appears twice/],
  ["a word for a number", withRow(2, "p1,1,abc,2,1,0.2"), /line 3, column "x": expected a number, got "abc"/],
  ["a missing value", withRow(2, "p1,1,,2,1,0.2"), /line 3, column "x": missing value ""/],
  ["NA for a value", withRow(2, "p1,1,NA,2,1,0.2"), /line 3, column "x": missing value "NA"/],
  ["a hexadecimal number", withRow(1, "p1,0,0x1A,2,0,0.5"), /line 2, column "x": expected a number, got "0x1A"/],
  ["a binary number", withRow(1, "p1,0,0b11,2,0,0.5"), /line 2, column "x": expected a number, got "0b11"/],
  ["Infinity", withRow(1, "p1,0,Infinity,2,0,0.5"), /line 2, column "x": expected a number, got "Infinity"/],
  ["a value beyond float32", withRow(1, "p1,0,1e39,2,0,0.5"), /line 2, column "x": 1e39 is beyond the float32 range/],
  ["a fractional time", withRow(2, "p1,1.5,1.5,2,1,0.2"), /line 3, column "t": expected an integer time index/],
  ["a negative time", withRow(1, "p1,-1,1,2,0,0.5"), /line 2, column "t": expected an integer time index/],
  ["a time beyond int32", withRow(1, "p1,2147483648,1,2,0,0.5"), /line 2, column "t": .*got 2147483648/],
  ["a negative action", withRow(1, "p1,0,1,2,-1,0.5"), /line 2, column "action": expected a non-negative integer/],
  ["a fractional action", withRow(1, "p1,0,1,2,0.5,0.5"), /line 2, column "action": expected a non-negative integer/],
  ["an action out of range", withRow(1, "p1,0,1,2,7,0.5"), /line 2, column "action": action 7 is outside .*\[0, 6\)/],
  [
    "a word for a reward",
    withRow(1, "p1,0,1,2,0,good"),
    /line 2, column "reward": expected a finite reward, got "good"/,
  ],
  ["a short row", withRow(2, "p1,1,1.5,2,1"), /line 3: 5 fields, but the header has 6/],
  ["a long row", withRow(2, "p1,1,1.5,2,1,0.2,9"), /line 3: 7 fields, but the header has 6/],
  ["an unterminated quote", withRow(2, 'p1,1,"1.5,2,1,0.2'), /not readable as CSV/],
  [
    "a bad done flag",
    `${HEAD},done\np1,0,1,2,0,0.5,0\np1,1,1,2,,,yes\n`,
    /line 3, column "done": expected 0 or 1, got "yes"/,
  ],
  ["an empty id", withRow(1, ",0,1,2,0,0.5"), /line 2, column "id": the id is empty/],
  ["times out of order", withRow(2, "p1,5,1.5,2,1,0.2"), /line 4: t = 2 comes after t = 5 for id p1/],
  [
    "a Latin-1 byte in an id",
    Uint8Array.from([...new TextEncoder().encode(`${HEAD}\np`), 0xe9, ...new TextEncoder().encode(",0,1,2,0,0.5\n")]),
    /line 2: byte 0xe9 at offset \d+ is not UTF-8/,
  ],
];

Deno.test("the bad-input catalogue: every malformed data file is one clear line, exit 1, and nothing written", async () => {
  await withTempDir(async (dir) => {
    for (const [k, [name, contents, message]] of CSV_CASES.entries()) {
      const path = `${dir}/case-${k}.csv`;
      if (typeof contents === "string") await Deno.writeTextFile(path, contents);
      else await Deno.writeFile(path, contents);
      const out = `${dir}/out-${k}`;
      const r = await runTask("train.ts", ["omg-rl", "--data", path, "--out", out, "--quick"]);
      assert.equal(r.code, 1, `${name}: exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, message, name);
      assert.match(r.stderr, new RegExp(`case-${k}\\.csv`), `${name}: the message names the file`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
      await assert.rejects(Deno.stat(out), `${name}: nothing is written`);
    }
  });
});

Deno.test("the bad-input catalogue: malformed policy files and states are refused before any recommendation", async () => {
  await withTempDir(async (dir) => {
    const policy = {
      format: "softmax-policy/1",
      featureNames: ["x", "y"],
      numActions: 2,
      hiddenSizes: [],
      mean: [0, 0],
      std: [1, 1],
      params: {
        format: "clinical-rl-params/1",
        tensors: { "actor/0/w": { shape: [2, 2], data: [1, 0, 0, 1] }, "actor/0/b": { shape: [2], data: [0, 0] } },
      },
    };
    const weights = (w0: unknown[]) => ({
      "actor/0/w": { shape: [2, 2], data: w0 },
      "actor/0/b": { shape: [2], data: [0, 0] },
    });
    const cases: [string, string, RegExp][] = [
      ["not JSON", "{", /corrupt or truncated/],
      ["another format", JSON.stringify({ ...policy, format: "x" }), /not a policy file/],
      ["a zero std", JSON.stringify({ ...policy, std: [1, 0] }), /std\[1\] \(y\) must be a positive finite number/],
      ["a short mean", JSON.stringify({ ...policy, mean: [0] }), /mean must hold one number per feature/],
      [
        "a greedy flag that is not a boolean",
        JSON.stringify({ ...policy, greedy: "yes" }),
        /greedy must be true or false/,
      ],
      [
        "a null weight",
        JSON.stringify({
          ...policy,
          params: { ...policy.params, tensors: { "actor/0/w": { shape: [2, 2], data: [null, 0, 0, 1] } } },
        }),
        /is null, not a finite float32 number/,
      ],
      ["doubled names", JSON.stringify({ ...policy, featureNames: ["x", "x"] }), /feature names must be unique/],
      [
        "a negative std",
        JSON.stringify({ ...policy, std: [1, -2] }),
        /std\[1\] \(y\) must be a positive finite number/,
      ],
      [
        "a word for a weight",
        JSON.stringify({ ...policy, params: { ...policy.params, tensors: weights(["abc", 0, 0, 1]) } }),
        /not a finite float32 number/,
      ],
      [
        "a weight beyond float32",
        JSON.stringify({ ...policy, params: { ...policy.params, tensors: weights([1e39, 0, 0, 1]) } }),
        /not a finite float32 number/,
      ],
    ];
    for (const [k, [name, text, message]] of cases.entries()) {
      await Deno.writeTextFile(`${dir}/p${k}.json`, text);
      const r = await runTask("train.ts", ["recommend", "--policy", `${dir}/p${k}.json`, "--state", "1,2"]);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message, name);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
      assert.equal(r.stdout, "", `${name}: no recommendation`);
    }
    // A good policy with malformed states: empty, missing or non-decimal values are errors, not 0.
    await Deno.writeTextFile(`${dir}/good.json`, JSON.stringify(policy));
    const good = await runTask("train.ts", ["recommend", "--policy", `${dir}/good.json`, "--state", "1,2"]);
    assert.equal(good.code, 0, good.stderr);
    for (
      const [state, message] of [
        ["1,", /value 2 is "", not a number/],
        ["x=1,y=", /feature "y" is "", not a number/],
        ["x=1", /--state is missing feature "y"/],
        ["1,0x2", /value 2 is "0x2", not a number/],
      ] as const
    ) {
      const r = await runTask("train.ts", ["recommend", "--policy", `${dir}/good.json`, "--state", state]);
      assert.equal(r.code, 1, `--state ${state}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "", `--state ${state}: no recommendation`);
    }
    // A file over the size bound is refused before it is read (a sparse 300 MB file).
    using big = await Deno.open(`${dir}/big.json`, { write: true, create: true });
    await big.truncate(300 * 2 ** 20);
    const huge = await runTask("train.ts", ["recommend", "--policy", `${dir}/big.json`, "--state", "1,2"]);
    assert.equal(huge.code, 1);
    assert.match(huge.stderr, /over 256 MiB/);
    await Deno.mkdir(`${dir}/folder.json`);
    const folder = await runTask("train.ts", ["recommend", "--policy", `${dir}/folder.json`, "--state", "1,2"]);
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /not a policy file \(not a regular file/);
  });
});

Deno.test("every task answers an unknown flag with one line and its usage, exit 2, no stack trace", async () => {
  const tasks = [
    "train",
    "evaluate",
    "cohort",
    "simulate",
    "repro",
    "grid",
    "collect",
    "main",
    "calibrate",
    "notebooks",
  ];
  for (const task of tasks) {
    const r = await runTask(`${task}.ts`, task === "train" ? ["omg-rl", "--bogus"] : ["--bogus"]);
    assert.equal(r.code, 2, `${task}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^${task}: Unknown option '--bogus'`, "m"), task);
    assert.match(r.stderr, /usage/, `${task}: the usage follows`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${task}: no stack trace`);
  }
});
