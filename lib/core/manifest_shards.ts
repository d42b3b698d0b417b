/**
 * The manifest's shard rows (one per written tar, with the hash of the plan that filled it), the
 * per-split ranking of video ids a shard plan looks ids up in, and the note the shard step keeps
 * for its next run.
 * @module
 */
import type { Split } from "../base/mod.ts";
import { SPLITS } from "../base/mod.ts";
import type { ManifestConnection, Row } from "./manifest_connection.ts";
import type { Step } from "./manifest_rows.ts";

/** One WebDataset shard. */
export interface ShardRow {
  /** Global shard index (`ds_%06d.tar`). */
  index: number;
  /** The split its samples belong to. */
  split: Split;
  /** File name inside `shards/`. */
  file: string;
  /** Samples in the shard. */
  samples: number;
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the tar. */
  sha256: string;
  /**
   * Hash of what the shard plan put in it (keys, videos, labels, inputs), so a rerun can tell a
   * shard of another plan from a current one. Absent on rows written before it was recorded.
   */
  planHash?: string | null;
}

/**
 * The manifest's shard rows, the ranking of ids a shard plan reads, and the note the shard step
 * keeps for its next run.
 */
export class ShardQueries {
  #c: ManifestConnection;

  /**
   * Queries on an open manifest; use `Manifest#shards`.
   * @param c the manifest's connection
   */
  constructor(c: ManifestConnection) {
    this.#c = c;
  }

  /**
   * What a step noted for its next run (see `setRunNote`).
   * @param key the note's name
   * @returns its value, or null when none is kept
   */
  runNote(key: string): string | null {
    const r = this.#c.stmt("SELECT value FROM meta WHERE key = ?").get(`memo:${key}`) as
      | { value: string }
      | undefined;
    return r ? r.value : null;
  }

  /**
   * Keeps (or, given null, forgets) a note for a step's next run, e.g. what its last complete
   * run saw.
   * @param key the note's name
   * @param value its value
   */
  setRunNote(key: string, value: string | null): void {
    // kept as `memo:<key>` in `meta`, the name files written so far carry
    const stored = `memo:${key}`;
    if (value === null) this.#c.write("DELETE FROM meta WHERE key = ?", stored);
    else this.#c.write("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", stored, value);
  }

  /**
   * Numbers the videos of each split in id order in a temporary table on this connection (a file
   * behind a bounded cache, gone on close), so that a shard plan over 645k videos looks ids up by
   * rank instead of holding them. A second call replaces the numbering.
   * @param doneIn only the videos this step has done; absent: every video
   * @returns per split the count, and the ids at given 0-based ranks, in the order given
   */
  rankIds(doneIn?: Step): {
    counts: Record<Split, number>;
    idsAt(split: Split, ranks: Uint32Array): string[];
  } {
    this.#c.db.exec(`PRAGMA temp_store = FILE; DROP TABLE IF EXISTS temp.ranked_ids;
      CREATE TEMP TABLE ranked_ids (
        split TEXT NOT NULL, rank INTEGER NOT NULL, id TEXT NOT NULL, PRIMARY KEY (split, rank)
      ) WITHOUT ROWID;`);
    const done = doneIn
      ? "WHERE EXISTS (SELECT 1 FROM steps s WHERE s.video_id = v.id AND s.step = ? AND s.state = 'done')"
      : "";
    this.#c.tx(() =>
      this.#c.db.prepare(
        `INSERT INTO temp.ranked_ids
         SELECT v.split, ROW_NUMBER() OVER (PARTITION BY v.split ORDER BY v.id) - 1, v.id
         FROM videos v ${done}`,
      ).run(...(doneIn ? [doneIn] : [])), "DEFERRED");
    const counts = Object.fromEntries(SPLITS.map((s) => [s, 0])) as Record<Split, number>;
    const rows = this.#c.db.prepare(
      "SELECT split, COUNT(*) AS n FROM temp.ranked_ids GROUP BY split",
    ).all() as { split: Split; n: number }[];
    for (const r of rows) counts[r.split] = Number(r.n);
    const lookup = this.#c.db.prepare(
      `SELECT rank, id FROM temp.ranked_ids
       WHERE split = ? AND rank IN (SELECT value FROM json_each(?))`,
    );
    return {
      counts,
      idsAt: (split, ranks) => {
        const byRank = new Map<number, string>();
        const found = lookup.all(split, JSON.stringify(Array.from(ranks))) as Row[];
        for (const r of found) byRank.set(Number(r.rank), String(r.id));
        return Array.from(ranks, (rank) => byRank.get(rank)!);
      },
    };
  }

  /**
   * Records a finished shard (replacing a row with the same index).
   * @param row the shard
   */
  put(row: ShardRow): void {
    this.#c.write(
      `INSERT OR REPLACE INTO shards(idx, split, file, samples, bytes, sha256, plan_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      row.index,
      row.split,
      row.file,
      row.samples,
      row.bytes,
      row.sha256,
      row.planHash ?? null,
    );
  }

  /**
   * Replaces every shard row at once (a new shard plan).
   * @param rows the shards
   */
  replace(rows: ShardRow[]): void {
    this.#c.tx(() => {
      this.#c.db.exec("DELETE FROM shards");
      for (const r of rows) this.put(r);
    });
  }

  /**
   * The recorded shards in index order.
   * @returns every shard row
   */
  all(): ShardRow[] {
    return (this.#c.db.prepare("SELECT * FROM shards ORDER BY idx").all() as Row[]).map((r) => ({
      index: Number(r.idx),
      split: r.split as Split,
      file: String(r.file),
      samples: Number(r.samples),
      bytes: Number(r.bytes),
      sha256: String(r.sha256),
      planHash: r.plan_hash === null || r.plan_hash === undefined ? null : String(r.plan_hash),
    }));
  }
}
