/**
 * The run's state: the work dir and its lock, the manifest (a core with one file of queries per
 * concern: `m.videos`, `m.steps`, `m.shards`, `m.archives`; the only SQL), the run
 * configuration's schema (every setting's key, default and flag), opening a work dir for a step,
 * and step order. It re-exports `base/` (errors, files, `.npy`, ...), which needs none of it.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { Manifest, workDirLayout } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const m = Manifest.open(workDirLayout(dir).manifest);
 * m.videos.add([{
 *   id: "aaaaaaaaaaa_000000_000010",
 *   split: "train",
 *   label: "abseiling",
 *   youtubeId: "aaaaaaaaaaa",
 *   timeStart: 0,
 *   timeEnd: 10,
 *   source: join(dir, "a.mp4"),
 * }]);
 * strictEqual(m.videos.count(), 1);
 * m.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
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
export {
  dropFrames,
  forgetDroppedFrames,
  type FramePack,
  pendingFilter,
  readFramePack,
  readFramePacks,
  storeFramePack,
} from "./frame_packs.ts";
export { openStep, type OpenStepOptions, type StepContext, type StepSummary } from "./open_step.ts";
export { type ContinuingStep, requireEarlierSteps } from "./step_order.ts";
export * from "../base/mod.ts";
