/**
 * What every per-video step does around its work: make the work dir, take its lock, clear temp
 * files a killed run left, open the manifest, and release all of it at the end.
 * @module
 */
import { removeStaleTemps } from "../base/mod.ts";
import { Manifest } from "./manifest.ts";
import { ensureWorkDir, lockWorkDir, type WorkDirLayout } from "./work_dir.ts";

/** An open work dir: its layout, its manifest, and the held lock. */
export interface StepContext {
  /** Paths inside the work dir. */
  layout: WorkDirLayout;
  /** The open manifest. */
  manifest: Manifest;
  /** Closes the manifest and releases the lock. */
  close(): void;
}

/**
 * Opens a work dir for a step: creates it, takes its lock (waiting, with a message, unless
 * `wait` is false), removes stale temp files, opens the manifest.
 * @param work the work directory
 * @param opts `wait: false` refuses when another run holds the lock
 * @returns the context; call `close()` when done
 */
export async function openStep(work: string, opts: { wait?: boolean } = {}): Promise<StepContext> {
  const layout = await ensureWorkDir(work);
  const lock = await lockWorkDir(layout.root, { wait: opts.wait });
  try {
    for (const d of [layout.root, layout.frames, layout.emb, layout.shards, layout.reports]) {
      await removeStaleTemps(d);
    }
    const manifest = Manifest.open(layout.manifest);
    return {
      layout,
      manifest,
      close() {
        manifest.close();
        lock.release();
      },
    };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** What a per-video step reports. */
export interface StepSummary {
  /** The step's name. */
  step: string;
  /** Videos finished in this run. */
  done: number;
  /** Videos that were already done before this run. */
  alreadyDone: number;
  /** Videos that failed in this run (or earlier, and were not retried), with the reason. */
  failed: { id: string; error: string }[];
  /** Frames produced in this run. */
  frames: number;
  /** Wall time in seconds. */
  seconds: number;
}
