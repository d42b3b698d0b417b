/**
 * Bounded concurrency for async work.
 * @module
 */

/**
 * Runs `fn` over the items with at most `jobs` calls in flight; results keep the items' order.
 * A rejected call rejects the whole run after the calls in flight settle.
 * @param items the inputs
 * @param jobs how many at once (≥ 1)
 * @param fn the work for one item
 * @returns the results in input order
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  jobs: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  // boxed, so that even a thrown `undefined` stops the run
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
  return results;
}

/**
 * Runs `fn` over items pulled one at a time from an iterable (a manifest walked a page at a
 * time), with at most `jobs` calls in flight. A rejected call stops the pulling and rejects the
 * whole run after the calls in flight settle.
 * @param items the inputs, pulled lazily
 * @param jobs how many at once (≥ 1)
 * @param fn the work for one item
 */
export async function forEachConcurrent<T>(
  items: Iterable<T>,
  jobs: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.iterator]();
  let done = false;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && !done) {
      let next: IteratorResult<T>;
      try {
        next = it.next();
      } catch (e) {
        failure ??= { error: e };
        return;
      }
      if (next.done) {
        done = true;
        return;
      }
      try {
        await fn(next.value);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  if (failure !== undefined) throw failure.error;
}

/** A bounded FIFO between a producer and a consumer, counting its contents in a unit (frames). */
export class BoundedQueue<T> {
  #items: { item: T; weight: number }[] = [];
  #weight = 0;
  #closed = false;
  #discarding = false;
  #waitingPut: (() => void)[] = [];
  #waitingTake: (() => void)[] = [];

  /**
   * An empty queue.
   * @param capacity the most weight held at once (an item heavier than that still passes alone)
   */
  constructor(readonly capacity: number) {}

  /**
   * Adds an item, waiting while the queue is full.
   * @param item the item
   * @param weight its size in the queue's unit
   */
  async put(item: T, weight = 1): Promise<void> {
    if (this.#discarding) return;
    while (this.#weight > 0 && this.#weight + weight > this.capacity) {
      await new Promise<void>((r) => this.#waitingPut.push(r));
    }
    if (this.#discarding) return;
    this.#items.push({ item, weight });
    this.#weight += weight;
    this.#waitingTake.shift()?.();
  }

  /**
   * Takes the oldest item, waiting while empty.
   * @returns the item, or undefined once the queue is closed and drained
   */
  async take(): Promise<T | undefined> {
    while (this.#items.length === 0) {
      if (this.#closed) return undefined;
      await new Promise<void>((r) => this.#waitingTake.push(r));
    }
    const { item, weight } = this.#items.shift()!;
    this.#weight -= weight;
    this.#waitingPut.shift()?.();
    return item;
  }

  /** Weight held now. */
  get weight(): number {
    return this.#weight;
  }

  /**
   * Takes items until the queue is closed and drained.
   * @returns an async iterator over the items
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (let item = await this.take(); item !== undefined; item = await this.take()) yield item;
  }

  /**
   * The consumer has stopped: what is held is dropped, and from now on a put returns at once
   * without keeping its item (a producer waiting for room goes on).
   */
  drain(): void {
    this.#discarding = true;
    this.#items = [];
    this.#weight = 0;
    for (const r of this.#waitingPut.splice(0)) r();
  }

  /** No more puts; takers drain what is left, then get undefined. */
  close(): void {
    this.#closed = true;
    for (const r of this.#waitingTake.splice(0)) r();
  }
}
