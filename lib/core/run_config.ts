/**
 * The run configuration's one owner: every setting that changes an output, with the key the
 * manifest stores it under, its type, its default, the step that records it and the flag that
 * sets it. Steps record and read settings through the typed accessors here, so a key is spelt and
 * a default stated in one place; the configuration's hash and the "holds outputs of another
 * configuration" message come from here too.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { readSetting, RUN_SETTINGS, toRunConfig } from "./run_config.ts";
 * const config = toRunConfig({ fps: 2, perShard: 100 });
 * strictEqual(config.per_shard, 100);
 * strictEqual(readSetting(config, "fps"), 2);
 * strictEqual(readSetting(config, "preset"), undefined);
 * strictEqual(RUN_SETTINGS.batch.default, 32);
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { CLIP_SIZE } from "../base/mod.ts";
import type { ConfigMismatchError } from "../base/mod.ts";

/** A configuration value; configurations are flat. */
export type ConfigValue = string | number | boolean | null;

/** The run configuration as the manifest stores it: stored key → value. */
export type RunConfig = Record<string, ConfigValue>;

/** Every setting that changes an output, by name (the manifest stores each under its `key`). */
export interface RunSettings {
  /** Frames per second sampled. */
  fps: number;
  /** Preprocessing preset. */
  preset: string;
  /** Side of the square frames (fixed by CLIP). */
  frameSize: number;
  /** Version of the ffmpeg that decodes. */
  ffmpegVersion: string;
  /** SHA-256 of the ffmpeg binary. */
  ffmpegSha256: string;
  /** SHA-256 of the ONNX image encoder. */
  modelSha256: string;
  /** The encoder's input name and kind (`pixel_values:float32`). */
  modelInput: string;
  /** The encoder's output name. */
  modelOutput: string;
  /** Embedding width. */
  embedDim: number;
  /** Frames per `session.run`. */
  batch: number;
  /** Embedding dtype on disk. */
  dtype: "float16" | "float32";
  /** The execution provider that encoded. */
  provider: string;
  /** ONNX Runtime's version. */
  onnxruntime: string;
  /** Hub name of the checkpoint (absent for a plain `.onnx` file). */
  modelName: string | null;
  /** Revision of the checkpoint. */
  modelRevision: string | null;
  /** SHA-256 of the checkpoint's weights. */
  modelCheckpointSha256: string | null;
  /** The encoder variant built from the checkpoint. */
  modelVariant: string | null;
  /** Seed of the shard plan's shuffle. */
  shardSeed: number;
  /** Samples per tar. */
  perShard: number;
  /** Whether the tars hold each video's thumbnail as `<key>.jpg` (absent: never asked for). */
  shardThumbnails: boolean;
  /** `inputs` when the plan covers every input video (workers), not only the encoded ones. */
  shardPlan: "inputs";
  /** This work dir's worker index. */
  worker: number;
  /** How many workers share the run. */
  workers: number;
}

/** A setting's name. */
export type SettingName = keyof RunSettings;

/** The step (or role) that records a setting. */
export type SettingStep = "sample" | "encode" | "shard" | "worker";

/** What the schema says of one setting. */
export interface SettingSpec<T> {
  /** The key the manifest stores it under (part of the config hash: never renamed). */
  key: string;
  /** Its JSON type (a recorded null stands for "not known", e.g. a local model's revision). */
  type: "string" | "number" | "boolean";
  /** The value used when the flag is not given, or a configuration lacks the key. */
  default?: T;
  /** The step that records it. */
  step: SettingStep;
  /** The flag that sets it, named in messages; null when no flag does (a tool's version). */
  flag: string | null;
}

/** The schema: every setting that changes an output, in the order steps record them. */
export const RUN_SETTINGS = {
  fps: { key: "fps", type: "number", default: 1, step: "sample", flag: "--fps" },
  preset: { key: "preset", type: "string", default: "clip", step: "sample", flag: "--preset" },
  frameSize: {
    key: "frame_size",
    type: "number",
    default: CLIP_SIZE,
    step: "sample",
    flag: "--preset",
  },
  ffmpegVersion: { key: "ffmpeg_version", type: "string", step: "sample", flag: null },
  ffmpegSha256: { key: "ffmpeg_sha256", type: "string", step: "sample", flag: null },
  modelSha256: { key: "model_sha256", type: "string", step: "encode", flag: "--model" },
  modelInput: { key: "model_input", type: "string", step: "encode", flag: "--input-name" },
  modelOutput: { key: "model_output", type: "string", step: "encode", flag: "--output-name" },
  embedDim: { key: "embed_dim", type: "number", default: 512, step: "encode", flag: "--model" },
  batch: { key: "batch", type: "number", default: 32, step: "encode", flag: "--batch" },
  dtype: { key: "dtype", type: "string", default: "float16", step: "encode", flag: "--dtype" },
  provider: { key: "provider", type: "string", step: "encode", flag: "--providers" },
  onnxruntime: { key: "onnxruntime", type: "string", step: "encode", flag: null },
  modelName: { key: "model_name", type: "string", step: "encode", flag: "--model" },
  modelRevision: { key: "model_revision", type: "string", step: "encode", flag: "--model" },
  modelCheckpointSha256: {
    key: "model_checkpoint_sha256",
    type: "string",
    step: "encode",
    flag: "--model",
  },
  modelVariant: {
    key: "model_variant",
    type: "string",
    step: "encode",
    flag: "--model-variant",
  },
  shardSeed: { key: "shard_seed", type: "number", default: 0, step: "shard", flag: "--seed" },
  perShard: {
    key: "per_shard",
    type: "number",
    default: 10_000,
    step: "shard",
    flag: "--per-shard",
  },
  shardThumbnails: {
    key: "shard_thumbnails",
    type: "boolean",
    default: false,
    step: "shard",
    flag: "--thumbnails",
  },
  shardPlan: { key: "shard_plan", type: "string", step: "shard", flag: null },
  worker: { key: "worker", type: "number", step: "worker", flag: "--worker" },
  workers: { key: "workers", type: "number", step: "worker", flag: "--workers" },
} satisfies { readonly [K in SettingName]: SettingSpec<RunSettings[K]> };

/** The schema entry of a setting, by name, with its value's type. */
function specOf<K extends SettingName>(name: K): SettingSpec<RunSettings[K]> {
  return (RUN_SETTINGS as { [N in SettingName]: SettingSpec<RunSettings[N]> })[name];
}

/** The names of the settings, in schema order. */
const NAMES = Object.keys(RUN_SETTINGS) as SettingName[];

/** The setting stored under each key. */
const BY_KEY = new Map<string, SettingSpec<unknown>>(NAMES.map((n) => [specOf(n).key, specOf(n)]));

/**
 * The stored form of some settings: each under its key, absent ones left out.
 * @param settings the settings by name
 * @returns the configuration entries the manifest stores
 */
export function toRunConfig(settings: Partial<RunSettings>): RunConfig {
  const out: RunConfig = {};
  for (const name of NAMES) {
    const value = settings[name];
    if (value !== undefined) out[specOf(name).key] = value;
  }
  return out;
}

/**
 * One setting of a stored configuration, when it is there with the schema's type.
 * @param config the stored configuration (the manifest's, or `manifest.json`'s)
 * @param name the setting
 * @returns its value, or undefined when absent (or of another type)
 */
export function readSetting<K extends SettingName>(
  config: RunConfig,
  name: K,
): RunSettings[K] | undefined {
  const spec = specOf(name);
  const value = config[spec.key];
  const type: string = typeof value;
  return type === spec.type ? value as RunSettings[K] : undefined;
}

/**
 * One setting of a stored configuration, or the schema's default where it is not recorded.
 * @param config the stored configuration
 * @param name a setting with a default
 * @returns its value
 */
export function settingOrDefault<K extends SettingName>(
  config: RunConfig,
  name: K,
): RunSettings[K] {
  const value = readSetting(config, name);
  if (value !== undefined) return value;
  const fallback = specOf(name).default;
  if (fallback === undefined) throw new TypeError(`the setting ${name} has no default`);
  return fallback;
}

/**
 * The settings of a stored configuration, by name (keys the schema does not know are left out).
 * @param config the stored configuration
 * @returns the settings present with the schema's type
 */
export function readSettings(config: RunConfig): Partial<RunSettings> {
  const out: Record<string, unknown> = {};
  for (const name of NAMES) {
    const value = readSetting(config, name);
    if (value !== undefined) out[name] = value;
  }
  return out as Partial<RunSettings>;
}

/**
 * Hash of a configuration: SHA-256 of its JSON with keys sorted (so a work dir made by any
 * earlier kinembed keeps its hash).
 * @param config the configuration
 * @returns lowercase hex
 */
export function configHash(config: RunConfig): string {
  const sorted = Object.fromEntries(Object.keys(config).sort().map((k) => [k, config[k]]));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex");
}

/**
 * The flag that sets a stored key, for messages.
 * @param key a stored configuration key
 * @returns the flag, or null when no flag sets it (or the key is unknown)
 */
export function flagOfKey(key: string): string | null {
  return BY_KEY.get(key)?.flag ?? null;
}

/**
 * A configuration mismatch in the command line's terms: `--per-shard 10`, not `per_shard`.
 * @param e the mismatch
 * @returns one line naming the flags
 */
export function describeConfigMismatch(e: ConfigMismatchError): string {
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const diffs = e.diffs.map((d) => {
    const flag = flagOfKey(d.key);
    return flag
      ? `it was made with ${flag} ${show(d.stored)}, this run asks for ${flag} ${show(d.requested)}`
      : `${d.key} is ${JSON.stringify(d.stored)} there, ${JSON.stringify(d.requested)} now`;
  });
  return `work dir ${e.workDir} holds outputs of another configuration: ${diffs.join("; ")}. ` +
    "Use the same settings, or a new --work dir.";
}

/**
 * Records a step's settings in a work dir's run configuration, refusing any that contradict it
 * (`ConfigMismatchError`, nothing written).
 * @param m the work dir's manifest
 * @param settings the step's settings
 * @param workDir named in the mismatch message
 * @param volatile settings that may change from run to run (the step rewrites its outputs to
 *   match), updated without a mismatch
 */
export function recordSettings(
  m: { applyConfig(partial: RunConfig, workDir?: string, volatile?: string[]): void },
  settings: Partial<RunSettings>,
  workDir: string,
  volatile: readonly SettingName[] = [],
): void {
  m.applyConfig(toRunConfig(settings), workDir, volatile.map((n) => specOf(n).key));
}

/**
 * The settings a work dir's run configuration holds, by name.
 * @param m the work dir's manifest
 * @returns the recorded settings
 */
export function recordedSettings(m: { config(): RunConfig }): Partial<RunSettings> {
  return readSettings(m.config());
}
