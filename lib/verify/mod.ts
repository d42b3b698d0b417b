/**
 * The verify step: shards checked against a dataset card, sample by sample.
 * @module
 */
export * from "./verify.ts";
