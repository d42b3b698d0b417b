/**
 * Exact text-to-video search over a shard set: the queries go through a CLIP text encoder once,
 * then the shards stream tar by tar and each video's pooled embedding is scored against every
 * query (cosine), keeping only a running top-k per query, never the embeddings.
 * @module
 */
import { join } from "node:path";
import { ConfigError, type Split, SPLITS, UsageError, workDirLayout } from "../core/mod.ts";
import { meanPooledFeature, normalizeRowsInPlace } from "../base/mod.ts";
import { ClipTokenizer, CONTEXT_LENGTH } from "../text/mod.ts";
import { openSession, ortRuntime, type ProviderName } from "../onnx/mod.ts";
import { resolveModel } from "../model/mod.ts";
import {
  decodeSample,
  embeddingsToFloat32,
  readRawSamples,
  readShardSplits,
} from "../webdataset/mod.ts";
import { tokenizeQueries } from "./query_text.ts";
import { TopKHeap } from "./top_k_heap.ts";

/** How a video's frames become the one embedding a query is scored against. */
export type SearchPooling = "mean" | "centre";

/** The poolings `search --pool` takes. */
export const SEARCH_POOLINGS: readonly SearchPooling[] = ["mean", "centre"];

/** Options of {@linkcode search}. */
export interface SearchOptions {
  /** A work dir: shards from `<work>/shards`, thumbnails from `<work>/thumbs`. */
  work?: string;
  /** A directory of shards with its `splits.csv` (instead of `work`). */
  shards?: string;
  /** The queries, each its own result table. */
  queries: readonly string[];
  /** The CLIP text encoder: an `.onnx`, a checkpoint or a hub repo id. */
  textModel?: string;
  /** Hits per query (default 10). */
  k?: number;
  /** Only this split's shards (default every shard `splits.csv` lists). */
  split?: string;
  /** `mean` (default: L2-normalised mean of L2-normalised frames) or `centre` (centre frame). */
  pool?: string;
  /** Execution providers for the text encoder, tried in order. */
  providers?: readonly ProviderName[];
  /** Progress lines and warnings (default stderr). */
  log?: (line: string) => void;
}

/** One video found for a query. */
export interface SearchHit {
  /** 1 for the best. */
  rank: number;
  /** Cosine similarity of the query and the video's pooled embedding. */
  score: number;
  /** The sample's WebDataset key. */
  key: string;
  /** The `.json`'s `videoID`. */
  videoID: string;
  /** The label. */
  label: string;
  /** Segment start in seconds. */
  start: number;
  /** Segment end in seconds. */
  end: number;
  /** The split of its shard. */
  split: Split;
  /** Its shard file. */
  shard: string;
  /** The source segment on YouTube, when the id is a YouTube id. */
  url: string | null;
  /** A JPEG of the video (`<key>.jpg` in the shard, or the work dir's `thumbs/<id>.jpg`). */
  thumbnail: Uint8Array | null;
}

/** One query's hits. */
export interface QueryHits {
  /** The query as given. */
  query: string;
  /** Best first. */
  hits: SearchHit[];
}

/** What {@linkcode search} found. */
export interface SearchResult {
  /** One entry per query, in order. */
  results: QueryHits[];
  /** The shard directory searched. */
  shardsDir: string;
  /** The split searched, or null for all. */
  split: Split | null;
  /** The pooling. */
  pool: SearchPooling;
  /** Hits asked for per query. */
  k: number;
  /** Tars read. */
  tars: number;
  /** Videos scored. */
  videos: number;
  /** Videos without frames (not scored). */
  empty: number;
  /** Embedding width. */
  dim: number;
}

/** A YouTube id: 11 characters of `[A-Za-z0-9_-]`. */
const YOUTUBE_ID = /^[A-Za-z0-9_-]{11}$/;

/**
 * The link to a video's source segment, when its id is a YouTube id (or a Kinetics id
 * `<youtube id>_<start 6 digits>_<end 6 digits>`).
 * @param videoID the sample's `videoID`
 * @param start segment start in seconds
 * @returns `https://www.youtube.com/watch?v=<id>&t=<start>s`, or null
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { sourceSegmentUrl } from "./search.ts";
 * strictEqual(sourceSegmentUrl("---QUuC4vJs_000084_000094", 84), "https://www.youtube.com/watch?v=---QUuC4vJs&t=84s");
 * ```
 */
export function sourceSegmentUrl(videoID: string, start: number): string | null {
  const kinetics = /^(.{11})_\d{6}_\d{6}$/.exec(videoID);
  const id = kinetics ? kinetics[1] : videoID;
  if (!YOUTUBE_ID.test(id)) return null;
  return `https://www.youtube.com/watch?v=${id}&t=${Math.max(0, Math.trunc(start))}s`;
}

/**
 * L2-normalises the rows of a matrix in place (a zero row stays zero).
 * @param x `[rows, dim]` row-major
 * @param dim the row width
 */
export function normalizeRows(x: Float32Array, dim: number): void {
  normalizeRowsInPlace(x, x.length / dim, dim);
}

/**
 * A video's search embedding: the mean-pooled clip, or its centre frame `emb[floor(n/2)]`
 * L2-normalised.
 * @param frames `[count, dim]` row-major
 * @param count frames (at least one)
 * @param dim width
 * @param pool the pooling
 * @returns a unit `[dim]` vector
 */
export function pooledVideo(
  frames: Float32Array,
  count: number,
  dim: number,
  pool: SearchPooling,
): Float32Array {
  if (pool === "mean") return meanPooledFeature(frames, count, dim);
  const c = Math.floor(count / 2);
  const v = frames.slice(c * dim, (c + 1) * dim);
  normalizeRows(v, dim);
  return v;
}

/**
 * Encodes queries with a CLIP text model, in one run, and L2-normalises them.
 * @param textModel the encoder `.onnx` path (input `input_ids` int64 `[N,77]`, output
 *   `text_embeds` float32 `[N,D]`)
 * @param queries the queries
 * @param opts providers, and who hears warnings (a query cut to 77 tokens)
 * @returns `[queries.length, dim]` unit rows
 * @throws {ConfigError} when the model has other inputs or outputs
 */
export async function encodeQueries(
  textModel: string,
  queries: readonly string[],
  opts: { providers?: readonly ProviderName[]; warn: (line: string) => void },
): Promise<{ embeddings: Float32Array; dim: number }> {
  const ids = tokenizeQueries(await ClipTokenizer.load(), queries, opts.warn);
  const { session } = await openSession(textModel, { providers: opts.providers });
  try {
    if (!session.inputNames.includes("input_ids") || !session.outputNames.includes("text_embeds")) {
      throw new ConfigError(
        `${textModel}: expected input input_ids int64 [N,${CONTEXT_LENGTH}] and output ` +
          `text_embeds float32 [N,D] (a CLIP text encoder); it has inputs ` +
          `${session.inputNames.join(", ")} and outputs ${session.outputNames.join(", ")}`,
      );
    }
    const input = new (ortRuntime().Tensor)("int64", ids, [queries.length, CONTEXT_LENGTH]);
    const y = (await session.run({ input_ids: input })).text_embeds;
    if (y.type !== "float32" || y.dims.length !== 2 || y.dims[0] !== queries.length) {
      throw new ConfigError(
        `${textModel}: text_embeds came out ${y.type} [${y.dims}], expected float32 [${queries.length},D]`,
      );
    }
    const dim = Number(y.dims[1]);
    const embeddings = Float32Array.from(y.data as Float32Array);
    normalizeRows(embeddings, dim);
    return { embeddings, dim };
  } finally {
    await session.release();
  }
}

/** A kept candidate before its rank, link and thumbnail: a hit's fields and the shard's JPEG. */
type Candidate = Omit<SearchHit, "rank" | "score" | "url" | "thumbnail"> & {
  jpg: Uint8Array | null;
};

/**
 * Scores unit video embeddings against unit query embeddings into per-query running top-ks.
 * The bench drives it with a plain matrix; {@linkcode search} with the shards.
 */
export class QueryScorer<T> {
  /** One top-k per query. */
  readonly tops: TopKHeap<T>[];
  #scores: Float64Array;

  /**
   * A scorer with an empty top-k per query.
   * @param queries `[Q, dim]` unit rows
   * @param dim the width
   * @param k hits kept per query
   */
  constructor(readonly queries: Float32Array, readonly dim: number, k: number) {
    const q = queries.length / dim;
    this.tops = Array.from({ length: q }, () => new TopKHeap<T>(k));
    this.#scores = new Float64Array(q);
  }

  /**
   * Scores one video (a `dim`-wide row at `offset` of `v`) against every query.
   * @param v the data holding the row
   * @param offset where the row starts
   * @param item the video, or a function building it (called only when some query keeps it)
   */
  add(v: Float32Array, offset: number, item: T | (() => T)): void {
    const { dim, queries } = this;
    const s = this.#scores;
    let wanted = false;
    let q = 0;
    // four queries per pass over the video: each value of it is read once for four products
    for (; q + 4 <= s.length; q += 4) {
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      const b0 = q * dim, b1 = b0 + dim, b2 = b1 + dim, b3 = b2 + dim;
      for (let j = 0; j < dim; j++) {
        const x = v[offset + j];
        d0 += queries[b0 + j] * x;
        d1 += queries[b1 + j] * x;
        d2 += queries[b2 + j] * x;
        d3 += queries[b3 + j] * x;
      }
      s[q] = d0, s[q + 1] = d1, s[q + 2] = d2, s[q + 3] = d3;
    }
    for (; q < s.length; q++) {
      let dot = 0;
      const b = q * dim;
      for (let j = 0; j < dim; j++) dot += queries[b + j] * v[offset + j];
      s[q] = dot;
    }
    for (q = 0; q < s.length; q++) if (this.tops[q].admits(s[q])) wanted = true;
    if (!wanted) return;
    let made: T | undefined;
    const build = () => made ??= typeof item === "function" ? (item as () => T)() : item;
    for (let q = 0; q < s.length; q++) this.tops[q].offer(s[q], build);
  }
}

function checkSearchOptions(
  opts: SearchOptions,
): { k: number; pool: SearchPooling; split: Split | null; shardsDir: string } {
  if (opts.work !== undefined && opts.shards !== undefined) {
    throw new UsageError("give one of --work DIR or --shards DIR, not both");
  }
  if (opts.queries.length === 0) {
    throw new UsageError('no query: give one ("a person playing a guitar") or --queries FILE');
  }
  if (!opts.textModel) {
    throw new UsageError(
      "search needs --text-model NAME (a CLIP text encoder: .onnx, checkpoint or hub repo id)",
    );
  }
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new UsageError(`--k must be at least 1, got ${k}`);
  const pool = (opts.pool ?? "mean") as SearchPooling;
  if (!SEARCH_POOLINGS.includes(pool)) {
    throw new UsageError(`--pool must be mean or centre, got ${JSON.stringify(opts.pool)}`);
  }
  if (opts.split !== undefined && !(SPLITS as readonly string[]).includes(opts.split)) {
    throw new UsageError(`--split must be train, val or test, got ${JSON.stringify(opts.split)}`);
  }
  const shardsDir = opts.shards ?? workDirLayout(opts.work ?? "work").shards;
  return { k, pool, split: (opts.split as Split | undefined) ?? null, shardsDir };
}

function segmentTime(v: unknown): number {
  const n = typeof v === "number" ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Finds the k videos closest to each query, exactly (every video scored).
 * @param opts the shards, queries, text model, k, split and pooling
 * @returns each query's hits, best first, and what was read
 * @throws {UsageError} for contradictory or malformed options (before any work)
 * @throws {ConfigError} when the shards, their `splits.csv`, the split or the model are missing
 *   or do not fit together
 * @example
 * ```ts ignore
 * const { results } = await search({ work: "work", queries: ["a person playing a guitar"], textModel: "text.onnx" });
 * ```
 */
export async function search(opts: SearchOptions): Promise<SearchResult> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const { k, pool, split, shardsDir } = checkSearchOptions(opts);
  const splits = await readShardSplits(shardsDir);
  const tars: { path: string; split: Split }[] = [];
  for (const s of SPLITS) {
    if (split !== null && s !== split) continue;
    for (const path of splits[s] ?? []) tars.push({ path, split: s });
  }
  if (tars.length === 0) {
    throw new ConfigError(
      split === null
        ? `${join(shardsDir, "splits.csv")} lists no shards`
        : `${join(shardsDir, "splits.csv")} lists no ${split} shards (it has ${
          Object.keys(splits).join(", ") || "none"
        })`,
    );
  }
  const model = await resolveModel(opts.textModel!, { tower: "text", log });
  const { embeddings: queries, dim } = await encodeQueries(model.path, opts.queries, {
    providers: opts.providers,
    warn: log,
  });
  const scorer = new QueryScorer<Candidate>(queries, dim, k);
  let videos = 0, empty = 0;
  for (const tar of tars) {
    for await (const raw of readRawSamples(tar.path)) {
      const s = decodeSample(raw);
      const [count, width] = s.embeddings.shape;
      if (s.embeddings.shape.length !== 2 || count === 0) {
        empty++;
        continue;
      }
      if (width !== dim) {
        throw new ConfigError(
          `${tar.path} ${s.key}: embeddings are ${width} wide, the text model's ${dim}; ` +
            "use the text tower of the model that encoded the shards",
        );
      }
      const v = pooledVideo(embeddingsToFloat32(s.embeddings), count, dim, pool);
      videos++;
      scorer.add(v, 0, () => ({
        key: s.key,
        videoID: String(s.meta.videoID ?? ""),
        label: s.label,
        start: segmentTime(s.meta.start_time),
        end: segmentTime(s.meta.end_time),
        split: tar.split,
        shard: tar.path,
        jpg: raw.members.get("jpg") ?? null,
      }));
    }
  }
  const thumbs = opts.work !== undefined ? join(opts.work, "thumbs") : null;
  const results: QueryHits[] = [];
  for (const [i, query] of opts.queries.entries()) {
    const hits: SearchHit[] = [];
    for (const [r, h] of scorer.tops[i].sorted().entries()) {
      const c = h.item;
      hits.push({
        rank: r + 1,
        score: h.score,
        key: c.key,
        videoID: c.videoID,
        label: c.label,
        start: c.start,
        end: c.end,
        split: c.split,
        shard: c.shard,
        url: sourceSegmentUrl(c.videoID, c.start),
        thumbnail: c.jpg ?? await workDirThumbnail(thumbs, c),
      });
    }
    results.push({ query, hits });
  }
  return { results, shardsDir, split, pool, k, tars: tars.length, videos, empty, dim };
}

/** The work dir's `thumbs/<id>.jpg` of a video (id `<videoID>_<start>_<end>`), if there is one. */
async function workDirThumbnail(thumbs: string | null, c: Candidate): Promise<Uint8Array | null> {
  if (thumbs === null || !/^[A-Za-z0-9_-]+$/.test(c.videoID)) return null;
  const six = (t: number) => String(Math.max(0, Math.trunc(t))).padStart(6, "0");
  for (const id of [`${c.videoID}_${six(c.start)}_${six(c.end)}`, c.videoID]) {
    try {
      return await Deno.readFile(join(thumbs, `${id}.jpg`));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return null;
}
