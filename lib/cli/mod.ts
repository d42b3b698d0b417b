/**
 * The command line: strict flags and exit codes, the flags the steps share, and each task's
 * least-privilege Deno permissions (what `tasks/launch.ts` starts a task with).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, throws } from "node:assert/strict";
 * import { intFlag, parseFlags, type TaskSpec, WORK_FLAG } from "./mod.ts";
 *
 * const spec: TaskSpec = {
 *   name: "shard",
 *   summary: "pack tars",
 *   flags: { work: WORK_FLAG, "per-shard": { type: "string", arg: "N", help: "samples per tar" } },
 * };
 * const { values } = parseFlags(spec, ["--per-shard", "500"]);
 * deepStrictEqual([values.work, intFlag(values, "per-shard", 1)], ["work", 500]);
 * throws(() => parseFlags(spec, ["--no-such-flag"]), /no-such-flag/);
 * ```
 * @module
 */
export {
  EXISTING_WORK_FLAG,
  type FlagAccess,
  type FlagSpec,
  type FlagValues,
  type InputContent,
  type TaskSpec,
  WORK_FLAG,
} from "./flag_spec.ts";
export {
  intFlag,
  noteFailureSummary,
  numberFlag,
  parseFlags,
  reportFailures,
  runTask,
  stringFlag,
  type TaskOutcome,
  usage,
} from "./flags.ts";
export { MAX_LINE, printableLine } from "./message_line.ts";
export { CARD_SOURCE_FLAGS, cardSourceFlagOptions } from "./card_flags.ts";
export {
  DOWNLOAD_INPUT_FLAGS,
  downloadInputOptions,
  ENCODE_FLAGS,
  encodeFlagOptions,
  SAMPLE_FLAGS,
  sampleFlagOptions,
  SUBSET_FLAGS,
  TEXT_MODEL_FLAG,
} from "./step_flags.ts";
export {
  DEMO_TASK,
  DOWNLOAD_TASK,
  ENCODE_TASK,
  EVAL_TASK,
  EXPORT_TASK,
  GPU_SETUP_TASK,
  MERGE_TASK,
  MODEL_TASK,
  RUN_TASK,
  SAMPLE_TASK,
  SEARCH_TASK,
  SHARD_TASK,
  TASK_SPECS,
  VERIFY_TASK,
} from "./task_specs.ts";
export { checkInputs, PreflightError } from "./preflight.ts";
export {
  callerCwd,
  denoRunArgs,
  findBinary,
  type LaunchContext,
  LAUNCHED_TASKS,
  REPO_ROOT,
  type TaskLaunch,
  taskLaunch,
} from "./task_permissions.ts";
export type { ConfigError, FailedItem, FailureSummary, Split, SPLITS } from "../core/mod.ts";
export type { parseSplits } from "../download/mod.ts";
export type { EmbeddingOutputDtype, EncodeOptions, ThreadPlan } from "../encode/mod.ts";
export type { Preset, PRESETS, SampleOptions } from "../video/mod.ts";
export type { ModelVariant, ModelVariantChoice } from "../model/mod.ts";
export type { ProviderName, PROVIDERS } from "../onnx/mod.ts";
export type { CardSource } from "../shard/mod.ts";

export { PARENT_POLL_MS, watchParent } from "./parent_watch.ts";
