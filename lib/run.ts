/**
 * The whole pipeline as one command: download (when inputs are given) → sample and encode,
 * streamed → shard → verify (when a card is given) → eval (when asked). Each step is the same
 * function its own task calls, so a rerun resumes wherever the last run stopped.
 * @module
 */
import { download, type DownloadOptions, type DownloadReport } from "./download/mod.ts";
import { type EvalOptions, type EvalResult, evaluate } from "./eval/mod.ts";
import {
  sampleAndEncode,
  type SampleEncodeOptions,
  type SampleEncodeSummary,
} from "./sample_and_encode.ts";
import {
  claimWorker,
  formatWorker,
  shard,
  type ShardOptions,
  type ShardSummary,
  type WorkerId,
  workerVideoIds,
} from "./shard/mod.ts";
import { workDirLayout } from "./core/mod.ts";
import { verify, type VerifyReport } from "./verify/mod.ts";

/** Options of the whole pipeline; a step whose options are absent is not run. */
export interface RunOptions {
  /** The work directory. */
  work: string;
  /** Download settings; absent: the manifest already lists downloaded videos. */
  download?: Omit<DownloadOptions, "work">;
  /** Sample and encode settings (the model is required). */
  sampleEncode: Omit<SampleEncodeOptions, "work">;
  /** Shard settings (default seed 0, 10,000 per shard). */
  shard?: Omit<ShardOptions, "work">;
  /** Verify against a dataset card; absent: not verified. */
  verify?: { card: string; classes?: string };
  /** Eval settings; absent: not evaluated. */
  eval?: Omit<EvalOptions, "work" | "shards">;
  /** Where step headings go (default stderr). */
  log?: (line: string) => void;
  /**
   * Run as worker k of n (docs/cluster.md): download, sample and encode only the videos of this
   * worker's shards, in its own work dir, and write those shards into `<work>/shards`; verify and
   * eval are left for after `merge`.
   */
  worker?: WorkerId;
  /** The worker's work dir (default `<work>/workers/<k>`, where merge reads its manifest). */
  workerWork?: string;
}

/** What each step of the pipeline did. */
export interface RunSummary {
  /** The download report, when downloading was asked. */
  download?: DownloadReport;
  /** Sample and encode. */
  sampleEncode: SampleEncodeSummary;
  /** Shard. */
  shard: ShardSummary;
  /** Verify, when a card was given. */
  verify?: VerifyReport;
  /** Eval, when asked. */
  eval?: EvalResult;
  /** 0 when every step finished clean, 1 when some items failed or verify found problems. */
  exitCode: number;
}

/**
 * Runs the pipeline.
 * @param opts each step's settings
 * @returns each step's summary and the exit code
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { buildVisionModel } from "./onnx/mod.ts";
 * import { runPipeline } from "./run.ts";
 * const dir = await Deno.makeTempDir();
 * // a 3-second test video, and a video list naming it (path,label,split)
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-f", "lavfi", "-i", "testsrc2=duration=3:size=320x240:rate=10", join(dir, "clip.mp4")],
 * }).output();
 * await Deno.writeTextFile(join(dir, "videos.csv"), "path,label,split\nclip.mp4,abseiling,train\n");
 * const model = join(dir, "vision.onnx"); // a random-weight CLIP-shaped model
 * await Deno.writeFile(model, (await buildVisionModel({ size: "tiny" })).bytes);
 * await Deno.writeTextFile(join(dir, "card.md"), "### Data Splits\n* Train - 1 samples | 1 tar's\n");
 * const r = await runPipeline({
 *   work: join(dir, "work"),
 *   // Kinetics: { annotations: ["train.csv"], archives: ["k700_2020_train_path.txt"] }
 *   download: { videos: [join(dir, "videos.csv")], quiet: true },
 *   sampleEncode: { model, providers: ["cuda", "cpu"], quiet: true, onFallback: () => {} },
 *   shard: { quiet: true },
 *   verify: { card: join(dir, "card.md") },
 *   log: () => {},
 * });
 * strictEqual(r.exitCode, 0); // a CLI would Deno.exit(r.exitCode)
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runPipeline(opts: RunOptions): Promise<RunSummary> {
  if (!opts.worker) return await runSteps(opts, opts.work, null);
  const claim = await claimWorker(opts.work, opts.worker, {
    seed: opts.shard?.seed,
    perShard: opts.shard?.perShard,
    workDir: opts.workerWork,
  });
  try {
    const r = await runSteps(opts, claim.workDir, opts.worker);
    await claim.publish();
    return r;
  } finally {
    claim.release();
  }
}

async function runSteps(
  opts: RunOptions,
  work: string,
  worker: WorkerId | null,
): Promise<RunSummary> {
  const log = opts.log ?? ((line: string) => console.error(line));
  let failed = false;
  let dl: DownloadReport | undefined;
  if (opts.download) {
    log("== download");
    dl = await download({
      // a --videos folder's classes are checked against the class list before any work
      classes: opts.verify?.classes ?? opts.eval?.classes,
      ...opts.download,
      work,
      restrictTo: worker ? (all) => workerVideoIds(all, worker, opts.shard ?? {}) : undefined,
    });
    for (const note of dl.notes) log(note);
    failed ||= dl.failureSummary.total > 0 || dl.issues.length > 0;
    log(
      `download: ${dl.selected} selected, ${dl.failureSummary.total} failed, ` +
        `${dl.requests} HTTP requests`,
    );
  }
  log("== sample → encode");
  const se = await sampleAndEncode({ ...opts.sampleEncode, work });
  failed ||= se.sample.failed.length > 0 || se.encode.failed.length > 0;
  log(
    `sample → encode: ${se.encode.done} videos, ${se.encode.frames} frames in ${
      se.seconds.toFixed(1)
    }s` +
      ` on ${se.encode.provider} (${se.encode.alreadyDone} already done, ` +
      `${se.sample.failed.length + se.encode.failed.length} failed)`,
  );
  log("== shard");
  const sh = await shard({
    ...opts.shard,
    work,
    ...(worker ? { worker, shardsDir: workDirLayout(opts.work).shards } : {}),
  });
  // a worker packs failed videos with 0 frames: only shards it could not write fail it
  if (worker) failed = false;
  failed ||= sh.failures.length > 0;
  const tars = Object.values(sh.splits).reduce((s, x) => s + x.tars, 0);
  log(
    `shard: ${tars} tars in ${sh.shardsDir} (${sh.written.length} written, ${sh.kept.length} kept)`,
  );
  if (worker) {
    const empty = Object.values(sh.splits).reduce((s, x) => s + (x.empty ?? 0), 0);
    log(
      `worker ${formatWorker(worker)}: ${empty} failed videos packed with 0 frames; ` +
        "verify and eval come after merge",
    );
  }
  let vr: VerifyReport | undefined;
  if (opts.verify && !worker) {
    log("== verify");
    vr = await verify({
      work: opts.work,
      card: opts.verify.card,
      classes: opts.verify.classes,
      quiet: true,
    });
    failed ||= !vr.ok;
    log(`verify: ${vr.ok ? "all splits match the card" : `${vr.problems.length} problems`}`);
  }
  let ev: EvalResult | undefined;
  if (opts.eval && !worker) {
    log("== eval");
    // run owns its work dir: the shards' card gets the numbers
    ev = await evaluate({ ...opts.eval, work: opts.work, log, updateCard: true });
  }
  return {
    download: dl,
    sampleEncode: se,
    shard: sh,
    verify: vr,
    eval: ev,
    exitCode: failed ? 1 : 0,
  };
}
