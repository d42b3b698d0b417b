/**
 * Named CLIP models made runnable: a hub repo's checkpoint fetched into the `huggingface_hub`
 * cache, or a local checkpoint, built into ONNX image and text encoders by the model builder and
 * cached under a key of everything that changes the built bytes ({@linkcode encoderCacheKey}: the
 * weights' sha256, the architecture read from the config, the builder version), one file per tower
 * and variant. An `.onnx` file passes through.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { resolveModel } from "./model_store.ts";
 * // a local checkpoint (tiny random weights); a hub name such as
 * // "openai/clip-vit-base-patch32" is fetched into the huggingface_hub cache first
 * import { writeFixtureCheckpoint } from "../../fixtures/clip_checkpoints.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFixtureCheckpoint(join(dir, "ckpt"), { layout: "open_clip" });
 * const opts = { tower: "vision" as const, cacheDir: join(dir, "built") };
 * const first = await resolveModel(join(dir, "ckpt"), opts);
 * const again = await resolveModel(join(dir, "ckpt"), opts);
 * strictEqual(first.built, true); // the image encoder, built once ...
 * strictEqual(again.built, false); // ... and found in the cache after that
 * strictEqual(again.path, first.path);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { sha256Bytes, sha256File, writeFileAtomic } from "../base/mod.ts";
import { holdFileLock, type RunSettings } from "../core/mod.ts";
import {
  buildTextModel,
  buildVisionModel,
  CHECKPOINT_FILES,
  type CheckpointLayout,
  type ClipArchitecture,
  type ClipCheckpoint,
  type ClipTower,
  MODEL_BUILDER_VERSION,
  openClipCheckpoint,
} from "../onnx/mod.ts";
import { HubClient, type HubClientOptions, HubError } from "./hub_client.ts";
import { HubRepoCache } from "./hub_cache.ts";
import { builtModelCacheDir, type HubSettings, hubSettingsFromEnv } from "./hub_settings.ts";
import { KNOWN_MODELS, type ModelSource, parseModelSource } from "./model_source.ts";

/**
 * A built image encoder variant: float32 input `[N,3,S,S]` (normalised outside, the CPU default)
 * or uint8 frames `[N,S,S,3]` normalised inside a float16 graph (the CUDA default).
 */
export type ModelVariant = "float32" | "fp16-uint8";

/** The variants, in a stable order. */
export const MODEL_VARIANTS: readonly ModelVariant[] = ["float32", "fp16-uint8"];

/** Options of {@linkcode resolveModel} and {@linkcode fetchCheckpoint}. */
export interface ResolveModelOptions {
  /** Which encoder (default `vision`). */
  tower?: ClipTower;
  /** The image encoder's variant (default `float32`; the text encoder is always float32). */
  variant?: ModelVariant;
  /** Hub settings (default: from the environment). */
  hub?: HubSettings;
  /** Hub client retry policy. */
  hubClient?: HubClientOptions;
  /** Where built models are cached (default {@linkcode builtModelCacheDir}). */
  cacheDir?: string;
  /** Ask the hub what a branch points to now, even when it is cached. */
  refresh?: boolean;
  /** Receives a line for each fetch and build. */
  log?: (line: string) => void;
}

/** A checkpoint on local disk. */
export interface LocalCheckpoint {
  /** The file or folder given to {@linkcode openClipCheckpoint}. */
  path: string;
  /** The weights file's sha256. */
  sha256: string;
  /** The model's name: the repo id or the path as given. */
  name: string;
  /** The commit, for a hub model. */
  revision: string | null;
  /** HTTP requests sent to get it (0: cached or local). */
  requests: number;
}

/** A model ready to run. */
export interface ResolvedModel {
  /** The `.onnx` file to open. */
  path: string;
  /** Where it came from: `onnx`, `checkpoint` or `hub`. */
  kind: ModelSource["kind"];
  /** The model's name (repo id or checkpoint path); null for an `.onnx` file. */
  name: string | null;
  /** The commit of a hub model. */
  revision: string | null;
  /** The checkpoint's sha256. */
  checkpointSha256: string | null;
  /** The variant built (null for an `.onnx` file). */
  variant: ModelVariant | null;
  /** The architecture (null for an `.onnx` file). */
  arch: ClipArchitecture | null;
  /** The build cache key ({@linkcode encoderCacheKey}; null for an `.onnx` file). */
  cacheKey: string | null;
  /** True when the encoder was built now, false when it came from the cache. */
  built: boolean;
  /** HTTP requests sent. */
  requests: number;
}

/**
 * Fetches (or finds) the checkpoint a name or path refers to.
 * @param source a parsed `--model` value (not an `.onnx` file)
 * @param opts hub settings, retries, refresh, log
 * @returns the local checkpoint and its sha256
 * @throws HubError for hub failures; ConfigError when a folder holds no checkpoint
 */
export async function fetchCheckpoint(
  source: Exclude<ModelSource, { kind: "onnx" }>,
  opts: ResolveModelOptions = {},
): Promise<LocalCheckpoint> {
  if (source.kind === "checkpoint") {
    const ckpt = await openClipCheckpoint(source.path);
    const weights = ckpt.weightsPath;
    ckpt.close();
    return {
      path: source.path,
      sha256: await sha256File(weights),
      name: source.path,
      revision: null,
      requests: 0,
    };
  }
  const hub = new HubClient(opts.hub ?? hubSettingsFromEnv(), opts.hubClient);
  const known = KNOWN_MODELS[source.repo];
  const revision = source.revision ?? known?.revision ?? "main";
  const layouts: CheckpointLayout[] = known ? [known.layout] : ["transformers", "open_clip"];
  let lastError: HubError | null = null;
  for (const layout of layouts) {
    const files = CHECKPOINT_FILES[layout];
    let config;
    try {
      config = await hub.download(source.repo, files.config, revision, { refresh: opts.refresh });
    } catch (e) {
      // an unknown repo may hold either layout: a 404 (or an offline miss) tries the other; a hub
      // that cannot be reached, or answers in a loop, is not asked again
      if (
        e instanceof HubError &&
        (e.status === 404 || (e.status === null && hub.settings.offline)) &&
        layout !== layouts.at(-1)
      ) {
        lastError = e;
        continue;
      }
      throw e;
    }
    opts.log?.(`model: ${source.repo}@${config.commit.slice(0, 12)}: fetching ${files.weights}`);
    // the weights of the same commit the config came from
    const weights = await hub.download(source.repo, files.weights, config.commit);
    // an LFS blob is named by its sha256, checked when it was fetched
    const blob = await new HubRepoCache(hub.settings.cacheDir, source.repo).blobOf(weights.path);
    const sha = blob !== null && /^[0-9a-f]{64}$/.test(blob)
      ? blob
      : await sha256File(weights.path);
    return {
      path: join(weights.path, ".."),
      sha256: sha,
      name: source.repo,
      revision: config.commit,
      requests: hub.requests,
    };
  }
  throw lastError ?? new HubError(`${source.repo}: no CLIP checkpoint found`);
}

/**
 * Makes a `--model` / `--text-model` value runnable: an `.onnx` file as it is, a checkpoint or hub
 * model built (once) into the asked encoder.
 * @param spec the value
 * @param opts tower, variant, hub settings, cache folder
 * @returns the `.onnx` path and where it came from
 */
export async function resolveModel(
  spec: string,
  opts: ResolveModelOptions = {},
): Promise<ResolvedModel> {
  const source = parseModelSource(spec);
  if (source.kind === "onnx") {
    return {
      path: source.path,
      kind: "onnx",
      name: null,
      revision: null,
      checkpointSha256: null,
      variant: null,
      arch: null,
      cacheKey: null,
      built: false,
      requests: 0,
    };
  }
  const tower = opts.tower ?? "vision";
  const variant: ModelVariant = tower === "text" ? "float32" : opts.variant ?? "float32";
  const ckpt = await fetchCheckpoint(source, opts);
  // the architecture is part of the key: the same weights under another config build another
  // model; the open checkpoint builds with the very config the key was made of
  const open = await openClipCheckpoint(ckpt.path);
  const arch = open.arch;
  let cacheKey: string, path: string, built = false;
  try {
    cacheKey = await encoderCacheKey(ckpt.sha256, arch);
    const dir = join(opts.cacheDir ?? builtModelCacheDir(), cacheKey);
    path = join(dir, builtEncoderFile(tower, variant));
    const infoPath = join(dir, "model.json");
    if (!await isBuilt(path, infoPath, cacheKey)) {
      // one builder at a time per file: a job array's workers build it once
      const release = await holdFileLock(`${path}.lock`);
      try {
        if (!await isBuilt(path, infoPath, cacheKey)) {
          opts.log?.(`model: building the ${tower} encoder (${variant}) of ${ckpt.name}`);
          await buildEncoder(open, ckpt, cacheKey, tower, variant, path, infoPath);
          built = true;
        }
      } finally {
        release();
      }
    }
  } finally {
    open.close();
  }
  return {
    path,
    kind: source.kind,
    name: ckpt.name,
    revision: ckpt.revision,
    checkpointSha256: ckpt.sha256,
    variant,
    arch,
    cacheKey,
    built,
    requests: ckpt.requests,
  };
}

/**
 * The run settings that name a resolved image encoder (none for a plain `.onnx` file, so work dirs
 * made from files keep their config).
 * @param m the resolved model
 * @returns its name, revision, checkpoint sha256 and variant
 */
export function modelSettings(
  m: ResolvedModel,
): Partial<
  Pick<RunSettings, "modelName" | "modelRevision" | "modelCheckpointSha256" | "modelVariant">
> {
  if (m.kind === "onnx") return {};
  return {
    modelName: m.name,
    modelRevision: m.revision,
    modelCheckpointSha256: m.checkpointSha256,
    modelVariant: m.variant,
  };
}

/** What {@linkcode encoderCacheKey} covers, in words (for `model info` and docs). */
export const ENCODER_CACHE_KEY_COVERS: string =
  "weights sha256 + architecture (layout, image size, patch, widths, layers, heads, MLP widths, " +
  "vocabulary, context, embedding width, activations, LayerNorm eps) + builder " +
  `${MODEL_BUILDER_VERSION}; the file name adds tower and variant`;

/**
 * The key built encoders are cached under: the sha256 of a canonical JSON of the weights' sha256,
 * the whole architecture read from the checkpoint's config (or inferred from a bare file) and the
 * builder version, so the same weights read with another config (`hidden_act: gelu` instead of
 * quick-GELU, a bare file and then its folder) never get each other's encoder.
 * @param checkpointSha256 the weights file's sha256
 * @param arch the architecture the encoder is built with
 * @returns 64 hex digits
 * @example
 * ```ts
 * import { notStrictEqual } from "node:assert/strict";
 * import { encoderCacheKey } from "./model_store.ts";
 * import { TINY_CHECKPOINT_TEXT, TINY_CHECKPOINT_VISION } from "../../fixtures/clip_checkpoints.ts";
 * const arch = {
 *   layout: "transformers" as const,
 *   vision: TINY_CHECKPOINT_VISION,
 *   text: TINY_CHECKPOINT_TEXT,
 *   visionActivation: "quick_gelu" as const,
 *   textActivation: "quick_gelu" as const,
 *   layerNormEpsilon: 1e-5,
 * };
 * const sha = "0".repeat(64);
 * notStrictEqual(
 *   await encoderCacheKey(sha, arch),
 *   await encoderCacheKey(sha, { ...arch, visionActivation: "gelu" }),
 * );
 * ```
 */
export async function encoderCacheKey(
  checkpointSha256: string,
  arch: ClipArchitecture,
): Promise<string> {
  const canonical = JSON.stringify({
    builder: MODEL_BUILDER_VERSION,
    checkpoint_sha256: checkpointSha256,
    architecture: sortedKeys(arch),
  });
  return await sha256Bytes(new TextEncoder().encode(canonical));
}

/**
 * A built encoder's file name in its cache folder.
 * @param tower which encoder
 * @param variant the image encoder's variant (`float32` for the text encoder)
 * @returns `<tower>-<variant>.onnx`
 */
export function builtEncoderFile(tower: ClipTower, variant: ModelVariant): string {
  return `${tower}-${variant}.onnx`;
}

/** An object with its keys sorted at every level, so that its JSON is canonical. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.keys(v).sort().map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])]),
  );
}

/** Whether an encoder was built under this key (its record written after it). */
async function isBuilt(path: string, infoPath: string, cacheKey: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return JSON.parse(await Deno.readTextFile(infoPath)).cache_key === cacheKey;
  } catch {
    return false;
  }
}

/** Builds one encoder from an open checkpoint into the cache, with its record. */
async function buildEncoder(
  open: ClipCheckpoint,
  ckpt: LocalCheckpoint,
  cacheKey: string,
  tower: ClipTower,
  variant: ModelVariant,
  path: string,
  infoPath: string,
): Promise<void> {
  const arch = open.arch;
  const checkpoint = await open.weights(tower, `sha256:${ckpt.sha256}`);
  const model = tower === "vision"
    ? await buildVisionModel({
      config: arch.vision,
      checkpoint,
      dtype: variant === "fp16-uint8" ? "float16" : "float32",
      inputFormat: variant === "fp16-uint8" ? "uint8-nhwc" : "float32-nchw",
    })
    : await buildTextModel({ config: arch.text, checkpoint });
  await Deno.mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, model.bytes);
  const record = {
    cache_key: cacheKey,
    key_covers: ENCODER_CACHE_KEY_COVERS,
    builder: MODEL_BUILDER_VERSION,
    checkpoint_sha256: ckpt.sha256,
    name: ckpt.name,
    revision: ckpt.revision,
    architecture: arch,
  };
  await writeFileAtomic(infoPath, new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n"));
}

/** What a model file's sha256 was computed from: the file as `stat` saw it. */
interface HashedFile {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

/** A model file's sha256, and how to keep it for the next run. */
export interface HashedModel {
  /** The sha256, hex. */
  sha256: string;
  /** Writes the hash and the file's stat into the record (nothing when it was trusted from it). */
  remember(): Promise<void>;
}

/**
 * A model file's sha256, trusted from `recordFile` while the file's size, mtime and inode are the
 * ones it was computed from, so a rerun with nothing to do reads no model bytes; a changed file is
 * hashed again. The record is written only by `remember`, once the caller has used the hash.
 * @param path the model file
 * @param recordFile a JSON file of the hashes a work dir computed, by absolute path
 * @returns the sha256 and how to record it
 * @throws {Deno.errors.NotFound} when the model file does not exist
 */
export async function trustedSha256(path: string, recordFile: string): Promise<HashedModel> {
  const st = await Deno.stat(path);
  const key = resolve(path);
  let records: Record<string, HashedFile> = {};
  try {
    records = JSON.parse(await Deno.readTextFile(recordFile));
  } catch {
    // none yet, or unreadable: the file is hashed and the record written anew
  }
  const r = records[key];
  const mtimeMs = st.mtime?.getTime() ?? -1;
  if (r && r.size === st.size && r.mtimeMs === mtimeMs && r.ino === (st.ino ?? -1)) {
    return { sha256: r.sha256, remember: () => Promise.resolve() };
  }
  const sha256 = await sha256File(path);
  const remember = async () => {
    records[key] = { size: st.size, mtimeMs, ino: st.ino ?? -1, sha256 };
    await writeFileAtomic(recordFile, new TextEncoder().encode(JSON.stringify(records) + "\n"))
      .catch(() => {}); // a read-only work dir only costs the next run a hash
  };
  return { sha256, remember };
}
