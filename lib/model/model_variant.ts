/**
 * Which encoder variant suits the execution provider that runs it: the model's choice, so that
 * the encode step only asks.
 * @module
 */
import type { ModelVariant } from "./model_store.ts";

/** A variant as `--model-variant` takes it: one of the variants, or `auto`. */
export type ModelVariantChoice = ModelVariant | "auto";

/**
 * The encoder variant to build for a provider: an explicit choice stays; `auto` is `fp16-uint8`
 * on CUDA (a quarter of the bytes to copy, tensor cores) and `float32` elsewhere, or while no
 * provider has loaded yet.
 * @param wanted the variant asked for
 * @param provider the execution provider that loaded (`cuda`, `cpu`...), or null before one has
 * @returns the variant to build
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { variantForProvider } from "./model_variant.ts";
 * strictEqual(variantForProvider("auto", null), "float32");
 * strictEqual(variantForProvider("auto", "cuda"), "fp16-uint8");
 * strictEqual(variantForProvider("float32", "cuda"), "float32");
 * ```
 */
export function variantForProvider(
  wanted: ModelVariantChoice,
  provider: string | null,
): ModelVariant {
  if (wanted !== "auto") return wanted;
  return provider === "cuda" ? "fp16-uint8" : "float32";
}
