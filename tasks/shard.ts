/** `kinembed shard`: pack the encoded videos of a work dir into WebDataset tars. */
import {
  cardSourceFlagOptions,
  intFlag,
  reportFailures,
  runTask,
  SHARD_TASK,
  stringFlag,
} from "../lib/cli/mod.ts";
import { requireWorkDir, SPLITS, UsageError } from "../lib/core/mod.ts";
import { shard } from "../lib/shard/mod.ts";

await runTask(SHARD_TASK, async (values) => {
  const seed = intFlag(values, "seed", 0)!;
  if (seed > 0xffffffff) throw new UsageError(`--seed takes 0..4294967295, got ${seed}`);
  const cardSource = cardSourceFlagOptions(values);
  await requireWorkDir(String(values.work), "shard");
  const s = await shard({
    cardSource,
    work: String(values.work),
    seed,
    perShard: intFlag(values, "per-shard", 1)!,
    thumbnails: values.thumbnails === true,
    quiet: values.quiet === true,
  });
  console.log(`shards in ${s.shardsDir} (seed ${s.seed}, ${s.perShard} per tar)`);
  console.log("split   samples  tars  left out (failed / not encoded)");
  for (const sp of SPLITS) {
    const t = s.splits[sp];
    console.log(
      `${sp.padEnd(6)} ${String(t.samples).padStart(8)} ${String(t.tars).padStart(5)}  ` +
        `${t.failed} / ${t.notEncoded}`,
    );
  }
  const nothing = s.written.length === 0 && s.removed.length === 0 && s.failures.length === 0;
  console.log(
    nothing
      ? `nothing to do: all ${s.kept.length} shards are up to date`
      : `${s.written.length} written, ${s.kept.length} kept` +
        (s.removed.length ? `, ${s.removed.length} of an earlier plan removed` : "") +
        (s.staleTemps ? `, ${s.staleTemps} stale temp files removed` : ""),
  );
  return {
    code: await reportFailures(s.failures, { work: stringFlag(values, "work")!, step: "shard" }),
    summary: {
      shardsDir: s.shardsDir,
      seed: s.seed,
      perShard: s.perShard,
      splits: s.splits,
      written: s.written.length,
      kept: s.kept.length,
      removed: s.removed.length,
    },
  };
});
