/**
 * Crash-safe file output: write to a temp name beside the target, fsync, rename. A reader never
 * sees a half-written file under the final name, even after SIGKILL.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { asDiskFull } from "./errors.ts";

/** Suffix of in-progress files; anything ending with it is left from a killed run and may go. */
export const TEMP_SUFFIX = ".partial";

/**
 * The temp name a file is written under before it is renamed into place.
 * @param path the final path
 * @returns a sibling path unique to this process
 */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${Deno.pid}${TEMP_SUFFIX}`);
}

/**
 * Writes bytes atomically.
 * @param path the final path
 * @param chunks the content, in one or several pieces
 * @param opts `tmp`: the temp file's path (default {@linkcode tempPathFor}), for a writer whose
 *   permissions name that exact file
 */
export async function writeFileAtomic(
  path: string,
  chunks: Uint8Array | Uint8Array[],
  opts: { tmp?: string } = {},
): Promise<void> {
  const tmp = opts.tmp ?? tempPathFor(path);
  let file: Deno.FsFile | null = null;
  try {
    file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) await writeAll(file, c);
    await file.sync();
  } catch (e) {
    file?.close();
    await Deno.remove(tmp).catch(() => {});
    throw asDiskFull(e, path); // a full disk names the file it was writing
  }
  file.close();
  await Deno.rename(tmp, path);
}

/**
 * Opens a temp file for streaming output and returns a function that commits it under its final name.
 * @param path the final path
 * @returns the open temp file, `commit()` (fsync, close, rename) and `abort()` (close, remove)
 */
export async function openAtomic(path: string): Promise<{
  file: Deno.FsFile;
  tmp: string;
  commit: () => Promise<void>;
  abort: () => Promise<void>;
}> {
  const tmp = tempPathFor(path);
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  let open = true;
  return {
    file,
    tmp,
    commit: async () => {
      await file.sync();
      file.close();
      open = false;
      await Deno.rename(tmp, path);
    },
    abort: async () => {
      if (open) file.close();
      open = false;
      await Deno.remove(tmp).catch(() => {});
    },
  };
}

/**
 * Writes every byte of a chunk (a single `write` may write fewer).
 * @param file an open file
 * @param data the bytes
 */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

/**
 * Removes temp files a killed run left in a folder.
 * @param dir the folder (missing is fine)
 * @returns how many were removed
 */
export async function removeStaleTemps(dir: string): Promise<number> {
  let n = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(TEMP_SUFFIX)) {
        await Deno.remove(join(dir, e.name)).catch(() => {});
        n++;
      }
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return n;
}

/**
 * SHA-256 of a file, streamed.
 * @param path the file
 * @returns lowercase hex digest
 */
export async function sha256File(path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  try {
    while (true) {
      const n = await file.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return h.digest("hex");
}

/**
 * SHA-256 of bytes in memory.
 * @param data the bytes
 * @returns lowercase hex digest
 */
export async function sha256Bytes(data: Uint8Array): Promise<string> {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Whether a path exists (a missing path is false; any other error, e.g. a permission refusal, is
 * thrown).
 * @param path the path
 * @returns true when `stat` finds it
 */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * `pathExists` without awaiting: for loops over 645k files, where an await each costs more than
 * the stat.
 * @param path the path
 * @returns true when `stat` finds it
 */
export function pathExistsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * The size of a file, or null when it does not exist (any other failure is thrown).
 * @param path the path
 * @returns its size in bytes, or null
 */
export async function fileSize(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).size;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
