/**
 * Top-k of score rows and top-k accuracy, with one tie rule for every evaluation: among equal
 * scores the lower class index ranks first (as NumPy's stable `argsort(-scores)` and ONNX `TopK`).
 * @module
 */

/**
 * The indices of the `k` largest scores of each row, best first; ties go to the lower index.
 * NaN ranks below every number.
 * @param scores row-major `[rows, cols]`
 * @param rows number of rows
 * @param cols number of columns (classes)
 * @param k how many per row (at most `cols`)
 * @returns row-major `[rows, k]` class indices
 */
export function topKIndices(
  scores: ArrayLike<number>,
  rows: number,
  cols: number,
  k: number,
): Int32Array {
  const kk = Math.min(k, cols);
  const out = new Int32Array(rows * kk);
  const bestV = new Float64Array(kk);
  const bestI = new Int32Array(kk);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let filled = 0;
    for (let c = 0; c < cols; c++) {
      const v = scores[base + c];
      // Strictly above to move up: an equal later index stays below, so ties keep index order.
      if (filled === kk && !ranksAbove(v, bestV[kk - 1])) continue;
      let pos = filled < kk ? filled++ : kk - 1;
      while (pos > 0 && ranksAbove(v, bestV[pos - 1])) {
        bestV[pos] = bestV[pos - 1];
        bestI[pos] = bestI[pos - 1];
        pos--;
      }
      bestV[pos] = v;
      bestI[pos] = c;
    }
    out.set(bestI.subarray(0, kk), r * kk);
  }
  return out;
}

/** Whether score `a` ranks strictly above `b`: greater, or a number against NaN (even -Infinity). */
function ranksAbove(a: number, b: number): boolean {
  return a > b || (Number.isNaN(b) && !Number.isNaN(a));
}

/** Top-1 and top-5 accuracy and the per-class counts behind them. */
export interface TopKScore {
  /** Samples scored (rows). */
  count: number;
  /** Fraction whose true class is ranked first. */
  top1: number;
  /** Fraction whose true class is among the first five. */
  top5: number;
}

/**
 * Scores predictions against true classes. A true class of -1 (unknown to the model) is wrong.
 * @param predicted row-major `[n, k]` ranked class indices (k ≥ 1; top-5 uses the first five)
 * @param k columns of `predicted`
 * @param truth the true class of each row, or -1
 * @returns top-1 and top-5 accuracy
 */
export function topKAccuracy(predicted: Int32Array, k: number, truth: Int32Array): TopKScore {
  const n = truth.length;
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < n; i++) {
    const t = truth[i];
    if (t < 0) continue;
    if (predicted[i * k] === t) top1++;
    for (let j = 0; j < Math.min(5, k); j++) {
      if (predicted[i * k + j] === t) {
        top5++;
        break;
      }
    }
  }
  return { count: n, top1: n ? top1 / n : 0, top5: n ? top5 / n : 0 };
}
