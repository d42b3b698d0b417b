/**
 * The shard plan: which video becomes which key in which tar. A pure function of the videos' ids
 * and splits, the seed and the shard size, so it is known before any video is processed and is
 * the same on every machine (workers can split the shards by `index % n == k`).
 *
 * Per split, in the order train, val, test: ids sorted (by UTF-16 code units, which for the ASCII
 * ids of the manifest is byte order), then shuffled by Fisher–Yates driven by mulberry32 seeded with
 * `seed` (a fresh generator per split, so adding test videos leaves the train order as it was).
 * Keys `vid_%09d` count up across splits; shards `ds_%06d.tar` hold `perShard` samples each, a
 * split's last one fewer, and never mix splits.
 * @module
 */
import { createHash } from "node:crypto";
import { seededPermutation, type Split, type SplitCount, SPLITS } from "../base/mod.ts";
import { RUN_SETTINGS } from "../core/mod.ts";
import { sampleKey, shardFileName } from "../webdataset/mod.ts";

/** Samples per shard unless told otherwise (the published set's size). */
export const DEFAULT_PER_SHARD: number = RUN_SETTINGS.perShard.default;

/** A video the plan places: its id and split. */
export interface PlanVideo {
  /** The manifest id. */
  id: string;
  /** Its split. */
  split: Split;
}

/** One sample of a planned shard. */
export interface PlannedSample {
  /** WebDataset key, `vid_%09d`. */
  key: string;
  /** The video it holds. */
  videoId: string;
}

/** One planned shard. */
export interface PlannedShard {
  /** Global shard index. */
  index: number;
  /** File name, `ds_%06d.tar`. */
  file: string;
  /** The split of every sample in it. */
  split: Split;
  /** How many samples it has. */
  size: number;
  /** Number of its first sample's key: sample i has key `sampleKey(firstKey + i)`. */
  firstKey: number;
  /**
   * The videos of its samples in member order, looked up on each read (a plan of 645k videos
   * keeps a permutation, not the ids): read it once per use.
   */
  readonly videoIds: readonly string[];
  /** Its samples in member order, made on each read like `videoIds`. */
  readonly samples: PlannedSample[];
}

/**
 * The ids a plan places, per split in sorted order (by UTF-16 code units, which for the manifest's
 * ASCII ids is SQLite's byte order), looked up by rank.
 */
export interface RankedIds {
  /** How many ids each split has. */
  counts: Record<Split, number>;
  /**
   * The ids at some ranks of a split's sorted order.
   * @param split the split
   * @param ranks 0-based ranks
   * @returns the ids, in the order of `ranks`
   */
  idsAt(split: Split, ranks: Uint32Array): string[];
}

/** The complete plan. */
export interface ShardPlan {
  /** Shuffle seed. */
  seed: number;
  /** Samples per full shard. */
  perShard: number;
  /** Every shard in index order. */
  shards: PlannedShard[];
  /** Samples and tars per split (every split present, zero when empty). */
  totals: Record<Split, SplitCount>;
}

/**
 * Plans the shards of a set of videos held in memory (see `planRanked` for ids kept elsewhere).
 * @param videos the videos to place (any order, e.g. streamed; ids unique)
 * @param opts `seed` (default 0, an integer 0..2^32-1) and `perShard` (default 10000)
 * @returns the plan
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { planShards } from "./plan.ts";
 * const plan = planShards([{ id: "a", split: "train" }, { id: "b", split: "val" }], { perShard: 1 });
 * deepStrictEqual(plan.shards.map((s) => s.file), ["ds_000000.tar", "ds_000001.tar"]);
 * ```
 */
export function planShards(
  videos: Iterable<PlanVideo>,
  opts: { seed?: number; perShard?: number } = {},
): ShardPlan {
  const bySplit = new Map<Split, string[]>(SPLITS.map((s) => [s, []]));
  for (const v of videos) {
    const list = bySplit.get(v.split);
    if (!list) throw new RangeError(`video ${v.id}: unknown split ${JSON.stringify(v.split)}`);
    list.push(v.id);
  }
  const lists = SPLITS.map((s) => bySplit.get(s)!.sort(byCodeUnits));
  for (let a = 0; a < lists.length; a++) {
    for (let b = a; b < lists.length; b++) {
      const twice = commonId(lists[a], lists[b]);
      if (twice !== null) throw new RangeError(`video ${twice} is listed twice`);
    }
  }
  const sorted = new Map(SPLITS.map((s, n) => [s, lists[n]]));
  return planRanked({
    counts: Object.fromEntries(SPLITS.map((s) => [s, sorted.get(s)!.length])) as Record<
      Split,
      number
    >,
    idsAt: (split, ranks) => Array.from(ranks, (r) => sorted.get(split)![r]),
  }, opts);
}

/**
 * Plans the shards of ids kept elsewhere (the manifest's): per split, in the order train, val,
 * test, the sorted ids are shuffled by a seeded permutation, which is all the plan holds (4 bytes
 * a video); each shard looks its ids up when read.
 * @param source the ids per split, by rank
 * @param opts `seed` (default 0, an integer 0..2^32-1) and `perShard` (default 10000)
 * @returns the plan
 */
export function planRanked(
  source: RankedIds,
  opts: { seed?: number; perShard?: number } = {},
): ShardPlan {
  const seed = opts.seed ?? RUN_SETTINGS.shardSeed.default;
  const perShard = opts.perShard ?? DEFAULT_PER_SHARD;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer 0..4294967295, got ${seed}`);
  }
  if (!Number.isInteger(perShard) || perShard < 1) {
    throw new RangeError(`perShard must be a whole number ≥ 1, got ${perShard}`);
  }
  const shards: PlannedShard[] = [];
  const totals = {} as Record<Split, SplitCount>;
  let key = 0;
  for (const split of SPLITS) {
    const n = source.counts[split];
    const order = seededPermutation(n, seed);
    const first = shards.length;
    for (let i = 0; i < n; i += perShard) {
      const ranks = order.subarray(i, i + perShard);
      shards.push(
        plannedShard(shards.length, split, ranks.length, key, () => source.idsAt(split, ranks)),
      );
      key += ranks.length;
    }
    totals[split] = { samples: n, tars: shards.length - first };
  }
  return { seed, perShard, shards, totals };
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An id two sorted lists share (or one list holds twice, when both are the same), or null. */
function commonId(a: readonly string[], b: readonly string[]): string | null {
  if (a === b) {
    for (let i = 1; i < a.length; i++) if (a[i] === a[i - 1]) return a[i];
    return null;
  }
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    if (a[i] === b[j]) return a[i];
    if (a[i] < b[j]) i++;
    else j++;
  }
  return null;
}

/**
 * A planned shard.
 * @param index its global index
 * @param split the split of its videos
 * @param size how many samples it has
 * @param firstKey the number of its first sample's key
 * @param ids looks up its videos in member order
 * @returns the shard
 */
function plannedShard(
  index: number,
  split: Split,
  size: number,
  firstKey: number,
  ids: () => readonly string[],
): PlannedShard {
  return {
    index,
    file: shardFileName(index),
    split,
    size,
    firstKey,
    get videoIds(): readonly string[] {
      return ids();
    },
    get samples(): PlannedSample[] {
      return ids().map((videoId, i) => ({ key: sampleKey(firstKey + i), videoId }));
    },
  };
}

/**
 * The shards worker k of n owns: those with `index % n == k`.
 * @param plan the plan
 * @param k the worker, 0..n-1
 * @param n how many workers
 * @returns that worker's shards
 */
export function shardsOfWorker(plan: ShardPlan, k: number, n: number): PlannedShard[] {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(k) || k < 0 || k >= n) {
    throw new RangeError(`worker ${k}/${n}: want 0 ≤ k < n`);
  }
  return plan.shards.filter((s) => s.index % n === k);
}

/**
 * Hash of a planned shard together with what each sample's bytes come from, so a rerun keeps a
 * finished shard only when the same plan would write the same tar.
 * @param shard the planned shard
 * @param inputOf per video, a string standing for its inputs (label, times, embedding hash)
 * @param ids the shard's videos, when read already
 * @returns lowercase hex SHA-256
 */
export function planHash(
  shard: PlannedShard,
  inputOf: (videoId: string) => string,
  ids: readonly string[] = shard.videoIds,
): string {
  const h = createHash("sha256");
  h.update(`${shard.index}\t${shard.file}\t${shard.split}\n`);
  ids.forEach((id, i) => {
    h.update(`${sampleKey(shard.firstKey + i)}\t${id}\t${inputOf(id)}\n`);
  });
  return h.digest("hex");
}
