/**
 * The eval step, as the card's numbers were computed: features read from shards, CLIP's BPE
 * tokenizer, zero-shot classification (prompt-averaged class weights, per-frame softmax averaged
 * per video), the linear probe (multinomial logistic regression driven by L-BFGS as scikit-learn
 * runs it), text-to-video retrieval with the class prompts as queries (mAP, recall@K, hit@K),
 * top-k accuracy, and the reports (`eval.json`, `eval.md`, `eval.html`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ClipTokenizer, topKAccuracy, topKIndices } from "./mod.ts";
 *
 * const tokenizer = await ClipTokenizer.load();
 * deepStrictEqual(Array.from(tokenizer.tokenize(["a diagram"]).slice(0, 4)), [49406n, 320n, 22697n, 49407n]);
 * // two samples over three classes: the first ranks its class (2) first, the second second
 * const ranked = topKIndices([0.1, 0.2, 0.7, 0.5, 0.4, 0.1], 2, 3, 3);
 * deepStrictEqual(topKAccuracy(ranked, 3, Int32Array.of(2, 1)), { count: 2, top1: 0.5, top5: 1 });
 * ```
 * @module
 */
export {
  type CentreFrames,
  type ClipFeatureFile,
  type ClipPooling,
  type EvalVideo,
  type FrameCensus,
  readCentreFrames,
  readClipFeatures,
  readFrameCensus,
  readVideoBatches,
  writeClipFeatures,
} from "./features.ts";
export { topKAccuracy, topKIndices, type TopKScore } from "./top_k.ts";
export {
  averagePrecision,
  type ClassRetrieval,
  RETRIEVAL_CUTOFFS,
  RETRIEVAL_DEFINITION,
  RetrievalIndex,
  type RetrievalScore,
} from "./retrieval.ts";
// CLIP's text side lives in text/; re-exported so the `/eval` face keeps working.
export {
  buildZeroShotClassifier,
  classWeightsFromTextEmbeddings,
  CLIP_VOCAB_SIZE,
  ClipTokenizer,
  CONTEXT_LENGTH,
  END_OF_TEXT,
  START_OF_TEXT,
  type TextEncoderOptions,
  TextTooLongError,
  type TokenizeOptions,
  type TruncatedText,
  type ZeroShotClassifier,
} from "../text/mod.ts";
export { ZERO_SHOT_LOGIT_SCALE, ZeroShotScorer, type ZeroShotScorerOptions } from "./zero_shot.ts";
export {
  type LbfgsIteration,
  type LbfgsOptions,
  type LbfgsResult,
  type LbfgsStop,
  minimizeLbfgs,
  type ObjectiveWithGradient,
} from "./lbfgs.ts";
export {
  DEFAULT_PROBE_C,
  DEFAULT_PROBE_MAX_ITER,
  type LinearProbe,
  type LinearProbeOptions,
  predictLinearProbe,
  type ProbeDataset,
  type ProbeFeatureFile,
  type ProbePredictOptions,
  type ProbeScore,
  type ProbeTrainingSet,
  scoreLinearProbe,
  trainLinearProbe,
} from "./linear_probe.ts";
export {
  type ClassAccuracy,
  classBreakdown,
  type Confusion,
  type EvalArtefacts,
  type EvalProblem,
  type EvalProvenance,
  type EvalReport,
  type EvalReportFiles,
  type EvalSection,
  formatCardEvalMarkdown,
  formatEvalHtml,
  formatEvalMarkdown,
  type FrameBin,
  frameBins,
  framesHistogramSvg,
  type LinearProbeSection,
  type RetrievalSection,
  worstClassesFirst,
  writeEvalReports,
  type ZeroShotSection,
} from "./report.ts";
export {
  eval,
  EVAL_POOLINGS,
  type EvalOptions,
  type EvalPooling,
  type EvalResult,
  evaluate,
} from "./eval.ts";
export type { Split, SplitCount, SPLITS } from "../core/mod.ts";
export type { Accuracy, PublishedAccuracies, SplitTotals } from "../dataset/mod.ts";
export type { ProviderName, PROVIDERS } from "../onnx/mod.ts";
export type { CardProvenance } from "../webdataset/mod.ts";
