/**
 * The eval step: features read from shards, CLIP's tokenizer, zero-shot classification, the
 * linear probe (L-BFGS as scikit-learn runs it), top-k, and the reports.
 * @module
 */
export * from "./features.ts";
export * from "./top_k.ts";
export * from "./clip_tokenizer.ts";
export * from "./zero_shot.ts";
export * from "./lbfgs.ts";
export * from "./linear_probe.ts";
export * from "./report.ts";
export * from "./eval.ts";
