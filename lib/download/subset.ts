/**
 * A reproducible subset of the annotation rows (`--splits`, `--per-class K`, `--limit N`,
 * `--seed S`): the same inputs and seed pick the same videos on any machine.
 *
 * How: keep the chosen splits, sort by id (UTF-16 code unit order, no locale), shuffle with
 * Fisher–Yates driven by mulberry32 seeded with S (the shuffle of `shard_plan.ts`), keep the
 * first K of each (split, label) in that order, then the first N, and return the kept rows sorted
 * by id. mulberry32 uses only 32-bit integer arithmetic and its draws are exact in float64, so no
 * platform detail can change a pick.
 * @module
 */
import { parseSplitName, seededShuffle, type Split, UsageError } from "../base/mod.ts";
import type { VideoRow } from "../core/mod.ts";

/** What to keep. */
export interface SubsetOptions {
  /** Only these splits (all when absent). */
  splits?: readonly Split[];
  /** At most this many videos per (split, label); test rows without a label count as one class. */
  perClass?: number;
  /** At most this many videos in all. */
  limit?: number;
  /** Seed of the shuffle (default 0); a whole number in [0, 2^32). */
  seed?: number;
}

/** Compares ids by UTF-16 code units, the same everywhere (unlike `localeCompare`). */
function byId(a: VideoRow, b: VideoRow): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Picks the subset.
 * @param rows the annotation rows
 * @param opts splits, per-class count, limit and seed
 * @returns the kept rows, sorted by id
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseKineticsCsv } from "./annotations.ts";
 * import { selectSubset } from "./subset.ts";
 * const csv = "label,youtube_id,time_start,time_end,split\n" +
 *   ["aaaaaaaaaa1", "aaaaaaaaaa2", "aaaaaaaaaa3"].map((y) => `yoga,${y},0,10,val`).join("\n");
 * const { rows } = parseKineticsCsv(csv, "val.csv");
 * const picked = selectSubset(rows, { splits: ["val"], perClass: 2, seed: 7 });
 * strictEqual(picked.length, 2);
 * ```
 */
export function selectSubset(rows: readonly VideoRow[], opts: SubsetOptions = {}): VideoRow[] {
  const pool = opts.splits ? rows.filter((r) => opts.splits!.includes(r.split)) : rows.slice();
  if (opts.perClass === undefined && opts.limit === undefined) return pool.sort(byId);
  return pickFromSorted(pool.sort(byId), opts).sort(byId);
}

/**
 * The draw behind `selectSubset`, on rows already filtered by split and sorted by id (the download
 * step hands it ids, splits and labels read from its staged table).
 * @param sorted the candidates in id order (a rejected row's place among them may have no split)
 * @param opts per-class cap, limit and seed (`splits` is not looked at)
 * @returns the rows kept, in the shuffled order
 */
export function pickFromSorted<T extends { split: Split | null; label: string | null }>(
  sorted: readonly T[],
  opts: SubsetOptions,
): T[] {
  let pool = seededShuffle(sorted, opts.seed ?? 0);
  if (opts.perClass !== undefined) {
    const taken = new Map<string, number>();
    pool = pool.filter((r) => {
      const key = `${r.split}\u0000${r.label ?? ""}`;
      const n = taken.get(key) ?? 0;
      if (n >= opts.perClass!) return false;
      taken.set(key, n + 1);
      return true;
    });
  }
  return opts.limit !== undefined ? pool.slice(0, opts.limit) : pool;
}

/**
 * Parses a `--splits` value: comma-separated split names (`validate`/`validation` mean `val`).
 * @param value e.g. `train,val`
 * @returns the splits, without repeats, in train, val, test order
 */
export function parseSplits(value: string): Split[] {
  const out = new Set<Split>();
  for (const part of value.split(",")) {
    if (part.trim() === "") continue;
    const s = parseSplitName(part);
    if (s === null) {
      throw new UsageError(`--splits: unknown split ${JSON.stringify(part)} (train, val, test)`);
    }
    out.add(s);
  }
  if (out.size === 0) throw new UsageError("--splits needs at least one split");
  return (["train", "val", "test"] as const).filter((s) => out.has(s));
}
