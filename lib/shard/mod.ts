/**
 * WebDataset shards: the plan (which video becomes which key in which tar), the writer, the shard
 * step with `splits.csv` and `manifest.json`, scale-out workers and their merge, and the reader.
 * Reading shards needs nothing but read permission.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { sampleKey, ShardReader, ShardWriter } from "./mod.ts";
 * import { writeNpy } from "../core/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const text = new TextEncoder();
 * const w = await ShardWriter.create(join(dir, "ds_000000.tar"));
 * await w.addSample(sampleKey(0), [
 *   { ext: "json", data: text.encode('{"videoID":"abc123def45","start_time":"000010","end_time":"000020"}') },
 *   { ext: "npy", data: writeNpy({ dtype: "<f4", shape: [2, 512], data: new Float32Array(1024) }) },
 *   { ext: "txt", data: text.encode("abseiling") },
 * ]);
 * await w.commit();
 * for await (const s of new ShardReader(join(dir, "ds_*.tar"))) {
 *   deepStrictEqual([s.key, s.label, s.embeddings.shape], ["vid_000000000", "abseiling", [2, 512]]);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  DEFAULT_PER_SHARD,
  parseSampleKey,
  type PlannedSample,
  type PlannedShard,
  planRanked,
  planShards,
  type PlanVideo,
  type RankedIds,
  sampleKey,
  shardFileName,
  type ShardPlan,
  shardsOfWorker,
} from "./plan.ts";
export { type SampleMember, ShardWriter, type WrittenShard } from "./writer.ts";
export { formatSplitsCsv, parseSplitsCsv, type SplitsCsvRow } from "./splits_csv.ts";
export { shard, type ShardOptions, type ShardSummary, type SplitShardSummary } from "./shard.ts";
export {
  claimWorker,
  type EnvLookup,
  formatWorker,
  parseWorker,
  resolveWorker,
  type WorkerClaim,
  workerDir,
  type WorkerId,
  workerVideoIds,
} from "./worker.ts";
export { merge, MergeError, type MergeOptions, type MergeSummary } from "./merge.ts";
export {
  CARD_EVAL_END,
  CARD_EVAL_START,
  cardEvalSection,
  cardEvalTempPath,
  type CardProvenance,
  cardProvenance,
  formatHubCard,
  HUB_SPLIT_NAMES,
  hubCardWithEval,
  mergeCardEvalSections,
  updateHubCardEval,
  writeHubCard,
} from "./hub_card.ts";
export {
  decodeEmbeddings,
  type EmbeddingDtype,
  type Embeddings,
  embeddingsToFloat32,
  expandShardPatterns,
  type RawSample,
  readRawSamples,
  ShardReader,
  type ShardSample,
  splitMemberName,
} from "./reader.ts";
