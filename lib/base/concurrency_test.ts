import { BoundedQueue, forEachConcurrent, mapConcurrent } from "./concurrency.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Counts calls in flight and the most seen at once. */
function gauge() {
  const g = { active: 0, max: 0, started: 0 };
  const run = async <R>(work: () => Promise<R>): Promise<R> => {
    g.active++;
    g.started++;
    g.max = Math.max(g.max, g.active);
    try {
      return await work();
    } finally {
      g.active--;
    }
  };
  return { g, run };
}

Deno.test("mapConcurrent: at most `jobs` at once, results in input order, every slot used", async () => {
  const items = Array.from({ length: 40 }, (_, i) => i);
  for (const jobs of [1, 3, 8, 100]) {
    const { g, run } = gauge();
    // later items finish first, so results arrive out of order
    const out = await mapConcurrent(items, jobs, (x, i) =>
      run(async () => {
        await sleep((40 - x) % 7);
        return `${x}@${i}`;
      }));
    assertEquals(out, items.map((x) => `${x}@${x}`));
    assertEquals(g.max, Math.min(jobs, items.length), `jobs ${jobs}`);
  }
  assertEquals(await mapConcurrent([], 4, () => Promise.resolve(1)), []);
  const { g, run } = gauge();
  await mapConcurrent([1, 2, 3], 0, () => run(() => sleep(1)));
  assertEquals(g.max, 1, "jobs 0 still runs, one at a time");
});

Deno.test("mapConcurrent: a failure stops new calls and rejects after the calls in flight settle", async () => {
  const { g, run } = gauge();
  let settledAtRejection = -1;
  const boom = new Error("item 5 failed");
  const e = await assertRejects(async () => {
    try {
      await mapConcurrent(Array.from({ length: 50 }, (_, i) => i), 4, (x) =>
        run(async () => {
          await sleep(x === 5 ? 1 : 5);
          if (x === 5) throw boom;
          return x;
        }));
    } finally {
      settledAtRejection = g.active;
    }
  }, "item 5 failed");
  assert(e === boom, "the call's own error");
  assertEquals(settledAtRejection, 0, "nothing still running when the run rejects");
  assert(g.started < 12, `no new calls after the failure (started ${g.started} of 50)`);
  // even a thrown undefined stops the run and is what it rejects with
  let caught: unknown = "none";
  try {
    await mapConcurrent([1, 2, 3], 2, (x) => (x === 2 ? Promise.reject(undefined) : sleep(1)));
  } catch (err) {
    caught = err;
  }
  assertEquals(caught, undefined);
});

Deno.test("forEachConcurrent: pulls lazily, at most `jobs` items ahead of the finished ones", async () => {
  let pulled = 0;
  let finished = 0;
  let worstAhead = 0;
  function* items() {
    for (let i = 0; i < 60; i++) {
      pulled++;
      worstAhead = Math.max(worstAhead, pulled - finished);
      yield i;
    }
  }
  const { g, run } = gauge();
  const seen: number[] = [];
  await forEachConcurrent(items(), 5, (x) =>
    run(async () => {
      await sleep(x % 4);
      seen.push(x);
      finished++;
    }));
  assertEquals(seen.slice().sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));
  assertEquals(g.max, 5);
  assert(worstAhead <= 5, `pulled ${worstAhead} ahead of the finished`);
});

Deno.test("forEachConcurrent: a failing call or iterator stops pulling an endless source", async () => {
  let pulled = 0;
  function* endless() {
    while (true) yield pulled++;
  }
  const { g, run } = gauge();
  let activeAtRejection = -1;
  await assertRejects(async () => {
    try {
      await forEachConcurrent(endless(), 3, (x) =>
        run(async () => {
          await sleep(2);
          if (x === 10) throw new Error(`video ${x}: decode failed`);
        }));
    } finally {
      activeAtRejection = g.active;
    }
  }, "video 10: decode failed");
  assertEquals(activeAtRejection, 0);
  assert(pulled < 20, `stopped pulling (${pulled} pulled)`);
  function* breaks() {
    yield 1;
    throw new Error("manifest page 2 unreadable");
  }
  await assertRejects(
    () => forEachConcurrent(breaks(), 2, () => sleep(1)),
    "manifest page 2 unreadable",
  );
});

Deno.test("BoundedQueue: FIFO within its weight; a heavy item passes alone; close drains", async () => {
  const q = new BoundedQueue<string>(10);
  const log: string[] = [];
  const producer = (async () => {
    for (const [item, w] of [["a", 4], ["b", 4], ["c", 4], ["huge", 25], ["d", 1]] as const) {
      await q.put(item, w);
      log.push(`put ${item} (${q.weight})`);
      assert(q.weight <= 10 || item === "huge", `weight ${q.weight} over capacity`);
    }
    q.close();
  })();
  await sleep(5);
  assertEquals(log, ["put a (4)", "put b (8)"], "c waits: 8 + 4 > 10");
  const got: string[] = [];
  for await (const item of q) {
    got.push(item);
    await sleep(1);
  }
  await producer;
  assertEquals(got, ["a", "b", "c", "huge", "d"]);
  assertEquals(await q.take(), undefined, "closed and drained");
  assert(
    log.includes("put huge (25)"),
    "a heavier-than-capacity item goes in once the queue is empty",
  );
});

Deno.test("BoundedQueue: drain drops what is held and releases a waiting producer", async () => {
  const q = new BoundedQueue<number>(2);
  await q.put(1);
  await q.put(2);
  let third = false;
  const waiting = q.put(3).then(() => (third = true));
  await sleep(5);
  assert(!third, "the producer waits for room");
  q.drain();
  await waiting;
  assertEquals(q.weight, 0);
  await q.put(4); // returns at once, keeps nothing
  assertEquals(q.weight, 0);
  q.close();
  assertEquals(await q.take(), undefined);
});
