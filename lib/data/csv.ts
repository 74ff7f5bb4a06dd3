/**
 * The kit's CSV format, read and written with csv-parse / csv-stringify.
 *
 * One header row, then one row per individual and time step:
 *
 * ```text
 * id,t,<feature 1>,...,<feature F>,action,reward[,done]
 * p001,0,63.2,...,0.81,3,0.42,0
 * p001,1,61.0,...,0.84,2,0.55,0
 * p001,2,60.4,...,0.90,,,1
 * ```
 *
 * - `id`: any text; all rows of an individual are contiguous, in increasing integer `t`.
 * - features: every column other than id, t, action, reward and done (or the list given in
 *   `featureColumns`); numbers. With `allowMissing`, an empty cell, `NA` or `NaN` is a missing
 *   value (NaN in the step table) to impute later; otherwise it is an error.
 * - `action`: an integer in `[0, numActions)`; `reward`: a finite number. Both may be empty on an
 *   individual's last row, which carries only the final state.
 * - `done` (optional): 1 on a last row that is terminal (death, discharge), else 0.
 *
 * Every error names the file, the line and the column, and says what was expected.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import { parse as parseStream } from "csv-parse";
import { once } from "node:events";
import { stringify } from "csv-stringify/sync";
import { datasetToStepTable, type StepTable, stepTableToDataset } from "./steps.ts";
import { type MdpDataset, selectIndividuals } from "./dataset.ts";
import { writeChunksAtomic, writeTextAtomic } from "../util/files.ts";

/** Column names and rules for reading. */
export interface CsvReadOptions {
  /** @default "id" */
  /** Column of the individual's id. */
  readonly idColumn?: string;
  /** @default "t" */
  /** Column of the integer time step. */
  readonly timeColumn?: string;
  /** @default "action" */
  /** Column of the action (an integer in `[0, numActions)`). */
  readonly actionColumn?: string;
  /** Reward column; `null` when the file has none (rewards are then 0). @default "reward" */
  readonly rewardColumn?: string | null;
  /** Done column, optional in the file. @default "done" */
  readonly doneColumn?: string;
  /** Feature columns in order. @default every other column, in file order */
  readonly featureColumns?: readonly string[];
  /** Declared number of actions; actions must lie in [0, numActions). @default max action + 1 */
  readonly numActions?: number;
  /** Accept empty / NA / NaN feature cells as missing values. @default false */
  readonly allowMissing?: boolean;
  /** Name used in error messages. @default "<csv>" */
  readonly source?: string;
}

const MISSING = new Set(["", "NA", "NaN", "nan", "N/A"]);

/** Where each column of the long format sits in the header (-1 for an absent optional column). */
interface CsvColumns {
  readonly idJ: number;
  readonly tJ: number;
  readonly aJ: number;
  readonly rJ: number;
  readonly dJ: number;
  readonly featureNames: string[];
  readonly featureJ: number[];
}

/** Finds the long format's columns in `header`, with errors naming the file and what is missing or doubled. */
function csvColumns(header: readonly string[], options: CsvReadOptions, source: string): CsvColumns {
  const idCol = options.idColumn ?? "id";
  const tCol = options.timeColumn ?? "t";
  const aCol = options.actionColumn ?? "action";
  const rCol = options.rewardColumn === undefined ? "reward" : options.rewardColumn;
  const dCol = options.doneColumn ?? "done";
  const seen = new Map<string, number>();
  header.forEach((name, j) => {
    if (seen.has(name)) {
      throw new RangeError(
        `${source}, line 1: column "${name}" appears twice (columns ${seen.get(name)! + 1} and ${j + 1})`,
      );
    }
    seen.set(name, j);
  });
  const need = (name: string) => {
    const j = seen.get(name);
    if (j === undefined) {
      throw new RangeError(
        `${source}, line 1: missing column "${name}"; the header has ${header.map((h) => `"${h}"`).join(", ")}`,
      );
    }
    return j;
  };
  const idJ = need(idCol), tJ = need(tCol), aJ = need(aCol);
  const rJ = rCol === null ? -1 : need(rCol);
  const dJ = seen.get(dCol) ?? -1;
  const reserved = new Set([idCol, tCol, aCol, dCol, ...(rCol === null ? [] : [rCol])]);
  const featureNames = options.featureColumns ? [...options.featureColumns] : header.filter((h) => !reserved.has(h));
  const featureJ = featureNames.map(need);
  if (featureNames.length === 0) {
    throw new RangeError(`${source}, line 1: no feature columns besides ${[...reserved].join(", ")}`);
  }
  return { idJ, tJ, aJ, rJ, dJ, featureNames, featureJ };
}

/** Plain decimal numbers: an optional sign, digits with an optional point, an optional exponent. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Whether `text` is a plain decimal number (what the kit's readers accept; not hex, binary or Infinity). */
export const isDecimal = (text: string): boolean => DECIMAL.test(text);
const INT32_MAX = 2 ** 31 - 1;

/**
 * The bytes as UTF-8 text, strictly: a byte sequence that is not UTF-8 is an error naming the
 * line (a lenient decoder would turn "p\xe9" and "p\xe8" into the same id, merging two patients).
 */
export function decodeUtf8(bytes: Uint8Array, source = "<bytes>"): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    // Find the first byte that does not start or continue a valid sequence, for the message.
    let i = 0, line = 1;
    while (i < bytes.length) {
      const b = bytes[i];
      const len = b < 0x80
        ? 1
        : (b & 0xe0) === 0xc0 && b >= 0xc2
        ? 2
        : (b & 0xf0) === 0xe0
        ? 3
        : (b & 0xf8) === 0xf0 && b <= 0xf4
        ? 4
        : 0;
      let ok = len > 0 && i + len <= bytes.length;
      for (let k = 1; ok && k < len; k++) ok = (bytes[i + k] & 0xc0) === 0x80;
      if (ok && len > 1) {
        // Overlong or surrogate forms, which TextDecoder refuses too.
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(i, i + len));
        } catch {
          ok = false;
        }
      }
      if (!ok) {
        throw new TypeError(
          `${source}, line ${line}: byte 0x${
            b.toString(16).padStart(2, "0")
          } at offset ${i} is not UTF-8; save the file as UTF-8`,
        );
      }
      if (b === 0x0a) line++;
      i += len;
    }
    throw new TypeError(`${source}: the file is not valid UTF-8; save it as UTF-8`);
  }
}

/**
 * A growable float64, int32 or uint8 column for tables whose length is not known ahead. It
 * starts with `capacity` values (the file's line count, counted before parsing, when known):
 * within it, the values are returned as a view, never copied. Beyond it, fixed chunks of 2^20
 * values are added and copied once into an exact array at the end (doubling would hold up to
 * twice the column, and three times during a copy).
 */
class Column<T extends Float64Array | Float32Array | Int32Array | Uint8Array> {
  private chunks: T[] = [];
  private current: T;
  private used = 0;
  length = 0;
  constructor(private readonly make: (n: number) => T, capacity = CHUNK) {
    this.current = make(Math.max(1, capacity));
  }
  push(v: number): void {
    if (this.used === this.current.length) {
      this.chunks.push(this.current);
      this.current = this.make(CHUNK);
      this.used = 0;
    }
    this.current[this.used++] = v;
    this.length++;
  }
  /** The values, exactly `length` of them; the chunks are released as they are copied. */
  done(): T {
    if (this.chunks.length === 0) return this.current.subarray(0, this.used) as T;
    const out = this.make(this.length);
    let o = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      out.set(this.chunks[c], o);
      o += this.chunks[c].length;
      this.chunks[c] = undefined as unknown as T;
    }
    out.set(this.current.subarray(0, this.used), o);
    this.chunks = [];
    this.current = this.make(1);
    return out;
  }
}
const CHUNK = 1 << 20;

/**
 * The checks and storage of the kit's CSV format, one record at a time: `header` once, then
 * `row` per data record with its file line; `finish` returns the step table. Shared by the
 * in-memory parser and the streaming reader, so both check the same things.
 */
function stepTableBuilder(options: CsvReadOptions, source: string, rowsHint = CHUNK, float32 = false) {
  const featureArray = (n: number): Float64Array | Float32Array => float32 ? new Float32Array(n) : new Float64Array(n);
  let cols: CsvColumns | null = null;
  let headerNames: readonly string[] = [];
  let width = 0;
  const ids: string[] = [];
  let lastId = "";
  const times = new Column((n) => new Int32Array(n), rowsHint), lines = new Column((n) => new Int32Array(n), rowsHint);
  let features = new Column(featureArray, 1);
  const actions = new Column((n) => new Int32Array(n), rowsHint);
  const rewards = new Column((n) => new Float64Array(n), rowsHint);
  const dones = new Column((n) => new Uint8Array(n), rowsHint);
  let maxAction = -1;
  const numeric = (cell: string, line: number, col: string, what: string): number => {
    // Decimal notation only: Number() would also take "0x1A", "0b1", "0o7" and "Infinity".
    if (!DECIMAL.test(cell)) {
      throw new RangeError(`${source}, line ${line}, column "${col}": expected ${what}, got ${JSON.stringify(cell)}`);
    }
    const v = Number(cell);
    if (!Number.isFinite(Math.fround(v))) {
      throw new RangeError(
        `${source}, line ${line}, column "${col}": ${cell} is beyond the float32 range the kit stores (about 3.4e38)`,
      );
    }
    return v;
  };
  return {
    /** Rows so far. */
    rows: (): number => ids.length,
    /** Whether `rec` is the first row of another individual than the last row's. */
    startsIndividual: (rec: readonly string[]): boolean => ids.length === 0 || rec[cols!.idJ] !== lastId,
    header(record: readonly string[]) {
      cols = csvColumns(record, options, source);
      headerNames = record;
      width = record.length;
      features = new Column(featureArray, rowsHint * cols.featureNames.length);
    },
    row(rec: readonly string[], line: number) {
      const c = cols!;
      if (rec.length !== width) {
        throw new RangeError(`${source}, line ${line}: ${rec.length} fields, but the header has ${width}`);
      }
      const header = (j: number) => headerNames[j];
      const id = rec[c.idJ];
      if (id === "") throw new RangeError(`${source}, line ${line}, column "${header(c.idJ)}": the id is empty`);
      // An individual's rows share one string: a million-row file holds one id per
      // individual, not one per row (about a fifth of the table's memory otherwise).
      if (id === lastId) ids.push(lastId);
      else ids.push(lastId = id);
      const t = numeric(rec[c.tJ], line, header(c.tJ), "an integer time index");
      if (!Number.isInteger(t) || t < 0 || t > INT32_MAX) {
        throw new RangeError(
          `${source}, line ${line}, column "${header(c.tJ)}": expected an integer time index in [0, 2^31), got ${
            rec[c.tJ]
          }`,
        );
      }
      times.push(t);
      lines.push(line);
      for (let f = 0; f < c.featureNames.length; f++) {
        const cell = rec[c.featureJ[f]];
        if (MISSING.has(cell)) {
          if (!options.allowMissing) {
            throw new RangeError(
              `${source}, line ${line}, column "${c.featureNames[f]}": missing value ${
                JSON.stringify(cell)
              }; pass allowMissing to impute it`,
            );
          }
          features.push(NaN);
        } else {
          features.push(numeric(cell, line, c.featureNames[f], "a number"));
        }
      }
      const aCell = rec[c.aJ], aCol = header(c.aJ);
      if (aCell === "") actions.push(-1);
      else {
        const a = numeric(aCell, line, aCol, "an integer action");
        if (!Number.isInteger(a) || a < 0 || a > INT32_MAX) {
          throw new RangeError(
            `${source}, line ${line}, column "${aCol}": expected a non-negative integer action, got ${aCell}`,
          );
        }
        if (options.numActions !== undefined && a >= options.numActions) {
          throw new RangeError(
            `${source}, line ${line}, column "${aCol}": action ${a} is outside the declared range [0, ${options.numActions})`,
          );
        }
        actions.push(a);
        if (a > maxAction) maxAction = a;
      }
      if (c.rJ < 0) rewards.push(0);
      else rewards.push(rec[c.rJ] === "" ? NaN : numeric(rec[c.rJ], line, header(c.rJ), "a finite reward"));
      if (c.dJ >= 0) {
        const d = rec[c.dJ];
        if (d === "" || d === "0" || d === "false" || d === "False") dones.push(0);
        else if (d === "1" || d === "true" || d === "True") dones.push(1);
        else {
          throw new RangeError(
            `${source}, line ${line}, column "${header(c.dJ)}": expected 0 or 1, got ${JSON.stringify(d)}`,
          );
        }
      } else dones.push(0);
    },
    finish(): StepTable {
      if (cols === null) throw new RangeError(`${source}: the file is empty; expected a header row and data rows`);
      if (ids.length === 0) throw new RangeError(`${source}: the file has a header but no data rows`);
      const numActions = options.numActions ?? maxAction + 1;
      if (numActions < 1) throw new RangeError(`${source}: no actions found in column "${headerNames[cols.aJ]}"`);
      return {
        featureNames: cols.featureNames,
        numActions,
        ids,
        times: times.done(),
        features: features.done(),
        actions: actions.done(),
        rewards: rewards.done(),
        dones: dones.done(),
        source,
        lines: lines.done(),
      };
    },
  };
}

const PARSE_OPTIONS = { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true, info: true } as const;

/** Parses CSV text in the kit's format into a step table (missing features allowed on request). */
export function parseStepCsv(text: string, options: CsvReadOptions = {}): StepTable {
  const source = options.source ?? "<csv>";
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, PARSE_OPTIONS) as unknown as typeof records;
  } catch (err) {
    throw new TypeError(`${source}: not readable as CSV: ${(err as Error).message}`);
  }
  const builder = stepTableBuilder(options, source, records.length);
  records.forEach(({ record, info }, k) => {
    if (k === 0) builder.header(record);
    else builder.row(record, info.lines);
  });
  return builder.finish();
}

/**
 * Reads a CSV file into a step table (for data that still need imputation), streaming: the file
 * is decoded (strictly as UTF-8) and parsed chunk by chunk, so memory holds the table, never the
 * text or its records. A FIFO, device or folder is refused.
 */
export function readStepCsv(path: string, options: CsvReadOptions = {}): Promise<StepTable> {
  return wholeTable(path, options, false);
}

/** The file as one step table (`float32`: features stored as float32). */
async function wholeTable(path: string, options: CsvReadOptions, float32: boolean): Promise<StepTable> {
  for await (const table of streamTables(path, options, float32, Infinity)) return table;
  throw new Error(`${path}: no table read`); // unreachable: streamTables yields or throws
}

/**
 * The streaming reader behind `readStepCsv`, `readMdpCsv` and `streamMdpCsv`: the file is decoded
 * (strictly as UTF-8) and parsed chunk by chunk into step tables of at least `chunkRows` rows, cut
 * between individuals (`Infinity`: one table). `float32` stores the features as float32 (all a
 * dataset keeps). A FIFO, device or folder is refused.
 */
async function* streamTables(
  path: string,
  options: CsvReadOptions,
  float32: boolean,
  chunkRows: number,
): AsyncGenerator<StepTable> {
  const source = options.source ?? path;
  let file: Deno.FsFile;
  try {
    // A FIFO or a device would be waited on forever; refuse anything but a regular file.
    if (!(await Deno.stat(path)).isFile) throw new Error("not a regular file: a FIFO, device or folder is refused");
    file = await Deno.open(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the file (${(err as Error).message})`);
  }
  let rowsHint = chunkRows;
  if (chunkRows === Infinity) {
    // Count the lines first (a byte scan, about a second per GB), so that the columns are
    // allocated once at their size instead of grown (quoted newlines only make it an upper bound).
    let newlines = 0;
    try {
      using counting = await Deno.open(path);
      for await (const chunk of counting.readable) {
        for (let k = chunk.indexOf(0x0a); k >= 0; k = chunk.indexOf(0x0a, k + 1)) newlines++;
      }
    } catch (err) {
      file.close();
      throw new Error(`${path}: cannot read the file (${(err as Error).message})`);
    }
    rowsHint = newlines + 1;
  }
  let builder = stepTableBuilder(options, source, rowsHint, float32);
  let header: readonly string[] | null = null;
  const ready: StepTable[] = [];
  let failure: Error | null = null;
  const parser = parseStream(PARSE_OPTIONS);
  parser.on("data", ({ record, info }: { record: string[]; info: { lines: number } }) => {
    if (failure) return;
    try {
      if (header === null) {
        header = record;
        builder.header(record);
        return;
      }
      if (builder.rows() >= chunkRows && builder.startsIndividual(record)) {
        ready.push(builder.finish());
        builder = stepTableBuilder(options, source, rowsHint, float32);
        builder.header(header);
      }
      builder.row(record, info.lines);
    } catch (err) {
      failure = err as Error;
    }
  });
  const done = new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("error", reject);
  });
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let lineBase = 1;
  try {
    for await (const chunk of file.readable) {
      if (failure) break;
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        // Name the line: the first bad byte within this chunk, counting the lines before it.
        try {
          decodeUtf8(chunk, source);
        } catch (err) {
          const m = /line (\d+): (.*)$/.exec((err as Error).message);
          throw new TypeError(m ? `${source}, line ${lineBase + Number(m[1]) - 1}: ${m[2]}` : (err as Error).message);
        }
        throw new TypeError(`${source}: the file is not valid UTF-8 (after line ${lineBase}); save it as UTF-8`);
      }
      for (let k = 0; k < chunk.length; k++) if (chunk[k] === 0x0a) lineBase++;
      if (!parser.write(text)) await once(parser, "drain");
      while (ready.length > 0) yield ready.shift()!;
    }
    if (!failure) {
      try {
        parser.write(decoder.decode());
      } catch {
        throw new TypeError(`${source}: the file ends inside a UTF-8 character; save it as UTF-8`);
      }
    }
    parser.end();
    await done;
  } catch (err) {
    if (err instanceof TypeError && err.message.startsWith(source)) throw err;
    throw new TypeError(`${source}: not readable as CSV: ${(err as Error).message}`);
  } finally {
    try {
      file.close();
    } catch { /* closed by the stream */ }
  }
  if (failure) throw failure;
  while (ready.length > 0) yield ready.shift()!;
  yield builder.finish();
}

/** Reads a complete CSV file straight into an MDP dataset. */
export async function readMdpCsv(
  path: string,
  options: Omit<CsvReadOptions, "allowMissing"> = {},
): Promise<MdpDataset> {
  // The values were checked to be float32-finite as they were read, and the dataset stores
  // float32: holding the table's features as float32 halves its largest array.
  return stepTableToDataset(await wholeTable(path, options, true));
}

/** Options of `streamMdpCsv`: those of `readMdpCsv`, with the number of actions required. */
export interface CsvStreamOptions extends Omit<CsvReadOptions, "allowMissing"> {
  /** Declared number of actions: required, since no chunk sees every action. */
  readonly numActions: number;
  /** Rows per chunk, at least (a chunk ends with its last individual). @default 100000 */
  readonly chunkRows?: number;
}

/**
 * Reads a CSV file in the kit's format as a stream of datasets, each holding whole individuals
 * (at least `chunkRows` rows, the last chunk excepted), with the checks of `readMdpCsv`. Memory
 * holds one chunk and the ids seen so far (to refuse an individual whose rows are not
 * contiguous), never the file: for a pass over a file too large to load, such as statistics,
 * a subsample of individuals, or a split into files.
 *
 * A chunk's `individuals` index its own `individualIds`. An error names the file and the line
 * when the reader reaches it: chunks yielded before it are complete and checked, and no chunk
 * holding or following the bad row is yielded.
 *
 * @example Mean reward of a file, one chunk at a time
 * ```ts
 * import { streamMdpCsv } from "@clinical-rl/kit/data";
 * const path = await Deno.makeTempFile({ suffix: ".csv" });
 * await Deno.writeTextFile(path, "id,t,x,action,reward\na,0,1,0,1\na,1,2,,\nb,0,3,1,3\nb,1,4,,\n");
 * let sum = 0, count = 0;
 * for await (const chunk of streamMdpCsv(path, { numActions: 2, chunkRows: 2 })) {
 *   for (const r of chunk.rewards) sum += r;
 *   count += chunk.size;
 * }
 * console.assert(count === 2 && sum / count === 2);
 * ```
 */
export async function* streamMdpCsv(path: string, options: CsvStreamOptions): AsyncGenerator<MdpDataset> {
  const { chunkRows = 100_000, ...rest } = options;
  if (!Number.isInteger(rest.numActions) || rest.numActions < 1) {
    throw new RangeError(
      `streamMdpCsv: numActions must be a positive integer (each chunk would otherwise infer its own), got ${rest.numActions}`,
    );
  }
  if (!Number.isInteger(chunkRows) || chunkRows < 1) {
    throw new RangeError(`streamMdpCsv: chunkRows must be a positive integer, got ${chunkRows}`);
  }
  // The ids of earlier chunks: an individual whose rows come back later is refused.
  const seen = new Set<string>();
  for await (const table of streamTables(path, rest, true, chunkRows)) yield stepTableToDataset(table, seen);
}

/** A share of individuals to keep, and the seed that decides which. */
export interface CsvSubsampleOptions extends CsvStreamOptions {
  /** Share of individuals kept, in (0, 1]. */
  readonly fraction: number;
  /** Decides which individuals are kept, with their ids. @default 0 */
  readonly seed?: number;
}

/**
 * A uniform draw in [0, 1) fixed by the seed and an id: FNV-1a over the text, then MurmurHash3's
 * finaliser, without which ids that differ in their last character land close together.
 */
function idDraw(seed: number, id: string): number {
  let h = 0x811c9dc5;
  const text = `${seed}:${id}`;
  for (let k = 0; k < text.length; k++) {
    h ^= text.charCodeAt(k);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/**
 * Writes a random share of a CSV's individuals, each kept whole, to `out` in the kit's format,
 * in the bounded memory of `streamMdpCsv` (whose checks it applies): the way to train on a file
 * too large to load. Each individual is kept with probability `fraction`, decided by the seed and
 * its id alone, so the same seed keeps the same individuals whatever the chunking. Values are
 * written as the float32 the kit stores, under the kit's column names. `out` is written
 * atomically: a bad row anywhere leaves it absent.
 *
 * @returns How many individuals were read and kept, and how many transitions were kept.
 */
export async function subsampleMdpCsv(
  path: string,
  out: string,
  options: CsvSubsampleOptions,
): Promise<{ individuals: number; kept: number; transitions: number }> {
  const { fraction, seed = 0, ...stream } = options;
  if (!(fraction > 0 && fraction <= 1)) {
    throw new RangeError(`subsampleMdpCsv: fraction must be in (0, 1], got ${fraction}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`subsampleMdpCsv: seed must be an integer, got ${seed}`);
  const counts = { individuals: 0, kept: 0, transitions: 0 };
  async function* text(): AsyncGenerator<string> {
    let header = true;
    for await (const chunk of streamMdpCsv(path, stream)) {
      counts.individuals += chunk.individualIds.length;
      const keep: number[] = [];
      chunk.individualIds.forEach((id, i) => idDraw(seed, id) < fraction && keep.push(i));
      if (keep.length === 0) continue;
      const part = selectIndividuals(chunk, keep);
      counts.kept += keep.length;
      counts.transitions += part.size;
      const csv = formatStepCsv(datasetToStepTable(part));
      yield header ? csv : csv.slice(csv.indexOf("\n") + 1);
      header = false;
    }
    if (header) throw new RangeError(`${path}: no individual kept at fraction ${fraction} (seed ${seed})`);
  }
  await writeChunksAtomic(out, text());
  return counts;
}

/** Shortest decimal text that reads back as the same float32 value. */
function formatFloat32(x: number): string {
  if (Number.isInteger(x)) return String(x);
  for (let p = 6; p < 10; p++) {
    const s = x.toPrecision(p);
    if (Math.fround(Number(s)) === x) return String(Number(s));
  }
  return String(x);
}

/** CSV text of a step table in the kit's format (empty cells for missing values). */
export function formatStepCsv(table: StepTable): string {
  const F = table.featureNames.length;
  const rows: (string | number)[][] = [["id", "t", ...table.featureNames, "action", "reward", "done"]];
  for (let i = 0; i < table.times.length; i++) {
    const row: (string | number)[] = [table.ids[i], table.times[i]];
    for (let f = 0; f < F; f++) {
      const v = table.features[i * F + f];
      row.push(Number.isNaN(v) ? "" : formatFloat32(Math.fround(v)));
    }
    row.push(table.actions[i] < 0 ? "" : table.actions[i]);
    row.push(Number.isNaN(table.rewards[i]) ? "" : formatFloat32(Math.fround(table.rewards[i])));
    row.push(table.dones[i]);
    rows.push(row);
  }
  return stringify(rows);
}

/** Writes a step table to `path` atomically. */
export async function writeStepCsv(path: string, table: StepTable): Promise<void> {
  await writeTextAtomic(path, formatStepCsv(table));
}

/** Writes an MDP dataset to `path` in the kit's CSV format, atomically. */
export async function writeMdpCsv(path: string, ds: MdpDataset): Promise<void> {
  await writeStepCsv(path, datasetToStepTable(ds));
}
