/**
 * The flags the step tasks share with `run`, declared once with the code that turns their values
 * into step options. Each task composes the groups it takes; `run` takes them all.
 * @module
 */
import type { FlagSpec, FlagValues } from "./flag_spec.ts";
import { intFlag, numberFlag, stringFlag } from "./flags.ts";
import type { EmbeddingOutputDtype, EncodeOptions } from "../encode/mod.ts";
import { UsageError } from "../base/mod.ts";
import { RUN_SETTINGS } from "../core/mod.ts";
import { parseProviders } from "../onnx/mod.ts";
import { type Preset, PRESETS, type SampleOptions } from "../video/mod.ts";
import { parseSplits } from "../download/mod.ts";
import { MODEL_VARIANTS, type ModelVariant } from "../model/mod.ts";

/** Download inputs: annotations, archive lists, plain lists or folders. */
export const DOWNLOAD_INPUT_FLAGS: Record<string, FlagSpec> = {
  annotations: {
    type: "string",
    multiple: true,
    access: "read-file",
    content: "annotations",
    arg: "FILE",
    help: "Kinetics annotation CSV (label,youtube_id,time_start,time_end,split) or DeepMind JSON",
  },
  archives: {
    type: "string",
    multiple: true,
    access: "read-file",
    content: "archive-list",
    arg: "FILE",
    help: "CVDF archive list: one .tar.gz URL (or path) per line",
  },
  videos: {
    type: "string",
    multiple: true,
    access: "read-file-or-folder",
    content: "video-list",
    arg: "FILE",
    help: "plain video list CSV (path,label,split[,youtube_id,time_start,time_end]) or a " +
      "folder of videos (<split>/<class>/file, <class>/file, or file)",
  },
  "allow-host": {
    type: "string",
    multiple: true,
    arg: "HOST",
    help: "fetch from this link-local or cloud metadata host (169.254.0.0/16, fe80::/10), " +
      "which lists may not name otherwise",
  },
  "base-url": {
    type: "string",
    access: "url-or-folder",
    arg: "URL",
    help: "resolve relative archive list entries against this URL or local folder " +
      "(else: local, beside the list)",
  },
};

/** A reproducible subset of the annotation rows. */
export const SUBSET_FLAGS: Record<string, FlagSpec> = {
  splits: { type: "string", arg: "LIST", help: "only these splits, e.g. train,val" },
  "per-class": { type: "string", arg: "K", help: "at most K videos per class and split" },
  limit: { type: "string", arg: "N", help: "at most N videos in all" },
  seed: { type: "string", arg: "S", default: "0", help: "seed of the subset's shuffle" },
};

/** Decoding: rate, preprocessing, parallelism, binaries. */
export const SAMPLE_FLAGS: Record<string, FlagSpec> = {
  fps: {
    type: "string",
    arg: "N",
    default: String(RUN_SETTINGS.fps.default),
    help: "frames per second",
  },
  preset: {
    type: "string",
    arg: "NAME",
    default: RUN_SETTINGS.preset.default,
    help: `preprocessing: ${PRESETS.join(" | ")}`,
  },
  jobs: {
    type: "string",
    arg: "N",
    help: "videos decoded in parallel (default: the CPUs the task may use; in run, their " +
      "share beside encode)",
  },
  thumbnails: {
    type: "boolean",
    help: "also keep thumbs/<id>.jpg, the middle frame 128 px on its short side (same decode)",
  },
  ffmpeg: {
    type: "string",
    arg: "PATH",
    access: "program",
    help: "ffmpeg binary (default $FFMPEG_PATH or PATH)",
  },
  ffprobe: {
    type: "string",
    arg: "PATH",
    access: "program",
    help: "ffprobe binary (default $FFPROBE_PATH or PATH)",
  },
};

/** Encoding: model, providers, batch, output dtype, tensor names, frames kept or not. */
export const ENCODE_FLAGS: Record<string, FlagSpec> = {
  model: {
    type: "string",
    access: "model",
    arg: "NAME",
    help: "CLIP image encoder: an .onnx file (input pixel_values, output image_embeds), a " +
      "checkpoint (.safetensors file or folder), or a hub repo id owner/name[@revision] " +
      "(e.g. openai/clip-vit-base-patch32); required",
  },
  "model-variant": {
    type: "string",
    arg: "V",
    default: "auto",
    help: "encoder built from a checkpoint: auto (fp16-uint8 on CUDA, else float32) | " +
      "float32 | fp16-uint8",
  },
  providers: {
    type: "string",
    arg: "LIST",
    default: "cuda,cpu",
    help: "execution providers in order: cuda, webgpu, cpu",
  },
  batch: {
    type: "string",
    arg: "N",
    default: String(RUN_SETTINGS.batch.default),
    help: "frames per run (batches span videos)",
  },
  dtype: {
    type: "string",
    arg: "T",
    default: RUN_SETTINGS.dtype.default,
    help: "output dtype: float16 | float32",
  },
  "input-name": {
    type: "string",
    arg: "NAME",
    default: "pixel_values",
    help: "model input name",
  },
  "output-name": {
    type: "string",
    arg: "NAME",
    default: "image_embeds",
    help: "model output name",
  },
  "keep-frames": { type: "boolean", help: "keep frames/<id>.npy after encoding" },
  threads: {
    type: "string",
    arg: "N",
    help: "ONNX Runtime intra-op threads (default: the CPUs the task may use, less decode's " +
      "share in run); changes no output byte",
  },
};

/** A CLIP text encoder (eval's zero-shot). */
export const TEXT_MODEL_FLAG: FlagSpec = {
  type: "string",
  arg: "NAME",
  access: "model",
  help: "CLIP text encoder: an .onnx file (input_ids int64 [N,77] → text_embeds [N,D]), a " +
    "checkpoint, or a hub repo id owner/name[@revision]",
};

/**
 * A class list flag (`--classes FILE`, one class per line), read before the task starts.
 * @param help what the list is for in this task
 * @returns the flag's spec
 */
export function classListFlag(help: string): FlagSpec {
  return { type: "string", arg: "FILE", access: "read-file", content: "class-list", help };
}

/**
 * The download inputs and subset from parsed flags.
 * @param v parsed flags (with `DOWNLOAD_INPUT_FLAGS` and `SUBSET_FLAGS`)
 * @returns the matching download options
 */
export function downloadInputOptions(v: FlagValues): {
  annotations: string[];
  archives: string[];
  videos: string[];
  baseUrl?: string;
  allowHosts: string[];
  splits?: ReturnType<typeof parseSplits>;
  perClass?: number;
  limit?: number;
  seed?: number;
} {
  const list = (name: string) => (v[name] as string[] | undefined) ?? [];
  const splits = stringFlag(v, "splits");
  return {
    annotations: list("annotations"),
    archives: list("archives"),
    videos: list("videos"),
    baseUrl: stringFlag(v, "base-url"),
    allowHosts: list("allow-host"),
    splits: splits === undefined ? undefined : parseSplits(splits),
    perClass: intFlag(v, "per-class", 1),
    limit: intFlag(v, "limit", 1),
    seed: intFlag(v, "seed", 0),
  };
}

/**
 * The sample options from parsed flags (checked).
 * @param v parsed flags (with `SAMPLE_FLAGS`)
 * @returns fps, preset, jobs, binaries and thumbnails
 */
export function sampleFlagOptions(
  v: FlagValues,
): Pick<SampleOptions, "fps" | "preset" | "jobs" | "ffmpeg" | "ffprobe" | "thumbnails"> {
  const preset = stringFlag(v, "preset") as Preset;
  if (!PRESETS.includes(preset)) {
    throw new UsageError(`--preset must be one of ${PRESETS.join(", ")}`);
  }
  return {
    fps: numberFlag(v, "fps"),
    preset,
    jobs: intFlag(v, "jobs", 1),
    ffmpeg: stringFlag(v, "ffmpeg"),
    ffprobe: stringFlag(v, "ffprobe"),
    thumbnails: v.thumbnails === true,
  };
}

/**
 * The encode options from parsed flags (checked; `--model` is required).
 * @param v parsed flags (with `ENCODE_FLAGS`)
 * @returns model, providers, batch, dtype, names, keepFrames
 */
export function encodeFlagOptions(
  v: FlagValues,
): Omit<EncodeOptions, "work" | "quiet" | "retryFailed" | "onFallback" | "threadPlan"> {
  const model = stringFlag(v, "model");
  if (!model) {
    throw new UsageError(
      "--model is required: an .onnx file, a checkpoint, or a hub repo id " +
        "(e.g. openai/clip-vit-base-patch32)",
    );
  }
  const dtype = stringFlag(v, "dtype");
  if (dtype !== "float16" && dtype !== "float32") {
    throw new UsageError("--dtype must be float16 or float32");
  }
  const variant = stringFlag(v, "model-variant") ?? "auto";
  if (variant !== "auto" && !(MODEL_VARIANTS as readonly string[]).includes(variant)) {
    throw new UsageError(`--model-variant must be auto, ${MODEL_VARIANTS.join(" or ")}`);
  }
  return {
    model,
    modelVariant: variant as ModelVariant | "auto",
    providers: parseProviders(stringFlag(v, "providers")!),
    batch: intFlag(v, "batch", 1),
    dtype: dtype as EmbeddingOutputDtype,
    inputName: stringFlag(v, "input-name"),
    outputName: stringFlag(v, "output-name"),
    keepFrames: v["keep-frames"] === true,
    threads: intFlag(v, "threads", 1),
  };
}
