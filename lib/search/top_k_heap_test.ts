import { assertEquals } from "../../tests/support/assert.ts";
import { TopKHeap } from "./top_k_heap.ts";
import { mulberry32 } from "../core/mod.ts";

Deno.test("TopKHeap keeps the k best of many, as a full sort does (ties: offered first)", () => {
  const rand = mulberry32(7);
  const scores = Array.from({ length: 5000 }, () => Math.round(rand() * 200) / 200);
  for (const k of [1, 5, 37]) {
    const top = new TopKHeap<number>(k);
    scores.forEach((s, i) => top.offer(s, i));
    const expected = scores.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, k).map((x) => x.i);
    assertEquals(top.sorted().map((h) => h.item), expected);
  }
});

Deno.test("TopKHeap builds an item only when it is kept, and never keeps NaN", () => {
  const top = new TopKHeap<string>(1);
  let built = 0;
  top.offer(0.5, () => (built++, "a"));
  top.offer(0.4, () => (built++, "b"));
  top.offer(NaN, "c");
  assertEquals([built, top.sorted().map((h) => h.item)], [1, ["a"]]);
});
