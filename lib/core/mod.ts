/**
 * The foundations every stage stands on: typed errors, crash-safe files, the work dir and its
 * lock, the manifest (the only module that knows SQL), the split vocabulary, seeded randomness,
 * `.npy` files, progress and bounded concurrency.
 * @module
 */
export * from "./errors.ts";
export * from "./atomic_file.ts";
export * from "./split.ts";
export * from "./random.ts";
export * from "./work_dir.ts";
export * from "./manifest.ts";
export * from "./step_context.ts";
export * from "./progress.ts";
export * from "./concurrency.ts";
export * from "./npy.ts";
export * from "./failure_report.ts";
