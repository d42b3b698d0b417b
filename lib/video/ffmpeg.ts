/**
 * Everything that knows ffmpeg: decoding a video into CLIP-sized RGB frames (one ffmpeg process
 * per video, no ffprobe before it), and probing a video (ffprobe's JSON). Both run inside the
 * decode sandbox when one is set (`decode_sandbox.ts`).
 * The binaries: `setFfmpegPaths`, else `FFMPEG_PATH` / `FFPROBE_PATH`, else the pinned static
 * builds installed by the bootstrap, else `PATH` (`ffmpeg_binaries.ts`).
 *
 * Timestamp rule: at `fps` frames per second, output frame k (k = 0, 1, ...) is the video frame on
 * screen at time k/fps after the first frame, i.e. the last frame whose timestamp is ≤ k/fps
 * (ffmpeg's `fps` filter with `round=up`). A video of duration d gives ceil(d·fps) frames; one
 * shorter than an interval gives its first frame.
 * @module
 */
import { basename, dirname, join } from "node:path";
import { CLIP_SIZE, DecodeError, InterruptedError } from "../base/mod.ts";
import { type FramePack, RUN_SETTINGS } from "../core/mod.ts";
import {
  displaySizePreset,
  type Preset,
  PRESET_SPECS,
  type PresetSpec,
  presetSpec,
} from "./presets.ts";
import { resizeCubicOpenCv } from "./opencv_cubic_resize.ts";
import { PillowResizeStream, resizeBicubicPillow } from "./pillow_resize.ts";
import { defaultFfmpegBinary } from "./ffmpeg_binaries.ts";
import { type DecodeSandbox, NO_SANDBOX } from "./decode_sandbox.ts";

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

/**
 * Points decoding and probing at particular ffmpeg / ffprobe binaries (e.g. a current build).
 * @param paths the binaries; an absent one keeps the current setting
 */
export function setFfmpegPaths(paths: { ffmpeg?: string; ffprobe?: string }): void {
  if (paths.ffmpeg) binaries.ffmpeg = paths.ffmpeg;
  if (paths.ffprobe) binaries.ffprobe = paths.ffprobe;
}

const binaries: { ffmpeg?: string; ffprobe?: string } = {};

/**
 * The ffmpeg binary decoding uses now: `setFfmpegPaths`, else `FFMPEG_PATH`, else the installed
 * static build, else `ffmpeg` on `PATH`.
 * @returns a path or a bare name
 */
export function ffmpegBinary(): string {
  return binaries.ffmpeg ?? defaultFfmpegBinary("ffmpeg");
}

/**
 * The ffprobe binary `probeVideo` uses now (same order as {@linkcode ffmpegBinary}).
 * @returns a path or a bare name
 */
export function ffprobeBinary(): string {
  return binaries.ffprobe ?? defaultFfmpegBinary("ffprobe");
}

/** Runs a decoder binary (in the sandbox) and returns its stdout and the tail of its stderr. */
async function runTool(
  bin: string,
  args: readonly string[],
  videoId: string,
  sandbox: DecodeSandbox,
  onStdout?: (chunk: Uint8Array) => void,
): Promise<{ stdout: Uint8Array; stderr: string; code: number }> {
  // a tool stopped by a signal is not a bad video: the run is being stopped, or something killed it
  const interrupted = (code: number, signal: Deno.Signal | null) =>
    new InterruptedError(
      `${videoId}: ${basename(bin)} was stopped by ${signal ?? `a signal (exit code ${code})`}; ` +
        "the video stays pending: run again",
    );
  const { command, args: all } = sandbox.wrap(bin, args);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args: all,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
  } catch (e) {
    throw new DecodeError(videoId, `cannot run ${command}: ${(e as Error).message}`);
  }
  const stderrTail = readTail(child.stderr, 4000);
  let stdout: Uint8Array = new Uint8Array(0);
  try {
    if (onStdout) await readInto(child.stdout, onStdout);
    else stdout = await readAll(child.stdout);
  } catch (e) {
    // what it wrote cannot be used (a frame of another size...): stop it, then say why
    child.kill("SIGKILL");
    await Promise.all([stderrTail, child.status]);
    throw e;
  }
  const [stderr, status] = await Promise.all([stderrTail, child.status]);
  // ffmpeg exits 255 after a SIGINT/SIGTERM it caught, a sandbox 128 + N after its child's signal
  if (status.signal !== null || status.code >= 128) throw interrupted(status.code, status.signal);
  return { stdout, stderr, code: status.code };
}

/** The parts of ffprobe's JSON this module reads. */
interface ProbeJson {
  streams?: {
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    duration?: string;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    tags?: Record<string, string>;
    side_data_list?: { rotation?: number | string }[];
  }[];
  format?: { duration?: string };
}

/**
 * Probes a video (ffprobe's JSON, one process).
 * @param path the file
 * @param videoId named in errors
 * @param sandbox where ffprobe runs (default: no sandbox)
 * @returns duration, frame rate, size, rotation and codec of its first video stream
 */
export async function probeVideo(
  path: string,
  videoId: string,
  sandbox: DecodeSandbox = NO_SANDBOX,
): Promise<VideoProbe> {
  const args = ["-v", "error", "-print_format", "json", "-show_streams", "-show_format", path];
  const r = await runTool(ffprobeBinary(), args, videoId, sandbox);
  if (r.code !== 0) {
    throw new DecodeError(videoId, `ffprobe: ${probeReason(path, r.stderr, r.code)}`, r.stderr);
  }
  let data: ProbeJson;
  try {
    data = JSON.parse(new TextDecoder().decode(r.stdout));
  } catch {
    throw new DecodeError(videoId, "ffprobe: output is not JSON", r.stderr);
  }
  const v = (data.streams ?? []).find((s) => s.codec_type === "video");
  if (!v) throw new DecodeError(videoId, "no video stream");
  const duration = num(v.duration) || num(data.format?.duration);
  const width = Number(v.width ?? 0), height = Number(v.height ?? 0);
  if (!(width > 0 && height > 0)) {
    throw new DecodeError(videoId, `video stream has no size (${width}x${height})`);
  }
  return {
    duration,
    frameRate: rate(v.avg_frame_rate) || rate(v.r_frame_rate),
    width,
    height,
    rotation: rotationOf(v),
    codec: String(v.codec_name ?? "unknown"),
  };
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
  const off = presetSpec(preset).cropOffset;
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
 * The `clip-swscale` preset's filter chain for a probed video, with the geometry as numbers: what
 * `decodeFrames` computed before it left the geometry to ffmpeg (`clipFilterChain` in `presets.ts`);
 * ffmpeg's swscale resizes (bicubic, a = −0.5, no antialias when shrinking) and crops in one pass.
 * The identity tests and benchmarks run it bare as the reference.
 * @param probe the video's probe
 * @param opts `fps` (default 1)
 * @returns the filters, pixel format and frame size
 */
export function decodeFilterGraph(
  probe: VideoProbe,
  opts: { fps?: number } = {},
): DecodeFilterGraph {
  const spec = PRESET_SPECS["clip-swscale"];
  const { width, height } = displaySize(probe);
  const g = clipGeometry(width, height, spec.name, spec.frameSize);
  // bicubic with Keys a = -0.5 (swscale's param1 = C = 0.5), PIL's BICUBIC kernel without its
  // antialias
  const filters = [
    `fps=fps=${opts.fps ?? RUN_SETTINGS.fps.default}:round=up`,
    `scale=${g.scaleWidth}:${g.scaleHeight}:flags=${spec.colour.swsFlags}`,
    `crop=${g.size}:${g.size}:${g.cropX}:${g.cropY}`,
  ].join(",");
  return { filters, pixFmt: spec.colour.pixFmt, size: g.size };
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
  const spec = displaySizePreset(opts.pixFmt ?? "rgb24");
  return {
    filters: spec.decodeFilters(opts.fps ?? RUN_SETTINGS.fps.default),
    pixFmt: spec.colour.pixFmt,
  };
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
 * @param opts `fps` (default 1), `pixFmt` (default `rgb24`), `probe` (for `bgr24`: skips its
 *   ffprobe), `ffmpeg`, `sandbox`
 * @returns the frames; throws `DecodeError` with ffmpeg's reason when it cannot
 */
export async function decodeSourceFrames(
  path: string,
  videoId: string,
  opts: {
    fps?: number;
    pixFmt?: "rgb24" | "bgr24";
    probe?: VideoProbe;
    ffmpeg?: string;
    sandbox?: DecodeSandbox;
  } = {},
): Promise<SourceFrames> {
  const run = decoderRun(opts);
  const frames: Uint8Array[] = [];
  const fps = opts.fps ?? RUN_SETTINGS.fps.default;
  const src = sourceFilterGraph({ fps, pixFmt: opts.pixFmt });
  const size = await decodeEachFrame(path, videoId, src, run, {
    probe: opts.probe,
    frame: wholeFrames((frame) => {
      frames.push(frame.slice());
    }),
  });
  return { count: frames.length, ...size, data: concatBytes(frames) };
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
  return resizeCropWith(presetSpec(preset), frame, width, height);
}

/** {@linkcode resizeCropFrame} with the preset's object. */
function resizeCropWith(
  spec: PresetSpec,
  frame: Uint8Array,
  width: number,
  height: number,
): Uint8Array {
  const g = clipGeometry(width, height, spec.name, spec.frameSize);
  if (spec.resize === "pillow-bicubic") {
    return resizeBicubicPillow(frame, width, height, 3, g.scaleWidth, g.scaleHeight, {
      x: g.cropX,
      y: g.cropY,
      width: g.size,
      height: g.size,
    });
  }
  // OpenCV's INTER_CUBIC over the whole frame, then the crop
  const resized = resizeCubicOpenCv(frame, width, height, 3, g.scaleWidth, g.scaleHeight);
  const out = new Uint8Array(g.size * g.size * 3);
  for (let y = 0; y < g.size; y++) {
    const from = ((y + g.cropY) * g.scaleWidth + g.cropX) * 3;
    out.set(resized.subarray(from, from + g.size * 3), y * g.size * 3);
  }
  return out;
}

/**
 * Decodes a video at `fps` into CLIP-sized frames, with one ffmpeg process per video.
 * - `clip` (default): ffmpeg samples and converts to RGB at the display size, frames come back as
 *   PPM images (which carry their size, so no ffprobe runs), and each is resized with Pillow's
 *   bicubic and cropped as torchvision does ({@linkcode resizeCropFrame}) as it arrives, row by
 *   row ({@linkcode PillowResizeStream}): no full-size frame is held, whatever the video's size.
 * - `clip-swscale`: ffmpeg resizes and crops too (`clipFilterChain` in `presets.ts`): faster, within a
 *   few levels of `clip`.
 * - `clip-video-encode-1.0`: BGR at the display size (its size from ffprobe: ffmpeg's RGB and BGR
 *   conversions of 10-bit video differ, and only RGB comes as PPM), resized with OpenCV's cubic.
 *
 * With `thumbnail`, the same ffmpeg process also writes each sampled frame, 128 px on its short
 * side, as a JPEG into a temp folder beside that path (a second output of its filter graph, split
 * after the sampling: no second decode, and the frames' bytes are the same as without); the
 * middle one, frame floor(n/2) as eval's centre frame, is renamed to `thumbnail`.
 * @param path the file
 * @param videoId named in errors
 * @param opts `fps` (default 1), `preset`, `ffmpeg` (a binary other than the default), `sandbox`
 *   (where ffmpeg runs, from `openDecodeSandbox`; default none), `thumbnail` (the JPEG's path)
 * @returns the frames; throws `DecodeError` with ffmpeg's reason when it cannot
 */
export async function decodeFrames(
  path: string,
  videoId: string,
  opts: {
    fps?: number;
    preset?: Preset;
    ffmpeg?: string;
    sandbox?: DecodeSandbox;
    thumbnail?: string;
  } = {},
): Promise<FramePack> {
  const fps = opts.fps ?? RUN_SETTINGS.fps.default;
  const run = decoderRun(opts);
  if (opts.thumbnail) run.thumbnails = await thumbnailFolder(opts.thumbnail);
  const spec = presetSpec((opts.preset ?? RUN_SETTINGS.preset.default) as Preset);
  const src = { filters: spec.decodeFilters(fps), pixFmt: spec.colour.pixFmt };
  const size = spec.frameSize;
  let pack: FramePack;
  try {
    if (spec.resize === "swscale-bicubic") {
      const f = await runDecoder(path, videoId, src.filters, run);
      if (f.width !== size || f.height !== size) {
        throw new DecodeError(videoId, `ffmpeg gave ${f.width}x${f.height} frames, not ${size}`);
      }
      pack = { videoId, count: f.count, size, data: f.data };
    } else {
      const out: Uint8Array[] = [];
      await decodeEachFrame(path, videoId, src, run, { frame: resizingSink(spec, out) });
      pack = { videoId, count: out.length, size, data: concatBytes(out) };
    }
    if (run.thumbnails && opts.thumbnail) {
      await keepMiddleThumbnail(run.thumbnails, pack.count, opts.thumbnail, videoId);
      pack.thumbnail = opts.thumbnail;
    }
  } finally {
    if (run.thumbnails) await Deno.remove(run.thumbnails, { recursive: true }).catch(() => {});
  }
  return pack;
}

/** Side of a thumbnail's short edge, in pixels. */
export const THUMBNAIL_SIZE = 128;

/**
 * The thumbnail's scale: the short side to {@linkcode THUMBNAIL_SIZE}, the long one to keep the
 * aspect (rounded to an even number, which JPEG's 4:2:0 chroma wants).
 */
const THUMBNAIL_SCALE = `scale=w='if(gte(iw,ih),-2,${THUMBNAIL_SIZE})'` +
  `:h='if(gte(iw,ih),${THUMBNAIL_SIZE},-2)'`;

/** A fresh temp folder beside the thumbnail's path for ffmpeg's JPEGs (a stale one removed). */
async function thumbnailFolder(thumbnail: string): Promise<string> {
  const dir = join(dirname(thumbnail), `.${basename(thumbnail)}.tmp`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/** Renames the JPEG of frame floor(count/2) to `thumbnail` (atomically: a rename). */
async function keepMiddleThumbnail(
  dir: string,
  count: number,
  thumbnail: string,
  videoId: string,
): Promise<void> {
  const middle = join(dir, `${String(Math.floor(count / 2)).padStart(6, "0")}.jpg`);
  try {
    await Deno.rename(middle, thumbnail);
  } catch (e) {
    throw new DecodeError(
      videoId,
      `ffmpeg wrote no thumbnail for frame ${Math.floor(count / 2)}: ${(e as Error).message}`,
    );
  }
}

/**
 * The arguments after `-i` when thumbnails are written too: the sampling filter, then a split
 * whose one branch is the step's chain to stdout and the other the scaled JPEGs into `dir`.
 */
function framesAndThumbnailArgs(vf: string, output: readonly string[], dir: string): string[] {
  const sampling = /^fps=fps=[^,]+:round=up/.exec(vf)?.[0];
  if (!sampling) throw new TypeError(`a decode chain must start with its fps filter: ${vf}`);
  const rest = vf.slice(sampling.length).replace(/^,/, "");
  const graph = `[0:v:0]${sampling},split=2[${rest ? "sampled" : "frames"}][thumbs];` +
    (rest ? `[sampled]${rest}[frames];` : "") + `[thumbs]${THUMBNAIL_SCALE}[jpeg]`;
  return ["-filter_complex", graph, "-map", "[frames]", ...output, "pipe:1"]
    .concat(["-map", "[jpeg]", "-c:v", "mjpeg", "-q:v", "3", "-start_number", "0"])
    .concat(["-f", "image2", join(dir, "%06d.jpg")]);
}

/**
 * Sinks that resize and crop each decoded frame as the preset does and push the result to `out`:
 * Pillow's bicubic row by row as the bytes arrive, OpenCV's cubic on the whole frame.
 */
function resizingSink(
  spec: PresetSpec,
  out: Uint8Array[],
): (width: number, height: number) => FrameSink {
  if (spec.resize === "pillow-bicubic") {
    return (width, height) => {
      const g = clipGeometry(width, height, spec.name, spec.frameSize);
      const window = { x: g.cropX, y: g.cropY, width: g.size, height: g.size };
      const resize = new PillowResizeStream(width, height, 3, g.scaleWidth, g.scaleHeight, window);
      return { write: (bytes) => resize.write(bytes), end: () => out.push(resize.end()) };
    };
  }
  return wholeFrames((pixels, width, height) => {
    out.push(resizeCropWith(spec, pixels, width, height));
  });
}

function decoderRun(opts: { ffmpeg?: string; sandbox?: DecodeSandbox }): DecoderRun {
  return { bin: opts.ffmpeg ?? ffmpegBinary(), sandbox: opts.sandbox ?? NO_SANDBOX };
}

/**
 * Runs one ffmpeg with the filter chain `src` (sampling and converting at the display size), and
 * hands each frame's pixels to a sink from `frame` as they arrive.
 * @returns the display size
 */
async function decodeEachFrame(
  path: string,
  videoId: string,
  src: { filters: string; pixFmt: string },
  run: DecoderRun,
  o: {
    probe?: VideoProbe;
    frame: (width: number, height: number) => FrameSink;
  },
): Promise<{ width: number; height: number }> {
  let splitter: FrameSplitter;
  if (src.pixFmt === "rgb24") {
    splitter = new FrameSplitter(videoId, null, o.frame);
    await runFfmpeg(path, videoId, src.filters, PPM_RGB24, run, (c) => splitter.push(c));
  } else {
    const probe = o.probe ?? await probeVideo(path, videoId, run.sandbox);
    splitter = new FrameSplitter(videoId, displaySize(probe), o.frame);
    await runFfmpeg(path, videoId, src.filters, RAW_BGR24, run, (c) => splitter.push(c));
  }
  splitter.end();
  if (splitter.count === 0) throw new DecodeError(videoId, "no decodable frames");
  return splitter.size!;
}

/** A probed video's size as displayed (rotation applied). */
function displaySize(probe: VideoProbe): { width: number; height: number } {
  const swap = probe.rotation === 90 || probe.rotation === 270;
  return swap
    ? { width: probe.height, height: probe.width }
    : { width: probe.width, height: probe.height };
}

/** Receives one frame's pixels, (height, width, 3) C order, in pieces as they arrive. */
interface FrameSink {
  /** The next bytes of the frame. */
  write(bytes: Uint8Array): void;
  /** Called once the frame's last byte was written. */
  end(): void;
}

/**
 * Sinks that gather each frame whole into one buffer, reused from frame to frame (copy what you
 * keep), for what needs the full frame at once (OpenCV's resize, frames returned as they are).
 */
function wholeFrames(
  each: (frame: Uint8Array, width: number, height: number) => void,
): (width: number, height: number) => FrameSink {
  let buffer = new Uint8Array(0);
  return (width, height) => {
    if (buffer.length !== width * height * 3) buffer = new Uint8Array(width * height * 3);
    let filled = 0;
    return {
      write: (bytes) => {
        buffer.set(bytes, filled);
        filled += bytes.length;
      },
      end: () => each(buffer, width, height),
    };
  };
}

/**
 * Cuts ffmpeg's output into frames as it arrives: raw frames of a known size, or PPM images
 * (`P6 <w> <h> 255` and one whitespace before each frame), every one the first one's size. A
 * frame's pixels go to its sink piece by piece; only a PPM header is held here.
 */
class FrameSplitter {
  count = 0;
  /** The first frame's PPM header, which every frame must repeat (empty for raw frames). */
  #header: Uint8Array | null = null;
  /** This frame's header as it arrives. */
  #headerIn = new Uint8Array(0);
  #headerFilled = 0;
  /** Pixel bytes per frame, and how many of this frame's have gone to its sink. */
  #pixels = 0;
  #pixelsFilled = 0;
  #sink: FrameSink | null = null;
  #start: Uint8Array = new Uint8Array(0);

  constructor(
    readonly videoId: string,
    public size: { width: number; height: number } | null,
    readonly frame: (width: number, height: number) => FrameSink,
  ) {
    if (size) this.#open(new Uint8Array(0), size);
  }

  push(chunk: Uint8Array): void {
    if (!this.#header) {
      // a PPM stream: read the first header to learn the frame size
      this.#start = concatBytes([this.#start, chunk]);
      if (this.#start.length < 64 && !this.#headerComplete()) return;
      const h = ppmHeader(this.#start, 0, this.videoId);
      this.size = { width: h.width, height: h.height };
      this.#open(this.#start.slice(0, h.length), this.size);
      chunk = this.#start;
      this.#start = new Uint8Array(0);
    }
    const header = this.#header!;
    let off = 0;
    while (off < chunk.length) {
      if (this.#headerFilled < header.length) {
        const n = Math.min(chunk.length - off, header.length - this.#headerFilled);
        this.#headerIn.set(chunk.subarray(off, off + n), this.#headerFilled);
        this.#headerFilled += n;
        off += n;
        if (this.#headerFilled === header.length) this.#checkHeader(chunk.subarray(off));
        continue;
      }
      this.#sink ??= this.frame(this.size!.width, this.size!.height);
      const n = Math.min(chunk.length - off, this.#pixels - this.#pixelsFilled);
      this.#sink.write(chunk.subarray(off, off + n));
      this.#pixelsFilled += n;
      off += n;
      if (this.#pixelsFilled === this.#pixels) this.#emit();
    }
  }

  end(): void {
    if (!this.#header && this.#start.length > 0) this.push(new Uint8Array(0));
    if (this.#headerFilled !== 0 || this.#pixelsFilled !== 0) {
      throw new DecodeError(this.videoId, `ffmpeg's output ends inside frame ${this.count}`);
    }
  }

  #headerComplete(): boolean {
    // "P6", three numbers, each followed by whitespace
    let fields = 0;
    for (let i = 2; i < this.#start.length; i++) {
      if (isSpace(this.#start[i]) && !isSpace(this.#start[i - 1])) fields++;
      if (fields === 3) return true;
    }
    return false;
  }

  #open(header: Uint8Array, size: { width: number; height: number }): void {
    this.#header = header;
    this.#headerIn = new Uint8Array(header.length);
    this.#pixels = size.width * size.height * 3;
    // a raw frame has no header to wait for
    this.#headerFilled = 0;
  }

  /** A frame's header must be the first frame's: one size for the whole video. */
  #checkHeader(after: Uint8Array): void {
    const header = this.#header!, got = this.#headerIn, size = this.size!;
    for (let i = 0; i < header.length; i++) {
      if (got[i] !== header[i]) {
        // the new header may be longer than the first: read it from what follows too
        const h = ppmHeader(concatBytes([got, after.subarray(0, 64)]), 0, this.videoId);
        throw new DecodeError(
          this.videoId,
          `frame size changed from ${size.width}x${size.height} to ${h.width}x${h.height} ` +
            `at frame ${this.count}`,
        );
      }
    }
  }

  #emit(): void {
    this.#sink!.end();
    this.#sink = null;
    this.count++;
    this.#headerFilled = 0;
    this.#pixelsFilled = 0;
  }
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Output options: RGB24 frames as PPM images, each with a header naming its size. */
const PPM_RGB24 = ["-pix_fmt", "rgb24", "-c:v", "ppm", "-f", "image2pipe"];
/** Output options: raw BGR24 frames, the size known beforehand. */
const RAW_BGR24 = ["-pix_fmt", "bgr24", "-f", "rawvideo"];

/** Which ffmpeg decodes, and where. */
interface DecoderRun {
  bin: string;
  sandbox: DecodeSandbox;
  /** The folder the same ffmpeg writes the thumbnail JPEGs into, when asked for. */
  thumbnails?: string;
}

/** Frames of one size, RGB24, back to back. */
interface RgbFrames {
  width: number;
  height: number;
  count: number;
  data: Uint8Array;
}

/**
 * Runs one ffmpeg over one video with the filter chain `vf`, frames out as PPM (RGB24 with a
 * header naming the size), and returns the pixels without the headers.
 */
async function runDecoder(
  path: string,
  videoId: string,
  vf: string,
  run: DecoderRun,
): Promise<RgbFrames> {
  const frames = parsePpmFrames(await runFfmpeg(path, videoId, vf, PPM_RGB24, run), videoId);
  if (frames.count === 0) throw new DecodeError(videoId, "no decodable frames");
  return frames;
}

/**
 * Runs one ffmpeg over one video and returns what it wrote to stdout, or hands it to `onStdout`
 * piece by piece as it comes (each piece's memory is read into again: copy what you keep).
 */
async function runFfmpeg(
  path: string,
  videoId: string,
  vf: string,
  output: readonly string[],
  run: DecoderRun,
  onStdout?: (chunk: Uint8Array) => void,
): Promise<Uint8Array> {
  const args = ["-nostdin", "-hide_banner", "-loglevel", "warning", "-threads", "1", "-i", path]
    .concat(
      run.thumbnails
        ? framesAndThumbnailArgs(vf, output, run.thumbnails)
        : ["-an", "-sn", "-dn", "-vf", vf, ...output, "pipe:1"],
    );
  const r = await runTool(run.bin, args, videoId, run.sandbox, onStdout);
  if (r.code !== 0) throw decodeFailure(path, videoId, r.stderr, r.code);
  return r.stdout;
}

/**
 * Hands a byte stream to `each` in pieces read into one reused buffer: a decoder writes hundreds
 * of megabytes per large frame, and a fresh chunk per read would be garbage the collector reaches
 * only later (80 MB more at the peak for an 8192×8192 video).
 */
async function readInto(
  stream: ReadableStream<Uint8Array>,
  each: (chunk: Uint8Array) => void,
): Promise<void> {
  const reader = stream.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(1 << 20);
  try {
    for (;;) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || !value) break;
      each(value);
      // the read gave the buffer back (transferred): the next read fills it again
      buffer = value.buffer as ArrayBuffer;
    }
  } catch (e) {
    // what is left unread is not wanted: close the pipe rather than leave it open
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of stream) {
    chunks.push(c);
    total += c.length;
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** The last `max` characters of a text stream (a broken video can log megabytes). */
async function readTail(stream: ReadableStream<Uint8Array>, max: number): Promise<string> {
  let tail = "";
  for await (const t of stream.pipeThrough(new TextDecoderStream())) {
    tail = (tail + t).slice(-max);
  }
  return tail;
}

/** A failed decode in one line: an empty file, no video stream, else ffmpeg's own reason. */
function decodeFailure(path: string, videoId: string, stderr: string, code: number): DecodeError {
  try {
    if (Deno.statSync(path).size === 0) {
      return new DecodeError(videoId, "ffmpeg: empty file (0 bytes)", stderr);
    }
  } catch { /* ffmpeg's own words below */ }
  if (/does not contain any stream|matches no streams/.test(stderr)) {
    return new DecodeError(videoId, "no video stream", stderr);
  }
  return new DecodeError(
    videoId,
    `ffmpeg: ${ffmpegReason(stderr, `exited with code ${code}`)}`,
    stderr,
  );
}

/**
 * Splits ffmpeg's PPM stream (`P6 <w> <h> 255`, one whitespace, w·h·3 bytes, per frame) into
 * back-to-back pixels, in place. Every frame must have the first one's size.
 */
function parsePpmFrames(buf: Uint8Array, videoId: string): RgbFrames {
  if (buf.length === 0) return { width: 0, height: 0, count: 0, data: buf };
  const first = ppmHeader(buf, 0, videoId);
  const frameBytes = first.width * first.height * 3;
  let read = 0, count = 0;
  while (read < buf.length) {
    const h = ppmHeader(buf, read, videoId);
    if (h.width !== first.width || h.height !== first.height) {
      throw new DecodeError(
        videoId,
        `frame size changed from ${first.width}x${first.height} to ${h.width}x${h.height} ` +
          `at frame ${count}`,
      );
    }
    const start = read + h.length;
    if (start + frameBytes > buf.length) {
      throw new DecodeError(videoId, `ffmpeg's output ends inside frame ${count}`);
    }
    buf.copyWithin(count * frameBytes, start, start + frameBytes);
    read = start + frameBytes;
    count++;
  }
  return { ...first, count, data: buf.subarray(0, count * frameBytes) };
}

function ppmHeader(
  buf: Uint8Array,
  at: number,
  videoId: string,
): { width: number; height: number; length: number } {
  const fields: number[] = [];
  let i = at + 2;
  if (buf[at] !== 0x50 || buf[at + 1] !== 0x36) {
    throw new DecodeError(videoId, `ffmpeg's output is not a PPM frame at byte ${at}`);
  }
  while (fields.length < 3 && i < buf.length && i < at + 64) {
    while (i < buf.length && isSpace(buf[i])) i++;
    let n = 0, digits = 0;
    while (i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39) {
      n = n * 10 + buf[i++] - 0x30, digits++;
    }
    if (digits === 0) break;
    fields.push(n);
  }
  if (fields.length < 3 || fields[2] !== 255 || i >= buf.length || !isSpace(buf[i])) {
    throw new DecodeError(videoId, `ffmpeg's PPM header at byte ${at} is not 8-bit RGB`);
  }
  return { width: fields[0], height: fields[1], length: i + 1 - at };
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
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

/** ffprobe's reason: an empty file said so, else its most telling line. */
function probeReason(path: string, stderr: string, code: number): string {
  try {
    if (Deno.statSync(path).size === 0) return "empty file (0 bytes)";
  } catch { /* ffprobe's own words below */ }
  return ffmpegReason(stderr, `exited with code ${code}`);
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
function rotationOf(stream: NonNullable<ProbeJson["streams"]>[number]): number {
  let r = 0;
  for (const sd of stream.side_data_list ?? []) {
    if (sd.rotation !== undefined && sd.rotation !== "N/A") r = Number(sd.rotation);
  }
  if (!r && stream.tags?.rotate !== undefined) r = -Number(stream.tags.rotate);
  // ffprobe reports the display matrix rotation counter-clockwise; normalise to 0..359
  return ((Math.round(r) % 360) + 360) % 360;
}
