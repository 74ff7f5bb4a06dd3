/**
 * Streaming reads of MIMIC-III and MIMIC-IV tables (`.csv` or `.csv.gz`), for the cohort
 * builders: the full CHARTEVENTS has about 330 million rows, so a table is never held whole. A
 * file is decompressed (DecompressionStream) and parsed (csv-parse's streaming parser, which
 * handles quoted commas and newlines) chunk by chunk; each row is offered to a filter that
 * sees only the named columns (found case-insensitively: the demo's headers are lower-case,
 * the full MIMIC-III's upper-case), and only rows the caller keeps stay in memory.
 *
 * Layouts: MIMIC-III has every table in one folder (`CHARTEVENTS.csv.gz`, ...); MIMIC-IV has
 * `hosp/` and `icu/` folders (`icu/inputevents.csv.gz`, ...). File names match
 * case-insensitively, `.csv.gz` before `.csv`.
 *
 * @module
 */
import { parse } from "csv-parse";
import { once } from "node:events";

/** A bad or missing MIMIC file: the message names the file and what was expected. */
export class MimicInputError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong, naming the file and column.
   */
  constructor(message: string) {
    super(message);
    this.name = "MimicInputError";
  }
}

/** Which MIMIC, and where each table the cohort builders read lives. */
export interface MimicLayout {
  /** Which MIMIC release the folder holds. */
  readonly version: "mimic-iii" | "mimic-iv";
  /** The folder. */
  readonly dir: string;
  /** Table (lower-case MIMIC-III name, e.g. "chartevents") to its file. */
  readonly tables: Readonly<Record<string, string>>;
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isFile || e.isSymlink) names.push(e.name);
  } catch {
    return [];
  }
  return names;
}

function findTable(names: readonly string[], table: string): string | undefined {
  const lower = new Map(names.map((n) => [n.toLowerCase(), n]));
  return lower.get(`${table}.csv.gz`) ?? lower.get(`${table}.csv`);
}

/** The tables the cohort builders read, per version (MIMIC-III name -> MIMIC-IV location). */
const MIMIC_IV_TABLES: Readonly<Record<string, string>> = {
  patients: "hosp/patients",
  admissions: "hosp/admissions",
  labevents: "hosp/labevents",
  icustays: "icu/icustays",
  inputevents_mv: "icu/inputevents",
  chartevents: "icu/chartevents",
  outputevents: "icu/outputevents",
  prescriptions: "hosp/prescriptions",
  microbiologyevents: "hosp/microbiologyevents",
  diagnoses_icd: "hosp/diagnoses_icd",
};

/**
 * Finds the tables `needed` (MIMIC-III names, lower-case) under `dir`, telling MIMIC-III from
 * MIMIC-IV by its `icu/` folder. Stops naming every table it could not find.
 */
export async function detectMimicLayout(dir: string, needed: readonly string[]): Promise<MimicLayout> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new Error();
  } catch {
    throw new MimicInputError(`${dir}: not a directory (expected a MIMIC-III or MIMIC-IV folder)`);
  }
  const icu = await listDir(`${dir}/icu`);
  const version = icu.length > 0 ? "mimic-iv" : "mimic-iii";
  const tables: Record<string, string> = {};
  const missing: string[] = [];
  const folders = new Map<string, string[]>();
  for (const t of needed) {
    if (version === "mimic-iv") {
      const loc = MIMIC_IV_TABLES[t];
      if (loc === undefined) continue; // MIMIC-IV has no such table (e.g. inputevents_cv)
      const [sub, name] = loc.split("/");
      if (!folders.has(sub)) folders.set(sub, await listDir(`${dir}/${sub}`));
      const f = findTable(folders.get(sub)!, name);
      if (f) tables[t] = `${dir}/${sub}/${f}`;
      else missing.push(`${loc}.csv(.gz)`);
    } else {
      if (!folders.has(".")) folders.set(".", await listDir(dir));
      const f = findTable(folders.get(".")!, t);
      if (f) tables[t] = `${dir}/${f}`;
      else missing.push(`${t.toUpperCase()}.csv(.gz)`);
    }
  }
  if (missing.length > 0) {
    throw new MimicInputError(
      `${dir}: missing ${missing.join(", ")} (looked for a ${
        version === "mimic-iv"
          ? "MIMIC-IV layout with hosp/ and icu/ folders"
          : "MIMIC-III layout, all tables in one folder"
      })`,
    );
  }
  return { version, dir, tables };
}

/** One inclusion step of a cohort and how many stays (patients) remained after it. */
export interface CohortStep {
  /** What the step of the inclusion did. */
  readonly step: string;
  /** Stays left after it. */
  readonly count: number;
}

/** What {@linkcode streamTable} reports when it has read a table. */
export interface StreamStats {
  /** Rows read. */
  readonly rows: number;
  /** Rows passed to the callback. */
  readonly kept: number;
  /** Wall time, seconds. */
  readonly seconds: number;
}

/**
 * Streams `path`, calling `onRow` with the values of `columns` (in that order, as text) for
 * every data row; rows for which `onRow` returns false are simply dropped by the caller.
 * `alternatives` maps a column to other names it may have (MIMIC-IV's `stay_id` for
 * `icustay_id`). Errors name the file: a missing column, a gzip that does not inflate, a row
 * the parser cannot read. `progress` is called about every million rows.
 */
export async function streamTable(
  path: string,
  columns: readonly string[],
  onRow: (values: readonly string[]) => boolean | void,
  options: {
    alternatives?: Readonly<Record<string, readonly string[]>>;
    progress?: (rows: number) => void;
  } = {},
): Promise<StreamStats> {
  const started = performance.now();
  let file: Deno.FsFile;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("not a regular file (a FIFO, device or folder is refused)");
    file = await Deno.open(path);
  } catch (err) {
    throw new MimicInputError(`${path}: cannot open (${(err as Error).message})`);
  }
  let bytes: ReadableStream<Uint8Array> = file.readable;
  if (path.toLowerCase().endsWith(".gz")) {
    bytes = bytes.pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
  }
  const text = bytes.pipeThrough(new TextDecoderStream());
  let index: number[] | null = null;
  let width = 0;
  let rows = 0, kept = 0;
  const values: string[] = new Array(columns.length);
  let failure: Error | null = null;
  const parser = parse({ relax_column_count: true, skip_empty_lines: true });
  parser.on("data", (record: string[]) => {
    if (failure) return;
    if (index === null) {
      const header = record.map((h) => h.trim().toLowerCase());
      width = header.length;
      index = columns.map((c) => {
        for (const name of [c, ...(options.alternatives?.[c] ?? [])]) {
          const j = header.indexOf(name.toLowerCase());
          if (j >= 0) return j;
        }
        failure = new MimicInputError(
          `${path}: missing column "${c}"${
            options.alternatives?.[c] ? ` (or ${options.alternatives[c].join(", ")})` : ""
          }; the header has ${header.join(", ")}`,
        );
        return -1;
      });
      return;
    }
    rows++;
    if (record.length !== width) {
      // A row with other than the header's number of fields: a file cut mid-row (a failed copy
      // or download) or a malformed one; reading it half would silently lose or shift values.
      failure = new MimicInputError(
        `${path}: data row ${rows} has ${record.length} fields, the header ${width}${
          record.length < width ? " (is the file cut mid-row? a download or copy may have stopped early)" : ""
        }`,
      );
      return;
    }
    for (let k = 0; k < columns.length; k++) values[k] = record[index[k]];
    if (onRow(values) !== false) kept++;
    if (rows % 1_000_000 === 0) options.progress?.(rows);
  });
  const done = new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("error", reject);
  });
  try {
    for await (const chunk of text) {
      if (failure) break;
      if (!parser.write(chunk)) await once(parser, "drain");
    }
    parser.end();
    await done;
  } catch (err) {
    const e = err as Error;
    if (e instanceof MimicInputError) throw e;
    const gzip = /gzip|deflate|corrupt|decompress|invalid/i.test(`${e.name} ${e.message}`) &&
      path.toLowerCase().endsWith(".gz");
    throw new MimicInputError(
      gzip ? `${path}: not a readable gzip file (${e.message})` : `${path}: cannot be read as CSV (${e.message})`,
    );
  } finally {
    try {
      file.close();
    } catch { /* closed by the stream */ }
  }
  if (failure) throw failure;
  if (index === null) throw new MimicInputError(`${path}: empty (expected a header row with ${columns.join(", ")})`);
  return { rows, kept, seconds: (performance.now() - started) / 1000 };
}

/** MIMIC time stamps ("2147-10-10 08:46:00", ISO with a T, or a date alone) to hours since the epoch. */
export function mimicHours(text: string): number {
  const t = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : `${text.replace(" ", "T")}Z`);
  return Number.isFinite(t) ? t / 3_600_000 : NaN;
}

/** Other names a MIMIC-III column has in MIMIC-IV. */
export const MIMIC_IV_COLUMNS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  icustay_id: ["stay_id"],
  startdate: ["starttime"],
  enddate: ["stoptime"],
  icd9_code: ["icd_code"],
});

/** A MIMIC folder opened for a cohort builder: its layout, a streaming reader, and what it read. */
export interface MimicReader {
  /** The folder's layout. */
  readonly layout: MimicLayout;
  /** MIMIC-IV rather than MIMIC-III. */
  readonly iv: boolean;
  /** Rows read per table, and seconds. */
  readonly reads: Record<string, StreamStats>;
  /** Streams one table (MIMIC-III name), offering each row's `columns` to `onRow`. */
  read(table: string, columns: readonly string[], onRow: (v: readonly string[]) => boolean | void): Promise<void>;
}

/**
 * Opens `dir` for the tables `needed` ({@linkcode detectMimicLayout}); reads log the file
 * and every million rows to `log`, and MIMIC-IV's column names ({@linkcode MIMIC_IV_COLUMNS})
 * are accepted for MIMIC-III's.
 */
export async function openMimic(
  dir: string,
  needed: readonly string[],
  log: (message: string) => void = () => {},
): Promise<MimicReader> {
  const layout = await detectMimicLayout(dir, needed);
  const reads: Record<string, StreamStats> = {};
  return {
    layout,
    iv: layout.version === "mimic-iv",
    reads,
    async read(table, columns, onRow) {
      const path = layout.tables[table];
      if (path === undefined) throw new MimicInputError(`${dir}: no ${table} table in this layout`);
      log(`reading ${path}`);
      reads[table] = await streamTable(path, columns, onRow, {
        alternatives: MIMIC_IV_COLUMNS,
        progress: (n) => log(`${path}: ${(n / 1e6).toFixed(0)} M rows`),
      });
    },
  };
}

/** A patient's sex and age at a given time, from the patients table. */
export interface MimicPatient {
  /** 1 for male, 0 otherwise. */
  readonly male: number;
  /**
   * Age in years at `hours` (hours since the epoch): MIMIC-III from dob, the over-89s' shifted
   * dob capped at 91.4 years (their median); MIMIC-IV anchor_age + year - anchor_year.
   */
  ageAt(hours: number): number;
}

/** Reads the patients table: subject_id to sex and age. */
export async function readPatients(mimic: MimicReader): Promise<Map<string, MimicPatient>> {
  const patients = new Map<string, MimicPatient>();
  const iv = mimic.iv;
  await mimic.read(
    "patients",
    iv ? ["subject_id", "gender", "anchor_age", "anchor_year"] : ["subject_id", "gender", "dob"],
    (v) => {
      const male = v[1].trim().toUpperCase() === "M" ? 1 : 0;
      if (iv) {
        const anchorAge = Number(v[2]), anchorYear = Number(v[3]);
        patients.set(v[0], {
          male,
          ageAt: (h) => anchorAge + new Date(h * 3_600_000).getUTCFullYear() - anchorYear,
        });
      } else {
        const dob = mimicHours(v[2]);
        patients.set(v[0], { male, ageAt: (h) => Math.min(91.4, (h - dob) / (24 * 365.2425)) });
      }
    },
  );
  return patients;
}
