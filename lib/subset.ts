/**
 * A reproducible subset of the annotation rows (`--splits`, `--per-class K`, `--limit N`,
 * `--seed S`): the same inputs and seed pick the same videos on any machine.
 *
 * How: keep the chosen splits, sort by id (UTF-16 code unit order, no locale), shuffle with
 * Fisher–Yates driven by mulberry32 seeded with S, keep the first K of each (split, label) in that
 * order, then the first N, and return the kept rows sorted by id. mulberry32 uses only 32-bit
 * integer arithmetic and its draws are exact in float64, so no platform detail can change a pick.
 * @module
 */
import { UsageError } from "./errors.ts";
import type { Split, VideoRow } from "./manifest.ts";
import { normaliseSplit } from "./annotations.ts";

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

/**
 * mulberry32: a small 32-bit PRNG with a fixed, documented output sequence.
 * @param seed any whole number (taken modulo 2^32)
 * @returns a function giving floats in [0, 1), each a multiple of 2^-32
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fisher–Yates shuffle (from the last index down, `j = floor(rand() * (i + 1))`) with mulberry32.
 * @param items the items (not changed)
 * @param seed the seed
 * @returns a shuffled copy
 */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
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
 * const picked = selectSubset(rows, { splits: ["val"], perClass: 2, seed: 7 });
 * ```
 */
export function selectSubset(rows: readonly VideoRow[], opts: SubsetOptions = {}): VideoRow[] {
  let pool = opts.splits ? rows.filter((r) => opts.splits!.includes(r.split)) : rows.slice();
  if (opts.perClass === undefined && opts.limit === undefined) return pool.sort(byId);
  pool = seededShuffle(pool.sort(byId), opts.seed ?? 0);
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
  if (opts.limit !== undefined) pool = pool.slice(0, opts.limit);
  return pool.sort(byId);
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
    const s = normaliseSplit(part);
    if (s === null) {
      throw new UsageError(`--splits: unknown split ${JSON.stringify(part)} (train, val, test)`);
    }
    out.add(s);
  }
  if (out.size === 0) throw new UsageError("--splits needs at least one split");
  return (["train", "val", "test"] as const).filter((s) => out.has(s));
}
