/**
 * The encode step: frames normalised as CLIP expects, embedded by the image encoder in batches
 * across videos into `emb/<id>.npy`, and sample → encode run as one bounded stream so decode and
 * inference overlap.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { normalizeFrames } from "./mod.ts";
 * import { CLIP_MEAN, CLIP_STD } from "../base/mod.ts";
 *
 * const frame = Uint8Array.of(255, 0, 128); // one 1×1 RGB frame
 * const chw = new Float32Array(3);
 * normalizeFrames(frame, 0, 1, 1, chw, 0);
 * ok(Math.abs(chw[0] - (1 - CLIP_MEAN[0]) / CLIP_STD[0]) < 1e-6);
 * ok(Math.abs(chw[1] - (0 - CLIP_MEAN[1]) / CLIP_STD[1]) < 1e-6);
 * ```
 * @module
 */
export { normalizeFrames } from "./clip_normalize.ts";
export {
  type EmbeddingOutputDtype,
  encode,
  type EncodeOptions,
  type EncodeSummary,
  encodeThreadPlan,
} from "./encode.ts";
export {
  CLIP_CPU_SECONDS,
  type CpuBudget,
  formatThreadPlan,
  planThreads,
  type ThreadPlan,
  usableCpus,
} from "./cpu_budget.ts";
export {
  sampleAndEncode,
  type SampleEncodeOptions,
  type SampleEncodeSummary,
} from "./sample_and_encode.ts";
export type { StepSummary } from "../core/mod.ts";
export type { ModelVariant, ModelVariantChoice } from "../model/mod.ts";
export type { ProviderName, PROVIDERS } from "../onnx/mod.ts";
export type { Preset, PRESETS, SampleOptions } from "../video/mod.ts";
