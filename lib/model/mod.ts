/**
 * Named CLIP models: the model hub client and the `huggingface_hub` cache it shares with Python
 * tools, what `--model` names (an `.onnx` file, a local checkpoint, a hub repo), and the store
 * that fetches a checkpoint and builds its ONNX encoders once.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { parseModelSource, resolveModel } from "./mod.ts";
 * import { writeFixtureCheckpoint } from "../../fixtures/clip_checkpoints.ts";
 * strictEqual(parseModelSource("openai/clip-vit-base-patch32@main").kind, "hub");
 * // a local checkpoint folder (tiny random weights) built into both encoders
 * const dir = await Deno.makeTempDir();
 * await writeFixtureCheckpoint(join(dir, "ckpt"), { layout: "transformers" });
 * const cacheDir = join(dir, "built");
 * const vision = await resolveModel(join(dir, "ckpt"), { tower: "vision", cacheDir });
 * const text = await resolveModel(join(dir, "ckpt"), { tower: "text", cacheDir });
 * strictEqual(vision.arch?.vision.embedDim, text.arch?.text.embedDim);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  builtModelCacheDir,
  DEFAULT_HUB_CDN_HOSTS,
  DEFAULT_HUB_ENDPOINT,
  HUB_ENV_VARS,
  type HubSettings,
  hubSettingsFromEnv,
} from "./hub_settings.ts";
export { HubRepoCache, isCommitHash } from "./hub_cache.ts";
export {
  HUB_UNREACHABLE_AFTER_MS,
  HubClient,
  type HubClientOptions,
  HubError,
  type HubFile,
  HubUnreachableError,
} from "./hub_client.ts";
export {
  KNOWN_MODELS,
  type KnownModel,
  type ModelSource,
  parseModelSource,
} from "./model_source.ts";
export {
  builtEncoderFile,
  ENCODER_CACHE_KEY_COVERS,
  encoderCacheKey,
  fetchCheckpoint,
  type HashedModel,
  type LocalCheckpoint,
  MODEL_VARIANTS,
  modelSettings,
  type ModelVariant,
  type ResolvedModel,
  resolveModel,
  type ResolveModelOptions,
  trustedSha256,
} from "./model_store.ts";
export { type CachedModel, listCachedModels, type ModelInfo, modelInfo } from "./model_catalog.ts";
export { checkModel, type CheckModelOptions } from "./model_check.ts";
export { type ModelVariantChoice, variantForProvider } from "./model_variant.ts";
export type { ConfigError, RunSettings } from "../core/mod.ts";
export type { FetcherOptions } from "../net/mod.ts";
export type {
  CheckpointLayout,
  ClipArchitecture,
  ClipTower,
  TextConfig,
  VisionConfig,
} from "../onnx/mod.ts";
