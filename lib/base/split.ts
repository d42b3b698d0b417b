/**
 * The split vocabulary: the three splits, their order, and the one parser for the names datasets
 * give them (Kinetics writes `validate`, cards write `Validation`, users type `val`).
 * @module
 */

/** The dataset splits, in the order keys and shards are numbered. */
export const SPLITS = ["train", "val", "test"] as const;
/** A dataset split. */
export type Split = typeof SPLITS[number];

/** Samples and tars of one split. */
export interface SplitCount {
  /** Number of samples. */
  samples: number;
  /** Number of tar files. */
  tars: number;
}

const SPLIT_NAMES: Readonly<Record<string, Split>> = {
  train: "train",
  training: "train",
  val: "val",
  valid: "val",
  validate: "val",
  validation: "val",
  test: "test",
  testing: "test",
};

/**
 * The split a name stands for: `train`/`training`, `val`/`valid`/`validate`/`validation`,
 * `test`/`testing`, case and surrounding spaces ignored.
 * @param name the name as written
 * @returns the split, or null when the name is not one
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseSplitName } from "./split.ts";
 * deepStrictEqual(parseSplitName(" Validate "), "val");
 * deepStrictEqual(parseSplitName("TEST"), "test");
 * deepStrictEqual(parseSplitName("dev"), null);
 * ```
 */
export function parseSplitName(name: string): Split | null {
  return Object.hasOwn(SPLIT_NAMES, name.trim().toLowerCase())
    ? SPLIT_NAMES[name.trim().toLowerCase()]
    : null;
}
