/**
 * Streaming a MIMIC table: rows per second through DecompressionStream + csv-parse with the
 * cohort builder's item-id filter (the MIMIC-III demo's CHARTEVENTS.csv.gz, 758,355 rows;
 * skipped when ../shared is absent). Peak memory on a 10x larger CHARTEVENTS: BENCHMARKS.md.
 */
import { HEPARIN_VARIABLES, streamTable } from "../../mod.ts";
import { sharedDir } from "../helpers.ts";

const shared = sharedDir();
const ids = new Set(HEPARIN_VARIABLES.filter((v) => v.source === "chart").flatMap((v) => v.itemIds.map(String)));

Deno.bench({
  name: "stream CHARTEVENTS.csv.gz of the MIMIC-III demo (758k rows), keeping the cohort's chart items",
  ignore: shared === null,
  n: 3,
  warmup: 1,
  async fn() {
    await streamTable(
      `${shared}mimic-iii-demo/CHARTEVENTS.csv.gz`,
      ["icustay_id", "itemid", "charttime", "valuenum"],
      (v) => ids.has(v[1]),
    );
  },
});
