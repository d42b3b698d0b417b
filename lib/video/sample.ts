/**
 * The sample step: decode each downloaded video at `fps` into CLIP-sized RGB frames and store
 * them as `frames/<id>.npy`, uint8 (n, 224, 224, 3).
 * @module
 */
import { join } from "node:path";
import { DecodeError, forEachConcurrent, Progress } from "../base/mod.ts";
import {
  type FramePack,
  type Manifest,
  openStep,
  pendingFilter,
  recordSettings,
  requireEarlierSteps,
  RUN_SETTINGS,
  type RunSettings,
  type StepSummary,
  storeFramePack,
  type VideoStatus,
} from "../core/mod.ts";
import { decodeFrames, ffmpegBinary, setFfmpegPaths } from "./ffmpeg.ts";
import { type Preset, presetSpec } from "./presets.ts";
import { binaryIdentity } from "./ffmpeg_binaries.ts";
import { type DecodeSandbox, openDecodeSandbox } from "./decode_sandbox.ts";

/** Options of the sample step. */
export interface SampleOptions {
  /** The work directory. */
  work: string;
  /** Frames per second (default 1). */
  fps?: number;
  /** Preprocessing preset (default `clip`). */
  preset?: Preset;
  /** Videos decoded in parallel (default: the core count). */
  jobs?: number;
  /** ffmpeg binary (default `FFMPEG_PATH`, else the static build, else `ffmpeg` on PATH). */
  ffmpeg?: string;
  /** ffprobe binary (default `FFPROBE_PATH`, else the static build, else `ffprobe` on PATH). */
  ffprobe?: string;
  /** Try videos that failed before again. */
  retryFailed?: boolean;
  /**
   * Keep the middle sampled frame of each video decoded as `thumbs/<id>.jpg` (128 px on its short
   * side), written by the same ffmpeg process; the frames are the same as without.
   */
  thumbnails?: boolean;
  /** Print no progress. */
  quiet?: boolean;
}

/**
 * The sample settings that enter the run config, with the decoding binary's version and sha256.
 * @param opts fps, preset and the ffmpeg binary (default {@linkcode ffmpegBinary})
 * @returns the config entries
 */
export async function sampleConfig(
  opts: Pick<SampleOptions, "fps" | "preset" | "ffmpeg">,
): Promise<Pick<RunSettings, "fps" | "preset" | "frameSize" | "ffmpegVersion" | "ffmpegSha256">> {
  const ffmpeg = await binaryIdentity(opts.ffmpeg ?? ffmpegBinary());
  const preset = opts.preset ?? RUN_SETTINGS.preset.default as Preset;
  return {
    fps: opts.fps ?? RUN_SETTINGS.fps.default,
    preset,
    frameSize: presetSpec(preset).frameSize,
    ffmpegVersion: ffmpeg.version,
    ffmpegSha256: ffmpeg.sha256,
  };
}

/**
 * Sets up decoding for a step: the binaries, and the sandbox with the work dir as its one
 * writable path (pass it to {@linkcode decodeVideo}). Where no sandbox works, says so in one line
 * (unless quiet).
 * @param opts the binaries and `quiet`
 * @param workRoot the work dir
 * @returns the sandbox in use
 */
export async function prepareDecoding(
  opts: Pick<SampleOptions, "ffmpeg" | "ffprobe" | "quiet">,
  workRoot: string,
): Promise<DecodeSandbox> {
  setFfmpegPaths({ ffmpeg: opts.ffmpeg, ffprobe: opts.ffprobe });
  const s = await openDecodeSandbox(ffmpegBinary(), await Deno.realPath(workRoot));
  if (s.kind === "none" && !opts.quiet) console.error(`sample: ${s.note}`);
  return s;
}

/**
 * Decodes every downloaded video not sampled yet.
 * @param opts the work dir and settings
 * @returns counts, failures and timing
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { download } from "../download/mod.ts";
 * import { sample } from "./sample.ts";
 * const dir = await Deno.makeTempDir();
 * // a 3-second test video, and a video list naming it (path,label,split)
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-f", "lavfi", "-i", "testsrc2=duration=3:size=320x240:rate=10", join(dir, "clip.mp4")],
 * }).output();
 * await Deno.writeTextFile(join(dir, "videos.csv"), "path,label,split\nclip.mp4,abseiling,train\n");
 * const work = join(dir, "work");
 * await download({ work, videos: [join(dir, "videos.csv")], quiet: true });
 * const s = await sample({ work, fps: 1, quiet: true });
 * strictEqual(s.frames, 3); // frames/clip.npy: uint8 (3, 224, 224, 3)
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function sample(opts: SampleOptions): Promise<StepSummary> {
  const t0 = performance.now();
  const ctx = await openStep(opts.work);
  try {
    const m = ctx.manifest;
    requireEarlierSteps(m, "sample");
    const sandbox = await prepareDecoding(opts, ctx.layout.root);
    recordSettings(m, await sampleConfig(opts), ctx.layout.root);
    const alreadyDone = m.steps.counts("sample").done;
    const todo = pendingFilter("sample", opts.retryFailed ?? false);
    const progress = new Progress("sample", m.videos.count(todo), {
      extraUnit: "frames",
      quiet: opts.quiet,
    });
    let done = 0, frames = 0;
    const jobs = opts.jobs ?? navigator.hardwareConcurrency;
    const thumbsDir = thumbnailsDir(opts, ctx.layout.root);
    await forEachConcurrent(m.videos.each(todo), jobs, async (v) => {
      const pack = await decodeVideo(m, v, { ...opts, sandbox, thumbsDir });
      if (pack) {
        await storeFramePack(m, ctx.layout.frames, pack);
        done++;
        frames += pack.count;
      }
      progress.tick(1, pack?.count ?? 0);
    });
    progress.finish();
    if (thumbsDir && !opts.quiet) noteMissingThumbnails(m);
    return {
      step: "sample",
      done,
      alreadyDone,
      failed: m.steps.failures("sample"),
      frames,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    ctx.close();
  }
}

/**
 * Says in one line how many sampled videos have no thumbnail: `--thumbnails` makes them only for
 * the videos it decodes, and a video sampled before is not decoded again.
 * @param m the manifest
 */
export function noteMissingThumbnails(m: Manifest): void {
  const n = m.videos.countWithoutThumbnail();
  if (n > 0) {
    console.error(
      `sample: ${n} videos sampled without --thumbnails have no thumbnail (their samples in the ` +
        "tars get no .jpg); a new --work dir makes one for every video",
    );
  }
}

/**
 * Where a step's thumbnails go: the work dir's `thumbs/` when they are asked for.
 * @param opts `thumbnails`
 * @param workRoot the work dir
 * @returns the folder, or undefined when no thumbnails are made
 */
export function thumbnailsDir(
  opts: Pick<SampleOptions, "thumbnails">,
  workRoot: string,
): string | undefined {
  return opts.thumbnails ? join(workRoot, "thumbs") : undefined;
}

/**
 * Decodes one video, recording a failure in the manifest instead of throwing.
 * @param m the manifest
 * @param v the video (its download record holds the file)
 * @param opts fps, preset, the sandbox from {@linkcode prepareDecoding}, and `thumbsDir` (from
 *   {@linkcode thumbnailsDir}) to keep its thumbnail there and record it
 * @returns the frames, or undefined when it failed
 */
export async function decodeVideo(
  m: Manifest,
  v: VideoStatus,
  opts: Pick<SampleOptions, "fps" | "preset"> & { sandbox?: DecodeSandbox; thumbsDir?: string },
): Promise<FramePack | undefined> {
  const path = v.steps.download?.path;
  try {
    if (!path) throw new DecodeError(v.id, "no video file recorded by download");
    const pack = await decodeFrames(path, v.id, {
      fps: opts.fps,
      preset: opts.preset,
      sandbox: opts.sandbox,
      thumbnail: opts.thumbsDir ? join(opts.thumbsDir, `${v.id}.jpg`) : undefined,
    });
    if (pack.thumbnail) m.videos.setThumbnail(v.id, pack.thumbnail);
    return pack;
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    m.steps.markFailed("sample", v.id, e.message.replace(`${v.id}: `, ""));
    return undefined;
  }
}
