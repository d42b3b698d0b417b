/**
 * The foundations every stage stands on: typed errors, crash-safe files, the work dir and its
 * lock, the split vocabulary, CLIP's input constants, seeded randomness, the manifest (a core
 * with one file of queries per concern: `m.videos`, `m.steps`, `m.shards`, `m.archives`; the only
 * SQL), the run configuration's schema (every setting's key, default and flag), opening a work dir
 * for a step, step order, progress, bounded concurrency and `.npy` files.
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
export {
  ensureWorkDir,
  holdFileLock,
  lockWorkDir,
  requireWorkDir,
  type WorkDirLayout,
  workDirLayout,
  type WorkDirLock,
  workDirShardsHint,
} from "./work_dir.ts";
export { KINEMBED_VERSION } from "./version.ts";
export { parseSplitName, type Split, type SplitCount, SPLITS } from "./split.ts";
export { CLIP_MEAN, CLIP_SIZE, CLIP_STD } from "./clip_preprocessing.ts";
export { mulberry32, seededPermutation, seededShuffle } from "./random.ts";
export {
  ArchiveQueries,
  type ArchiveRow,
  isSafeId,
  Manifest,
  type ManifestExport,
  ShardQueries,
  type ShardRow,
  type StateCounts,
  type Step,
  type StepOutput,
  StepQueries,
  type StepRecord,
  STEPS,
  type StepState,
  type VideoFilter,
  VideoQueries,
  type VideoRow,
  type VideoStatus,
  type VideoStepRow,
} from "./manifest.ts";
export {
  configHash,
  type ConfigValue,
  describeConfigMismatch,
  flagOfKey,
  readSetting,
  readSettings,
  recordedSettings,
  recordSettings,
  RUN_SETTINGS,
  type RunConfig,
  type RunSettings,
  type SettingName,
  settingOrDefault,
  type SettingSpec,
  type SettingStep,
  toRunConfig,
} from "./run_config.ts";
export { type ClassStates, type StagedDuplicate, StagedRows } from "./staged_rows.ts";
export { openStep, type StepContext, type StepSummary } from "./open_step.ts";
export { type ContinuingStep, requireEarlierSteps } from "./step_order.ts";
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
