/**
 * Zero-shot classification as the CLIP-Kinetics700 card computed it:
 * - class weight = mean over the prompt templates of the L2-normalised text embeddings of
 *   `template.format(class)`, L2-normalised again;
 * - per video: each frame L2-normalised, per-frame `softmax(100 · frame · W)`, the per-frame
 *   probabilities averaged over the video's frames, top-k of that average (ties: the lower class
 *   index first). A video with no frames has no prediction (`-1`) and counts as wrong.
 *
 * The class weights come from `text/` (a CLIP text tower fed by its BPE tokenizer); the frame
 * scoring is a small ONNX graph (normalise, scale, softmax, per-video mean as a product with a segment-averaging
 * matrix), so only `[videos, K]` averages come back to JavaScript.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { buildTextModel } from "../onnx/mod.ts";
 * import { buildZeroShotClassifier } from "../text/mod.ts";
 * import { ZeroShotScorer } from "./zero_shot.ts";
 * const text = await buildTextModel({ size: "tiny" }); // or the path of a text tower .onnx
 * const clf = await buildZeroShotClassifier(text.bytes, ["abseiling", "air drumming"], ["a photo of {}."], {
 *   providers: ["cpu"],
 * });
 * const scorer = await ZeroShotScorer.open(clf, { providers: ["cpu"] });
 * // one video of two frames: its two classes, best first
 * const top = await scorer.predict([new Float32Array(2 * 512).fill(0.1)], 2);
 * strictEqual(top.length, 2);
 * await scorer.release();
 * ```
 * @module
 */
import type * as ort from "onnxruntime-node";
import { attr, OnnxGraph, openSession, ortRuntime, type ProviderName } from "../onnx/mod.ts";
import type { ZeroShotClassifier } from "../text/mod.ts";
import { topKIndices } from "./top_k.ts";

/** CLIP's logit scale used by the card's zero-shot evaluation. */
export const ZERO_SHOT_LOGIT_SCALE = 100;

/**
 * The frame-scoring graph. Inputs: `frames [T, D]`, `segments [V, T]` (row v holds 1/n_v on the
 * frames of video v), `w [D, K]`. Output: `probs [V, K]`, the per-video mean of per-frame
 * softmax(100 · normalise(frame) · W).
 */
function frameScoringGraph(dim: number, k: number): Promise<Uint8Array> {
  const g = new OnnxGraph({ name: "zero_shot_scores" });
  const frames = g.input("frames", "float32", ["T", dim]);
  const segments = g.input("segments", "float32", ["V", "T"]);
  const w = g.input("w", "float32", [dim, k]);
  const sq = g.node("ReduceSumSquare", [frames], { axes: attr.ints([1]), keepdims: attr.int(1) });
  // A zero frame stays zero (uniform probabilities) instead of dividing by zero.
  const norm = g.node("Max", [g.node("Sqrt", [sq]), g.floats([1e-12])]);
  const unit = g.node("Div", [frames, norm]);
  const logits = g.node("Mul", [g.node("MatMul", [unit, w]), g.floats([ZERO_SHOT_LOGIT_SCALE])]);
  const probs = g.node("Softmax", [logits], { axis: attr.int(1) });
  g.node("MatMul", [segments, probs], {}, { out: "probs" });
  g.output("probs", "float32", ["V", k]);
  return g.serialize();
}

/** Options of {@linkcode ZeroShotScorer.open}. */
export interface ZeroShotScorerOptions {
  /** Execution providers tried in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** CPU threads. */
  threads?: number;
  /** Most frames per graph run (default 4096); a longer video runs alone. */
  maxFrames?: number;
}

/** Scores videos against zero-shot class weights. */
export class ZeroShotScorer {
  readonly #session: ort.InferenceSession;
  readonly #w: ort.Tensor;
  readonly #dim: number;
  readonly #k: number;
  readonly #maxFrames: number;
  /** The provider the scoring graph runs on. */
  readonly provider: ProviderName;

  private constructor(
    session: ort.InferenceSession,
    provider: ProviderName,
    clf: ZeroShotClassifier,
    maxFrames: number,
  ) {
    this.#session = session;
    this.provider = provider;
    this.#dim = clf.dim;
    this.#k = clf.numClasses;
    this.#maxFrames = maxFrames;
    // The graph takes W as [D, K].
    const wt = new Float32Array(clf.dim * clf.numClasses);
    for (let c = 0; c < clf.numClasses; c++) {
      for (let j = 0; j < clf.dim; j++) wt[j * clf.numClasses + c] = clf.weights[c * clf.dim + j];
    }
    this.#w = new (ortRuntime().Tensor)("float32", wt, [clf.dim, clf.numClasses]);
  }

  /**
   * Opens the scoring graph for a classifier.
   * @param clf the class weights
   * @param opts providers, threads, frames per run
   * @returns the scorer
   */
  static async open(
    clf: ZeroShotClassifier,
    opts: ZeroShotScorerOptions = {},
  ): Promise<ZeroShotScorer> {
    const { session, provider } = await openSession(
      await frameScoringGraph(clf.dim, clf.numClasses),
      {
        providers: opts.providers,
        threads: opts.threads,
        source: "the zero-shot scoring graph",
      },
    );
    return new ZeroShotScorer(session, provider, clf, opts.maxFrames ?? 4096);
  }

  /**
   * Mean per-frame class probabilities of each video.
   * @param videos each video's frames, `[n_i, D]` row-major (n_i may be 0)
   * @returns `[videos, K]` row-major; a row of NaN for a video without frames
   */
  async probabilities(videos: readonly Float32Array[]): Promise<Float32Array> {
    const D = this.#dim;
    const K = this.#k;
    const out = new Float32Array(videos.length * K).fill(NaN);
    let i = 0;
    while (i < videos.length) {
      // Gather videos until the frame budget is used (at least one video per run).
      const members: number[] = [];
      let frames = 0;
      for (; i < videos.length; i++) {
        const v = videos[i];
        if (v.length % D !== 0) {
          throw new RangeError(`zero-shot: video ${i} has ${v.length} values, not rows of ${D}`);
        }
        const n = v.length / D;
        if (n === 0) continue;
        if (members.length > 0 && frames + n > this.#maxFrames) break;
        members.push(i);
        frames += n;
      }
      if (members.length === 0) break;
      const frameData = new Float32Array(frames * D);
      const seg = new Float32Array(members.length * frames);
      let offset = 0;
      members.forEach((vi, row) => {
        const v = videos[vi];
        const n = v.length / D;
        frameData.set(v, offset * D);
        seg.fill(1 / n, row * frames + offset, row * frames + offset + n);
        offset += n;
      });
      const res = await this.#session.run({
        frames: new (ortRuntime().Tensor)("float32", frameData, [frames, D]),
        segments: new (ortRuntime().Tensor)("float32", seg, [members.length, frames]),
        w: this.#w,
      });
      const probs = res.probs.data as Float32Array;
      members.forEach((vi, row) => out.set(probs.subarray(row * K, (row + 1) * K), vi * K));
      res.probs.dispose?.();
    }
    return out;
  }

  /**
   * Ranks the classes of each video by its mean per-frame probability (ties: lower index first).
   * @param videos each video's frames, `[n_i, D]` row-major
   * @param k classes per video (default 5)
   * @returns `[videos, k]` class indices; a row of -1 for a video without frames
   */
  async predict(videos: readonly Float32Array[], k = 5): Promise<Int32Array> {
    const K = this.#k;
    const kk = Math.min(k, K);
    const probs = await this.probabilities(videos);
    const ranked = topKIndices(probs, videos.length, K, kk);
    videos.forEach((v, i) => {
      if (v.length === 0) ranked.fill(-1, i * kk, (i + 1) * kk);
    });
    return ranked;
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.#session.release();
  }
}
