import { averagePrecision, RetrievalIndex, type RetrievalScore } from "./retrieval.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { normals } from "../../fixtures/synthetic_features.ts";

function assertClose(actual: number, expected: number, what: string, tol = 1e-9): void {
  assert(Math.abs(actual - expected) <= tol, `${what}: ${actual}, expected ${expected}`);
}

const e = (i: number, d = 3) => Float32Array.from({ length: d }, (_, j) => (j === i ? 1 : 0));

Deno.test("retrieval: 3 classes, 6 videos in a known order give the hand-computed AP, recall@K and hit@K", () => {
  // Queries are the axes. Each video leans towards one axis by a known amount, so each query's
  // order is known: the score is the video's component along the query's axis.
  const index = new RetrievalIndex(3);
  const videos: [number[], number][] = [
    [[0.9, 0.1, 0], 0], // v0
    [[0.2, 0.8, 0], 1], // v1
    [[0.7, 0.3, 0], 1], // v2: ranks above the class-0 v3 for query 0
    [[0.6, 0.4, 0], 0], // v3
    [[0.1, 0.2, 0.9], 2], // v4
    [[0.3, 0.7, 0], 0], // v5
  ];
  // two frames per video that average to the direction above (pooling normalises them)
  for (const [v, label] of videos) {
    const f = Float32Array.of(...v, ...v.map((x) => 2 * x));
    index.add(f, 2, label);
  }
  // a fourth class with no video is left out and counted
  const queries = Float32Array.from([...e(0, 3), ...e(1, 3), ...e(2, 3), ...[0.5, 0.5, 0.5]]);
  const r = index.score(queries, ["a", "b", "c", "d"]);
  // cosine with axis x_j = v_j / |v|. |v|: v0 .906, v1 .825, v2 .762, v3 .721, v4 .927, v5 .762
  // query a (x): v0 .993, v2 .919, v3 .832, v5 .394, v1 .243, v4 .108 → relevant {v0,v3,v5} at
  //   ranks 1, 3, 4: AP = (1/1 + 2/3 + 3/4)/3
  // query b (y): v1 .970, v5 .919, v3 .555, v2 .394, v4 .216, v0 .110 → relevant {v1,v2} at
  //   ranks 1, 4: AP = (1 + 2/4)/2
  // query c (z): v4 .971 first, the only relevant: AP 1
  const ap = [(1 + 2 / 3 + 3 / 4) / 3, (1 + 2 / 4) / 2, 1];
  assertEquals(r.perClass.map((c) => [c.name, c.videos]), [["a", 3], ["b", 2], ["c", 1]]);
  r.perClass.forEach((c, i) => assertClose(c.ap, ap[i], `AP of ${c.name}`));
  assertClose(r.mAP, (ap[0] + ap[1] + ap[2]) / 3, "mAP");
  assertEquals([r.videos, r.queries, r.classesWithoutVideos], [6, 3, 1]);
  // top 1: a ✓ (1/3), b ✓ (1/2), c ✓ (1); top 5: a 3/3, b 2/2, c 1; top 10 ⊇ all
  assertClose(r.recallAt1, (1 / 3 + 1 / 2 + 1) / 3, "recall@1");
  assertClose(r.recallAt5, 1, "recall@5");
  assertClose(r.recallAt10, 1, "recall@10");
  assertEquals([r.hitAt1, r.hitAt5, r.hitAt10], [1, 1, 1]);
});

Deno.test("retrieval: a video without frames ranks last; ties go by split order for recall@K and form one threshold for AP", () => {
  const index = new RetrievalIndex(2);
  index.add(Float32Array.of(1, 0), 1, 1); // v0 ties v1 for query a, earlier in the split
  index.add(Float32Array.of(1, 0), 1, 0); // v1
  index.add(new Float32Array(0), 0, 0); // v2: no frames
  index.add(Float32Array.of(0, 1), 1, 1); // v3
  const r = index.score(Float32Array.of(1, 0, 0, 1), ["a", "b"]);
  // query a: {v0, v1} tie at 1, then v3 (0), then v2 (-∞). Relevant {v1, v2}.
  // AP: threshold 1 → precision 1/2 for v1; threshold -∞ → 2/4 for v2: (1/2 + 2/4)/2 = 1/2.
  // top 1 is v0 (split order): no hit; top 5 holds all.
  assertClose(r.perClass[0].ap, 0.5, "AP of a");
  // query b: v3 (1), then v0 and v1 (0, tied), then v2. Relevant {v0, v3}: v3 first (1/1),
  // v0 at the tie threshold with v1 (2/3): AP (1 + 2/3)/2
  assertClose(r.perClass[1].ap, (1 + 2 / 3) / 2, "AP of b");
  assertEquals([r.hitAt1, r.recallAt1], [0.5, 0.25]);
  assertEquals([r.hitAt5, r.recallAt5], [1, 1]);
});

Deno.test("retrieval: a tie across the K-th place counts only the tied videos that fit, in split order", () => {
  const index = new RetrievalIndex(2);
  // 12 videos all scoring the same for query a; the relevant ones are 5th and 11th in the split
  for (let i = 0; i < 12; i++) index.add(Float32Array.of(1, 1), 1, i === 4 || i === 10 ? 0 : 1);
  const r = index.score(Float32Array.of(1, 0, 0, 1), ["a", "b"]);
  const a = r.perClass[0];
  assertClose(a.ap, 2 / 12, "AP of a: one threshold, precision 2/12");
  // recall@1 0, @5 1/2 (the 5th is in), @10 1/2 (the 11th is not); b: 10 videos, first is index 0
  assertClose(r.recallAt1, (0 + 1 / 10) / 2, "recall@1");
  assertClose(r.recallAt5, (1 / 2 + 4 / 10) / 2, "recall@5");
  assertClose(r.recallAt10, (1 / 2 + 9 / 10) / 2, "recall@10");
  assertEquals([r.hitAt1, r.hitAt5, r.hitAt10], [0.5, 1, 1]);
});

Deno.test("averagePrecision: one relevant video at rank r gives 1/r", () => {
  const all = Float64Array.of(0.1, 0.2, 0.3, 0.4, 0.5);
  for (let r = 1; r <= 5; r++) {
    assertClose(averagePrecision(all, Float64Array.of(all[5 - r])), 1 / r, `rank ${r}`);
  }
});

const REFERENCE = `
import json, sys
import numpy as np
from sklearn.metrics import average_precision_score
d = json.load(sys.stdin)
D = d["dim"]
Q = np.array(d["queries"], dtype=np.float32).reshape(-1, D).astype(np.float64)
rows, labels = [], []
for v in d["videos"]:
    f = np.array(v["frames"], dtype=np.float32).reshape(-1, D).astype(np.float64)
    if len(f) == 0:
        rows.append(None)
    else:
        u = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
        m = u.mean(axis=0) * len(f)
        rows.append((m / max(np.linalg.norm(m), 1e-12)).astype(np.float32).astype(np.float64))
    labels.append(v["label"])
labels = np.array(labels)
aps, rec, hit = [], {1: [], 5: [], 10: []}, {1: [], 5: [], 10: []}
for c in range(len(Q)):
    rel = labels == c
    if not rel.any():
        continue
    s = np.array([-np.inf if r is None else float(r @ Q[c]) for r in rows])
    finite = s[np.isfinite(s)]
    s[~np.isfinite(s)] = (finite.min() if len(finite) else 0) - 1  # sklearn wants finite scores
    aps.append(average_precision_score(rel, s))
    order = np.argsort(-s, kind="stable")
    for k in (1, 5, 10):
        top = rel[order[:k]].sum()
        rec[k].append(top / rel.sum())
        hit[k].append(1.0 if top > 0 else 0.0)
out = {"mAP": float(np.mean(aps)), "ap": [float(a) for a in aps], "queries": len(aps)}
for k in (1, 5, 10):
    out[f"recallAt{k}"] = float(np.mean(rec[k]))
    out[f"hitAt{k}"] = float(np.mean(hit[k]))
print(json.dumps(out))
`;

async function sklearnReference(
  input: unknown,
): Promise<Record<string, number> & { ap: number[] }> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", REFERENCE],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(input)));
  await w.close();
  const out = await child.output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("retrieval matches scikit-learn's average_precision_score and a stable-argsort recall@K / hit@K on random embeddings with ties, empty videos and an empty class", async () => {
  const rnd = normals(7);
  const D = 16, K = 9, N = 300;
  const queries = Float32Array.from({ length: K * D }, () => rnd());
  // 40 distinct clip directions shared by many videos: exact score ties between videos
  const protos = Array.from({ length: 40 }, () => Array.from({ length: D }, () => rnd()));
  const videos: { frames: number[]; label: number }[] = [];
  const index = new RetrievalIndex(D);
  for (let i = 0; i < N; i++) {
    const label = Math.floor(((i * 7919) % N) / N * (K - 1)); // class K-1 has no video
    const proto = (i * 13 + label * 3) % protos.length;
    const p = protos[proto];
    // the videos of one direction have the same frames, so the same embedding on either side
    const count = i % 37 === 5 ? 0 : 1 + (proto % 3);
    const frames = Float32Array.from(
      { length: count * D },
      (_, j) => p[j % D] * (1 + Math.floor(j / D)),
    );
    index.add(frames, count, label);
    videos.push({ frames: Array.from(frames), label });
  }
  const ours: RetrievalScore = index.score(queries, Array.from({ length: K }, (_, c) => `c${c}`));
  const sk = await sklearnReference({ dim: D, queries: Array.from(queries), videos });
  assertEquals([ours.queries, ours.classesWithoutVideos, ours.videos], [sk.queries, 1, N]);
  ours.perClass.forEach((c, i) => assertClose(c.ap, sk.ap[i], `AP of ${c.name}`));
  for (
    const key of [
      "mAP",
      "recallAt1",
      "recallAt5",
      "recallAt10",
      "hitAt1",
      "hitAt5",
      "hitAt10",
    ] as const
  ) {
    assertClose(ours[key], sk[key], key);
  }
  // the planted data is not trivial: some queries miss at 1 and AP is well below 1
  assert(ours.hitAt1 < 1 && ours.mAP < 0.9, JSON.stringify(ours));
});
