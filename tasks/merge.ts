/** `kinembed merge`: join the manifests of a scale-out run's workers into one. */
import {
  cardSourceFlagOptions,
  intFlag,
  MERGE_TASK,
  reportFailures,
  runTask,
} from "../lib/cli/mod.ts";
import { requireWorkDir, SPLITS } from "../lib/core/mod.ts";
import { merge } from "../lib/shard/mod.ts";

await runTask(MERGE_TASK, async (values) => {
  const work = String(values.work);
  const cardSource = cardSourceFlagOptions(values);
  await requireWorkDir(work, "merge");
  const r = await merge({
    cardSource,
    work,
    workers: intFlag(values, "workers", 1),
    quiet: values.quiet === true,
    check: values.check === true,
  });
  if (values.check === true) {
    console.log(`every planned shard of the ${r.workers} workers is there: merge can run`);
    return { code: 0, summary: { workers: r.workers, videos: r.videos, check: true } };
  }
  console.log(`merged ${r.workers} workers into ${r.manifest}: ${r.videos} videos`);
  console.log("split   samples  tars  with 0 frames (failed videos)");
  for (const s of SPLITS) {
    const t = r.splits[s];
    console.log(
      `${s.padEnd(6)} ${String(t.samples).padStart(8)} ${String(t.tars).padStart(5)}  ${t.empty}`,
    );
  }
  await reportFailures(r.failures, { work, step: "merge" });
  if (r.removed.length > 0) {
    console.log(`${r.removed.length} shards of another plan removed: ${r.removed.join(", ")}`);
  }
  console.log(
    `splits.csv, manifest.json and README.md in ${r.shardsDir}; next: verify --work ${work}`,
  );
  reportFailures([]);
  return {
    code: 0,
    summary: {
      workers: r.workers,
      videos: r.videos,
      splits: r.splits,
      removed: r.removed.length,
      shardsDir: r.shardsDir,
      videoFailures: r.failures.length,
    },
  };
});
