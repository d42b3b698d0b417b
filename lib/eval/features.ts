/**
 * What the evaluations read from WebDataset shards: each sample's centre frame `emb[floor(n/2)]`
 * as float32 (the linear probe's feature, not normalised) or its mean-pooled clip feature, each
 * video's frames in batches (zero-shot), and the frames-per-video census of each split.
 * @module
 */
import { FormatError, meanPooledFeature, readNpyHeader } from "../base/mod.ts";
import {
  embeddingsToFloat32,
  readRawSamples,
  ShardReader,
  type ShardSample,
} from "../webdataset/mod.ts";

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

/** How a clip's frames become one feature. */
export type ClipPooling = "centre" | "mean";

/**
 * Reads the centre frame `emb[floor(n/2)]` of every sample of some shards.
 * @param tars the shard files
 * @returns features, keys, labels, and the samples skipped for having no frames
 * @throws {FormatError} naming the shard and key of a sample that does not decode
 */
export function readCentreFrames(tars: readonly string[]): Promise<CentreFrames> {
  return readClipFeatures(tars, "centre");
}

/**
 * Reads one feature per sample of some shards: the raw centre frame (the card's probe) or the
 * mean-pooled clip ({@linkcode meanPooledFeature}).
 * @param tars the shard files
 * @param pooling `centre` or `mean`
 * @returns features, keys, labels, and the samples skipped for having no frames
 * @throws {FormatError} naming the shard and key of a sample that does not decode
 */
export async function readClipFeatures(
  tars: readonly string[],
  pooling: ClipPooling,
): Promise<CentreFrames> {
  const keys: string[] = [];
  const labels: string[] = [];
  const skipped: string[] = [];
  let dim = 0;
  let features = new Float32Array(0);
  for await (const r of clipFeatureRows(tars, pooling)) {
    if (r.feature === null) {
      skipped.push(r.key);
      continue;
    }
    dim = r.feature.length;
    const n = keys.length;
    if ((n + 1) * dim > features.length) {
      const grown = new Float32Array(Math.max(1024, 2 * (n + 1)) * dim);
      grown.set(features);
      features = grown;
    }
    features.set(r.feature, n * dim);
    keys.push(r.key);
    labels.push(r.label);
  }
  return { keys, labels, features: features.slice(0, keys.length * dim), dim, skipped };
}

/** One sample's feature (null: the sample has no frames). */
interface ClipFeatureRow {
  key: string;
  label: string;
  feature: Float32Array | null;
}

/** The feature of each sample of some shards, one at a time. */
async function* clipFeatureRows(
  tars: readonly string[],
  pooling: ClipPooling,
): AsyncGenerator<ClipFeatureRow> {
  let dim: number | undefined;
  for await (const s of new ShardReader([...tars])) {
    const f = framesOf(s, dim);
    if (f.count === 0) {
      yield { key: s.key, label: s.label, feature: null };
      continue;
    }
    dim = f.dim;
    const feature = pooling === "mean"
      ? meanPooledFeature(f.frames, f.count, dim)
      : f.frames.slice(Math.floor(f.count / 2) * dim, (Math.floor(f.count / 2) + 1) * dim);
    yield { key: s.key, label: s.label, feature };
  }
}

/** Clip features written to a file, and what {@linkcode CentreFrames} holds besides them. */
export interface ClipFeatureFile extends Omit<CentreFrames, "features"> {
  /** The file: `[keys.length, dim]` float32 little-endian, row-major, nothing else. */
  path: string;
}

/**
 * Like {@linkcode readClipFeatures}, with the features written to a file as they are read instead
 * of held: the linear probe's 536k × 512 training matrix is 1.1 GB.
 * @param tars the shard files
 * @param pooling `centre` or `mean`
 * @param path the file to write (replaced)
 * @returns keys, labels, width and skipped samples; the features are in `path`
 * @throws {FormatError} naming the shard and key of a sample that does not decode
 */
export async function writeClipFeatures(
  tars: readonly string[],
  pooling: ClipPooling,
  path: string,
): Promise<ClipFeatureFile> {
  const keys: string[] = [];
  const labels: string[] = [];
  const skipped: string[] = [];
  let dim = 0;
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const buf = new Uint8Array(WRITE_BUFFER);
    let filled = 0;
    const flush = async () => {
      for (let off = 0; off < filled;) off += await file.write(buf.subarray(off, filled));
      filled = 0;
    };
    for await (const r of clipFeatureRows(tars, pooling)) {
      if (r.feature === null) {
        skipped.push(r.key);
        continue;
      }
      dim = r.feature.length;
      const bytes = new Uint8Array(r.feature.buffer, r.feature.byteOffset, r.feature.byteLength);
      if (filled + bytes.length > buf.length) await flush();
      if (bytes.length > buf.length) {
        for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
      } else {
        buf.set(bytes, filled);
        filled += bytes.length;
      }
      keys.push(r.key);
      labels.push(r.label);
    }
    await flush();
  } finally {
    file.close();
  }
  return { path, keys, labels, dim, skipped };
}

/** Bytes gathered before a write. */
const WRITE_BUFFER = 1 << 20;

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

/** How many videos of a split have how many frames. */
export interface FrameCensus {
  /** Samples read. */
  samples: number;
  /** Tars read. */
  tars: number;
  /** Samples with no frames. */
  zeroFrame: number;
  /** Samples with a label (a non-empty `.txt` or `.cap`); an unlabelled split has none. */
  labelled: number;
  /** Frames in all. */
  frames: number;
  /** Frame count → number of videos with it (keys are decimal strings). */
  perVideo: Record<string, number>;
}

/**
 * Counts the frames of every sample of some shards from the `.npy` headers alone (no embedding
 * is decoded), and the samples that have a label.
 * @param tars the shard files
 * @returns samples, tars, zero-frame and labelled samples, frames, and the frames-per-video counts
 * @throws {FormatError} naming the shard and key of a sample whose `.npy` header is unreadable
 */
export async function readFrameCensus(tars: readonly string[]): Promise<FrameCensus> {
  const perVideo = new Map<number, number>();
  let samples = 0, frames = 0, zeroFrame = 0, labelled = 0;
  for (const tar of tars) {
    for await (const raw of readRawSamples(tar)) {
      const npy = raw.members.get("npy");
      if (!npy) throw new FormatError(`${tar} ${raw.key}: sample has no .npy`);
      let n: number;
      try {
        n = readNpyHeader(npy).shape[0] ?? 0;
      } catch (e) {
        throw new FormatError(`${tar} ${raw.key}: .npy: ${(e as Error).message}`);
      }
      samples++;
      if ((raw.members.get("txt") ?? raw.members.get("cap"))?.length) labelled++;
      frames += n;
      if (n === 0) zeroFrame++;
      perVideo.set(n, (perVideo.get(n) ?? 0) + 1);
    }
  }
  const sorted = [...perVideo.entries()].sort((a, b) => a[0] - b[0]);
  return {
    samples,
    tars: tars.length,
    zeroFrame,
    labelled,
    frames,
    perVideo: Object.fromEntries(sorted.map(([k, v]) => [String(k), v])),
  };
}
