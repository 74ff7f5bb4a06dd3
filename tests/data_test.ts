import assert from "node:assert/strict";
import {
  binToValue,
  concatDatasets,
  createMdpDataset,
  createRng,
  datasetToStepTable,
  decodeUtf8,
  dropSparseFeatures,
  epochBatches,
  fitNormalizer,
  fitQuantileBins,
  gatherBatch,
  knnImpute,
  listEpisodes,
  normalizeDataset,
  parseStepCsv,
  readMdpCsv,
  readStepCsv,
  removeStaleTemps,
  sampleAndHold,
  sampleBatch,
  selectIndividuals,
  selectTransitions,
  sliceEpisodes,
  splitByIndividual,
  stepTableToDataset,
  streamMdpCsv,
  subsampleMdpCsv,
  valueToBin,
  writeMdpCsv,
  writeTextAtomic,
} from "../mod.ts";
import { assertClose, withTempDir } from "./helpers.ts";

const SMALL = `id,t,hr,map,action,reward,done
a,0,80,70,1,0.5,0
a,1,82,71,2,0.25,0
a,2,85,72,,,1
b,0,60,90,0,1,0
b,1,61,91,,,0
`;

Deno.test("parseStepCsv() and stepTableToDataset() build transitions with terminals and time-outs apart", () => {
  const ds = stepTableToDataset(parseStepCsv(SMALL, { numActions: 3 }));
  assert.equal(ds.size, 3);
  assert.deepEqual(ds.featureNames, ["hr", "map"]);
  assert.deepEqual(ds.individualIds, ["a", "b"]);
  assert.deepEqual(Array.from(ds.states), [80, 70, 82, 71, 60, 90]);
  assert.deepEqual(Array.from(ds.nextStates), [82, 71, 85, 72, 61, 91]);
  assert.deepEqual(Array.from(ds.actions), [1, 2, 0]);
  assert.deepEqual(Array.from(ds.rewards), [0.5, 0.25, 1]);
  assert.deepEqual(Array.from(ds.terminals), [0, 1, 0]);
  assert.deepEqual(Array.from(ds.timeouts), [0, 0, 1]);
  assert.deepEqual(listEpisodes(ds).map((e) => [e.id, e.start, e.end]), [["a", 0, 2], ["b", 2, 3]]);
  assert.ok(Object.isFrozen(ds));
});

Deno.test("a dataset survives writing to CSV and reading back unchanged", async () => {
  await withTempDir(async (dir) => {
    const rng = createRng(1);
    const lines = ["id,t,x,y,action,reward,done"];
    for (let p = 0; p < 5; p++) {
      for (let t = 0; t < 4; t++) {
        lines.push(`p${p},${t},${rng.normal()},${rng.uniform()},${rng.int(4)},${rng.normal()},0`);
      }
      lines.push(`p${p},4,${rng.normal()},${rng.uniform()},,,${p % 2}`);
    }
    const ds = stepTableToDataset(parseStepCsv(lines.join("\n"), { numActions: 4 }));
    await writeMdpCsv(`${dir}/d.csv`, ds);
    const back = await readMdpCsv(`${dir}/d.csv`, { numActions: 4 });
    for (
      const key of [
        "states",
        "nextStates",
        "actions",
        "rewards",
        "terminals",
        "timeouts",
        "times",
        "individuals",
      ] as const
    ) {
      assert.deepEqual(back[key], ds[key], key);
    }
    assert.deepEqual(back.individualIds, ds.individualIds);
  });
});

/** Each bad input and the words its error must contain. */
const BAD_INPUTS: [string, string, RegExp][] = [
  ["an empty file", "", /is empty/],
  ["a header without rows", "id,t,x,action,reward\n", /no data rows/],
  ["a missing column", "id,t,x,reward\na,0,1,0\n", /missing column "action"/],
  ["a duplicated column", "id,t,x,x,action,reward\na,0,1,1,0,0\n", /column "x" appears twice/],
  [
    "a non-numeric value",
    "id,t,x,action,reward\na,0,1,0,0\na,1,abc,0,0\n",
    /line 3, column "x": expected a number, got "abc"/,
  ],
  [
    "an infinite value",
    "id,t,x,action,reward\na,0,Infinity,0,0\na,1,1,0,0\n",
    /line 2, column "x": expected a number, got "Infinity"/,
  ],
  [
    "a missing value without allowMissing",
    "id,t,x,action,reward\na,0,,0,0\na,1,1,0,0\n",
    /line 2, column "x": missing value/,
  ],
  [
    "NaN in a reward",
    "id,t,x,action,reward\na,0,1,0,NaN\na,1,1,0,0\n",
    /line 2, column "reward": expected a finite reward/,
  ],
  ["a duplicate (id, t)", "id,t,x,action,reward\na,0,1,0,0\na,0,2,0,0\n", /line 3: duplicate \(id, t\) = \(a, 0\)/],
  ["unordered times", "id,t,x,action,reward\na,1,1,0,0\na,0,2,0,0\n", /line 3: t = 0 comes after t = 1/],
  [
    "non-contiguous ids",
    "id,t,x,action,reward\na,0,1,0,0\na,1,1,0,0\nb,0,1,0,0\nb,1,1,0,0\na,2,1,0,0\n",
    /line 6: rows of id a are not contiguous/,
  ],
  ["an individual with one step", "id,t,x,action,reward\na,0,1,0,0\na,1,1,0,0\nb,0,1,0,0\n", /line 4: id b has 1 step/],
  [
    "an action outside the declared range",
    "id,t,x,action,reward\na,0,1,6,0\na,1,1,0,0\n",
    /line 2, column "action": action 6 is outside the declared range \[0, 6\)/,
  ],
  [
    "a fractional action",
    "id,t,x,action,reward\na,0,1,1.5,0\na,1,1,0,0\n",
    /expected a non-negative integer action, got 1.5/,
  ],
  ["a ragged row", "id,t,x,action,reward\na,0,1,0,0\na,1,1,0\n", /line 3: 4 fields, but the header has 5/],
  [
    "done before the last row",
    "id,t,x,action,reward,done\na,0,1,0,0,1\na,1,1,0,0,0\n",
    /line 2: done = 1 before the last row/,
  ],
  ["an empty action before the last row", "id,t,x,action,reward\na,0,1,,0\na,1,1,0,0\n", /line 2: action is empty/],
];

for (const [what, text, pattern] of BAD_INPUTS) {
  Deno.test(`reading a CSV with ${what} fails with an error naming the file and place`, async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/bad.csv`;
      await Deno.writeTextFile(path, text);
      await assert.rejects(() => readMdpCsv(path, { numActions: 6 }), (err: Error) => {
        assert.match(err.message, pattern);
        assert.ok(err.message.startsWith(path), `message should start with the file name: ${err.message}`);
        return true;
      });
    });
  });
}

Deno.test("reading a file that does not exist names it", async () => {
  await assert.rejects(() => readMdpCsv("/nonexistent/data.csv"), /\/nonexistent\/data.csv: cannot read the file/);
});

Deno.test("writes are atomic: a failed write leaves neither a partial file nor a temporary one", async () => {
  await withTempDir(async (dir) => {
    await writeTextAtomic(`${dir}/out.csv`, "old");
    const ds = stepTableToDataset(parseStepCsv(SMALL));
    // A dataset whose feature names are not strings makes the CSV writer throw mid-way.
    // deno-lint-ignore no-explicit-any
    const broken = { ...ds, featureNames: [Symbol("x") as any, "map"] };
    await assert.rejects(() => writeMdpCsv(`${dir}/out.csv`, broken));
    assert.equal(await Deno.readTextFile(`${dir}/out.csv`), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out.csv"]);
    await assert.rejects(() => writeTextAtomic(`${dir}/no/such/dir/x.csv`, "x"));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out.csv"]);
  });
});

Deno.test("temporary files a killed writer left are removed by the next run; a live writer's, new ones and other files stay", async () => {
  await withTempDir(async (dir) => {
    const dead = ".checkpoint.json.tmp-4194311-0123abcd", live = `.history.json.tmp-${Deno.pid}-89abcdef`;
    const fresh = ".policy.json.tmp-4194312-01234567";
    for (const name of [dead, live, fresh, "policy.json", ".hidden"]) await Deno.writeTextFile(`${dir}/${name}`, "x");
    // Old enough to be past a writer's create-then-lock moment; the live one's writer holds its lock.
    const old = new Date(Date.now() - 60_000);
    for (const name of [dead, live, "policy.json"]) await Deno.utime(`${dir}/${name}`, old, old);
    using holder = await Deno.open(`${dir}/${live}`, { read: true, write: true });
    await holder.lock(true);
    // The lock is per open file description, so a second process must test it: a child does.
    const child = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { removeStaleTemps } from "${new URL("../lib/util/files.ts", import.meta.url).href}";
         console.log(JSON.stringify(await removeStaleTemps(${JSON.stringify(dir)})));`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
    assert.deepEqual(JSON.parse(new TextDecoder().decode(child.stdout)), [dead]);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(left, [".hidden", fresh, live, "policy.json"].sort());
    assert.deepEqual(await removeStaleTemps(`${dir}/missing`), []);
  });
});

Deno.test("splitByIndividual() never splits an individual, is seeded and defaults to 8:2", () => {
  const lines = ["id,t,x,action,reward"];
  for (let p = 0; p < 50; p++) for (let t = 0; t < 3; t++) lines.push(`p${p},${t},${p},0,0`);
  const ds = stepTableToDataset(parseStepCsv(lines.join("\n")));
  const { train, test } = splitByIndividual(ds, { seed: 3 });
  assert.equal(train.individualIds.length, 40);
  assert.equal(test.individualIds.length, 10);
  const overlap = train.individualIds.filter((id) => test.individualIds.includes(id));
  assert.deepEqual(overlap, []);
  for (const part of [train, test]) {
    for (const e of listEpisodes(part)) assert.equal(e.end - e.start, 2, "whole episodes");
  }
  assert.deepEqual(splitByIndividual(ds, { seed: 3 }).test.individualIds, test.individualIds);
  assert.notDeepEqual(splitByIndividual(ds, { seed: 4 }).test.individualIds, test.individualIds);
  assert.throws(() => splitByIndividual(ds, { trainFraction: 1 }), /trainFraction/);
});

Deno.test("a normaliser fitted on the training split gives it zero mean and unit variance", () => {
  const lines = ["id,t,x,c,action,reward"];
  const rng = createRng(4);
  for (let p = 0; p < 20; p++) for (let t = 0; t < 5; t++) lines.push(`p${p},${t},${10 + 3 * rng.normal()},7,0,0`);
  const ds = stepTableToDataset(parseStepCsv(lines.join("\n")));
  const { train, test } = splitByIndividual(ds);
  const norm = fitNormalizer(train);
  const z = normalizeDataset(train, norm);
  const xs = Array.from({ length: z.size }, (_, i) => z.states[2 * i]);
  const mean = xs.reduce((a, b) => a + b) / xs.length;
  assertClose(mean, 0, { atol: 1e-5 });
  assertClose(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length, 1, { atol: 1e-4 });
  assert.equal(norm.std[1], 1, "a constant feature keeps unit scale");
  const zt = normalizeDataset(test, norm);
  assertClose(zt.states[0], (test.states[0] - norm.mean[0]) / norm.std[0], { atol: 1e-6 });
});

Deno.test("fitQuantileBins() puts equal counts in each bin and maps a dose to a bin and back", () => {
  const values = Array.from({ length: 600 }, (_, i) => i + 0.5);
  const bins = fitQuantileBins(values, 6);
  const counts = new Array(6).fill(0);
  for (const v of values) counts[valueToBin(bins, v)]++;
  assert.deepEqual(counts, [100, 100, 100, 100, 100, 100]);
  assertClose(Array.from(bins.edges), [100.33333, 200.16667, 300, 399.83333, 499.66667], { atol: 1e-4 });
  for (let k = 0; k < 6; k++) assert.equal(valueToBin(bins, binToValue(bins, k)), k);
  assert.equal(valueToBin(bins, -1e9), 0);
  assert.equal(valueToBin(bins, 1e9), 5);
  assert.throws(() => fitQuantileBins([1, 1, 1, 1, 1, 1, 2], 6), /coincide/);
  assert.throws(() => binToValue(bins, 6), /\[0, 6\)/);
});

Deno.test("missing values: sparse features dropped, sample-and-hold within an individual, then KNN", () => {
  const text = `id,t,hr,lab,rare,action,reward
a,0,80,1.0,,0,0
a,1,,,,0,0
a,2,90,2.0,,0,0
b,0,,3.0,5,0,0
b,1,70,,,0,0
c,0,81,1.1,,0,0
c,1,79,0.9,,0,0
`;
  const table = parseStepCsv(text, { allowMissing: true });
  const { table: kept, dropped } = dropSparseFeatures(table, 0.5);
  assert.deepEqual(dropped.map((d) => d.name), ["rare"]);
  assertClose(dropped[0].missingRate, 6 / 7);
  const held = sampleAndHold(kept);
  // a,1 takes a,0's values; b,0's hr stays missing (nothing earlier within b); b,1's lab holds 3.0.
  assert.deepEqual(Array.from(held.features.slice(2, 4)), [80, 1.0]);
  assert.ok(Number.isNaN(held.features[6]));
  assert.equal(held.features[9], 3.0);
  const filled = knnImpute(held, { k: 1 });
  // b,0 has lab = 3.0 only: its nearest complete row by lab is b,1 (lab held at 3.0, hr 70);
  // with k = 2 the next nearest is a,2 (lab 2.0, hr 90).
  assert.equal(filled.features[6], 70);
  assert.equal(knnImpute(held, { k: 2 }).features[6], 80);
  assert.ok(!filled.features.some(Number.isNaN));
  const ds = stepTableToDataset(filled);
  assert.equal(ds.size, 4);
  assert.throws(() => stepTableToDataset(held), /feature "hr" is missing; impute first/);
});

Deno.test("episodes can be selected, sliced and concatenated", () => {
  const ds = stepTableToDataset(parseStepCsv(SMALL));
  const b = selectIndividuals(ds, [1]);
  assert.deepEqual(b.individualIds, ["b"]);
  assert.equal(b.size, 1);
  assert.deepEqual(sliceEpisodes(ds, 0, 1).individualIds, ["a"]);
  const both = concatDatasets([sliceEpisodes(ds, 1), sliceEpisodes(ds, 0, 1)]);
  assert.deepEqual(both.individualIds, ["b", "a"]);
  assert.deepEqual(Array.from(both.actions), [0, 1, 2]);
  assert.throws(() => concatDatasets([ds, ds]), /appears in two datasets/);
  const table = datasetToStepTable(ds);
  assert.equal(table.ids.length, 5);
});

Deno.test("mini-batches gather the right rows and epochs cover every row once", () => {
  const ds = stepTableToDataset(parseStepCsv(SMALL));
  const batch = gatherBatch(ds, [2, 0]);
  assert.deepEqual(Array.from(batch.states), [60, 90, 80, 70]);
  assert.deepEqual(Array.from(batch.terminals), [0, 0]);
  const rng = createRng(0);
  assert.equal(sampleBatch(ds, rng, 16).batchSize, 16);
  const seen = [...epochBatches(rng, 10, 4)].flatMap((b) => Array.from(b)).sort((a, b) => a - b);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("readStepCsv() reads custom column names and a file without rewards", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/c.csv`, "patient,hour,x,dose\n1,0,0.5,2\n1,1,0.7,\n");
    const table = await readStepCsv(`${dir}/c.csv`, {
      idColumn: "patient",
      timeColumn: "hour",
      actionColumn: "dose",
      rewardColumn: null,
    });
    const ds = stepTableToDataset(table);
    assert.equal(ds.numActions, 3);
    assert.deepEqual(Array.from(ds.rewards), [0]);
  });
});

Deno.test("selectTransitions with truncate ends each individual's kept rows in a time-out", () => {
  const ds = createMdpDataset({
    numActions: 2,
    featureNames: ["x"],
    individualIds: ["p", "q"],
    individuals: Int32Array.of(0, 0, 0, 1, 1),
    times: Int32Array.of(0, 1, 2, 0, 1),
    states: Float32Array.of(0, 1, 2, 3, 4),
    actions: Int32Array.of(0, 1, 0, 1, 0),
    rewards: Float32Array.of(1, 1, 1, 1, 1),
    nextStates: Float32Array.of(1, 2, 3, 4, 5),
    terminals: Uint8Array.of(0, 0, 1, 0, 0),
    timeouts: Uint8Array.of(0, 0, 0, 0, 1),
  });
  assert.throws(() => selectTransitions(ds, [0, 1, 3]), /without a terminal or time-out/);
  const cut = selectTransitions(ds, [0, 1, 3], { truncate: true });
  assert.deepEqual(Array.from(cut.timeouts), [0, 1, 1]);
  assert.deepEqual(Array.from(selectTransitions(ds, [2, 4], { truncate: true }).terminals), [1, 0]);
});

Deno.test("CSV decoding is strict: non-UTF-8 bytes, hexadecimal, times beyond int32 and values beyond float32 are errors", async () => {
  await withTempDir(async (dir) => {
    // Two patients whose ids differ only in a Latin-1 byte: a lenient decoder would merge them.
    const head = new TextEncoder().encode("id,t,x,action,reward\n");
    const row = (id: number[], rest: string) => [...id, ...new TextEncoder().encode(rest)];
    const bytes = Uint8Array.from([...head, ...row([0x70, 0xe9], ",0,1,0,0\n"), ...row([0x70, 0xe8], ",0,1,0,0\n")]);
    await Deno.writeFile(`${dir}/latin1.csv`, bytes);
    await assert.rejects(readStepCsv(`${dir}/latin1.csv`), /latin1\.csv, line 2: byte 0xe9 at offset 22 is not UTF-8/);
    const cases: [string, RegExp][] = [
      ["p,0,0x1A,0,0", /column "x": expected a number, got "0x1A"/],
      ["p,0,1e39,0,0", /column "x": 1e39 is beyond the float32 range/],
      ["p,2147483648,1,0,0", /column "t": expected an integer time index in \[0, 2\^31\), got 2147483648/],
      ["p,-1,1,0,0", /column "t": expected an integer time index/],
      ["p,0,Infinity,0,0", /column "x": expected a number, got "Infinity"/],
      ["p,0,1,0,1e300", /column "reward": 1e300 is beyond the float32 range/],
    ];
    for (const [line, message] of cases) {
      assert.throws(() => parseStepCsv(`id,t,x,action,reward\n${line}\n`, { source: "c.csv" }), message, line);
    }
    // Plain decimals in every form still read.
    const ok = parseStepCsv("id,t,x,action,reward\np,0,-1.5e-3,0,+2\np,1,.5,1,3.\n", { source: "c.csv" });
    assert.deepEqual(Array.from(ok.features), [-1.5e-3, 0.5]);
    assert.equal(decodeUtf8(new TextEncoder().encode("é,ü")), "é,ü");
  });
});

Deno.test("the CSV reader streams: a file of many chunks reads whole, and an error deep in it names its line", async () => {
  await withTempDir(async (dir) => {
    const rows = ["id,t,x,action,reward"];
    for (let i = 0; i < 20_000; i++) rows.push(`p${Math.floor(i / 10)},${i % 10},${(i * 0.001).toFixed(3)},${i % 3},1`);
    await Deno.writeTextFile(`${dir}/ok.csv`, rows.join("\n") + "\n");
    const table = await readStepCsv(`${dir}/ok.csv`);
    assert.equal(table.times.length, 20_000);
    assert.equal(table.features[19_999], 19.999);
    assert.equal(table.lines![19_999], 20_001);
    const bad = [...rows];
    bad[15_000] = bad[15_000].replace(/,1$/, ",0x1");
    await Deno.writeTextFile(`${dir}/bad.csv`, bad.join("\n") + "\n");
    await assert.rejects(
      readStepCsv(`${dir}/bad.csv`),
      /bad\.csv, line 15001, column "reward": expected a finite reward, got "0x1"/,
    );
    const bytes = new TextEncoder().encode(rows.join("\n") + "\n");
    const at = bytes.indexOf(0x0a, bytes.length - 2000) + 2; // inside the id of a row near the end
    bytes[at] = 0xff;
    await Deno.writeFile(`${dir}/latin.csv`, bytes);
    const line = new TextDecoder().decode(bytes.subarray(0, at)).split("\n").length;
    await assert.rejects(readStepCsv(`${dir}/latin.csv`), new RegExp(`latin\\.csv, line ${line}: byte 0xff`));
  });
});

Deno.test("streamMdpCsv() yields whole individuals in chunks that concatenate to readMdpCsv()'s dataset", async () => {
  await withTempDir(async (dir) => {
    const rng = createRng(3);
    const lines = ["id,t,x,y,action,reward,done"];
    for (let p = 0; p < 40; p++) {
      const steps = 2 + rng.int(6);
      for (let t = 0; t < steps - 1; t++) {
        lines.push(`p${p},${t},${rng.normal()},${rng.uniform()},${rng.int(3)},${rng.normal()},0`);
      }
      lines.push(`p${p},${steps - 1},${rng.normal()},${rng.uniform()},,,${p % 2}`);
    }
    await Deno.writeTextFile(`${dir}/d.csv`, lines.join("\n") + "\n");
    const whole = await readMdpCsv(`${dir}/d.csv`, { numActions: 3 });
    const chunks = [];
    for await (const chunk of streamMdpCsv(`${dir}/d.csv`, { numActions: 3, chunkRows: 25 })) chunks.push(chunk);
    assert.ok(chunks.length >= 5, `${chunks.length} chunks`);
    // Every chunk but the last has at least chunkRows rows (transitions + one last row per individual).
    for (const c of chunks.slice(0, -1)) assert.ok(c.size + c.individualIds.length >= 25);
    const joined = concatDatasets(chunks);
    assert.deepEqual(joined.individualIds, whole.individualIds);
    for (const key of ["states", "nextStates", "actions", "rewards", "terminals", "timeouts", "times"] as const) {
      assert.deepEqual(Array.from(joined[key]), Array.from(whole[key]), key);
    }
  });
});

Deno.test("streamMdpCsv() refuses an id that comes back in a later chunk, a missing numActions and a bad row", async () => {
  await withTempDir(async (dir) => {
    const rows = ["id,t,x,action,reward", "a,0,1,0,1", "a,1,2,,", "b,0,1,1,1", "b,1,2,,", "a,5,1,0,1", "a,6,2,,"];
    await Deno.writeTextFile(`${dir}/d.csv`, rows.join("\n"));
    const drain = async (path: string, options: Parameters<typeof streamMdpCsv>[1]) => {
      let n = 0;
      for await (const c of streamMdpCsv(path, options)) n += c.size;
      return n;
    };
    await assert.rejects(
      () => drain(`${dir}/d.csv`, { numActions: 2, chunkRows: 1 }),
      /d\.csv, line 6: rows of id a are not contiguous/,
    );
    await assert.rejects(() => drain(`${dir}/d.csv`, {} as never), /numActions must be a positive integer/);
    await assert.rejects(() => drain(`${dir}/d.csv`, { numActions: 2, chunkRows: 0 }), /chunkRows/);
    await Deno.writeTextFile(
      `${dir}/bad.csv`,
      ["id,t,x,action,reward", "a,0,1,0,1", "a,1,2,,", "b,0,0x1,1,1"].join("\n"),
    );
    await assert.rejects(
      () => drain(`${dir}/bad.csv`, { numActions: 2, chunkRows: 1 }),
      /bad\.csv, line 4, column "x": expected a number/,
    );
  });
});

Deno.test("subsampleMdpCsv() keeps whole individuals by seed and id alone, whatever the chunking, and writes nothing on a bad row", async () => {
  await withTempDir(async (dir) => {
    const rng = createRng(5);
    const lines = ["id,t,x,action,reward,done"];
    for (let p = 0; p < 200; p++) {
      const steps = 2 + rng.int(4);
      for (let t = 0; t < steps - 1; t++) lines.push(`p${p},${t},${rng.normal()},${rng.int(2)},${rng.normal()},0`);
      lines.push(`p${p},${steps - 1},${rng.normal()},,,${p % 2}`);
    }
    await Deno.writeTextFile(`${dir}/d.csv`, lines.join("\n") + "\n");
    const small = await subsampleMdpCsv(`${dir}/d.csv`, `${dir}/a.csv`, {
      numActions: 2,
      fraction: 0.3,
      seed: 1,
      chunkRows: 7,
    });
    const large = await subsampleMdpCsv(`${dir}/d.csv`, `${dir}/b.csv`, { numActions: 2, fraction: 0.3, seed: 1 });
    assert.deepEqual(small, large);
    assert.equal(await Deno.readTextFile(`${dir}/a.csv`), await Deno.readTextFile(`${dir}/b.csv`));
    assert.equal(small.individuals, 200);
    assert.ok(small.kept > 35 && small.kept < 85, `${small.kept} of 200 kept at 0.3`);
    // What it wrote is exactly those individuals of the whole file.
    const whole = await readMdpCsv(`${dir}/d.csv`, { numActions: 2 });
    const kept = await readMdpCsv(`${dir}/a.csv`, { numActions: 2 });
    const index = new Map(whole.individualIds.map((id, i) => [id, i]));
    const expected = selectIndividuals(whole, kept.individualIds.map((id) => index.get(id)!));
    assert.equal(kept.size, small.transitions);
    for (const key of ["states", "nextStates", "actions", "rewards", "terminals", "timeouts", "times"] as const) {
      assert.deepEqual(Array.from(kept[key]), Array.from(expected[key]), key);
    }
    // Another seed keeps other individuals.
    await subsampleMdpCsv(`${dir}/d.csv`, `${dir}/c.csv`, { numActions: 2, fraction: 0.3, seed: 2 });
    assert.notDeepEqual((await readMdpCsv(`${dir}/c.csv`, { numActions: 2 })).individualIds, kept.individualIds);
    await assert.rejects(
      () => subsampleMdpCsv(`${dir}/d.csv`, `${dir}/e.csv`, { numActions: 2, fraction: 0 }),
      /fraction must be in \(0, 1\]/,
    );
    await Deno.writeTextFile(`${dir}/bad.csv`, lines.slice(0, 300).join("\n") + "\np999,0,abc,0,1,0\n");
    await assert.rejects(
      () => subsampleMdpCsv(`${dir}/bad.csv`, `${dir}/f.csv`, { numActions: 2, fraction: 1, chunkRows: 7 }),
      /bad\.csv, line 301, column "x": expected a number/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("f.csv")), []);
  });
});
