/**
 * The WebDataset format of a shard set: sample keys (`vid_%09d`) and shard names (`ds_%06d.tar`),
 * the tar-shard writer, the reader (tar paths, globs and brace patterns), `splits.csv`, and what
 * the Hub dataset card says that readers and `eval` rely on. Reading shards needs nothing but
 * read permission. The shard step that plans and writes a set is `lib/shard/`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { sampleKey, ShardReader, ShardWriter } from "./mod.ts";
 * import { writeNpy } from "../base/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const text = new TextEncoder();
 * const writer = await ShardWriter.create(join(dir, "ds_000000.tar"));
 * await writer.addSample(sampleKey(0), [
 *   { ext: "json", data: text.encode('{"videoID":"abc123def45","start_time":"000010","end_time":"000020"}') },
 *   { ext: "npy", data: writeNpy({ dtype: "<f4", shape: [2, 512], data: new Float32Array(1024) }) },
 *   { ext: "txt", data: text.encode("abseiling") },
 * ]);
 * await writer.commit();
 * for await (const s of new ShardReader(join(dir, "ds_*.tar"))) {
 *   deepStrictEqual([s.key, s.label, s.embeddings.shape], ["vid_000000000", "abseiling", [2, 512]]);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export { isShardFileName, parseSampleKey, sampleKey, shardFileName } from "./keys.ts";
export { type SampleMember, ShardWriter, type WrittenShard } from "./writer.ts";
export {
  decodeEmbeddings,
  decodeSample,
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
export {
  formatSplitsCsv,
  parseSplitsCsv,
  readShardSplits,
  type ShardSplits,
  type SplitsCsvRow,
} from "./splits_csv.ts";
export {
  CARD_EVAL_END,
  CARD_EVAL_START,
  cardDataFiles,
  cardEvalSection,
  cardEvalTempPath,
  type CardProvenance,
  cardProvenance,
  HUB_SPLIT_NAMES,
  hubCardWithEval,
  mergeCardEvalSections,
  updateHubCardEval,
} from "./card.ts";
export type { ConfigValue, RunConfig, Split, SPLITS } from "../core/mod.ts";
export type { TarReadOptions } from "../tar/mod.ts";
