/**
 * What every step over a work dir does around its work: make the work dir, take its lock, clear
 * temp files a killed run left, open the manifest, and release all of it at the end. Download,
 * sample, encode and shard open their work dir here; merge alone takes the lock by hand, because
 * it replaces the manifest file itself (and holds every worker's lock besides).
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

/** Options of {@linkcode openStep}. */
export interface OpenStepOptions {
  /** `false` refuses at once when another run holds the lock (default: wait, saying so). */
  wait?: boolean;
  /** Says who holds the lock while waiting for it (default: a line on stderr). */
  onWait?: (holder: string) => void;
  /**
   * Remove the temp files a killed run left in the work dir's own folders (default true). Shard
   * clears its output folder itself: workers share one, and each removes only its own.
   */
  removeTemps?: boolean;
}

/**
 * Opens a work dir for a step: creates it, takes its lock (waiting, with a message, unless
 * `wait` is false), removes stale temp files, opens the manifest.
 * @param work the work directory
 * @param opts whether to wait for the lock, what to say meanwhile, whether to clear temp files
 * @returns the context; call `close()` when done
 */
export async function openStep(work: string, opts: OpenStepOptions = {}): Promise<StepContext> {
  const layout = await ensureWorkDir(work);
  const lock = await lockWorkDir(layout.root, { wait: opts.wait, onWait: opts.onWait });
  try {
    const temps = opts.removeTemps === false
      ? []
      : [layout.root, layout.frames, layout.emb, layout.shards, layout.reports];
    for (const d of temps) await removeStaleTemps(d);
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
