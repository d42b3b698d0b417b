/**
 * The preprocessing presets, each one object holding everything that makes its pixels: the ffmpeg
 * filter chain that decodes, who resizes, how the crop is placed, the colour rule and the frame
 * size. `ffmpeg.ts` applies them; this module holds no decoder code, so that parsing flags loads
 * none.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { presetSpec } from "./presets.ts";
 *
 * const spec = presetSpec("clip-video-encode-1.0");
 * strictEqual(spec.resize, "opencv-cubic");
 * strictEqual(spec.colour.pixFmt, "bgr24");
 * strictEqual(spec.decodeFilters(1), "fps=fps=1:round=up");
 * strictEqual(spec.cropOffset(3 / 2), 1);
 * ```
 * @module
 */
import { CLIP_SIZE } from "../base/mod.ts";

/** The preprocessing presets. */
export const PRESETS = ["clip", "clip-swscale", "clip-video-encode-1.0"] as const;
/**
 * A preprocessing preset: `clip` (CLIP's own: Pillow's bicubic and torchvision's crop, byte for
 * byte; the default), `clip-swscale` (the same geometry resized by ffmpeg's swscale: faster, not
 * Pillow's pixels) or `clip-video-encode-1.0` (the 2022 encoder's OpenCV resize and BGR order).
 */
export type Preset = typeof PRESETS[number];

/**
 * Who resizes a preset's frames: Pillow's bicubic (with its antialias) in TypeScript, row by row;
 * ffmpeg's swscale inside the filter chain; or OpenCV's INTER_CUBIC in TypeScript, frame by frame.
 */
export type PresetResize = "pillow-bicubic" | "swscale-bicubic" | "opencv-cubic";

/**
 * How ffmpeg's swscale turns the stream's YUV into a preset's pixels. Range and matrix are the
 * ones the stream is tagged with (BT.601, limited range when untagged, as for most Kinetics clips).
 */
export interface ColourRule {
  /** The pixel order ffmpeg writes: `rgb24`, or `bgr24` (OpenCV's order). */
  readonly pixFmt: "rgb24" | "bgr24";
  /**
   * The swscale flags of the conversion, or `null` for ffmpeg's default (only `bicubic`, as
   * OpenCV's VideoCapture asks).
   */
  readonly swsFlags: string | null;
  /** Where range and matrix come from: the stream's tags for every preset. */
  readonly rangeAndMatrix: "stream-tags";
}

/** One preprocessing preset: everything that decides its frames' bytes. */
export interface PresetSpec {
  /** Its name, as `--preset` spells it. */
  readonly name: Preset;
  /** Side of its square output frames. */
  readonly frameSize: number;
  /** Who resizes. */
  readonly resize: PresetResize;
  /** How ffmpeg converts to RGB or BGR. */
  readonly colour: ColourRule;
  /**
   * Rounds the centre crop's offset `(scaled − size) / 2`: half to even as torchvision's
   * CenterCrop, or down as the 2022 encoder.
   */
  cropOffset(half: number): number;
  /**
   * ffmpeg's `-vf` chain at `fps`: sampling, the colour conversion, and for a preset that resizes
   * in ffmpeg its scale and crop too (the geometry as ffmpeg expressions, so no ffprobe runs first).
   */
  decodeFilters(fps: number): string;
}

/** Bicubic with Keys a = −0.5 (swscale's param1 = C = 0.5), chroma at full resolution, exact. */
const ACCURATE_BICUBIC = "bicubic+accurate_rnd+full_chroma_int:param0=0:param1=0.5";

/** RGB with bicubic chroma upsampling, rounded accurately (`clip`, `clip-swscale`). */
const RGB_ACCURATE: ColourRule = {
  pixFmt: "rgb24",
  swsFlags: ACCURATE_BICUBIC,
  rangeAndMatrix: "stream-tags",
};
/** BGR with swscale's default flags, as OpenCV's VideoCapture decodes (`clip-video-encode-1.0`). */
const BGR_OPENCV: ColourRule = { pixFmt: "bgr24", swsFlags: null, rangeAndMatrix: "stream-tags" };

/** Output frame k is the frame on screen at k/fps (see `ffmpeg.ts`). */
function sampleFilter(fps: number): string {
  return `fps=fps=${fps}:round=up`;
}

/**
 * The `clip-swscale` preset's filter chain with the geometry left to ffmpeg: the same numbers as
 * `clipGeometry` on the display size (after rotation), written as ffmpeg expressions, so that no
 * ffprobe has to run before the decode. `iw*224/ih` is the same double division as
 * `clipGeometry`'s; the crop offset `2*round(d/4)` for an odd excess `d` is `d/2` rounded half to
 * even.
 * @param fps frames per second (default 1)
 * @param size the crop side
 * @returns the `-vf` chain: fps, scale, crop
 */
export function clipFilterChain(fps = 1, size: number = CLIP_SIZE): string {
  const long = (a: string, b: string) => `if(lte(${a},${b}),${size},trunc(${a}*${size}/${b}))`;
  const offset = (d: string) => `if(mod(${d},2),2*round((${d})/4),(${d})/2)`;
  return [
    sampleFilter(fps),
    `scale=w='${long("iw", "ih")}':h='${long("ih", "iw")}':flags=${ACCURATE_BICUBIC}`,
    `crop=${size}:${size}:'${offset(`iw-${size}`)}':'${offset(`ih-${size}`)}'`,
  ].join(",");
}

/** Rounds half to even, as Python's `round` (torchvision's CenterCrop). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Every preset, by name. */
export const PRESET_SPECS: Readonly<Record<Preset, PresetSpec>> = {
  "clip": {
    name: "clip",
    frameSize: CLIP_SIZE,
    resize: "pillow-bicubic",
    colour: RGB_ACCURATE,
    cropOffset: roundHalfEven,
    decodeFilters: (fps) => `${sampleFilter(fps)},scale=flags=${ACCURATE_BICUBIC},format=rgb24`,
  },
  "clip-swscale": {
    name: "clip-swscale",
    frameSize: CLIP_SIZE,
    resize: "swscale-bicubic",
    colour: RGB_ACCURATE,
    cropOffset: roundHalfEven,
    decodeFilters: (fps) => clipFilterChain(fps, CLIP_SIZE),
  },
  "clip-video-encode-1.0": {
    name: "clip-video-encode-1.0",
    frameSize: CLIP_SIZE,
    resize: "opencv-cubic",
    colour: BGR_OPENCV,
    cropOffset: Math.floor,
    // no conversion filter: the output's `-pix_fmt bgr24` converts with ffmpeg's default flags
    decodeFilters: sampleFilter,
  },
};

/**
 * The preset a name stands for.
 * @param name a preset's name
 * @returns its object
 * @throws Error for a name that is no preset (`--preset` is checked before it gets here)
 */
export function presetSpec(name: Preset): PresetSpec {
  const spec = (PRESET_SPECS as Record<string, PresetSpec | undefined>)[name];
  if (!spec) throw new Error(`unknown preset "${name}": one of ${PRESETS.join(", ")}`);
  return spec;
}

/**
 * The preset that decodes frames at their display size into `pixFmt`, to resize them afterwards:
 * `clip` for `rgb24`, `clip-video-encode-1.0` for `bgr24`.
 * @param pixFmt the pixel order wanted
 * @returns that preset's object
 */
export function displaySizePreset(pixFmt: ColourRule["pixFmt"]): PresetSpec {
  return Object.values(PRESET_SPECS).find((p) =>
    p.resize !== "swscale-bicubic" && p.colour.pixFmt === pixFmt
  )!;
}
