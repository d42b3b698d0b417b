/**
 * A running top-k: a min-heap of at most k scored items, so that a search over any number of
 * candidates keeps k of them in memory. Ties keep the item offered first.
 * @module
 */

/** An item with its score and the order it was offered in. */
export interface Scored<T> {
  /** The score (higher is better). */
  score: number;
  /** Offer order, 0 for the first item (breaks ties: earlier first). */
  seq: number;
  /** The item. */
  item: T;
}

/**
 * The k best-scoring items seen so far.
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { TopKHeap } from "./top_k_heap.ts";
 * const top = new TopKHeap<string>(2);
 * for (const [s, x] of [[0.1, "a"], [0.9, "b"], [0.5, "c"], [0.9, "d"]] as const) top.offer(s, x);
 * deepStrictEqual(top.sorted().map((h) => h.item), ["b", "d"]);
 * ```
 */
export class TopKHeap<T> {
  #heap: Scored<T>[] = [];
  #seq = 0;

  /**
   * An empty top-k.
   * @param k how many items to keep (at least 1)
   */
  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) {
      throw new RangeError(`k must be a positive integer, got ${k}`);
    }
  }

  /** Items kept. */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Would an item of this score be kept? Lets a caller skip building items that would not be.
   * @param score the candidate's score
   * @returns true when it would enter the top k
   */
  admits(score: number): boolean {
    return this.#heap.length < this.k || score > this.#heap[0].score;
  }

  /**
   * Offers an item; it is kept when it is among the k best so far.
   * @param score its score (NaN is never kept)
   * @param item the item, or a function building it (called only when it is kept)
   * @returns whether it was kept
   */
  offer(score: number, item: T | (() => T)): boolean {
    const seq = this.#seq++;
    if (Number.isNaN(score) || !this.admits(score)) return false;
    const made = typeof item === "function" ? (item as () => T)() : item;
    const entry = { score, seq, item: made };
    if (this.#heap.length < this.k) {
      this.#heap.push(entry);
      this.#up(this.#heap.length - 1);
    } else {
      this.#heap[0] = entry;
      this.#down(0);
    }
    return true;
  }

  /**
   * The items kept, best first (equal scores: offered first, first).
   * @returns a new array
   */
  sorted(): Scored<T>[] {
    return [...this.#heap].sort((a, b) => b.score - a.score || a.seq - b.seq);
  }

  /** Is a worse than b (the heap's root is the worst kept)? A later item loses a tie. */
  #worse(a: Scored<T>, b: Scored<T>): boolean {
    return a.score < b.score || (a.score === b.score && a.seq > b.seq);
  }

  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#worse(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && this.#worse(h[l], h[m])) m = l;
      if (r < h.length && this.#worse(h[r], h[m])) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
