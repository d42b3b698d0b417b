/**
 * The encode step: frames normalised as CLIP expects, embedded by the image encoder in batches
 * across videos into `emb/<id>.npy`. Its batched encoder (`openEncoderFor`, `encodeFramePacks`)
 * takes frame packs from any source: stored ones here, freshly decoded ones in the streamed
 * sample → encode (`lib/sample_and_encode.ts`).
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
  encodeFramePacks,
  type EncodeOptions,
  type EncodeSummary,
  encodeThreadPlan,
  nothingToEncode,
  openEncoderFor,
} from "./encode.ts";
export {
  CLIP_CPU_SECONDS,
  type CpuBudget,
  formatThreadPlan,
  planThreads,
  type ThreadPlan,
  usableCpus,
} from "./cpu_budget.ts";
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
export type { ModelVariant, ModelVariantChoice } from "../model/mod.ts";
export type { EncoderInputKind, ImageEncoder, ProviderName, PROVIDERS } from "../onnx/mod.ts";
