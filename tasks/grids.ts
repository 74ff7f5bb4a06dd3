/**
 * The P4L grid a grid task (repro, grid, collect) runs: the one `id` names, or with `--data`
 * (p4l-table3 only) Table 3 on a recorded cohort.
 *
 * @module
 */
import { P4L_GRIDS, type P4lGrid, p4lTable3DataGrid, readStepCsv } from "../mod.ts";
/**
 * The grid `id` names, or with `data` (p4l-table3 only) Table 3 on that recorded cohort, with
 * the data file's name and SHA-256 for the record. Throws with a one-line message on bad data.
 */
export async function gridFor(
  id: string,
  data: string | undefined,
): Promise<{ grid: P4lGrid<any>; dataSource: { data?: string; dataSha256?: string } }> {
  if (data === undefined) return { grid: P4L_GRIDS[id], dataSource: {} };
  if (id !== "p4l-table3") {
    throw new RangeError("--data is for p4l-table3 (a sepsis cohort from deno task cohort sepsis)");
  }
  const grid = p4lTable3DataGrid(await readStepCsv(data), data);
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(data));
  const dataSha256 = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return { grid, dataSource: { data, dataSha256 } };
}
