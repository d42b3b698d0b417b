/**
 * The encode step: CLIP normalisation, embeddings of every sampled video, and sample → encode
 * as one bounded stream.
 * @module
 */
export * from "./clip_normalize.ts";
export * from "./encode.ts";
export * from "./sample_and_encode.ts";
