/**
 * Sample and encode as one stream: decode workers feed frame packs through a bounded queue to the
 * encoder, so decode and inference overlap and the frames held stay bounded
 * (`maxFramesInFlight`). Frame packs are not written to disk unless `keepFrames`. It composes two
 * stages (video's decoding, encode's batched encoder), so it sits above them beside `run.ts`: a
 * stage never imports another.
 * @module
 */
import { BoundedQueue, forEachConcurrent, Progress } from "./base/mod.ts";
import {
  dropFrames,
  forgetDroppedFrames,
  type FramePack,
  type Manifest,
  openStep,
  readFramePack,
  recordSettings,
  type StepSummary,
  storeFramePack,
  type VideoFilter,
} from "./core/mod.ts";
import {
  encodeFramePacks,
  type EncodeOptions,
  type EncodeSummary,
  formatThreadPlan,
  nothingToEncode,
  openEncoderFor,
  planThreads,
  type ThreadPlan,
  usableCpus,
} from "./encode/mod.ts";
import {
  decodeVideo,
  noteMissingThumbnails,
  prepareDecoding,
  sampleConfig,
  type SampleOptions,
  thumbnailsDir,
} from "./video/mod.ts";

/** Options of the streamed sample → encode. */
export interface SampleEncodeOptions
  extends SampleOptions, Omit<EncodeOptions, "work" | "quiet" | "retryFailed"> {
  /** Frames decoded but not yet encoded, at most (default 1024, about 150 MB). */
  maxFramesInFlight?: number;
}

/** What the streamed sample → encode did. */
export interface SampleEncodeSummary {
  /** The sample side. */
  sample: StepSummary;
  /** The encode side. */
  encode: EncodeSummary;
  /** Wall time of the whole stream in seconds. */
  seconds: number;
}

/**
 * Decodes and encodes every downloaded video not encoded yet, overlapping the two.
 * @param opts the sample and encode settings
 * @returns per-stage counts and timing
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { download } from "./download/mod.ts";
 * import { buildVisionModel } from "./onnx/mod.ts";
 * import { sampleAndEncode } from "./sample_and_encode.ts";
 * const dir = await Deno.makeTempDir();
 * // a 3-second test video, and a video list naming it (path,label,split)
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-f", "lavfi", "-i", "testsrc2=duration=3:size=320x240:rate=10", join(dir, "clip.mp4")],
 * }).output();
 * await Deno.writeTextFile(join(dir, "videos.csv"), "path,label,split\nclip.mp4,abseiling,train\n");
 * const model = join(dir, "vision.onnx"); // a random-weight CLIP-shaped model
 * await Deno.writeFile(model, (await buildVisionModel({ size: "tiny" })).bytes);
 * const work = join(dir, "work");
 * await download({ work, videos: [join(dir, "videos.csv")], quiet: true });
 * const r = await sampleAndEncode({ work, model, providers: ["cpu"], quiet: true });
 * strictEqual(r.encode.frames, 3);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function sampleAndEncode(opts: SampleEncodeOptions): Promise<SampleEncodeSummary> {
  const t0 = performance.now();
  const ctx = await openStep(opts.work);
  try {
    const sandbox = await prepareDecoding(opts, ctx.layout.root);
    const m = ctx.manifest;
    forgetDroppedFrames(m);
    recordSettings(m, await sampleConfig(opts), ctx.layout.root);
    // decode and encode share the CPUs by design (docs/performance.md)
    const plan = planThreads(usableCpus(), {
      threads: opts.threads,
      jobs: opts.jobs,
      decoding: true,
    });
    const todo = streamTodo(opts.retryFailed ?? false);
    const idle = await nothingToEncode(m, ctx.layout.root, opts, todo, false);
    if (idle) return idleSummary(m, idle.provider, plan, t0);
    const enc = await openEncoderFor(m, ctx.layout.root, { ...opts, threadPlan: plan });
    if (!opts.quiet) console.error(formatThreadPlan("sample → encode", plan));
    try {
      const sampledBefore = m.steps.counts("sample").done;
      const encodedBefore = m.steps.counts("encode").done;
      const total = m.videos.count(todo);
      const decodeProgress = new Progress("decode", total, {
        extraUnit: "frames",
        quiet: opts.quiet,
      });
      const encodeProgress = new Progress("encode", total, {
        extraUnit: "frames",
        quiet: opts.quiet,
      });
      const queue = new BoundedQueue<FramePack>(opts.maxFramesInFlight ?? 1024);
      let decoded = 0, decodedFrames = 0;
      // set when the encode side stops on an error: decoding more would only fill the queue
      let stopped = false;
      const producer = (async () => {
        try {
          const jobs = plan.decodeJobs ?? 1;
          const thumbsDir = thumbnailsDir(opts, ctx.layout.root);
          await forEachConcurrent(m.videos.each(todo), jobs, async (v) => {
            if (stopped) return;
            let pack: FramePack | undefined;
            const kept = v.steps.sample?.state === "done" ? v.steps.sample.path : null;
            // frames kept by an earlier run; missing or damaged ones are recorded and decoded again
            if (kept) pack = await readFramePack(m, v);
            if (!pack) {
              pack = await decodeVideo(m, v, { ...opts, sandbox, thumbsDir });
              if (!pack) return decodeProgress.tick(1);
              if (opts.keepFrames) await storeFramePack(m, ctx.layout.frames, pack);
              else m.steps.markDone("sample", v.id, { path: null, frames: pack.count });
              decoded++;
              decodedFrames += pack.count;
            }
            decodeProgress.tick(1, pack.count);
            if (!stopped) await queue.put(pack, pack.count);
          });
        } finally {
          queue.close();
        }
      })();
      const consumer = encodeFramePacks(queue, enc, m, ctx.layout.emb, opts, async (pack) => {
        encodeProgress.tick(1, pack.count);
        if (!opts.keepFrames && m.videos.get(pack.videoId)?.steps.sample?.path) {
          await dropFrames(m, ctx.layout.frames, pack.videoId);
        }
      });
      const stopOnError = consumer.catch((e) => {
        stopped = true;
        queue.drain(); // a producer waiting for room goes on, and stops
        throw e;
      });
      // both sides settle before this returns or throws: no rejection is left unhandled
      const [p, c] = await Promise.allSettled([producer, stopOnError]);
      if (c.status === "rejected") throw c.reason;
      if (p.status === "rejected") throw p.reason;
      const r = c.value;
      decodeProgress.finish();
      encodeProgress.finish();
      if (opts.thumbnails && !opts.quiet) noteMissingThumbnails(m);
      const seconds = (performance.now() - t0) / 1000;
      return {
        sample: {
          step: "sample",
          done: decoded,
          alreadyDone: sampledBefore,
          failed: m.steps.failures("sample"),
          frames: decodedFrames,
          seconds,
        },
        encode: {
          step: "encode",
          done: r.videos,
          alreadyDone: encodedBefore,
          failed: m.steps.failures("encode"),
          frames: r.frames,
          seconds,
          provider: enc.provider,
          threads: plan,
        },
        seconds,
      };
    } finally {
      await enc.release();
    }
  } finally {
    ctx.close();
  }
}

/** Everything downloaded and not encoded; videos that failed to decode are retried on request. */
function streamTodo(retry: boolean): VideoFilter {
  return {
    step: "encode",
    state: "pending",
    after: "download",
    notFailed: retry ? undefined : "sample",
  };
}

/** The summary of a rerun that found nothing to decode or encode (no model was loaded). */
function idleSummary(
  m: Manifest,
  provider: EncodeSummary["provider"],
  threads: ThreadPlan,
  t0: number,
): SampleEncodeSummary {
  const seconds = (performance.now() - t0) / 1000;
  const side = (step: "sample" | "encode") => ({
    step,
    done: 0,
    alreadyDone: m.steps.counts(step).done,
    failed: m.steps.failures(step),
    frames: 0,
    seconds,
  });
  return { sample: side("sample"), encode: { ...side("encode"), provider, threads }, seconds };
}
