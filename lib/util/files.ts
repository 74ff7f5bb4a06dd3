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
    // The writer holds an exclusive lock on it while writing; the kernel drops the lock if the
    // process dies, which is how removeStaleTemps tells a killed writer's file from a live one's.
    using file = await Deno.open(tmp, { write: true, createNew: true });
    await file.lock(true);
    let off = 0;
    while (off < data.length) off += await file.write(data.subarray(off));
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/**
 * Whether a temporary file is a dead writer's: nobody holds its lock (writers lock it from creation
 * to rename; the kernel releases the lock of a killed process) and it is not brand new (the
 * microseconds between a writer's create and lock). Works without the right to read /proc.
 */
async function abandoned(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch {
    return false; // renamed or removed meanwhile, or not ours to touch
  }
  try {
    const info = await file.stat();
    if (Date.now() - (info.mtime?.getTime() ?? Date.now()) < 5_000) return false;
    return await file.tryLock(true);
  } finally {
    file.close();
  }
}

/**
 * Removes the temporary files of atomic writes into `dir` that a killed process left behind
 * (`.<name>.tmp-<pid>-<hex>` whose writer's lock is gone, and older than 5 s). Tasks call it on
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
      if (m && await abandoned(`${dir}/${entry.name}`)) {
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
    await file.lock(true); // held while writing (see writeFileAtomic)
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
