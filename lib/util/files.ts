/**
 * Atomic file writes: data go to a temporary file in the same folder, which is renamed over the
 * destination only once fully written, so a crash or a thrown error never leaves a partial file.
 *
 * @module
 */

function tempPathFor(path: string): string {
  const slash = path.lastIndexOf("/");
  const dir = slash >= 0 ? path.slice(0, slash + 1) : "";
  const base = slash >= 0 ? path.slice(slash + 1) : path;
  return `${dir}.${base}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Writes bytes to `path` atomically (temporary file + rename). */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = tempPathFor(path);
  try {
    // createNew: the temporary name is random, and O_EXCL refuses one that exists (a planted symlink too).
    await Deno.writeFile(tmp, data, { createNew: true });
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/** Whether process `pid` is alive, as far as this machine lets us see (/proc on Linux). */
async function processAlive(pid: number): Promise<boolean> {
  if (pid === Deno.pid) return true;
  if (Deno.build.os !== "linux") return true; // no cheap check elsewhere: keep the file
  return await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
}

/**
 * Removes the temporary files of atomic writes into `dir` that a killed process left behind
 * (`.<name>.tmp-<pid>-<hex>` whose process is gone; on Linux, where /proc tells). Tasks call it on
 * their output folder before they write, so a kill -9 leaves nothing behind once the next run
 * starts. Returns the names removed.
 *
 * @param dir The folder (missing folders are fine).
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const m = entry.isFile ? TEMP_NAME.exec(entry.name) : null;
      if (m && !(await processAlive(Number(m[1])))) {
        await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
        removed.push(entry.name);
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return removed;
}

/** Writes text to `path` atomically (temporary file + rename). */
export async function writeTextAtomic(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/**
 * Streams text chunks produced by `chunks` into `path` atomically: if the generator throws,
 * the destination is untouched and the temporary file removed.
 */
export async function writeChunksAtomic(path: string, chunks: Iterable<string> | AsyncIterable<string>): Promise<void> {
  const tmp = tempPathFor(path);
  const file = await Deno.open(tmp, { write: true, createNew: true });
  const enc = new TextEncoder();
  try {
    for await (const chunk of chunks) {
      const bytes = enc.encode(chunk);
      let off = 0;
      while (off < bytes.length) off += await file.write(bytes.subarray(off));
    }
    file.close();
    await Deno.rename(tmp, path);
  } catch (err) {
    try {
      file.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
