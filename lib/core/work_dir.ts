/**
 * The work directory's layout and its lock, so two runs on one work dir cannot interleave.
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { ConfigError, isDiskFull, WorkDirBusyError } from "../base/mod.ts";

/** Paths inside a work directory. */
export interface WorkDirLayout {
  /** The work directory itself (absolute). */
  root: string;
  /** `manifest.db`: the SQLite manifest. */
  manifest: string;
  /** `videos/`: downloaded or linked videos. */
  videos: string;
  /** `downloads/`: archives being fetched (partial files resume from here). */
  downloads: string;
  /** `frames/`: transient uint8 frame packs. */
  frames: string;
  /** `emb/`: per-video embeddings. */
  emb: string;
  /** `shards/`: WebDataset tars, `splits.csv`, `manifest.json`. */
  shards: string;
  /** `reports/`: verify and eval output. */
  reports: string;
  /** `lock`: held (flock) by the run that owns the work dir. */
  lock: string;
}

/**
 * The layout of a work directory.
 * @param dir the work directory, relative or absolute
 * @returns its paths
 */
export function workDirLayout(dir: string): WorkDirLayout {
  const root = resolve(dir);
  return {
    root,
    manifest: join(root, "manifest.db"),
    videos: join(root, "videos"),
    downloads: join(root, "downloads"),
    frames: join(root, "frames"),
    emb: join(root, "emb"),
    shards: join(root, "shards"),
    reports: join(root, "reports"),
    lock: join(root, "lock"),
  };
}

/**
 * Creates the work directory and its sub-folders.
 * @param dir the work directory
 * @returns its layout
 */
export async function ensureWorkDir(dir: string): Promise<WorkDirLayout> {
  const l = workDirLayout(dir);
  for (const d of [l.root, l.videos, l.downloads, l.frames, l.emb, l.shards, l.reports]) {
    try {
      await Deno.mkdir(d, { recursive: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotCapable) throw e;
      throw new ConfigError(`cannot make work dir ${l.root}: ${(e as Error).message}`);
    }
  }
  return l;
}

/** A held work-dir lock; released on `release()` or when the process dies (flock). */
export interface WorkDirLock {
  /** Releases the lock. */
  release(): void;
}

/**
 * Takes the work dir's exclusive lock. The OS drops it when the holder dies, even by SIGKILL, so a
 * stale lock never blocks a rerun.
 * @param dir the work directory (must exist)
 * @param opts `wait: false` refuses at once when another run holds it; otherwise waits, saying so
 * @returns the held lock
 */
export async function lockWorkDir(
  dir: string,
  opts: { wait?: boolean; onWait?: (holder: string) => void } = {},
): Promise<WorkDirLock> {
  const path = workDirLayout(dir).lock;
  const file = await Deno.open(path, { read: true, write: true, create: true }).catch((e) => {
    if (e instanceof Deno.errors.NotCapable) throw e;
    throw new ConfigError(`work dir ${dir} is not writable: ${(e as Error).message}`);
  });
  if (!(await file.tryLock(true))) {
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim() || "another process";
    if (opts.wait === false) {
      file.close();
      throw new WorkDirBusyError(
        `work dir ${dir} is in use by ${holder}; wait for it to finish or use another --work dir`,
      );
    }
    (opts.onWait ?? ((h) => console.error(`waiting for ${h}, which holds ${path} ...`)))(holder);
    await file.lock(true);
  }
  // who holds it, for the message of a second run; on a full disk the note is left out (the
  // lock itself is held), and the step's first real write names the file and the device
  try {
    await file.truncate(0);
    await file.write(
      new TextEncoder().encode(`pid ${Deno.pid} (${Deno.args.join(" ") || "kinembed"})\n`),
    );
  } catch (e) {
    if (!isDiskFull(e)) throw e;
  }
  return { release: releaseOnce(file) };
}

/**
 * Takes an exclusive OS lock on a file (created, with its folder), waiting for another holder:
 * for caches several workers fill at once.
 * @param path the lock file
 * @returns a function that releases it (calling it again does nothing)
 */
export async function holdFileLock(path: string): Promise<() => void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const file = await Deno.open(path, { read: true, write: true, create: true });
  await file.lock(true);
  return releaseOnce(file);
}

/** Unlocks and closes a locked file, once. */
function releaseOnce(file: Deno.FsFile): () => void {
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    try {
      file.unlockSync();
    } finally {
      file.close();
    }
  };
}

/**
 * When a folder given as a shards folder is a work dir (it has `manifest.db` or
 * `shards/splits.csv`), the words that point to its shards; else an empty string.
 * @param dir the folder given as `--shards`
 * @returns e.g. `; /w is a work dir: use --work /w, or --shards /w/shards`
 */
export async function workDirShardsHint(dir: string): Promise<string> {
  const l = workDirLayout(dir);
  const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
  if (await exists(join(l.shards, "splits.csv")) || await exists(l.manifest)) {
    return `; ${dir} is a work dir: use --work ${dir}, or --shards ${l.shards}`;
  }
  return "";
}

/**
 * Refuses a work dir that does not exist, for the steps that only continue one (all but
 * download, run and demo, which make it).
 * @param dir the work directory
 * @param step the step's name, for the message
 * @throws {ConfigError} naming the folder and what makes one
 */
export async function requireWorkDir(dir: string, step: string): Promise<void> {
  // other failures (a parent that is a file, no permission) are the step's to report
  const st = await Deno.stat(dir).catch((e) => (e instanceof Deno.errors.NotFound ? null : e));
  if (st instanceof Error) return;
  if (st === null) {
    throw new ConfigError(
      `work dir ${resolve(dir)} does not exist: ${step} continues a work dir that download ` +
        "(or run) made; check --work",
    );
  }
  if (!st.isDirectory) throw new ConfigError(`work dir ${resolve(dir)} is not a directory`);
}
