import { topKAccuracy } from "./top_k.ts";
import type { ZeroShotClassifier } from "../text/mod.ts";
import { ZeroShotScorer } from "./zero_shot.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

function classifier(rows: number[][]): ZeroShotClassifier {
  return {
    weights: Float32Array.from(rows.flatMap(unit)),
    numClasses: rows.length,
    dim: rows[0].length,
    classNames: rows.map((_, i) => `class ${i}`),
  };
}

/** The card's rule in float64: mean over frames of softmax(100 · unit(frame) · W). */
function referenceProbs(clf: ZeroShotClassifier, frames: number[][]): number[] {
  const K = clf.numClasses, D = clf.dim;
  const mean = new Array(K).fill(0);
  for (const f of frames) {
    const u = unit(f);
    const logits = Array.from({ length: K }, (_, c) => {
      let s = 0;
      for (let j = 0; j < D; j++) s += u[j] * clf.weights[c * D + j];
      return 100 * s;
    });
    const m = Math.max(...logits);
    const e = logits.map((l) => Math.exp(l - m));
    const z = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => mean[c] += v / z / frames.length);
  }
  return mean;
}

Deno.test("zero-shot: mean of per-frame probabilities, not of embeddings; ties to the lower index", async () => {
  // Classes: 0 = B, 1 = the compromise of A and B, 2 = A, 3 = unrelated.
  const A = [1, 0, 0, 0], B = [0, 1, 0, 0];
  const clf = classifier([B, [1, 1, 0, 0], A, [0, 0, 0, 1]]);
  const scorer = await ZeroShotScorer.open(clf, { providers: ["cpu"] });
  try {
    const videos = [
      // One frame of A, one of B: the probabilities average to ½ for A and for B (an exact tie, which
      // goes to class 0), while the mean embedding points at the compromise, class 1.
      Float32Array.from([...A, ...B]),
      Float32Array.from([...B, ...A]), // same in the other frame order
      Float32Array.from([0.9, 0.05, 0.1, 0.02, 0.8, 0.1, 0.05, 0]), // clearly A: class 2
      new Float32Array(0), // no frames: no prediction
      Float32Array.from([0.1, 0.2, 0, 3, 0, 0.1, 0.2, 2]), // unrelated: class 3
    ];
    const ranked = await scorer.predict(videos, 4);
    assertEquals([...ranked.subarray(0, 4)], [0, 2, 1, 3]);
    assertEquals([...ranked.subarray(4, 8)], [0, 2, 1, 3]);
    assertEquals(ranked[8], 2);
    assertEquals([...ranked.subarray(12, 16)], [-1, -1, -1, -1]);
    assertEquals(ranked[16], 3);

    // The mean-embedding rule would have picked the compromise for the first video.
    const meanEmbedding = await scorer.predict([Float32Array.from([0.5, 0.5, 0, 0])], 1);
    assertEquals(meanEmbedding[0], 1);

    // Accuracy: truth 2 (A) for the tied videos is top-2, not top-1; the empty video is wrong.
    const acc = topKAccuracy(ranked, 4, Int32Array.from([2, 2, 2, 0, 3]));
    assertEquals(acc.top1, 2 / 5);
    assertEquals(acc.top5, 4 / 5);
  } finally {
    await scorer.release();
  }
});

Deno.test("zero-shot probabilities match the float64 rule across batch boundaries", async () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const K = 6, D = 16;
  const clf = classifier(Array.from({ length: K }, () => Array.from({ length: D }, rnd)));
  const lengths = [3, 1, 7, 0, 2, 5, 4];
  const frames = lengths.map((n) =>
    Array.from({ length: n }, () => Array.from({ length: D }, () => rnd() * 0.2))
  );
  // At most 5 frames a run: the 7-frame video runs alone, the others are grouped.
  const scorer = await ZeroShotScorer.open(clf, { providers: ["cpu"], maxFrames: 5 });
  try {
    const probs = await scorer.probabilities(frames.map((f) => Float32Array.from(f.flat())));
    frames.forEach((f, v) => {
      const row = [...probs.subarray(v * K, (v + 1) * K)];
      if (f.length === 0) {
        return assert(row.every(Number.isNaN), "empty video has no probabilities");
      }
      const ref = referenceProbs(clf, f);
      row.forEach((p, c) =>
        assert(Math.abs(p - ref[c]) < 1e-5, `video ${v} class ${c}: ${p} vs ${ref[c]}`)
      );
      assert(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    });
  } finally {
    await scorer.release();
  }
});
