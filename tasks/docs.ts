/**
 * Fills the results tables of the docs from the committed results folder: between
 * `<!-- results:ID -->` and `<!-- /results:ID -->` in docs/*.md and README.md it writes the
 * tables of results/ID/ID.json (what `deno task collect` or `deno task repro` wrote at full
 * size), or says that the grid has not been run at full size yet. Nothing quoted there is typed
 * by hand; `--check` exits 1 when a doc is out of date (the suite runs it).
 *
 *   deno task docs [--check]
 */
import { parseArgs } from "node:util";
import {
  type GridSummary,
  omgRlSummaryMarkdown,
  opeValidationMarkdown,
  type OpeValidationRow,
  p4lGroupCountMarkdown,
  p4lSummaryMarkdown,
} from "../mod.ts";

const { values } = parseArgs({ args: Deno.args, options: { check: { type: "boolean", default: false } } });
const root = new URL("..", import.meta.url).pathname;
const MARK = /<!-- results:([\w-]+) -->\n[\s\S]*?<!-- \/results:\1 -->/g;

interface Recorded {
  readonly quick: boolean;
  readonly sizeName?: "quick" | "main" | "full";
  readonly seeds: readonly number[];
  readonly values: { summary: GridSummary; facts?: Record<string, { mean: number; n: number }> };
  readonly provenance: {
    version: string;
    seconds: number;
    unitSeconds?: number;
    unitsUntimed?: number;
    computePath?: { description?: string };
  };
  readonly config?: { p4l?: { policyStep?: string; mirrorStepSize?: number } };
}

/** "N s of compute"; for a run of kept units, the units' own seconds and the last sitting's. */
function computeSeconds(p: Recorded["provenance"]): string {
  const last = `${Math.round(p.seconds)} s of compute`;
  if (p.unitSeconds === undefined) return last;
  const untimed = p.unitsUntimed
    ? ` (${p.unitsUntimed} units kept from before units recorded their time are not counted)`
    : "";
  return `${Math.round(p.unitSeconds)} s of compute in its units${untimed}, ${
    Math.round(p.seconds)
  } s in its last sitting`;
}

/** Which policy step a P4L record's fits took (records made before the mirror step have none). */
function p4lPolicyStepLine(record: Recorded): string {
  const p4l = record.config?.p4l;
  if (!p4l || typeof p4l !== "object" || !("latentDim" in p4l)) return "";
  return p4l.policyStep === "mirror"
    ? `P4L's policy step: the mirror step on the exact critic (eta = ${p4l.mirrorStepSize}).\n\n`
    : p4l.policyStep === "gradient"
    ? "P4L's policy step: Algorithm 1's Adam steps on (24).\n\n"
    : "P4L's policy step: Algorithm 1's Adam steps on (24) (recorded before the kit's mirror step; its config has no " +
      "`policyStep`).\n\n";
}

/** Markers drawn from another reproduction's record: the record's id and the renderer. */
const DERIVED: Readonly<Record<string, { record: string; render: (values: never) => string }>> = {
  "p4l-fig1-groups": { record: "p4l-fig1", render: p4lGroupCountMarkdown as (values: never) => string },
};

/** A sepsis cohort report (deno task cohort sepsis) as the docs' tables. */
function sepsisCohortMarkdown(r: {
  steps: { step: string; count: number }[];
  stays: number;
  rows: number;
  features: string[];
  missing: { name: string; missingRate: number; kept: boolean }[];
  actions: { fluidCutMl: number; vasopressorCutMcgKgMin: number; counts: number[] };
  sofa: { quartiles: number[]; componentTotals: Record<string, number> };
  onsetHoursFromIcuAdmission: number[];
}): string {
  const f = (x: number, d = 1) => x.toFixed(d);
  const worst = [...r.missing].filter((m) => m.missingRate > 0.25).sort((a, b) => b.missingRate - a.missingRate);
  const total = Object.values(r.sofa.componentTotals).reduce((a, b) => a + b, 0);
  return [
    "| step | ICU stays |",
    "| --- | --- |",
    ...r.steps.map((s) => `| ${s.step} | ${s.count} |`),
    "",
    `${r.stays} stays, ${r.rows} steps of 4 h, ${r.features.length} variables (dropped: ${
      r.missing.filter((m) => !m.kept).map((m) => m.name).join(", ") || "none"
    }; missing at more than a quarter of the steps after the hold: ${
      worst.map((m) => `${m.name} ${Math.round(100 * m.missingRate)}%`).join(", ") || "none"
    }). Onset from ICU admission: median ${f(r.onsetHoursFromIcuAdmission[1])} h (quartiles ${
      f(r.onsetHoursFromIcuAdmission[0])
    }, ${f(r.onsetHoursFromIcuAdmission[2])}). SOFA per step: median ${f(r.sofa.quartiles[1])} (quartiles ${
      f(r.sofa.quartiles[0])
    }, ${f(r.sofa.quartiles[2])}); share of SOFA points by organ: ${
      Object.entries(r.sofa.componentTotals).map(([k, v]) => `${k} ${Math.round(100 * v / total)}%`).join(", ")
    }.`,
    "",
    `Cut points: IV fluids ${f(r.actions.fluidCutMl, 0)} mL per step, vasopressors ${
      f(r.actions.vasopressorCutMcgKgMin, 3)
    } mcg/kg/min norepinephrine equivalent. Steps per action (rows: fluid bin; columns: vasopressor bin):`,
    "",
    "| fluids \\ vasopressors | 0 (none) | 1 | 2 |",
    "| --- | --- | --- | --- |",
    ...[0, 1, 2].map((fb) =>
      `| ${fb === 0 ? "0 (none)" : fb} | ${[0, 1, 2].map((vb) => r.actions.counts[3 * fb + vb]).join(" | ")} |`
    ),
  ].join("\n");
}

async function render(id: string): Promise<string> {
  if (id.startsWith("sepsis-cohort")) {
    const path = `results/${id}/sepsis.report.json`;
    let report;
    try {
      report = JSON.parse(await Deno.readTextFile(`${root}${path}`));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return `_Not built yet (\`${path}\` is absent)._\n`;
      throw new Error(`docs: ${path} is not a readable cohort report: ${(err as Error).message}`);
    }
    const p = report.provenance;
    return `From \`${path}\` (kit ${p.version}, ${Math.round(report.seconds)} s):\n\n${sepsisCohortMarkdown(report)}`;
  }
  // A reproduction at the main job's sizes lives in results/<id>-main/<id>.json, one on the
  // MIMIC-III demo in results/<id>-demo/<id>.json, one on another heparin state preset in
  // results/<id>-<preset>/<id>.json.
  const derived = DERIVED[id];
  const base = derived?.record ?? id;
  const path = `results/${base}/${base.replace(/-(main|demo|clinical|dosing)$/, "")}.json`;
  let record: Recorded;
  try {
    record = JSON.parse(await Deno.readTextFile(`${root}${path}`));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return `_Not run at full size yet (\`${path}\` is absent)._\n`;
    throw new Error(`docs: ${path} is not a readable run record: ${(err as Error).message}`);
  }
  if (record.quick) {
    throw new Error(`docs: ${path} holds a quick run; the docs quote full-size (or main-size) results only`);
  }
  const p = record.provenance;
  const sizes = record.sizeName === "main" ? ", the main job's sizes" : "";
  return [
    `From \`${path}\` (kit ${p.version}${sizes}, ${p.computePath?.description ?? "compute path not recorded"}, ${
      computeSeconds(p)
    }):`,
    "",
    derived
      ? derived.render(record.values as never)
      : id.startsWith("omg-")
      ? omgRlSummaryMarkdown(id, record.values as unknown as Record<string, unknown>)
      : id.startsWith("ope-")
      ? opeValidationMarkdown((record.values as unknown as { rows: OpeValidationRow[] }).rows)
      : p4lPolicyStepLine(record) + p4lSummaryMarkdown(record.values),
  ].join("\n");
}

/** The text as `deno fmt` would leave it (tables aligned), so that `deno fmt --check` agrees. */
async function formatted(markdown: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    cwd: root,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(markdown));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`docs: deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

let stale = 0;
const files = [
  "README.md",
  ...[...Deno.readDirSync(`${root}docs`)].filter((e) => e.name.endsWith(".md")).map((e) => `docs/${e.name}`),
];
for (const file of files.sort()) {
  const text = await Deno.readTextFile(`${root}${file}`);
  const ids = [...text.matchAll(MARK)].map((m) => m[1]);
  if (ids.length === 0) continue;
  const tables = new Map<string, string>();
  for (const id of ids) tables.set(id, await render(id));
  const next = await formatted(text.replace(
    MARK,
    (_, id: string) => `<!-- results:${id} -->\n\n${tables.get(id)!.trim()}\n\n<!-- /results:${id} -->`,
  ));
  if (next === text) continue;
  if (values.check) {
    console.error(`docs: ${file} is out of date with results/ (run deno task docs)`);
    stale++;
  } else {
    await Deno.writeTextFile(`${root}${file}`, next);
    console.log(`docs: updated ${file}`);
  }
}
if (stale > 0) Deno.exit(1);
