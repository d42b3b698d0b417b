/**
 * The download step: annotations in, a reproducible subset, videos fetched over HTTP (or read
 * locally) and extracted, manifest rows out.
 * @module
 */
export * from "./annotations.ts";
export * from "./subset.ts";
export * from "./http_fetch.ts";
export * from "./download.ts";
export * from "./host_policy.ts";
