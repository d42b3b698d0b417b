/**
 * The names inside a shard set: sample keys `vid_%09d` (global across splits) and shard files
 * `ds_%06d.tar`.
 * @module
 */

/**
 * The key of the n-th sample.
 * @param n global sample number
 * @returns `vid_%09d`
 */
export function sampleKey(n: number): string {
  return `vid_${String(n).padStart(9, "0")}`;
}

const SAMPLE_KEY = /^(?:.*\/)?vid_(\d+)$/;

/**
 * The sample number a key stands for (the inverse of `sampleKey`; a folder prefix is allowed).
 * @param key e.g. `vid_000000042`
 * @returns the number, or null when the key is not of the form `vid_<digits>`
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseSampleKey, sampleKey } from "./keys.ts";
 * deepStrictEqual(parseSampleKey(sampleKey(42)), 42);
 * deepStrictEqual(parseSampleKey("clip_7"), null);
 * ```
 */
export function parseSampleKey(key: string): number | null {
  const m = SAMPLE_KEY.exec(key);
  return m ? Number(m[1]) : null;
}

/**
 * The file name of the n-th shard.
 * @param n global shard index
 * @returns `ds_%06d.tar`
 */
export function shardFileName(n: number): string {
  return `ds_${String(n).padStart(6, "0")}.tar`;
}

const SHARD_FILE = /^ds_\d+\.tar$/;

/**
 * Whether a file name is a shard's (`ds_<digits>.tar`), as a shard set's folder holds them.
 * @param name a file name (no folder)
 * @returns true for a shard tar's name
 */
export function isShardFileName(name: string): boolean {
  return SHARD_FILE.test(name);
}
