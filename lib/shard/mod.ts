/**
 * The shard step: the plan (which video becomes which key in which tar), the shard step with
 * `splits.csv`, `manifest.json` and the Hub card, scale-out workers and their merge. The format
 * it writes (keys, writer, reader, `splits.csv`) is `lib/webdataset/`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { planShards } from "./mod.ts";
 *
 * const videos = [{ id: "a", split: "train" as const }, { id: "b", split: "val" as const }];
 * const plan = planShards(videos, { seed: 0, perShard: 10 });
 * deepStrictEqual(plan.shards.map((s) => [s.file, s.split]), [
 *   ["ds_000000.tar", "train"],
 *   ["ds_000001.tar", "val"],
 * ]);
 * ```
 * @module
 */
export {
  DEFAULT_PER_SHARD,
  type PlannedSample,
  type PlannedShard,
  planRanked,
  planShards,
  type PlanVideo,
  type RankedIds,
  type ShardPlan,
  shardsOfWorker,
} from "./plan.ts";
export { shard, type ShardOptions, type ShardSummary, type SplitShardSummary } from "./shard.ts";
export {
  claimWorker,
  type EnvLookup,
  formatWorker,
  holdWorkerRun,
  parseWorker,
  resolveWorker,
  type WorkerClaim,
  workerDir,
  type WorkerId,
  workerVideoIds,
} from "./worker.ts";
export { merge, MergeError, type MergeOptions, type MergeSummary } from "./merge.ts";
export { CARD_KINEMBED_IMPORT, formatHubCard, writeHubCard } from "./hub_card.ts";
export {
  type CardSource,
  cardSourceFromFlags,
  CLIP_BIBTEX,
  KINETICS700_BIBTEX,
  mergeCardSources,
  readCardSource,
} from "./card_source.ts";
export type {
  ConfigError,
  ConfigValue,
  ProblemListError,
  RunConfig,
  Split,
  SplitCount,
  SPLITS,
} from "../core/mod.ts";
export type { CardProvenance } from "../webdataset/mod.ts";
