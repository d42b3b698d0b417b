/**
 * Text-to-video retrieval over the scored split, with the zero-shot class embeddings as queries:
 * - query k: the zero-shot class weight of class k (the prompt ensemble, as zero-shot builds it);
 * - video embedding: the L2-normalised mean of the L2-normalised frames
 *   ({@linkcode meanPooledFeature}), whatever `--pool` says, since the card's zero-shot method
 *   averages probabilities and has no single video embedding;
 * - score: the cosine similarity of query and video; a video without frames scores -∞ (ranked
 *   last); the ranking orders all videos of the split by score, ties by their order in the split;
 * - a video is relevant to query k when its label is k; classes without a video are left out of
 *   the averages (and counted).
 *
 * Reported, averaged over the classes with videos: mean average precision (AP as scikit-learn's
 * `average_precision_score` computes it: tied scores form one threshold), recall@K (the fraction
 * of the class's videos in the top K) and hit@K (1 when at least one of its videos is in the top
 * K: the MSR-VTT R@K, each class one query).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { RetrievalIndex } from "./retrieval.ts";
 * // two class queries along the axes; three one-frame videos of width 2
 * const index = new RetrievalIndex(2);
 * index.add(Float32Array.of(1, 0), 1, 1);
 * index.add(Float32Array.of(0, 1), 1, 1);
 * index.add(Float32Array.of(1, 0.5), 1, 0);
 * const r = index.score(Float32Array.of(1, 0, 0, 1), ["a", "b"]);
 * // "a" ranks its video second (AP 1/2); "b" ranks its videos first and third (AP (1 + 2/3)/2)
 * strictEqual(r.perClass[0].ap, 0.5);
 * strictEqual(Math.abs(r.mAP - (0.5 + 5 / 6) / 2) < 1e-12, true);
 * strictEqual(r.hitAt1, 0.5);
 * ```
 * @module
 */
import { meanPooledFeature } from "../base/mod.ts";

/** The cut-offs of recall@K and hit@K. */
export const RETRIEVAL_CUTOFFS = [1, 5, 10] as const;

/** How retrieval is scored, in words (written into the reports). */
export const RETRIEVAL_DEFINITION: string =
  "text-to-video retrieval: each class's zero-shot embedding (its prompt ensemble) is a query " +
  "ranking every video of the split by cosine similarity with the video's L2-normalised mean of " +
  "its L2-normalised frames (no frames: ranked last; ties: split order); a video is relevant " +
  "when its label is the class. mAP: mean over classes with videos of average precision " +
  "(scikit-learn's average_precision_score, tied scores one threshold). recall@K: fraction of " +
  "the class's videos in the top K, averaged over classes. hit@K (MSR-VTT R@K): fraction of " +
  "classes with at least one of their videos in the top K. Classes without videos left out.";

/** One class's retrieval numbers. */
export interface ClassRetrieval {
  /** Class name. */
  name: string;
  /** Its videos in the split (relevant items). */
  videos: number;
  /** Average precision of its query. */
  ap: number;
}

/** Retrieval numbers of a split. */
export interface RetrievalScore {
  /** Videos ranked (with and without frames). */
  videos: number;
  /** Classes whose query was scored (at least one video). */
  queries: number;
  /** Classes left out for having no video in the split. */
  classesWithoutVideos: number;
  /** Mean over the queries of average precision. */
  mAP: number;
  /** Mean over the queries of the fraction of their videos in the top 1. */
  recallAt1: number;
  /** The same in the top 5. */
  recallAt5: number;
  /** The same in the top 10. */
  recallAt10: number;
  /** Fraction of the queries with at least one of their videos first. */
  hitAt1: number;
  /** The same in the top 5. */
  hitAt5: number;
  /** The same in the top 10. */
  hitAt10: number;
  /** Per class with videos, in class order. */
  perClass: ClassRetrieval[];
}

/** First index of ascending `sorted` whose value is ≥ `x`. */
function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index of ascending `sorted` whose value is > `x`. */
function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Average precision of one query as scikit-learn computes it: Σ over thresholds of
 * (recall step) × precision, tied scores one threshold.
 * @param sortedAll every video's score, ascending
 * @param sortedRelevant the relevant videos' scores, ascending (at least one)
 * @returns AP in [0, 1]
 */
export function averagePrecision(sortedAll: Float64Array, sortedRelevant: Float64Array): number {
  const n = sortedAll.length, m = sortedRelevant.length;
  let sum = 0;
  // each relevant video adds the precision at its score's threshold
  for (const s of sortedRelevant) {
    sum += (m - lowerBound(sortedRelevant, s)) / (n - lowerBound(sortedAll, s));
  }
  return sum / m;
}

/**
 * How many relevant videos rank in the top `k`, ties broken by split order (lower index first).
 * @param scores every video's score, in split order
 * @param sortedAll the same, ascending
 * @param relevant the relevant videos' indices, ascending
 * @param sortedRelevant their scores, ascending
 * @param k the cut-off
 * @returns the count
 */
function relevantInTop(
  scores: Float64Array,
  sortedAll: Float64Array,
  relevant: Int32Array,
  sortedRelevant: Float64Array,
  k: number,
): number {
  const n = scores.length;
  if (k >= n) return relevant.length;
  const t = sortedAll[n - k]; // the k-th best score
  const slots = k - (n - upperBound(sortedAll, t)); // top-k places left for videos scoring t
  const above = sortedRelevant.length - upperBound(sortedRelevant, t);
  const tiedRelevant = upperBound(sortedRelevant, t) - lowerBound(sortedRelevant, t);
  if (tiedRelevant === 0) return above;
  // the first `slots` videos scoring exactly t, in split order, are in the top k
  let seen = 0, tied = 0, r = 0;
  for (let i = 0; i < n && seen < slots; i++) {
    if (scores[i] !== t) continue;
    seen++;
    while (r < relevant.length && relevant[r] < i) r++;
    if (r < relevant.length && relevant[r] === i) tied++;
  }
  return above + tied;
}

/** Class queries scored together: each video row is read once per block. */
const SCORE_BLOCK = 4;

/**
 * Cosine scores of every video for queries `c0 .. c0+cb-1` (cb ≤ {@linkcode SCORE_BLOCK}) into
 * `out` (`[cb, N]`); a row of NaN (no frames) scores -∞. A missing query of a short last block
 * repeats the first (its scores are not read).
 */
function scoreBlock(
  rows: Float32Array,
  n: number,
  dim: number,
  weights: Float32Array,
  c0: number,
  cb: number,
  out: Float64Array,
): void {
  const w0 = c0 * dim;
  const w1 = (cb > 1 ? c0 + 1 : c0) * dim;
  const w2 = (cb > 2 ? c0 + 2 : c0) * dim;
  const w3 = (cb > 3 ? c0 + 3 : c0) * dim;
  const finite = (x: number) => (Number.isNaN(x) ? -Infinity : x);
  for (let i = 0; i < n; i++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const base = i * dim;
    for (let j = 0; j < dim; j++) {
      const x = rows[base + j];
      s0 += x * weights[w0 + j];
      s1 += x * weights[w1 + j];
      s2 += x * weights[w2 + j];
      s3 += x * weights[w3 + j];
    }
    out[i] = finite(s0);
    if (cb > 1) out[n + i] = finite(s1);
    if (cb > 2) out[2 * n + i] = finite(s2);
    if (cb > 3) out[3 * n + i] = finite(s3);
  }
}

/**
 * The video embeddings of a split, gathered in one pass (one row of width D per video, held once),
 * then ranked for each class query.
 */
export class RetrievalIndex {
  readonly #dim: number;
  #rows: Float32Array;
  #labels: Int32Array;
  #count = 0;

  /**
   * An empty index.
   * @param dim the embedding width D
   * @param capacity videos expected (rows are reserved for them at once; more still fit)
   */
  constructor(dim: number, capacity = 0) {
    this.#dim = dim;
    this.#rows = new Float32Array(dim * capacity);
    this.#labels = new Int32Array(capacity);
  }

  /** Videos added so far. */
  get size(): number {
    return this.#count;
  }

  /**
   * Adds a video: its pooled embedding (or none, when it has no frames) and its class.
   * @param frames `[count, D]` row-major
   * @param count its frames (0: scored -∞, ranked last)
   * @param label its class index
   */
  add(frames: Float32Array, count: number, label: number): void {
    const D = this.#dim;
    if (count > 0 && frames.length !== count * D) {
      throw new RangeError(`retrieval: ${frames.length} values are not ${count} frames of ${D}`);
    }
    if (this.#count * D === this.#rows.length) {
      const grown = new Float32Array(Math.max(D * 64, this.#rows.length * 2));
      grown.set(this.#rows);
      this.#rows = grown;
      const labels = new Int32Array(grown.length / D);
      labels.set(this.#labels);
      this.#labels = labels;
    }
    const row = this.#rows.subarray(this.#count * D, (this.#count + 1) * D);
    if (count > 0) row.set(meanPooledFeature(frames, count, D));
    else row.fill(NaN);
    this.#labels[this.#count++] = label;
  }

  /**
   * Ranks every video for each class query and scores the rankings.
   * @param classWeights `[K, D]` row-major query embeddings (the zero-shot class weights)
   * @param classNames the K class names, in row order
   * @returns mAP, recall@K and hit@K over the classes with videos, and per-class AP
   */
  score(classWeights: Float32Array, classNames: readonly string[]): RetrievalScore {
    const D = this.#dim, N = this.#count, K = classNames.length;
    if (classWeights.length !== K * D) {
      throw new RangeError(`retrieval: ${classWeights.length} query values, expected ${K}×${D}`);
    }
    const rows = this.#rows, labels = this.#labels;
    // each class's videos, in split order
    const perLabel = new Int32Array(K + 1);
    for (let i = 0; i < N; i++) perLabel[labels[i] + 1]++;
    for (let c = 0; c < K; c++) perLabel[c + 1] += perLabel[c];
    const members = new Int32Array(N);
    const fill = perLabel.slice(0, K);
    for (let i = 0; i < N; i++) members[fill[labels[i]]++] = i;

    const blockScores = new Float64Array(SCORE_BLOCK * N);
    const sorted = new Float64Array(N);
    const cut = RETRIEVAL_CUTOFFS;
    const recall = new Float64Array(cut.length), hit = new Float64Array(cut.length);
    const perClass: ClassRetrieval[] = [];
    let apSum = 0;
    for (let c0 = 0; c0 < K; c0 += SCORE_BLOCK) {
      const cb = Math.min(SCORE_BLOCK, K - c0);
      scoreBlock(rows, N, D, classWeights, c0, cb, blockScores);
      for (let b = 0; b < cb; b++) {
        const c = c0 + b;
        const relevant = members.subarray(perLabel[c], perLabel[c + 1]);
        if (relevant.length === 0) continue;
        const scores = blockScores.subarray(b * N, (b + 1) * N);
        sorted.set(scores);
        sorted.sort();
        const sortedRelevant = Float64Array.from(relevant, (i) => scores[i]).sort();
        const ap = averagePrecision(sorted, sortedRelevant);
        apSum += ap;
        perClass.push({ name: classNames[c], videos: relevant.length, ap });
        cut.forEach((k, at) => {
          const inTop = relevantInTop(scores, sorted, relevant, sortedRelevant, k);
          recall[at] += inTop / relevant.length;
          hit[at] += inTop > 0 ? 1 : 0;
        });
      }
    }
    const q = perClass.length;
    const mean = (x: number) => (q ? x / q : 0);
    return {
      videos: N,
      queries: q,
      classesWithoutVideos: K - q,
      mAP: mean(apSum),
      recallAt1: mean(recall[0]),
      recallAt5: mean(recall[1]),
      recallAt10: mean(recall[2]),
      hitAt1: mean(hit[0]),
      hitAt5: mean(hit[1]),
      hitAt10: mean(hit[2]),
      perClass,
    };
  }
}
