/**
 * What every folder may stand on, knowing nothing of a run: typed errors, crash-safe files, the
 * split vocabulary, CLIP's input constants, seeded randomness, bounded concurrency, progress lines,
 * failure lists and `.npy` files. The run's state (the work dir, its manifest and settings) is in
 * `core/`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { parseSplitName, readNpy, seededShuffle, writeNpy } from "./mod.ts";
 *
 * strictEqual(parseSplitName("validate"), "val");
 * deepStrictEqual(seededShuffle([1, 2, 3, 4], 0), seededShuffle([1, 2, 3, 4], 0));
 * const npy = writeNpy({ dtype: "<f4", shape: [2, 3], data: new Float32Array(6) });
 * deepStrictEqual(readNpy(npy).shape, [2, 3]);
 * ```
 * @module
 */
export {
  asDiskFull,
  ConfigError,
  ConfigMismatchError,
  DecodeError,
  deviceOf,
  DiskFullError,
  FormatError,
  InterruptedError,
  isDiskFull,
  oneLine,
  ProblemListError,
  UsageError,
  WorkDirBusyError,
} from "./errors.ts";
export {
  fileSize,
  openAtomic,
  pathExists,
  pathExistsSync,
  removeStaleTemps,
  sha256Bytes,
  sha256File,
  TEMP_SUFFIX,
  tempPathFor,
  writeAll,
  writeFileAtomic,
} from "./atomic_file.ts";
export { KINEMBED_VERSION } from "./version.ts";
export { parseSplitName, type Split, type SplitCount, SPLITS } from "./split.ts";
export { CLIP_MEAN, CLIP_SIZE, CLIP_STD } from "./clip_preprocessing.ts";
export { meanPooledFeature, normalizeRowsInPlace } from "./vectors.ts";
export { mulberry32, seededPermutation, seededShuffle } from "./random.ts";
export { Progress, ProgressBoard, stderrProgressBoard } from "./progress.ts";
export { BoundedQueue, forEachConcurrent, mapConcurrent } from "./concurrency.ts";
export {
  float16ToFloat32,
  float32ToFloat16,
  type NpyArray,
  type NpyData,
  type NpyDtype,
  type NpyHeader,
  readNpy,
  readNpyHeader,
  toFloat32,
  writeNpy,
} from "./npy.ts";
export {
  type FailedItem,
  failureReason,
  type FailureSummary,
  formatFailureSummary,
  SHOWN_IDS,
  SHOWN_ITEMS,
  SHOWN_REASONS,
  writeFailureList,
} from "./failure_report.ts";
