/**
 * Named CLIP models made runnable: a hub repo's checkpoint fetched into the `huggingface_hub`
 * cache, or a local checkpoint, built into ONNX image and text encoders by the model builder and
 * cached by (checkpoint sha256, tower, variant, builder version). An `.onnx` file passes through.
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
import { join } from "node:path";
import { holdFileLock, type RunSettings, sha256File, writeFileAtomic } from "../core/mod.ts";
import {
  buildTextModel,
  buildVisionModel,
  CHECKPOINT_FILES,
  type CheckpointLayout,
  type ClipArchitecture,
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
      // an unknown repo may hold either layout: a 404 (or an offline miss) tries the other
      if (
        e instanceof HubError && (e.status === 404 || e.status === null) &&
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
      built: false,
      requests: 0,
    };
  }
  const tower = opts.tower ?? "vision";
  const variant: ModelVariant = tower === "text" ? "float32" : opts.variant ?? "float32";
  const ckpt = await fetchCheckpoint(source, opts);
  const dir = join(opts.cacheDir ?? builtModelCacheDir(), ckpt.sha256);
  const path = join(dir, `${tower}-${variant}-b${MODEL_BUILDER_VERSION}.onnx`);
  const infoPath = join(dir, "model.json");
  let built = false;
  let arch: ClipArchitecture | null = await readBuilt(path, infoPath);
  if (arch === null) {
    // one builder at a time per file: a job array's workers build it once
    const release = await holdFileLock(`${path}.lock`);
    try {
      arch = await readBuilt(path, infoPath);
      if (arch === null) {
        opts.log?.(`model: building the ${tower} encoder (${variant}) of ${ckpt.name}`);
        arch = await buildEncoder(ckpt, tower, variant, dir, path, infoPath);
        built = true;
      }
    } finally {
      release();
    }
  }
  return {
    path,
    kind: source.kind,
    name: ckpt.name,
    revision: ckpt.revision,
    checkpointSha256: ckpt.sha256,
    variant,
    arch,
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

/** The architecture of an encoder already built, or null when it is not there. */
async function readBuilt(path: string, infoPath: string): Promise<ClipArchitecture | null> {
  try {
    await Deno.stat(path);
    return JSON.parse(await Deno.readTextFile(infoPath)).architecture ?? null;
  } catch {
    return null;
  }
}

/** Builds one encoder from a checkpoint into the cache, with its record. */
async function buildEncoder(
  ckpt: LocalCheckpoint,
  tower: ClipTower,
  variant: ModelVariant,
  dir: string,
  path: string,
  infoPath: string,
): Promise<ClipArchitecture> {
  const open = await openClipCheckpoint(ckpt.path);
  try {
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
    await Deno.mkdir(dir, { recursive: true });
    await writeFileAtomic(path, model.bytes);
    const record = {
      checkpoint_sha256: ckpt.sha256,
      name: ckpt.name,
      revision: ckpt.revision,
      architecture: arch,
    };
    await writeFileAtomic(
      infoPath,
      new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n"),
    );
    return arch;
  } finally {
    open.close();
  }
}
