/** `kinembed run`: every step in order — download, sample → encode (streamed), shard, verify, eval. */
import {
  cardSourceFlagOptions,
  downloadInputOptions,
  encodeFlagOptions,
  intFlag,
  noteFailureSummary,
  reportFailures,
  RUN_TASK,
  runTask,
  sampleFlagOptions,
  stringFlag,
} from "../lib/cli/mod.ts";
import { formatFailureSummary, UsageError } from "../lib/core/mod.ts";
import { runPipeline } from "../lib/run.ts";
import { formatVerifyReport } from "../lib/verify/mod.ts";
import { formatWorker, mergeCardSources, readCardSource, resolveWorker } from "../lib/shard/mod.ts";

await runTask(RUN_TASK, async (v) => {
  const worker = resolveWorker({
    worker: stringFlag(v, "worker"),
    workers: intFlag(v, "workers", 1),
  });
  if (!worker && stringFlag(v, "worker-work")) {
    throw new UsageError("--worker-work needs a worker (--worker K/N)");
  }
  const quiet = v.quiet === true;
  // the flags first, then what the card to verify against says (preflight has read it)
  const card = stringFlag(v, "card");
  const cardSource = mergeCardSources(
    cardSourceFlagOptions(v),
    card ? readCardSource(await Deno.readTextFile(card)) : undefined,
  );
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
    shard: {
      seed: intFlag(v, "shard-seed", 0),
      perShard: intFlag(v, "per-shard", 1),
      quiet,
      cardSource,
      thumbnails: v.thumbnails === true,
    },
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
    threads: r.sampleEncode.encode.threads,
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
        `; when every worker is done: ./kinembed merge --work ${stringFlag(v, "work")}`,
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
