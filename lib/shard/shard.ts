/**
 * The shard step: packs every encoded video of a work dir into WebDataset tars in the published
 * layout (`shards/ds_%06d.tar`, `splits.csv`, `manifest.json`). Idempotent and resumable: a shard
 * is written to a temp name, fsynced and renamed, then recorded with its size, sha256 and plan
 * hash; a rerun keeps every shard whose file still matches its record under the same plan and
 * rewrites the rest. The same inputs and seed give byte-identical tars.
 * @module
 */
import {
  deviceOf,
  DiskFullError,
  fileSize,
  FormatError,
  isDiskFull,
  Progress,
  readNpyHeader,
  removeStaleTemps,
  sha256File,
  type Split,
  type SplitCount,
  SPLITS,
  writeNpy,
} from "../base/mod.ts";
import {
  type Manifest,
  openStep,
  readSetting,
  recordSettings,
  requireEarlierSteps,
  RUN_SETTINGS,
  type RunConfig,
  settingOrDefault,
  type ShardRow,
  type VideoStepRow,
} from "../core/mod.ts";
import { basename, isAbsolute, join, resolve } from "node:path";
import { createHash } from "node:crypto";
import {
  DEFAULT_PER_SHARD,
  planHash,
  type PlannedShard,
  planRanked,
  type ShardPlan,
} from "./plan.ts";
import { type SampleMember, ShardWriter, type WrittenShard } from "../webdataset/mod.ts";
import { removeUnplannedShards, writeSetFiles } from "./shard_set_files.ts";
import { isWorkerShardTemp, type WorkerId, workerSettings } from "./worker.ts";
import type { CardSource } from "./card_source.ts";

/** Options of `shard()`. */
export interface ShardOptions {
  /** The work directory. */
  work: string;
  /** Shuffle seed (default 0). */
  seed?: number;
  /** Samples per shard (default 10000). */
  perShard?: number;
  /** Print no progress lines. */
  quiet?: boolean;
  /** Refuse at once (instead of waiting) when another run holds the work dir. */
  noWait?: boolean;
  /**
   * Plan over every video of the manifest, not only the encoded ones: a video that failed a step
   * is packed as a sample with zero frames (`.npy` shape (0, dim)), so the plan is a function of
   * the selected input rows alone, never of which videos failed (docs/cluster.md). Default false:
   * failed videos are left out.
   */
  planFromInputs?: boolean;
  /**
   * Write only this worker's shards (`index % count == index`), planning from inputs; leave
   * other files in the shards folder alone, and `splits.csv`/`manifest.json` to merge.
   */
  worker?: WorkerId;
  /** Where the shards go (default `<work>/shards`); a worker writes into the shared output dir. */
  shardsDir?: string;
  /** The card's license, source datasets and citations (absent: what the card said before). */
  cardSource?: CardSource;

  /**
   * Add each video's thumbnail (`sample --thumbnails`) as a `<key>.jpg` member; a video without
   * one has no such member. Default false: the tars are as they were before thumbnails existed.
   */
  thumbnails?: boolean;
}

/** What became of one split. */
export interface SplitShardSummary extends SplitCount {
  /** Videos of the split left out because an earlier step failed for them. */
  failed: number;
  /** Videos of the split left out because they are not encoded yet. */
  notEncoded: number;
  /** Failed videos packed as samples with zero frames (present only when planning from inputs). */
  empty?: number;
}

/** What a shard run did. */
export interface ShardSummary {
  /** The shards folder. */
  shardsDir: string;
  /** The seed used. */
  seed: number;
  /** Samples per shard. */
  perShard: number;
  /** Per split: samples and tars planned, videos left out. */
  splits: Record<Split, SplitShardSummary>;
  /** Shard files written in this run. */
  written: string[];
  /** Shard files kept from an earlier run. */
  kept: string[];
  /** Shard files of an earlier plan that were removed. */
  removed: string[];
  /** Stale temp files removed. */
  staleTemps: number;
  /** Shards that could not be written, with why. */
  failures: { id: string; error: string }[];
}

/** What one sample is made of. */
interface SampleInput {
  /** The video's id. */
  videoId: string;
  /** Its YouTube id (the `.json`'s `videoID`). */
  youtubeId: string;
  /** Segment start in seconds. */
  timeStart: number;
  /** Segment end in seconds. */
  timeEnd: number;
  /** Its label, null when it has none. */
  label: string | null;
  /** The embeddings file. */
  embPath: string;
  /** SHA-256 of the embeddings file when recorded; checked while packing. */
  embSha256: string | null;
  /** The `.npy` member itself, for a sample with no embeddings file (a failed video, 0 frames). */
  npy?: Uint8Array;
  /** The video's thumbnail JPEG, packed as `<key>.jpg` (only when shard is asked for them). */
  thumbnail?: string | null;
}

const encoder = new TextEncoder();

function sixDigits(t: number): string {
  return String(Math.max(0, Math.trunc(t))).padStart(6, "0");
}

/**
 * The `.json` member of a sample: `{"videoID","start_time","end_time"}`, compact, in that order.
 * @param input the sample's video
 * @returns the member's bytes
 */
function sampleJson(input: SampleInput): Uint8Array {
  return encoder.encode(JSON.stringify({
    videoID: input.youtubeId,
    start_time: sixDigits(input.timeStart),
    end_time: sixDigits(input.timeEnd),
  }));
}

function inputKey(i: SampleInput): string {
  return [
    i.label ?? "\u0000",
    i.youtubeId,
    i.timeStart,
    i.timeEnd,
    i.npy ? `0 frames ${i.npy.length}` : i.embSha256 ?? basename(i.embPath),
    // only with a thumbnail: every other sample's key, and so its shard's plan hash, is as before
    ...(i.thumbnail ? [`jpg ${basename(i.thumbnail)}`] : []),
  ]
    .join("\t");
}

async function readEmbedding(key: string, input: SampleInput): Promise<Uint8Array> {
  if (input.npy) return input.npy;
  // the caller names the shard; this names the sample and its video
  const where = `${key} (video ${input.videoId})`;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(input.embPath);
  } catch (e) {
    throw new FormatError(`${where}: cannot read ${input.embPath}: ${(e as Error).message}`);
  }
  try {
    const h = readNpyHeader(bytes);
    if (h.dtype === "<u1" || h.shape.length !== 2) {
      throw new FormatError(`want a float (n, dim) array, got ${h.dtype} (${h.shape})`);
    }
  } catch (e) {
    throw new FormatError(`${where}: ${input.embPath}: ${(e as Error).message}`);
  }
  if (input.embSha256) {
    const sha = createHash("sha256").update(bytes).digest("hex");
    if (sha !== input.embSha256) {
      throw new FormatError(
        `${where}: ${input.embPath} changed since it was encoded (sha256 ${sha}, manifest ${input.embSha256})`,
      );
    }
  }
  return bytes;
}

async function readThumbnail(key: string, input: SampleInput): Promise<Uint8Array> {
  try {
    return await Deno.readFile(input.thumbnail!);
  } catch (e) {
    throw new FormatError(
      `${key} (video ${input.videoId}): cannot read its thumbnail ${input.thumbnail}: ` +
        `${(e as Error).message}; leave out --thumbnails, or put the file back`,
    );
  }
}

// embedding files read ahead of the writer, to overlap reads with hashing and writing
const READ_AHEAD = 16;

/**
 * Writes one planned shard into a folder (temp name, fsync, rename).
 * @param shard the planned shard
 * @param inputOf each sample's video
 * @param dir the shards folder
 * @param onSample called after each sample with its byte count
 * @returns the written shard's size and sha256
 */
async function writePlannedShard(
  shard: PlannedShard,
  inputOf: (videoId: string) => SampleInput,
  dir: string,
  onSample?: (bytes: number) => void,
): Promise<WrittenShard> {
  const samples = shard.samples;
  const writer = await ShardWriter.create(join(dir, shard.file));
  try {
    const pending: Promise<Uint8Array>[] = [];
    const start = (i: number) => {
      const s = samples[i];
      const p = readEmbedding(s.key, inputOf(s.videoId));
      p.catch(() => {}); // awaited in order below; avoid an unhandled rejection meanwhile
      pending.push(p);
    };
    for (let i = 0; i < Math.min(READ_AHEAD, samples.length); i++) start(i);
    for (let i = 0; i < samples.length; i++) {
      const npy = await pending[i];
      delete pending[i];
      if (i + READ_AHEAD < samples.length) start(i + READ_AHEAD);
      const s = samples[i];
      const input = inputOf(s.videoId);
      const members: SampleMember[] = [
        ...(input.thumbnail ? [{ ext: "jpg", data: await readThumbnail(s.key, input) }] : []),
        { ext: "json", data: sampleJson(input) },
        { ext: "npy", data: npy },
        { ext: "txt", data: encoder.encode(input.label ?? "") },
      ];
      await writer.addSample(s.key, members);
      onSample?.(npy.length);
    }
    return await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

function toInput(v: VideoStepRow, embDir: string, root: string): SampleInput {
  const path = v.path
    ? (isAbsolute(v.path) ? v.path : join(root, v.path))
    : join(embDir, `${v.id}.npy`);
  return {
    videoId: v.id,
    youtubeId: v.youtubeId,
    timeStart: v.timeStart,
    timeEnd: v.timeEnd,
    label: v.label,
    embPath: path,
    embSha256: v.sha256,
  };
}

/**
 * The `.npy` member of a failed video's sample: shape (0, dim) in the run's dtype, as the
 * published set stores videos with no frames.
 * @param config the run config (`embed_dim`, `dtype`; 512 and float16 when not recorded)
 * @returns the member's bytes
 */
function emptyEmbedding(config: RunConfig): Uint8Array {
  const dim = settingOrDefault(config, "embedDim");
  return settingOrDefault(config, "dtype") === "float32"
    ? writeNpy({ dtype: "<f4", shape: [0, dim], data: new Float32Array(0) })
    : writeNpy({ dtype: "<f2", shape: [0, dim], data: new Uint16Array(0) });
}

async function removeWorkerTemps(dir: string, worker: WorkerId): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && isWorkerShardTemp(e.name, worker)) {
      await Deno.remove(join(dir, e.name)).catch(() => {});
      n++;
    }
  }
  return n;
}

/**
 * Packs a work dir's encoded videos into WebDataset shards.
 * @param opts work dir, seed, shard size
 * @returns what was planned, written, kept and left out
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { makeSyntheticWorkDir } from "../../fixtures/synthetic_work_dir.ts";
 * import { shard } from "./shard.ts";
 * const dir = await Deno.makeTempDir();
 * // a work dir whose videos are encoded already (random embeddings)
 * const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "work"), counts: { train: 6, val: 3 } });
 * const summary = await shard({ work: layout.root, seed: 0, perShard: 4, quiet: true });
 * deepStrictEqual(summary.written.length, 3); // train: 4 + 2, val: 3
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function shard(opts: ShardOptions): Promise<ShardSummary> {
  const seed = opts.seed ?? RUN_SETTINGS.shardSeed.default;
  const perShard = opts.perShard ?? DEFAULT_PER_SHARD;
  const worker = opts.worker ?? null;
  const fromInputs = opts.planFromInputs === true || worker !== null;
  const ctx = await openStep(opts.work, { wait: !opts.noWait, removeTemps: false });
  try {
    const { layout, manifest: m } = ctx;
    const shardsDir = opts.shardsDir ? resolve(opts.shardsDir) : layout.shards;
    await Deno.mkdir(shardsDir, { recursive: true });
    // workers share the shards folder: each removes only its own leftover temp files
    const staleTemps = worker
      ? await removeWorkerTemps(shardsDir, worker)
      : await removeStaleTemps(shardsDir);
    // a worker plans over its inputs, encoded or not: there is no order to check
    if (!fromInputs) requireEarlierSteps(m, "shard");
    const thumbnails = opts.thumbnails === true;
    recordSettings(
      m,
      {
        shardSeed: seed,
        perShard,
        ...(worker ? workerSettings(worker) : fromInputs ? { shardPlan: "inputs" } : {}),
        // recorded once asked for: a configuration that never had thumbnails keeps its hash
        ...(thumbnails || readSetting(m.config(), "shardThumbnails") !== undefined
          ? { shardThumbnails: thumbnails }
          : {}),
      },
      layout.root,
      ["shardThumbnails"],
    );
    return await shardLocked(m, layout.root, layout.emb, shardsDir, {
      seed,
      perShard,
      thumbnails,
      quiet: opts.quiet ?? false,
      staleTemps,
      fromInputs,
      worker,
      cardSource: opts.cardSource,
    });
  } finally {
    ctx.close();
  }
}

interface ShardRunOptions {
  seed: number;
  perShard: number;
  thumbnails: boolean;
  quiet: boolean;
  staleTemps: number;
  fromInputs: boolean;
  worker: WorkerId | null;
  cardSource?: CardSource;
}

/** What the shard loop carries from shard to shard. */
interface PackState {
  splits: Record<Split, SplitShardSummary>;
  existing: Map<number, ShardRow>;
  written: string[];
  kept: string[];
  failures: { id: string; error: string }[];
  finalRows: ShardRow[];
}

async function shardLocked(
  m: Manifest,
  root: string,
  embDir: string,
  shardsDir: string,
  o: ShardRunOptions,
): Promise<ShardSummary> {
  const { plan, splits } = planWorkDir(m, o);
  const worker = o.worker;
  const mine = worker
    ? plan.shards.filter((s) => s.index % worker.count === worker.index)
    : plan.shards;
  for (const s of mine) {
    splits[s.split].samples += s.size;
    splits[s.split].tars++;
  }

  // rows and files of an earlier, larger or different plan go first
  const existing = new Map<number, ShardRow>();
  for (const r of m.shards.all()) {
    if (plan.shards[r.index]?.file === r.file) existing.set(r.index, r);
  }
  if (existing.size !== m.shards.all().length) m.shards.replace([...existing.values()]);
  // other workers' files are none of a worker's business: merge tidies the shared folder
  const removed = worker
    ? []
    : await removeUnplannedShards(shardsDir, new Set(plan.shards.map((s) => s.file)));

  const state: PackState = { splits, existing, written: [], kept: [], failures: [], finalRows: [] };
  const emptyNpy = o.fromInputs ? emptyEmbedding(m.config()) : null;
  const total = mine.reduce((a, s) => a + s.size, 0);
  const progress = new Progress("shard", total, { extraUnit: "MB", quiet: o.quiet || total === 0 });
  const memo = shardMemo(m, o);
  const unchanged = memo !== null && m.shards.runNote("shard") === memo;
  // forgotten until this run is complete: a run stopped half-way leaves rows to check in full
  m.shards.setRunNote("shard", null);
  for (const s of mine) {
    await packShard(
      m,
      s,
      { root, embDir, shardsDir, emptyNpy, unchanged, thumbnails: o.thumbnails },
      state,
      progress,
    );
  }
  if (total > 0) progress.finish();
  // rows of shards that failed this time describe files that are gone
  if (state.finalRows.length !== m.shards.all().length) m.shards.replace(state.finalRows);
  if (memo !== null && state.failures.length === 0) m.shards.setRunNote("shard", shardMemo(m, o));

  // a worker's shards are one part of the set: merge writes the set's splits.csv and manifest.json
  if (!worker) {
    await writeSetFiles(shardsDir, plan, {
      ...m.export(),
      plan: { seed: o.seed, perShard: o.perShard, splits },
    }, o.cardSource);
  }
  return {
    shardsDir,
    seed: o.seed,
    perShard: o.perShard,
    splits,
    written: state.written,
    kept: state.kept,
    removed,
    staleTemps: o.staleTemps,
    failures: state.failures,
  };
}

/**
 * The plan over the work dir's videos: the encoded ones, or every one when planning from inputs.
 * The manifest numbers them (`Manifest#shards.rankIds`); the plan keeps a permutation, and each shard's ids and
 * rows are read when its turn comes.
 */
function planWorkDir(
  m: Manifest,
  o: ShardRunOptions,
): { plan: ShardPlan; splits: Record<Split, SplitShardSummary> } {
  const left = o.fromInputs ? null : m.steps.notDone("encode");
  const splits = Object.fromEntries(
    SPLITS.map((s) => [
      s,
      {
        samples: 0,
        tars: 0,
        failed: left?.[s].failed ?? 0,
        notEncoded: left?.[s].pending ?? 0,
        ...(o.fromInputs ? { empty: 0 } : {}),
      },
    ]),
  ) as Record<Split, SplitShardSummary>;
  const ids = m.shards.rankIds(o.fromInputs ? undefined : "encode");
  return { plan: planRanked(ids, { seed: o.seed, perShard: o.perShard }), splits };
}

/**
 * What a complete shard run saw: the manifest's change counter and the plan's settings. A run
 * that sees the same knows that no video or step record changed since, so each shard's recorded
 * plan hash still holds and only its file needs checking, not its samples' records (which a
 * no-op rerun at 645k videos would otherwise read one shard at a time). Null when planning from
 * inputs (workers, `--plan-from-inputs`): the per-split counts of empty samples come from those
 * records.
 */
function shardMemo(m: Manifest, o: ShardRunOptions): string | null {
  if (o.fromInputs) return null;
  return JSON.stringify({
    changes: m.changes(),
    seed: o.seed,
    perShard: o.perShard,
    ...(o.thumbnails ? { thumbnails: true } : {}),
  });
}

/**
 * Is the shard's file the one its row records, written for this shard of the plan?
 * @param hash the plan hash it must have been written for; absent: the recorded one is trusted
 */
async function matchesRecord(
  s: PlannedShard,
  row: ShardRow | undefined,
  path: string,
  hash?: string,
): Promise<boolean> {
  return row !== undefined && (hash === undefined ? !!row.planHash : row.planHash === hash) &&
    row.split === s.split && row.samples === s.size &&
    (await fileSize(path)) === row.bytes && (await sha256File(path)) === row.sha256;
}

/** Writes one planned shard, keeps it when the file on disk is already right, or says why not. */
async function packShard(
  m: Manifest,
  s: PlannedShard,
  where: {
    root: string;
    embDir: string;
    shardsDir: string;
    emptyNpy: Uint8Array | null;
    /** Nothing changed since the last complete run (see `shardMemo`). */
    unchanged: boolean;
    /** Pack each video's thumbnail as `<key>.jpg`. */
    thumbnails: boolean;
  },
  st: PackState,
  progress: Progress,
): Promise<void> {
  const path = join(where.shardsDir, s.file);
  const recorded = st.existing.get(s.index);
  if (where.unchanged && await matchesRecord(s, recorded, path)) {
    st.kept.push(s.file);
    st.finalRows.push(recorded!);
    progress.tick(s.size, 0);
    return;
  }
  const inputs = new Map<string, SampleInput>();
  const waiting: string[] = [];
  const ids = s.videoIds;
  for (const v of m.steps.videoSteps("encode", ids)) {
    if (v.state === "done") inputs.set(v.id, toInput(v, where.embDir, where.root));
    else if (where.emptyNpy === null) continue;
    else if (v.anyFailed) {
      inputs.set(v.id, {
        ...toInput(v, where.embDir, where.root),
        embSha256: null,
        npy: where.emptyNpy,
      });
      st.splits[v.split].empty = (st.splits[v.split].empty ?? 0) + 1;
    } else {
      waiting.push(v.id);
      st.splits[v.split].notEncoded++;
    }
  }
  if (waiting.length > 0) {
    // not writable yet; a file from before the videos went back to pending is no longer right
    st.existing.delete(s.index);
    await Deno.remove(path).catch(() => {});
    st.failures.push({
      id: s.file,
      error: `${waiting.length} of its videos are not processed yet (${waiting[0]}` +
        `${waiting.length > 1 ? ", ..." : ""}): run sample and encode first`,
    });
    progress.tick(s.size, 0);
    return;
  }
  if (where.thumbnails) {
    for (const [id, input] of inputs) input.thumbnail = m.videos.thumbnail(id);
  }
  const inputOf = (id: string) => inputs.get(id)!;
  const hash = planHash(s, (id) => inputKey(inputOf(id)), ids);
  if (await matchesRecord(s, recorded, path, hash)) {
    st.kept.push(s.file);
    st.finalRows.push(recorded!);
    progress.tick(s.size, 0);
    return;
  }
  try {
    const written = await writePlannedShard(
      s,
      inputOf,
      where.shardsDir,
      (b) => progress.tick(1, b / 1e6),
    );
    const done: ShardRow = {
      index: s.index,
      split: s.split,
      file: s.file,
      samples: written.samples,
      bytes: written.bytes,
      sha256: written.sha256,
      planHash: hash,
    };
    m.shards.put(done);
    st.finalRows.push(done);
    st.written.push(s.file);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const kept = `the ${st.written.length + st.kept.length} shards before it are kept`;
    // the temp file is gone (the writer aborted); every later shard would fail the same way
    if (isDiskFull(e)) throw new DiskFullError(path, deviceOf(where.shardsDir), kept);
    if (code === "EROFS" || code === "EIO") {
      throw Object.assign(
        new Error(
          `${s.file}: ${(e as Error).message} writing it in ${where.shardsDir}; ${kept}: ` +
            "free space and run again",
        ),
        { code },
      );
    }
    if (!(e instanceof FormatError || e instanceof Deno.errors.NotFound)) throw e;
    // an older file under this name no longer matches the plan: leave no misleading shard
    await Deno.remove(path).catch(() => {});
    st.failures.push({ id: s.file, error: (e as Error).message });
  }
}
