/**
 * The manifest's readable summary, written as `manifest.json`: the configuration and its hash,
 * per split the videos and each step's state counts, and the shards.
 * @module
 */
import type { Split } from "../base/mod.ts";
import { configHash, type RunConfig } from "./run_config.ts";
import type { ManifestConnection } from "./manifest_connection.ts";
import { type StateCounts, stateCounts, type Step, type StepState } from "./manifest_rows.ts";
import type { ShardRow } from "./manifest_shards.ts";

/** The readable export written as `manifest.json`. */
export interface ManifestExport {
  /** Schema version of the manifest. */
  schemaVersion: number;
  /** The run configuration. */
  config: RunConfig;
  /** Its hash. */
  configHash: string;
  /** Videos per split, and per step how many are done or failed. */
  splits: Record<string, { videos: number } & Record<Step, StateCounts>>;
  /** Shard totals per split. */
  shardTotals: Record<string, { samples: number; tars: number }>;
  /** Every shard. */
  shards: ShardRow[];
}

/**
 * The readable export (`manifest.json`): config, per-split totals and shards.
 * @param c the manifest's connection
 * @param schemaVersion the schema version it writes
 * @param config its run configuration
 * @param shards its shard rows
 * @returns the export
 */
export function exportManifest(
  c: ManifestConnection,
  schemaVersion: number,
  config: RunConfig,
  shards: ShardRow[],
): ManifestExport {
  const splits: ManifestExport["splits"] = {};
  const rows = c.db.prepare(
    "SELECT split, COUNT(*) AS n FROM videos GROUP BY split ORDER BY split",
  )
    .all() as { split: Split; n: number }[];
  // the records of every split but the largest by a join over their videos; the largest's are
  // what the (step, state) index counts beyond those (at 645k videos: ~0.5 s, not 3 s of join)
  type Tally = { split: Split; step: Step; state: StepState; n: number };
  const largest = rows.reduce<{ split: Split; n: number } | null>(
    (a, r) => (a === null || Number(r.n) > Number(a.n) ? r : a),
    null,
  );
  const bySplit = c.db.prepare(
    `SELECT s.step AS step, s.state AS state, COUNT(*) AS n FROM videos v
     JOIN steps s ON s.video_id = v.id WHERE v.split = ? GROUP BY 1, 2`,
  );
  const records: Tally[] = [];
  for (const r of rows) {
    if (r === largest) continue;
    for (const c of bySplit.all(r.split) as Omit<Tally, "split">[]) {
      records.push({ ...c, split: r.split });
    }
  }
  if (largest) {
    const all = c.db.prepare(
      "SELECT step, state, COUNT(*) AS n FROM steps GROUP BY 1, 2",
    ).all() as Omit<Tally, "split">[];
    for (const c of all) {
      const others = records.filter((o) => o.step === c.step && o.state === c.state)
        .reduce((a, o) => a + Number(o.n), 0);
      records.push({ ...c, split: largest.split, n: Number(c.n) - others });
    }
  }
  for (const r of rows) {
    const of = (step: Step) =>
      stateCounts(Number(r.n), records.filter((c) => c.split === r.split && c.step === step));
    splits[r.split] = {
      videos: Number(r.n),
      download: of("download"),
      sample: of("sample"),
      encode: of("encode"),
    };
  }
  const shardTotals: ManifestExport["shardTotals"] = {};
  for (const s of shards) {
    const t = shardTotals[s.split] ??= { samples: 0, tars: 0 };
    t.samples += s.samples;
    t.tars += 1;
  }
  return {
    schemaVersion,
    config,
    configHash: configHash(config),
    splits,
    shardTotals,
    shards,
  };
}
