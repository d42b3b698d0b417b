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
export * from "./lib/errors.ts";
export * from "./lib/manifest.ts";
export * from "./lib/work_dir.ts";
export * from "./lib/npy.ts";
export { sha256File, writeFileAtomic } from "./lib/atomic_file.ts";
export * from "./lib/onnx_graph.ts";
export * from "./lib/reference_data.ts";
export * from "./lib/clip_tokenizer.ts";
export * from "./lib/clip_model_builder.ts";
export * from "./lib/shard_plan.ts";
export * from "./lib/shard.ts";
export * from "./lib/shard_reader.ts";
export * from "./lib/shard_writer.ts";
export * from "./lib/tar_reader.ts";
export * from "./lib/tar_writer.ts";
export * from "./lib/dataset_card.ts";
export * from "./lib/splits_csv.ts";
export * from "./lib/verify.ts";
export * from "./lib/annotations.ts";
export * from "./lib/subset.ts";
export * from "./lib/download.ts";
export * from "./lib/gpu_setup.ts";
export * from "./lib/elf_needed.ts";
export * from "./lib/image_encoder.ts";
export * from "./lib/video.ts";
export * from "./lib/sample.ts";
export * from "./lib/encode.ts";
export * from "./lib/pipeline.ts";
export * from "./lib/run.ts";
export * from "./lib/clip_normalize.ts";
export * from "./lib/opencv_cubic_resize.ts";
export type { StepSummary } from "./lib/step_context.ts";
export * from "./lib/lbfgs.ts";
export * from "./lib/top_k.ts";
export * from "./lib/linear_probe.ts";
export * from "./lib/zero_shot.ts";
export * from "./lib/eval_features.ts";
export * from "./lib/eval_report.ts";
export * from "./lib/eval.ts";
export * from "./lib/worker.ts";
export * from "./lib/merge.ts";
export {
  denoRunArgs,
  type LaunchContext,
  LAUNCHED_TASKS,
  type TaskLaunch,
  taskLaunch,
} from "./lib/task_permissions.ts";
