/**
 * The record every reproduction and task writes as JSON: what was run (id, sizes, the resolved
 * config of every algorithm involved, seeds), what came out (values), and how (kit version,
 * compute path, wall time). Docs and notebooks read these records; nothing is typed by hand.
 *
 * @module
 */
import kit from "../../deno.json" with { type: "json" };
import { type ComputePath, computePath } from "../core/backend.ts";

/** How a record was produced: volatile by nature (the wall time differs run to run). */
export interface Provenance {
  /** The kit's name and version (deno.json). */
  readonly kit: string;
  /** The kit's version. */
  readonly version: string;
  /** Where the arithmetic ran. */
  readonly computePath: ComputePath;
  /** Wall time of the run, seconds (of the last sitting, for a resumed run). */
  readonly seconds: number;
  /**
   * For a run made of kept units (OMG-RL's reproductions): their compute seconds summed, those
   * kept from earlier sittings included, so a resumed run still counts all of them.
   */
  readonly unitSeconds?: number;
  /** Units whose seconds were not recorded (made before units recorded them). */
  readonly unitsUntimed?: number;
  /** The Deno version that ran it. */
  readonly deno: string;
}

/** A result file's content. */
export interface RunRecord {
  /** The run's id. */
  readonly id: string;
  /** Its title. */
  readonly title: string;
  /** Quick (CI) sizes rather than the paper's. */
  readonly quick: boolean;
  /** Which named sizes ran: "quick", "main" (the main job's) or "full" (the paper's); absent in older records. */
  readonly sizeName?: "quick" | "main" | "full";
  /** The sizes it ran at. */
  readonly sizes: unknown;
  /** The resolved config of every algorithm involved (every hyper-parameter). */
  readonly config: unknown;
  /** Seeds (or grid cells, whose seeds are split from their index). */
  readonly seeds: readonly number[];
  /** The values behind the figures. */
  readonly values: unknown;
  /** How the record was produced. */
  readonly provenance: Provenance;
}

/** The provenance of a run that started at `startedMs` (a `performance.now()` reading). */
export function provenance(startedMs: number): Provenance {
  return {
    kit: kit.name,
    version: kit.version,
    computePath: computePath(),
    seconds: (performance.now() - startedMs) / 1000,
    deno: Deno.version.deno,
  };
}

/**
 * A record from its parts, with the provenance of a run started at `startedMs`.
 *
 * @param fields Everything but the provenance.
 * @param startedMs `performance.now()` when the run began.
 */
export function runRecord(fields: Omit<RunRecord, "provenance">, startedMs: number): RunRecord {
  return { ...fields, provenance: provenance(startedMs) };
}
