/**
 * What the evaluations read from a directory of WebDataset shards: the split of each tar (from
 * `splits.csv` beside them), each sample's centre frame `emb[floor(n/2)]` as float32 (the linear
 * probe's feature, not normalised), or each video's frames in batches (zero-shot).
 * @module
 */
import { join } from "node:path";
import { ConfigError, FormatError, type Split } from "../core/mod.ts";
import {
  embeddingsToFloat32,
  parseSplitsCsv,
  ShardReader,
  type ShardSample,
} from "../shard/mod.ts";

/** The tars of each split of a shard directory, in `splits.csv` order. */
export type ShardSplits = Partial<Record<Split, string[]>>;

/**
 * Reads `splits.csv` in a shard directory and resolves its tars.
 * @param shardsDir the directory holding `ds_*.tar` and `splits.csv`
 * @returns tar paths per split
 * @throws {ConfigError} when `splits.csv` or a tar it names is missing
 */
export async function readShardSplits(shardsDir: string): Promise<ShardSplits> {
  const csv = join(shardsDir, "splits.csv");
  let text: string;
  try {
    text = await Deno.readTextFile(csv);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(
        `${csv} not found: eval needs the split of each shard (tar_file,split)`,
      );
    }
    throw e;
  }
  const out: ShardSplits = {};
  for (const row of parseSplitsCsv(text, csv)) {
    const path = join(shardsDir, row.tarFile);
    try {
      await Deno.stat(path);
    } catch {
      throw new ConfigError(`${csv} names ${row.tarFile}, which is not in ${shardsDir}`);
    }
    (out[row.split] ??= []).push(path);
  }
  return out;
}

/** The frames of one sample as float32. */
export interface EvalVideo {
  /** The sample's key. */
  key: string;
  /** Its label. */
  label: string;
  /** The shard it came from. */
  shard: string;
  /** `[frames, dim]` row-major. */
  frames: Float32Array;
  /** Number of frames (0 for an empty video). */
  count: number;
}

function framesOf(
  s: ShardSample,
  dim: number | undefined,
): { frames: Float32Array; count: number; dim: number } {
  const shape = s.embeddings.shape;
  if (shape.length !== 2) {
    throw new FormatError(`${s.shard} ${s.key}: .npy has shape (${shape}), expected (frames, dim)`);
  }
  const [count, d] = shape;
  if (dim !== undefined && count > 0 && d !== dim) {
    throw new FormatError(`${s.shard} ${s.key}: embeddings are ${d} wide, earlier samples ${dim}`);
  }
  return { frames: embeddingsToFloat32(s.embeddings), count, dim: count > 0 ? d : dim ?? d };
}

/** The centre frames of a split: the linear probe's features. */
export interface CentreFrames {
  /** Keys of the samples with frames, in reading order. */
  keys: string[];
  /** Their labels. */
  labels: string[];
  /** `[keys.length, dim]` float32, the raw centre frame of each. */
  features: Float32Array;
  /** Embedding width (0 when no sample had frames). */
  dim: number;
  /** Keys of the samples without frames (skipped). */
  skipped: string[];
}

/**
 * Reads the centre frame `emb[floor(n/2)]` of every sample of some shards.
 * @param tars the shard files
 * @returns features, keys, labels, and the samples skipped for having no frames
 * @throws {FormatError} naming the shard and key of a sample that does not decode
 */
export async function readCentreFrames(tars: readonly string[]): Promise<CentreFrames> {
  const keys: string[] = [];
  const labels: string[] = [];
  const skipped: string[] = [];
  let dim: number | undefined;
  let features = new Float32Array(0);
  for await (const s of new ShardReader([...tars])) {
    const f = framesOf(s, dim);
    if (f.count === 0) {
      skipped.push(s.key);
      continue;
    }
    dim = f.dim;
    const n = keys.length;
    if ((n + 1) * dim > features.length) {
      const grown = new Float32Array(Math.max(1024, 2 * (n + 1)) * dim);
      grown.set(features);
      features = grown;
    }
    const centre = Math.floor(f.count / 2);
    features.set(f.frames.subarray(centre * dim, (centre + 1) * dim), n * dim);
    keys.push(s.key);
    labels.push(s.label);
  }
  return {
    keys,
    labels,
    features: features.slice(0, keys.length * (dim ?? 0)),
    dim: dim ?? 0,
    skipped,
  };
}

/**
 * Yields the videos of some shards in batches of at most `maxFrames` frames (a longer video comes
 * alone) and at most `maxVideos` videos.
 * @param tars the shard files
 * @param opts batch limits (default 4096 frames, 1024 videos)
 * @returns an async iterator of batches
 * @throws {FormatError} naming the shard and key of a sample that does not decode
 */
export async function* readVideoBatches(
  tars: readonly string[],
  opts: { maxFrames?: number; maxVideos?: number } = {},
): AsyncGenerator<EvalVideo[]> {
  const maxFrames = opts.maxFrames ?? 4096;
  const maxVideos = opts.maxVideos ?? 1024;
  let batch: EvalVideo[] = [];
  let frames = 0;
  let dim: number | undefined;
  for await (const s of new ShardReader([...tars])) {
    const f = framesOf(s, dim);
    if (f.count > 0) dim = f.dim;
    if (batch.length > 0 && (frames + f.count > maxFrames || batch.length >= maxVideos)) {
      yield batch;
      batch = [];
      frames = 0;
    }
    batch.push({ key: s.key, label: s.label, shard: s.shard, frames: f.frames, count: f.count });
    frames += f.count;
  }
  if (batch.length > 0) yield batch;
}
