/**
 * kinembed: turn a labelled video dataset into a CLIP-embedding WebDataset, reproducibly, and
 * evaluate it. Each pipeline step is a function here and a task (`./kinembed <task>`):
 * `download` → `sample` → `encode` → `shard` → `verify` → `evaluate`, and `runPipeline` for all
 * of them, with their options and results, the reader of the shards they write and the errors
 * they throw. Everything else lives behind a subpath, one per folder of `lib/`
 * (`@kinembed/kinembed/webdataset`, `.../onnx`, `.../eval`, ...; see `lib/README.md`).
 *
 * Importing it loads no npm package: ONNX Runtime, tar-stream and onnx-proto load
 * when a function that needs them first runs, so a script that only reads shards runs with
 * `--allow-read` alone.
 *
 * @example Read a shard set
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { embeddingsToFloat32, ShardReader } from "./mod.ts";
 * import { sampleKey, ShardWriter } from "./lib/webdataset/mod.ts";
 * import { writeNpy } from "./lib/core/mod.ts";
 *
 * // one tar of one sample, as `shard` writes it
 * const dir = await Deno.makeTempDir();
 * const text = new TextEncoder();
 * const w = await ShardWriter.create(join(dir, "ds_000000.tar"));
 * await w.addSample(sampleKey(0), [
 *   { ext: "json", data: text.encode('{"videoID":"abc123def45","start_time":"000010","end_time":"000020"}') },
 *   { ext: "npy", data: writeNpy({ dtype: "<f4", shape: [1, 512], data: new Float32Array(512).fill(0.5) }) },
 *   { ext: "txt", data: text.encode("abseiling") },
 * ]);
 * await w.commit();
 * for await (const s of new ShardReader(join(dir, "ds_{000000..000000}.tar"))) {
 *   deepStrictEqual([s.key, s.label, s.meta.videoID], ["vid_000000000", "abseiling", "abc123def45"]);
 *   deepStrictEqual(embeddingsToFloat32(s.embeddings)[0], 0.5);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example Run every step on a video list
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { runPipeline, ShardReader } from "./mod.ts";
 * import { buildVisionModel } from "./lib/onnx/mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * // a 2-second test video, a video list naming it (path,label,split) and a random-weight model
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-f", "lavfi", "-i", "testsrc2=duration=2:size=160x120:rate=5", join(dir, "clip.mp4")],
 * }).output();
 * await Deno.writeTextFile(join(dir, "videos.csv"), "path,label,split\nclip.mp4,abseiling,train\n");
 * const model = join(dir, "vision.onnx");
 * await Deno.writeFile(model, (await buildVisionModel({ size: "tiny" })).bytes);
 * const work = join(dir, "work");
 * const r = await runPipeline({
 *   work,
 *   download: { videos: [join(dir, "videos.csv")], quiet: true },
 *   sampleEncode: { model, providers: ["cpu"], quiet: true },
 *   shard: { quiet: true },
 *   log: () => {},
 * });
 * strictEqual(r.exitCode, 0);
 * for await (const s of new ShardReader(join(work, "shards", "ds_*.tar"))) {
 *   strictEqual(s.embeddings.shape[0], 2); // one embedding per second
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  ConfigError,
  ConfigMismatchError,
  DecodeError,
  DiskFullError,
  type FailedItem,
  type FailureSummary,
  FormatError,
  InterruptedError,
  KINEMBED_VERSION,
  ProblemListError,
  type Split,
  type SplitCount,
  SPLITS,
  type StateCounts,
  type StepState,
  type StepSummary,
  UsageError,
  WorkDirBusyError,
  type WorkDirLayout,
  workDirLayout,
} from "./lib/core/mod.ts";
export {
  type AnnotationIssue,
  type ArchiveFailure,
  download,
  type DownloadOptions,
  type DownloadReport,
  type DrawPlace,
  type RefusedArchiveMember,
} from "./lib/download/mod.ts";
export { type Preset, PRESETS, sample, type SampleOptions } from "./lib/video/mod.ts";
export {
  type EmbeddingOutputDtype,
  encode,
  type EncodeOptions,
  type EncodeSummary,
  type ThreadPlan,
} from "./lib/encode/mod.ts";
export {
  sampleAndEncode,
  type SampleEncodeOptions,
  type SampleEncodeSummary,
} from "./lib/sample_and_encode.ts";
export {
  type CardProvenance,
  type EmbeddingDtype,
  type Embeddings,
  embeddingsToFloat32,
  ShardReader,
  type ShardSample,
} from "./lib/webdataset/mod.ts";
export {
  type CardSource,
  merge,
  MergeError,
  type MergeOptions,
  type MergeSummary,
  shard,
  type ShardOptions,
  type ShardSummary,
  type SplitShardSummary,
  type WorkerId,
} from "./lib/shard/mod.ts";
export {
  formatVerifyReport,
  type SplitVerdict,
  verify,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyReport,
} from "./lib/verify/mod.ts";
export {
  type ClassAccuracy,
  type ClassRetrieval,
  type Confusion,
  type EvalArtefacts,
  type EvalOptions,
  type EvalPooling,
  type EvalProblem,
  type EvalProvenance,
  type EvalReport,
  type EvalReportFiles,
  type EvalResult,
  type EvalSection,
  evaluate,
  type FrameCensus,
  type LinearProbeSection,
  type RetrievalScore,
  type RetrievalSection,
  type ZeroShotSection,
} from "./lib/eval/mod.ts";
export {
  type ExportDtype,
  exportEmbeddings,
  type ExportOptions,
  type ExportPooling,
  type ExportSummary,
} from "./lib/export/mod.ts";
export {
  type QueryHits,
  search,
  type SearchHit,
  type SearchOptions,
  type SearchPooling,
  type SearchResult,
} from "./lib/search/mod.ts";
export { type RunOptions, runPipeline, type RunSummary } from "./lib/run.ts";
export { type ProviderName, PROVIDERS } from "./lib/onnx/mod.ts";
export { type ModelVariant, type ModelVariantChoice } from "./lib/model/mod.ts";
export { type Accuracy, type PublishedAccuracies, type SplitTotals } from "./lib/dataset/mod.ts";
