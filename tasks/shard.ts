/** `kinembed shard`: pack the encoded videos of a work dir into WebDataset tars. */
import { intFlag, reportFailures, runTask, stringFlag, WORK_FLAG } from "../lib/cli/mod.ts";
import { requireWorkDir, RUN_SETTINGS, SPLITS, UsageError } from "../lib/core/mod.ts";
import { DEFAULT_PER_SHARD, shard } from "../lib/shard/mod.ts";

await runTask({
  name: "shard",
  summary: "Pack every encoded video into WebDataset tars (shards/ds_%06d.tar, splits.csv, " +
    "manifest.json): per split a seeded shuffle, keys vid_%09d, byte-identical on rerun.",
  flags: {
    work: WORK_FLAG,
    seed: {
      type: "string",
      arg: "N",
      default: String(RUN_SETTINGS.shardSeed.default),
      help: "shuffle seed (0..4294967295)",
    },
    "per-shard": {
      type: "string",
      arg: "N",
      default: String(DEFAULT_PER_SHARD),
      help: "samples per tar",
    },
    quiet: { type: "boolean", help: "no progress lines" },
  },
}, async (values) => {
  const seed = intFlag(values, "seed", 0)!;
  if (seed > 0xffffffff) throw new UsageError(`--seed takes 0..4294967295, got ${seed}`);
  await requireWorkDir(String(values.work), "shard");
  const s = await shard({
    work: String(values.work),
    seed,
    perShard: intFlag(values, "per-shard", 1)!,
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
