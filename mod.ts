/**
 * kinembed: turn a labelled video dataset into a CLIP-embedding WebDataset, reproducibly, and
 * evaluate it. Each pipeline step is a function here and a task (`./kinembed <task>`).
 *
 * @example
 * ```ts
 * import { Manifest, workDirLayout } from "./mod.ts";
 * const layout = workDirLayout("work");
 * const m = Manifest.open(layout.manifest, { readOnly: true });
 * console.log(m.counts("encode"));
 * m.close();
 * ```
 * @module
 */
export * from "./lib/core/mod.ts";
export * from "./lib/dataset/mod.ts";
export * from "./lib/tar/mod.ts";
export * from "./lib/download/mod.ts";
export * from "./lib/video/mod.ts";
export * from "./lib/onnx/mod.ts";
export * from "./lib/model/mod.ts";
export * from "./lib/encode/mod.ts";
export * from "./lib/shard/mod.ts";
export * from "./lib/verify/mod.ts";
export * from "./lib/eval/mod.ts";
export * from "./lib/gpu/mod.ts";
export * from "./lib/run.ts";
export {
  denoRunArgs,
  type LaunchContext,
  LAUNCHED_TASKS,
  type TaskLaunch,
  taskLaunch,
} from "./lib/cli/mod.ts";
