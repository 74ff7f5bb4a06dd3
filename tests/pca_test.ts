import assert from "node:assert/strict";
import {
  applyPcaReduction,
  createMdpDataset,
  fitPcaReduction,
  type MdpDataset,
  pcaReductionFromJson,
  pcaReductionToJson,
} from "../mod.ts";
import { assertClose } from "./helpers.ts";

/** 50 rows of four deterministic columns and a "sofa" column that is kept. */
function rows(): MdpDataset {
  const n = 50, names = ["a", "b", "c", "d", "sofa"], S = names.length;
  const states = new Float32Array(n * S);
  for (let i = 0; i < n; i++) {
    states.set([i % 7, (i * i) % 11, Math.sin(i), i / 10 + Math.cos(2 * i), i % 5], i * S);
  }
  return createMdpDataset({
    numActions: 2,
    featureNames: names,
    individualIds: ["p0"],
    individuals: new Int32Array(n),
    times: Int32Array.from({ length: n }, (_, i) => i),
    states,
    actions: new Int32Array(n),
    rewards: new Float32Array(n),
    nextStates: states.slice(),
    terminals: new Uint8Array(n),
    timeouts: Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0)),
  });
}

Deno.test("the PCA reduction matches numpy's SVD of the standardised columns and keeps SOFA as it is", () => {
  const data = rows();
  const r = fitPcaReduction(data, { components: 2, keep: ["sofa"] });
  // numpy 1.26: Z = (X - mean) / std(ddof=1); U, s, Vt = svd(Z); s^2 / sum(s^2); Vt[c] signed so its largest entry is positive.
  assertClose(Array.from(r.explainedVariance), [0.286885, 0.269808], { atol: 2e-5 });
  assertClose(Array.from(r.loadings.subarray(0, 4)), [0.698876, 0.40986, 0.15083, 0.566425], { atol: 2e-5 });
  assertClose(Array.from(r.loadings.subarray(4, 8)), [0.29127, -0.187339, 0.826452, -0.443895], { atol: 2e-5 });
  const reduced = applyPcaReduction(r, data);
  assert.deepEqual(reduced.featureNames, ["pc1", "pc2", "sofa"]);
  assertClose([reduced.states[0], reduced.states[1]], [-2.086884, 0.240073], { atol: 1e-4 });
  assertClose([reduced.states[7 * 3], reduced.states[7 * 3 + 1]], [-1.292678, 0.718858], { atol: 1e-4 });
  for (let i = 0; i < data.size; i++) assert.equal(reduced.states[i * 3 + 2], data.states[i * 5 + 4]);
  assert.deepEqual(reduced.nextStates, reduced.states);
});

Deno.test("a PCA reduction is fitted on one split and applied unchanged to another, also from its JSON", () => {
  const data = rows();
  const r = fitPcaReduction(data, { components: 3, keep: ["sofa"] });
  // Loadings are orthonormal.
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      let dot = 0;
      for (let j = 0; j < 4; j++) dot += r.loadings[a * 4 + j] * r.loadings[b * 4 + j];
      assertClose(dot, a === b ? 1 : 0, { atol: 1e-9 });
    }
  }
  const again = pcaReductionFromJson(JSON.parse(JSON.stringify(pcaReductionToJson(r))));
  assert.deepEqual(applyPcaReduction(again, data).states, applyPcaReduction(r, data).states);
});

Deno.test("PCA refuses unknown columns, too many components and a malformed file, and survives a constant column", () => {
  const data = rows();
  assert.throws(() => fitPcaReduction(data, { components: 2, keep: ["SOFA"] }), /no column "SOFA"/);
  assert.throws(
    () => fitPcaReduction(data, { components: 5, keep: ["sofa"] }),
    /components must be an integer in \[1, 4\]/,
  );
  // A constant column (a variable charted once for everyone) is projected as 0, not NaN.
  const flat = createMdpDataset({ ...data, states: data.states.map((x, i) => (i % 5 === 2 ? 3 : x)) });
  const reduced = applyPcaReduction(fitPcaReduction(flat, { components: 2, keep: ["sofa"] }), flat);
  assert.ok(reduced.states.every(Number.isFinite));
  const json = pcaReductionToJson(fitPcaReduction(data, { components: 2 })) as Record<string, unknown>;
  assert.throws(() => pcaReductionFromJson({ ...json, stds: (json.stds as number[]).map(() => 0) }), /stds\[0\] is 0/);
  assert.throws(() => pcaReductionFromJson({ format: "x" }), /not a "pca-reduction\/1" file/);
});
