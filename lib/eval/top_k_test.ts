import { mulberry32 } from "../base/mod.ts";
import { topKAccuracy, topKIndices } from "./top_k.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { pythonJson } from "../../tests/support/python.ts";

/** Rows of scores drawn from a few levels (so ties are common), with NaN, ±Infinity and ±0. */
function scoreRows(rows: number, cols: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const levels = [0.25, 0.5, 0.5, 0.75, -0, 0, 1, NaN, Infinity, -Infinity, -3];
  return Float64Array.from(
    { length: rows * cols },
    () => levels[Math.floor(rand() * levels.length)],
  );
}

/** Brute force: every index sorted by score (NaN last), ties by index (a stable sort). */
function bruteTopK(scores: ArrayLike<number>, rows: number, cols: number, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const idx = Array.from({ length: cols }, (_, c) => c);
    const key = (c: number) => scores[r * cols + c];
    idx.sort((a, b) => {
      const x = key(a), y = key(b);
      if (Number.isNaN(x) || Number.isNaN(y)) {
        return Number(Number.isNaN(x)) - Number(Number.isNaN(y));
      }
      return y - x || 0;
    });
    for (const i of idx.slice(0, Math.min(k, cols))) out.push(i);
  }
  return out;
}

Deno.test("topKIndices: equals a brute-force stable sort and NumPy's stable argsort(-scores), ties and NaN included", async () => {
  const cases = [[1, 1], [5, 3], [40, 11], [7, 64]] as const;
  const inputs = cases.map(([rows, cols], i) => ({
    rows,
    cols,
    scores: scoreRows(rows, cols, i + 1),
  }));
  const numpy = await pythonJson<number[][]>(
    `import json, sys, numpy as np
out = []
for case in json.loads(sys.argv[1]):
    s = np.array([float(v) for v in case["scores"]], dtype=np.float64).reshape(case["rows"], case["cols"])
    out.append(np.argsort(-s, axis=1, kind="stable").ravel().tolist())
print(json.dumps(out))`,
    [JSON.stringify(inputs.map((c) => ({ ...c, scores: Array.from(c.scores, String) })))],
  );
  for (const [i, { rows, cols, scores }] of inputs.entries()) {
    const full = Array.from(topKIndices(scores, rows, cols, cols));
    assertEquals(full, numpy[i], `${rows}x${cols}: full ranking as NumPy's`);
    for (const k of [1, 2, 5, cols, cols + 3]) {
      const got = topKIndices(scores, rows, cols, k);
      assertEquals(Array.from(got), bruteTopK(scores, rows, cols, k), `${rows}x${cols} k=${k}`);
      assertEquals(got.length, rows * Math.min(k, cols));
    }
    // the same ranking from float32 storage
    assertEquals(
      Array.from(topKIndices(Float32Array.from(scores), rows, cols, 3)),
      bruteTopK(scores, rows, cols, 3),
    );
  }
});

Deno.test("topKIndices: NaN ranks below every number, -Infinity included", () => {
  assertEquals(Array.from(topKIndices([NaN, -Infinity, 0], 1, 3, 3)), [2, 1, 0]);
  assertEquals(Array.from(topKIndices([NaN, NaN, -Infinity], 1, 3, 2)), [2, 0]);
  assertEquals(Array.from(topKIndices([NaN, -Infinity], 1, 2, 1)), [1]);
});

Deno.test("topKAccuracy: counts the true class in the first and the first five, -1 always wrong", () => {
  const rand = mulberry32(9);
  for (const k of [1, 3, 5, 8]) {
    const n = 200;
    const predicted = Int32Array.from({ length: n * k }, () => Math.floor(rand() * 10));
    const truth = Int32Array.from({ length: n }, () => Math.floor(rand() * 11) - 1); // -1..9
    let top1 = 0, top5 = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(predicted.subarray(i * k, i * k + k));
      if (truth[i] >= 0 && row[0] === truth[i]) top1++;
      if (truth[i] >= 0 && row.slice(0, 5).includes(truth[i])) top5++;
    }
    assert(top1 > 0 && (k === 1 ? top5 === top1 : top5 > top1), "the draw exercises both counts");
    assertEquals(topKAccuracy(predicted, k, truth), { count: n, top1: top1 / n, top5: top5 / n });
  }
  assertEquals(topKAccuracy(new Int32Array(0), 5, new Int32Array(0)), {
    count: 0,
    top1: 0,
    top5: 0,
  });
  assertEquals(topKAccuracy(Int32Array.of(-1, 2), 2, Int32Array.of(-1)), {
    count: 1,
    top1: 0,
    top5: 0,
  });
});
