/**
 * Everything that knows ffmpeg: probing a video and decoding it into CLIP-sized RGB frames.
 * Runs ffprobe and ffmpeg through `npm:fluent-ffmpeg`; the binaries come from `FFMPEG_PATH` /
 * `FFPROBE_PATH` (or `setFfmpegPaths`), else from `PATH`.
 *
 * Timestamp rule: at `fps` frames per second, output frame k (k = 0, 1, ...) is the video frame on
 * screen at time k/fps after the first frame, i.e. the last frame whose timestamp is ≤ k/fps
 * (ffmpeg's `fps` filter with `round=up`). A video of duration d gives ceil(d·fps) frames; one
 * shorter than an interval gives its first frame.
 * @module
 */
// @ts-types="npm:@types/fluent-ffmpeg@2.1.28"
import type Fluent from "fluent-ffmpeg";
import { Writable } from "node:stream";
import { DecodeError } from "../core/mod.ts";
import type { Preset } from "./presets.ts";
import { resizeCubicOpenCv } from "./opencv_cubic_resize.ts";
import { resizeBicubicPillow } from "./pillow_resize.ts";

/** The side of CLIP's square input. */
export const CLIP_SIZE = 224;

/** What ffprobe says about a video's first video stream. */
export interface VideoProbe {
  /** Duration in seconds (stream duration, else container duration). */
  duration: number;
  /** Average frame rate (frames per second), 0 when unknown. */
  frameRate: number;
  /** Stored width in pixels. */
  width: number;
  /** Stored height in pixels. */
  height: number;
  /** Display rotation in degrees (0, 90, 180, 270), applied when decoding. */
  rotation: number;
  /** Codec name, e.g. `h264`, `vp9`. */
  codec: string;
}

/** How frames are cut to CLIP's input: scale to (scaleWidth × scaleHeight), crop at (x, y). */
export interface FrameGeometry {
  /** Width after scaling. */
  scaleWidth: number;
  /** Height after scaling. */
  scaleHeight: number;
  /** Left edge of the crop. */
  cropX: number;
  /** Top edge of the crop. */
  cropY: number;
  /** Side of the square crop. */
  size: number;
}

export { type Preset, PRESETS } from "./presets.ts";

/** Decoded frames of one video: `count` frames of size×size×3 RGB (BGR for the 1.0 preset). */
export interface FramePack {
  /** The video's id. */
  videoId: string;
  /** Number of frames. */
  count: number;
  /** Side of each square frame. */
  size: number;
  /** Pixels, (count, size, size, 3) uint8, C order. */
  data: Uint8Array;
}

/**
 * Points fluent-ffmpeg at particular ffmpeg / ffprobe binaries (e.g. static builds on a cluster).
 * @param paths the binaries; an absent one keeps the current setting
 */
export function setFfmpegPaths(paths: { ffmpeg?: string; ffprobe?: string }): void {
  if (paths.ffmpeg) binaries.ffmpeg = paths.ffmpeg;
  if (paths.ffprobe) binaries.ffprobe = paths.ffprobe;
  if (fluent) applyPaths(fluent);
}

const binaries: { ffmpeg?: string; ffprobe?: string } = {};
let fluent: typeof Fluent | undefined;

function applyPaths(f: typeof Fluent): void {
  if (binaries.ffmpeg) f.setFfmpegPath(binaries.ffmpeg);
  if (binaries.ffprobe) f.setFfprobePath(binaries.ffprobe);
}

/** fluent-ffmpeg, loaded on first use so that importing kinembed does not load it. */
async function loadFluent(): Promise<typeof Fluent> {
  if (!fluent) {
    fluent = (await import("fluent-ffmpeg")).default;
    applyPaths(fluent);
  }
  return fluent;
}

/**
 * Probes a video.
 * @param path the file
 * @param videoId named in errors
 * @returns duration, frame rate, size, rotation and codec of its first video stream
 */
export async function probeVideo(path: string, videoId: string): Promise<VideoProbe> {
  const ffmpeg = await loadFluent();
  return new Promise((resolve, reject) => {
    ffmpeg.ffprobe(path, (err: Error | null, data: Fluent.FfprobeData) => {
      if (err) {
        reject(new DecodeError(videoId, `ffprobe: ${probeReason(path, err.message)}`, err.message));
        return;
      }
      const v = data.streams.find((s) => s.codec_type === "video");
      if (!v) {
        reject(new DecodeError(videoId, "no video stream"));
        return;
      }
      const duration = num(v.duration) || num(data.format.duration);
      const width = Number(v.width ?? 0), height = Number(v.height ?? 0);
      if (!(width > 0 && height > 0)) {
        reject(new DecodeError(videoId, `video stream has no size (${width}x${height})`));
        return;
      }
      resolve({
        duration,
        frameRate: rate(v.avg_frame_rate) || rate(v.r_frame_rate),
        width,
        height,
        rotation: rotationOf(v),
        codec: String(v.codec_name ?? "unknown"),
      });
    });
  });
}

/**
 * CLIP's geometry for a frame of the given display size: shorter side to `size` (the longer
 * scaled and truncated, as torchvision's Resize), then a centred square crop (offset rounded
 * half-to-even, as torchvision's CenterCrop; floored for the 1.0 preset).
 * @param width display width
 * @param height display height
 * @param preset which rounding of the crop offset
 * @param size the crop side
 * @returns scale and crop numbers
 */
export function clipGeometry(
  width: number,
  height: number,
  preset: Preset = "clip",
  size = CLIP_SIZE,
): FrameGeometry {
  const short = Math.min(width, height);
  const scaleWidth = width <= height ? size : Math.trunc((width * size) / short);
  const scaleHeight = width <= height ? Math.trunc((height * size) / short) : size;
  const off = preset === "clip-video-encode-1.0" ? Math.floor : roundHalfEven;
  return {
    scaleWidth,
    scaleHeight,
    cropX: off((scaleWidth - size) / 2),
    cropY: off((scaleHeight - size) / 2),
    size,
  };
}

/** The ffmpeg filters and pixel format that turn a video into CLIP-sized frames. */
export interface DecodeFilterGraph {
  /** The `-vf` filter chain: fps, scale, crop. */
  filters: string;
  /** `rgb24`. */
  pixFmt: string;
  /** Side of the output frames. */
  size: number;
}

/**
 * The filter chain of the `clip-swscale` preset for a probed video: ffmpeg's swscale resizes
 * (bicubic, a = −0.5, no antialias when shrinking) and crops in one pass. Faster than `clip` and
 * within a few levels of it; benchmarks run it bare.
 * @param probe the video's probe
 * @param opts `fps` (default 1)
 * @returns the filters, pixel format and frame size
 */
export function decodeFilterGraph(
  probe: VideoProbe,
  opts: { fps?: number } = {},
): DecodeFilterGraph {
  const swap = probe.rotation === 90 || probe.rotation === 270;
  const g = clipGeometry(swap ? probe.height : probe.width, swap ? probe.width : probe.height);
  // bicubic with Keys a = -0.5 (swscale's param1 = C = 0.5), PIL's BICUBIC kernel without its
  // antialias
  const filters = [
    `fps=fps=${opts.fps ?? 1}:round=up`,
    `scale=${g.scaleWidth}:${g.scaleHeight}:flags=bicubic+accurate_rnd+full_chroma_int:param0=0:param1=0.5`,
    `crop=${g.size}:${g.size}:${g.cropX}:${g.cropY}`,
  ].join(",");
  return { filters, pixFmt: "rgb24", size: g.size };
}

/**
 * The filter chain that samples a video at `fps` and converts it at its display size, without
 * resizing: the `clip` and `clip-video-encode-1.0` presets resize in TypeScript afterwards.
 * `rgb24` (the `clip` preset): swscale's YUV→RGB with the matrix and range the stream is tagged
 * with (BT.601, limited range when untagged, as for most Kinetics clips), chroma upsampled to full
 * resolution with swscale's bicubic (`full_chroma_int`), rounded accurately (`accurate_rnd`).
 * `bgr24` (the 1.0 preset): swscale with only its `bicubic` flag, as OpenCV's VideoCapture asks.
 * @param opts `fps` (default 1), `pixFmt` (default `rgb24`)
 * @returns the `-vf` filters and the pixel format
 */
export function sourceFilterGraph(
  opts: { fps?: number; pixFmt?: "rgb24" | "bgr24" } = {},
): { filters: string; pixFmt: string } {
  const pixFmt = opts.pixFmt ?? "rgb24";
  const sample = `fps=fps=${opts.fps ?? 1}:round=up`;
  const convert = pixFmt === "rgb24"
    ? `,scale=flags=bicubic+accurate_rnd+full_chroma_int:param0=0:param1=0.5,format=rgb24`
    : "";
  return { filters: sample + convert, pixFmt };
}

/** A probed video's size as displayed (rotation applied). */
function displaySize(probe: VideoProbe): { width: number; height: number } {
  const swap = probe.rotation === 90 || probe.rotation === 270;
  return swap
    ? { width: probe.height, height: probe.width }
    : { width: probe.width, height: probe.height };
}

/** Decoded frames at their display size, before any resize. */
export interface SourceFrames {
  /** Number of frames. */
  count: number;
  /** Display width. */
  width: number;
  /** Display height. */
  height: number;
  /** Pixels, (count, height, width, 3) uint8, C order. */
  data: Uint8Array;
}

/**
 * Decodes a video at `fps` into RGB (or BGR) frames at its display size (rotation applied).
 * @param path the file
 * @param videoId named in errors
 * @param opts `fps` (default 1), `pixFmt` (default `rgb24`), `probe` (skips a second ffprobe)
 * @returns the frames; throws `DecodeError` with ffmpeg's reason when it cannot
 */
export async function decodeSourceFrames(
  path: string,
  videoId: string,
  opts: { fps?: number; pixFmt?: "rgb24" | "bgr24"; probe?: VideoProbe } = {},
): Promise<SourceFrames> {
  const probe = opts.probe ?? await probeVideo(path, videoId);
  const { width, height } = displaySize(probe);
  const g = sourceFilterGraph(opts);
  const data = await runDecoder(path, videoId, g.filters, g.pixFmt);
  const inBytes = width * height * 3;
  if (data.length % inBytes !== 0) {
    throw new DecodeError(
      videoId,
      `ffmpeg gave ${data.length} bytes, not whole ${width}x${height} frames`,
    );
  }
  const count = data.length / inBytes;
  if (count === 0) throw new DecodeError(videoId, "no decodable frames");
  return { count, width, height, data };
}

/**
 * Resizes and crops one decoded frame as a preset does: `clip` with Pillow's bicubic and
 * torchvision's geometry, `clip-video-encode-1.0` with OpenCV's INTER_CUBIC and a floor crop.
 * @param frame pixels at display size, (height, width, 3)
 * @param width display width
 * @param height display height
 * @param preset `clip` or `clip-video-encode-1.0`
 * @returns the CLIP-sized frame, (224, 224, 3)
 */
export function resizeCropFrame(
  frame: Uint8Array,
  width: number,
  height: number,
  preset: "clip" | "clip-video-encode-1.0",
): Uint8Array {
  const g = clipGeometry(width, height, preset);
  if (preset === "clip") {
    return resizeBicubicPillow(frame, width, height, 3, g.scaleWidth, g.scaleHeight, {
      x: g.cropX,
      y: g.cropY,
      width: g.size,
      height: g.size,
    });
  }
  const resized = resizeCubicOpenCv(frame, width, height, 3, g.scaleWidth, g.scaleHeight);
  const out = new Uint8Array(g.size * g.size * 3);
  for (let y = 0; y < g.size; y++) {
    const from = ((y + g.cropY) * g.scaleWidth + g.cropX) * 3;
    out.set(resized.subarray(from, from + g.size * 3), y * g.size * 3);
  }
  return out;
}

/**
 * Decodes a video at `fps` into CLIP-sized frames.
 * @param path the file
 * @param videoId named in errors
 * @param opts `fps` (default 1), `preset`, `probe` (skips a second ffprobe)
 * @returns the frames; throws `DecodeError` with ffmpeg's reason when it cannot
 */
export async function decodeFrames(
  path: string,
  videoId: string,
  opts: { fps?: number; preset?: Preset; probe?: VideoProbe } = {},
): Promise<FramePack> {
  const probe = opts.probe ?? await probeVideo(path, videoId);
  const preset = opts.preset ?? "clip";
  if (preset !== "clip-swscale") {
    // the 2022 encoder read BGR from OpenCV; `clip` is RGB
    const pixFmt = preset === "clip-video-encode-1.0" ? "bgr24" : "rgb24";
    const { width, height } = displaySize(probe);
    const src = sourceFilterGraph({ fps: opts.fps, pixFmt });
    // each frame is resized as it arrives: only CLIP-sized frames are kept
    const data = await runDecoder(path, videoId, src.filters, src.pixFmt, {
      bytes: width * height * 3,
      each: (frame) => resizeCropFrame(frame, width, height, preset),
    });
    const count = data.length / (CLIP_SIZE * CLIP_SIZE * 3);
    if (count === 0) throw new DecodeError(videoId, "no decodable frames");
    return { videoId, count, size: CLIP_SIZE, data };
  }
  const g = decodeFilterGraph(probe, opts);
  const data = await runDecoder(path, videoId, g.filters, g.pixFmt);
  const frameBytes = g.size * g.size * 3;
  if (data.length % frameBytes !== 0) {
    throw new DecodeError(videoId, `ffmpeg gave ${data.length} bytes, not whole frames`);
  }
  const count = data.length / frameBytes;
  if (count === 0) throw new DecodeError(videoId, "no decodable frames");
  return { videoId, count, size: g.size, data };
}

/**
 * Runs ffmpeg to raw frames. With `frames`, each whole frame of `bytes` is passed through `each`
 * as it arrives and only what `each` returns is kept.
 */
async function runDecoder(
  path: string,
  videoId: string,
  vf: string,
  pixFmt: string,
  frames?: { bytes: number; each: (frame: Uint8Array) => Uint8Array },
): Promise<Uint8Array> {
  const ffmpeg = await loadFluent();
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let stderr = "";
    let exited = false, drained = false;
    const pending = frames ? new Uint8Array(frames.bytes) : null;
    let filled = 0;
    const keep = (c: Uint8Array) => {
      chunks.push(c);
      total += c.length;
    };
    const take = (chunk: Uint8Array) => {
      if (!frames || !pending) return keep(chunk);
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(chunk.length - off, frames.bytes - filled);
        pending.set(chunk.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === frames.bytes) {
          keep(frames.each(pending));
          filled = 0;
        }
      }
    };
    const finish = () => {
      if (!exited || !drained) return;
      if (filled !== 0) {
        reject(new DecodeError(videoId, `ffmpeg gave ${filled} bytes more than whole frames`));
        return;
      }
      const out = new Uint8Array(total);
      let off = 0;
      for (const c of chunks) {
        out.set(c, off);
        off += c.length;
      }
      resolve(out);
    };
    // fluent-ffmpeg takes its output stream's 'close' for an early close when the process's exit
    // is seen more than 20 ms later (a busy event loop: many decoders, encoding on the same
    // thread) and fails a good decode with "Output stream closed". This sink never emits 'close';
    // the frames are complete once ffmpeg has ended and the last byte is in.
    const sink = new Writable({
      emitClose: false,
      write(chunk: Uint8Array, _enc, cb) {
        try {
          take(chunk);
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
      final(cb) {
        drained = true;
        cb();
        finish();
      },
    });
    const cmd = ffmpeg(path)
      .inputOptions(["-nostdin", "-threads", "1"])
      .outputOptions(["-an", "-sn", "-dn", "-vf", vf, "-pix_fmt", pixFmt, "-f", "rawvideo"])
      .on("stderr", (line: string) => {
        stderr = (stderr + line + "\n").slice(-4000);
      })
      .on("error", (err: Error) => {
        reject(new DecodeError(videoId, `ffmpeg: ${ffmpegReason(stderr, err.message)}`, stderr));
      })
      .on("end", () => {
        exited = true;
        finish();
      });
    cmd.pipe(sink, { end: true });
  });
}

/** The most telling line of ffmpeg's stderr (its own error text rather than the banner). */
function ffmpegReason(stderr: string, fallback: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  const telling = lines.filter((l) =>
    /error|invalid|no such|not found|moov atom|could not|unsupported|failed|does not contain/i
      .test(l)
  );
  return withoutContext(telling[0] ?? lastLine(fallback)).slice(0, 300);
}

/** ffprobe's reason: an empty file said so, else its most telling line (not "exited with 1"). */
function probeReason(path: string, message: string): string {
  try {
    if (Deno.statSync(path).size === 0) return "empty file (0 bytes)";
  } catch { /* ffprobe's own words below */ }
  return ffmpegReason(message.replace(/^ffprobe exited with code \d+\s*/i, ""), message);
}

/** Drops ffmpeg's `[h264 @ 0x55d...]` prefix: a memory address differs on every run. */
function withoutContext(line: string): string {
  return line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, "");
}

function lastLine(s: string): string {
  const lines = s.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines[lines.length - 1] ?? s;
}

function num(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function rate(v: unknown): number {
  if (typeof v !== "string") return 0;
  const [a, b] = v.split("/").map(Number);
  return b ? a / b : Number.isFinite(a) ? a : 0;
}

// Rotation lives in a display-matrix side data entry (newer ffmpeg) or a `rotate` tag (older).
function rotationOf(stream: Fluent.FfprobeStream): number {
  // deno-lint-ignore no-explicit-any -- side_data_list is not in fluent-ffmpeg's types
  const s = stream as any;
  // fluent-ffmpeg flattens ffprobe's side data into the stream (`rotation`)
  let r = s.rotation !== undefined && s.rotation !== "N/A" ? Number(s.rotation) : 0;
  for (const sd of s.side_data_list ?? []) {
    if (sd.rotation !== undefined) r = Number(sd.rotation);
  }
  if (!r && s.tags?.rotate !== undefined) r = -Number(s.tags.rotate);
  // ffprobe reports the display matrix rotation counter-clockwise; normalise to 0..359
  return ((Math.round(r) % 360) + 360) % 360;
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The first line of `ffmpeg -version`, recorded in the run config (another ffmpeg may decode
 * other pixels).
 * @param ffmpegPath the binary (default `FFMPEG_PATH` or `ffmpeg`)
 * @returns e.g. `ffmpeg version 5.1.6-0+deb12u1`
 */
export async function ffmpegVersion(ffmpegPath?: string): Promise<string> {
  const { execFile } = await import("node:child_process");
  const bin = ffmpegPath ?? Deno.env.get("FFMPEG_PATH") ?? "ffmpeg";
  return await new Promise((resolve, reject) => {
    execFile(bin, ["-hide_banner", "-version"], (err, stdout) => {
      if (err) reject(new DecodeError("-", `cannot run ${bin}: ${err.message}`));
      else resolve(String(stdout).split("\n")[0].replace(/ Copyright.*/, "").trim());
    });
  });
}
