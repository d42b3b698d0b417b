/**
 * kinembed: turn a labelled video dataset into a CLIP-embedding WebDataset, reproducibly, and
 * evaluate it. Each pipeline step is a function here and a task (`./kinembed <task>`):
 * `download` → `sample` → `encode` → `shard` → `verify` → `eval`, and `runPipeline` for all of
 * them. This module re-exports the faces of the stages in `lib/` (see `lib/README.md`).
 *
 * Importing it loads no npm package: ONNX Runtime, tar-stream and onnx-proto load
 * when a function that needs them first runs, so a script that only reads shards runs with
 * `--allow-read` alone.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { embeddingsToFloat32, sampleKey, ShardReader, ShardWriter, writeNpy } from "./mod.ts";
 *
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
 * @module
 */
export * from "./lib/core/mod.ts";
export * from "./lib/dataset/mod.ts";
export * from "./lib/tar/mod.ts";
export * from "./lib/net/mod.ts";
export * from "./lib/download/mod.ts";
export * from "./lib/video/mod.ts";
export * from "./lib/onnx/mod.ts";
export * from "./lib/model/mod.ts";
export * from "./lib/encode/mod.ts";
export * from "./lib/webdataset/mod.ts";
export * from "./lib/shard/mod.ts";
export * from "./lib/verify/mod.ts";
export * from "./lib/eval/mod.ts";
export * from "./lib/search/mod.ts";
export * from "./lib/gpu/mod.ts";
export { type RunOptions, runPipeline, type RunSummary } from "./lib/run.ts";
export {
  denoRunArgs,
  type LaunchContext,
  LAUNCHED_TASKS,
  type TaskLaunch,
  taskLaunch,
} from "./lib/cli/mod.ts";
