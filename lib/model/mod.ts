/**
 * Named CLIP models: the model hub client and the `huggingface_hub` cache it shares with Python
 * tools, what `--model` names (an `.onnx` file, a local checkpoint, a hub repo), and the store
 * that fetches a checkpoint and builds its ONNX encoders once.
 *
 * @example
 * ```ts
 * import { resolveModel } from "./mod.ts";
 * const vision = await resolveModel("openai/clip-vit-base-patch32", { tower: "vision" });
 * const text = await resolveModel("openai/clip-vit-base-patch32", { tower: "text" });
 * console.log(vision.path, text.path, vision.arch?.vision.embedDim);
 * ```
 * @module
 */
export * from "./hub_settings.ts";
export * from "./hub_cache.ts";
export * from "./hub_client.ts";
export * from "./model_source.ts";
export * from "./model_store.ts";
export * from "./model_catalog.ts";
