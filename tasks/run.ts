/** `kinembed run`: every step in order — download, sample → encode (streamed), shard, verify, eval. */
import {
  DOWNLOAD_INPUT_FLAGS,
  downloadInputOptions,
  ENCODE_FLAGS,
  encodeFlagOptions,
  intFlag,
  noteFailureSummary,
  reportFailures,
  runTask,
  SAMPLE_FLAGS,
  sampleFlagOptions,
  stringFlag,
  SUBSET_FLAGS,
  WORK_FLAG,
} from "../lib/cli/mod.ts";
import { formatFailureSummary, RUN_SETTINGS, UsageError } from "../lib/core/mod.ts";
import { runPipeline } from "../lib/run.ts";
import { formatVerifyReport } from "../lib/verify/mod.ts";
import { DEFAULT_PER_SHARD, formatWorker, resolveWorker } from "../lib/shard/mod.ts";

await runTask({
  name: "run",
  summary: "Run the whole pipeline: download (when --annotations/--videos are given), sample and " +
    "encode overlapped through a bounded queue, shard, verify (with --card), eval (with " +
    "--eval). Each step resumes where an earlier run stopped.",
  flags: {
    work: WORK_FLAG,
    ...DOWNLOAD_INPUT_FLAGS,
    ...SUBSET_FLAGS,
    ...SAMPLE_FLAGS,
    ...ENCODE_FLAGS,
    "max-frames-in-flight": {
      type: "string",
      arg: "N",
      default: "1024",
      help: "frames decoded but not yet encoded, at most",
    },
    "shard-seed": {
      type: "string",
      arg: "S",
      default: String(RUN_SETTINGS.shardSeed.default),
      help: "shard: shuffle seed",
    },
    "per-shard": {
      type: "string",
      arg: "N",
      default: String(DEFAULT_PER_SHARD),
      help: "shard: samples per tar",
    },
    card: { type: "string", arg: "FILE", help: "verify against this dataset card" },
    classes: { type: "string", arg: "FILE", help: "verify and zero-shot: class list" },
    eval: {
      type: "boolean",
      help: "evaluate at the end (linear probe; zero-shot with --text-model)",
    },
    "text-model": {
      type: "string",
      arg: "NAME",
      help: "CLIP text encoder: an .onnx file (input_ids int64 [N,77] → text_embeds [N,D]), a " +
        "checkpoint, or a hub repo id owner/name[@revision]",
    },
    quiet: { type: "boolean", help: "no progress output" },
    worker: {
      type: "string",
      arg: "K/N",
      help: "run as worker K of N: only its shards, into DIR/shards; then merge " +
        "(default from SLURM_ARRAY_TASK_ID, or JOB_COMPLETION_INDEX with --workers)",
    },
    workers: { type: "string", arg: "N", help: "worker count (with JOB_COMPLETION_INDEX)" },
    "worker-work": {
      type: "string",
      arg: "DIR",
      help: "the worker's own work dir, e.g. on local disk (default DIR/workers/K)",
    },
  },
}, async (v) => {
  const worker = resolveWorker({
    worker: stringFlag(v, "worker"),
    workers: intFlag(v, "workers", 1),
  });
  if (!worker && stringFlag(v, "worker-work")) {
    throw new UsageError("--worker-work needs a worker (--worker K/N)");
  }
  const quiet = v.quiet === true;
  const inputs = downloadInputOptions(v);
  const encodeOpts = encodeFlagOptions(v);
  const r = await runPipeline({
    work: stringFlag(v, "work")!,
    worker: worker ?? undefined,
    workerWork: stringFlag(v, "worker-work"),
    download: inputs.annotations.length + inputs.videos.length > 0
      ? { ...inputs, quiet }
      : undefined,
    sampleEncode: {
      ...sampleFlagOptions(v),
      ...encodeOpts,
      maxFramesInFlight: intFlag(v, "max-frames-in-flight", 1),
      quiet,
    },
    shard: { seed: intFlag(v, "shard-seed", 0), perShard: intFlag(v, "per-shard", 1), quiet },
    verify: stringFlag(v, "card")
      ? { card: stringFlag(v, "card")!, classes: stringFlag(v, "classes") }
      : undefined,
    eval: v.eval === true
      ? {
        textModel: stringFlag(v, "text-model"),
        classes: stringFlag(v, "classes"),
        card: stringFlag(v, "card"),
        providers: encodeOpts.providers,
      }
      : undefined,
  });
  // failed downloads as download lists them, then the rest of this run's failures
  if (r.download) {
    for (const l of formatFailureSummary(r.download.failureSummary, "failed in download")) {
      console.error(l);
    }
    noteFailureSummary(r.download.failureSummary);
  }
  await reportFailures([
    ...r.sampleEncode.sample.failed.map((f) => ({ ...f, step: "sample" })),
    ...r.sampleEncode.encode.failed.map((f) => ({ ...f, step: "encode" })),
    ...(worker ? r.shard.failures.map((f) => ({ ...f, step: "shard" })) : []),
  ], { work: stringFlag(v, "work")!, step: "run" });
  const summary = {
    shardsDir: r.shard.shardsDir,
    splits: r.shard.splits,
    sampled: r.sampleEncode.sample.done,
    encoded: r.sampleEncode.encode.done,
    shardsWritten: r.shard.written.length,
    verifyOk: r.verify?.ok,
    linearProbeTop1: r.eval?.report.linearProbe?.top1,
    zeroShotTop1: r.eval?.report.zeroShot?.top1,
    reports: r.eval?.files,
  };
  if (worker) {
    console.log(
      `run: worker ${formatWorker(worker)}: ${r.shard.written.length + r.shard.kept.length} ` +
        `shards in ${r.shard.shardsDir}` +
        (r.shard.failures.length ? `, ${r.shard.failures.length} not written` : "") +
        `; when every worker is done: deno task merge --work ${stringFlag(v, "work")}`,
    );
    return { code: r.exitCode, summary };
  }
  if (r.verify && !r.verify.ok) {
    console.log(formatVerifyReport(r.verify));
  }
  console.log(
    `run: shards in ${r.shard.shardsDir}` + (r.eval ? `; reports in ${r.eval.files.markdown}` : ""),
  );
  return { code: r.exitCode, summary };
});
