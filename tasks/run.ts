/** `kinembed run`: every step in order — download, sample → encode (streamed), shard, verify, eval. */
import { intFlag, numberFlag, runTask, stringFlag, WORK_FLAG } from "../lib/cli.ts";
import type { EmbeddingOutputDtype } from "../lib/encode.ts";
import { UsageError } from "../lib/errors.ts";
import { parseProviders } from "../lib/image_encoder.ts";
import { runPipeline } from "../lib/run.ts";
import { parseSplits } from "../lib/subset.ts";
import { formatVerifyReport } from "../lib/verify.ts";
import { formatWorker, resolveWorker } from "../lib/worker.ts";
import { type Preset, PRESETS } from "../lib/video.ts";

await runTask({
  name: "run",
  summary: "Run the whole pipeline: download (when --annotations/--videos are given), sample and " +
    "encode overlapped through a bounded queue, shard, verify (with --card), eval (with " +
    "--eval). Each step resumes where an earlier run stopped.",
  flags: {
    work: WORK_FLAG,
    annotations: {
      type: "string",
      multiple: true,
      arg: "FILE",
      help: "download: Kinetics annotation CSV or JSON",
    },
    archives: { type: "string", multiple: true, arg: "FILE", help: "download: CVDF archive list" },
    videos: {
      type: "string",
      multiple: true,
      arg: "FILE",
      help: "download: plain video list CSV, or a folder of videos",
    },
    "base-url": { type: "string", arg: "URL", help: "download: base for relative archive entries" },
    splits: { type: "string", arg: "LIST", help: "download: only these splits" },
    "per-class": {
      type: "string",
      arg: "K",
      help: "download: at most K videos per class and split",
    },
    limit: { type: "string", arg: "N", help: "download: at most N videos" },
    seed: { type: "string", arg: "S", default: "0", help: "download: subset seed" },
    fps: { type: "string", arg: "N", default: "1", help: "sample: frames per second" },
    preset: {
      type: "string",
      arg: "NAME",
      default: "clip",
      help: `sample: ${PRESETS.join(" | ")}`,
    },
    jobs: {
      type: "string",
      arg: "N",
      default: String(navigator.hardwareConcurrency),
      help: "videos decoded in parallel",
    },
    ffmpeg: { type: "string", arg: "PATH", help: "ffmpeg binary (default $FFMPEG_PATH or PATH)" },
    ffprobe: {
      type: "string",
      arg: "PATH",
      help: "ffprobe binary (default $FFPROBE_PATH or PATH)",
    },
    model: { type: "string", arg: "FILE", help: "encode: CLIP image encoder .onnx (required)" },
    providers: {
      type: "string",
      arg: "LIST",
      default: "cuda,cpu",
      help: "execution providers in order",
    },
    batch: { type: "string", arg: "N", default: "32", help: "encode: frames per run" },
    dtype: { type: "string", arg: "T", default: "float16", help: "encode: float16 | float32" },
    "max-frames-in-flight": {
      type: "string",
      arg: "N",
      default: "1024",
      help: "frames decoded but not yet encoded, at most",
    },
    "keep-frames": { type: "boolean", help: "keep frames/<id>.npy" },
    "shard-seed": { type: "string", arg: "S", default: "0", help: "shard: shuffle seed" },
    "per-shard": { type: "string", arg: "N", default: "10000", help: "shard: samples per tar" },
    card: { type: "string", arg: "FILE", help: "verify against this dataset card" },
    classes: { type: "string", arg: "FILE", help: "verify and zero-shot: class list" },
    eval: {
      type: "boolean",
      help: "evaluate at the end (linear probe; zero-shot with --text-model)",
    },
    "text-model": {
      type: "string",
      arg: "FILE",
      help: "eval: CLIP text encoder .onnx for zero-shot",
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
  const model = stringFlag(v, "model");
  if (!model) throw new UsageError("--model FILE is required");
  const preset = stringFlag(v, "preset") as Preset;
  if (!PRESETS.includes(preset)) {
    throw new UsageError(`--preset must be one of ${PRESETS.join(", ")}`);
  }
  const dtype = stringFlag(v, "dtype");
  if (dtype !== "float16" && dtype !== "float32") {
    throw new UsageError("--dtype must be float16 or float32");
  }
  const list = (name: string) => (v[name] as string[] | undefined) ?? [];
  const quiet = v.quiet === true;
  const providers = parseProviders(stringFlag(v, "providers")!);
  const hasInputs = list("annotations").length + list("videos").length > 0;
  const splits = stringFlag(v, "splits");
  const r = await runPipeline({
    work: stringFlag(v, "work")!,
    worker: worker ?? undefined,
    workerWork: stringFlag(v, "worker-work"),
    download: hasInputs
      ? {
        annotations: list("annotations"),
        archives: list("archives"),
        videos: list("videos"),
        baseUrl: stringFlag(v, "base-url"),
        splits: splits === undefined ? undefined : parseSplits(splits),
        perClass: intFlag(v, "per-class", 1),
        limit: intFlag(v, "limit", 1),
        seed: intFlag(v, "seed", 0),
        quiet,
      }
      : undefined,
    sampleEncode: {
      fps: numberFlag(v, "fps"),
      preset,
      jobs: intFlag(v, "jobs", 1),
      ffmpeg: stringFlag(v, "ffmpeg"),
      ffprobe: stringFlag(v, "ffprobe"),
      model,
      providers,
      batch: intFlag(v, "batch", 1),
      dtype: dtype as EmbeddingOutputDtype,
      maxFramesInFlight: intFlag(v, "max-frames-in-flight", 1),
      keepFrames: v["keep-frames"] === true,
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
        providers,
      }
      : undefined,
  });
  const failures = [...r.sampleEncode.sample.failed, ...r.sampleEncode.encode.failed];
  for (const f of failures) console.error(`  ${f.id}: ${f.error}`);
  if (worker) {
    for (const f of r.shard.failures) console.error(`  ${f.id}: ${f.error}`);
    console.log(
      `run: worker ${formatWorker(worker)}: ${r.shard.written.length + r.shard.kept.length} ` +
        `shards in ${r.shard.shardsDir}` +
        (r.shard.failures.length ? `, ${r.shard.failures.length} not written` : "") +
        `; when every worker is done: deno task merge --work ${stringFlag(v, "work")}`,
    );
    return r.exitCode;
  }
  if (r.verify && !r.verify.ok) {
    console.log(formatVerifyReport(r.verify));
  }
  console.log(
    `run: shards in ${r.shard.shardsDir}` + (r.eval ? `; reports in ${r.eval.files.markdown}` : ""),
  );
  return r.exitCode;
});
