import { mulberry32, seededPermutation, seededShuffle } from "./random.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

// The first four 32-bit outputs of mulberry32 for three seeds, from Tommy Ettinger's reference C
// (`z = (*state += 0x6D2B79F5); z = (z ^ z >> 15) * (z | 1); z ^= z + (z ^ z >> 7) * (z | 61);
// return z ^ z >> 14;`) compiled with gcc on uint32_t; the module returns them divided by 2^32.
const REFERENCE: Record<number, number[]> = {
  0: [1144304738, 1416247, 958946056, 627933444],
  42: [2581720956, 1925393290, 3661312704, 2876485805],
  4294967295: [3850105811, 813802916, 3073704848, 4054706436],
};

function draws(rand: () => number, n: number): number[] {
  return Array.from({ length: n }, () => rand() * 2 ** 32);
}

Deno.test("random: mulberry32 gives the reference C generator's numbers, seeds taken modulo 2^32", () => {
  for (const [seed, want] of Object.entries(REFERENCE)) {
    assertEquals(draws(mulberry32(Number(seed)), 4), want, `seed ${seed}`);
  }
  assertEquals(draws(mulberry32(2 ** 32 + 42), 4), REFERENCE[42]);
  assertEquals(draws(mulberry32(-1), 4), REFERENCE[4294967295]);
  const r = mulberry32(7);
  for (let i = 0; i < 100_000; i++) {
    const v = r();
    assert(v >= 0 && v < 1 && Number.isInteger(v * 2 ** 32), `draw ${i}: ${v}`);
  }
});

Deno.test("random: the permutation is Fisher–Yates from the end driven by those numbers", () => {
  // seed 0 draws 0.26643, 0.00033, 0.22327, 0.14620 (REFERENCE[0] / 2^32); from [0,1,2,3,4]:
  // i=4 j=floor(0.26643·5)=1 -> [0,4,2,3,1]; i=3 j=0 -> [3,4,2,0,1]; i=2 j=0 -> [2,4,3,0,1];
  // i=1 j=0 -> [4,2,3,0,1]
  assertEquals([...seededPermutation(5, 0)], [4, 2, 3, 0, 1]);
  assertEquals(seededShuffle(["a", "b", "c", "d", "e"], 0), ["e", "c", "d", "a", "b"]);
  assertEquals([...seededPermutation(0, 0)], []);
  assertEquals([...seededPermutation(1, 9)], [0]);
  for (const n of [2, 17, 1000]) {
    const p = [...seededPermutation(n, 123)];
    assertEquals(p.slice().sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  }
  const items = [{ v: 1 }, { v: 2 }, { v: 3 }];
  const shuffled = seededShuffle(items, 5);
  assertEquals(items.map((x) => x.v), [1, 2, 3], "the input is left as it was");
  const perm = seededPermutation(3, 5);
  shuffled.forEach((x, i) => assert(x === items[perm[i]]));
});

Deno.test("random: every order of four items is about equally likely over seeds", () => {
  // 24 orders, 24000 seeds: about 1000 each (sd ≈ 31); a biased shuffle (j drawn from 0..i-1,
  // or from 0..n-1) leaves some orders far off or never seen
  const counts = new Map<string, number>();
  for (let seed = 0; seed < 24_000; seed++) {
    const key = seededPermutation(4, seed).join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assertEquals(counts.size, 24);
  for (const [order, n] of counts) assert(n > 850 && n < 1150, `order ${order}: ${n} of 24000`);
});
