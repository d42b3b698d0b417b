/**
 * The sample step, and everything that knows ffmpeg: the presets (one object each: filter chain,
 * resize, crop, colour rule, frame size; the decoder applies them), the ffmpeg and ffprobe builds
 * and the sandbox they run in, probing and decoding a video into CLIP-sized RGB frames (short
 * side to 224 with Pillow's bicubic, centre crop as torchvision's), the OpenCV-style cubic resize
 * of the `clip-video-encode-1.0` preset, and `frames/<id>.npy` out.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { clipGeometry, PRESETS } from "./mod.ts";
 *
 * deepStrictEqual(PRESETS, ["clip", "clip-swscale", "clip-video-encode-1.0"]);
 * // a 640×360 video: short side to 224, then the centre 224×224
 * deepStrictEqual(clipGeometry(640, 360), {
 *   scaleWidth: 398,
 *   scaleHeight: 224,
 *   cropX: 87,
 *   cropY: 0,
 *   size: 224,
 * });
 * ```
 * @module
 */
export {
  clipFilterChain,
  type ColourRule,
  type Preset,
  PRESET_SPECS,
  type PresetResize,
  PRESETS,
  type PresetSpec,
  presetSpec,
} from "./presets.ts";
export {
  type BinaryIdentity,
  binaryIdentity,
  defaultFfmpegBinary,
  type FfmpegTool,
  installedStaticBuild,
  installStaticBuilds,
  STATIC_BUILD_DIR,
  STATIC_BUILDS,
  type StaticBuild,
} from "./ffmpeg_binaries.ts";
export {
  type DecodeSandbox,
  NO_SANDBOX,
  openDecodeSandbox,
  sandboxCandidates,
  type SandboxKind,
} from "./decode_sandbox.ts";
export {
  clipGeometry,
  type DecodeFilterGraph,
  decodeFilterGraph,
  decodeFrames,
  decodeSourceFrames,
  ffmpegBinary,
  ffprobeBinary,
  type FrameGeometry,
  probeVideo,
  resizeCropFrame,
  setFfmpegPaths,
  sourceFilterGraph,
  type SourceFrames,
  THUMBNAIL_SIZE,
  type VideoProbe,
} from "./ffmpeg.ts";
export { resizeCubicOpenCv } from "./opencv_cubic_resize.ts";
export { resizeBicubicPillow, type ResizeWindow } from "./pillow_resize.ts";
export {
  decodeVideo,
  noteMissingThumbnails,
  prepareDecoding,
  sample,
  sampleConfig,
  type SampleOptions,
  thumbnailsDir,
} from "./sample.ts";
export type {
  ArchiveQueries,
  ArchiveRow,
  ClassStates,
  ConfigValue,
  FramePack,
  Manifest,
  ManifestExport,
  RunConfig,
  RunSettings,
  ShardQueries,
  ShardRow,
  Split,
  SPLITS,
  StagedDuplicate,
  StagedRows,
  StateCounts,
  Step,
  StepOutput,
  StepQueries,
  StepRecord,
  STEPS,
  StepState,
  StepSummary,
  VideoFilter,
  VideoQueries,
  VideoRow,
  VideoStatus,
  VideoStepRow,
} from "../core/mod.ts";
