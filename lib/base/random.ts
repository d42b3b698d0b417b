/**
 * Seeded randomness that is the same in every JavaScript engine: subsets, shard shuffles and
 * fixture data draw from it.
 * @module
 */

/**
 * mulberry32: a small 32-bit PRNG whose output is fully specified by its seed (Tommy Ettinger's
 * public-domain generator), so a shuffle is the same in every JavaScript engine.
 * @param seed any integer; taken modulo 2^32
 * @returns a function giving the next number in [0, 1)
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The permutation `seededShuffle` applies to a list of n items: `seededShuffle(items, seed)[i]`
 * is `items[perm[i]]`. Four bytes per item, whatever the items are.
 * @param n how many items
 * @param seed the mulberry32 seed
 * @returns the source index of each position
 */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/**
 * Shuffles a copy of a list: Fisher–Yates from the end, `j = floor(rand() · (i + 1))`.
 * @param items the list (left as it is)
 * @param seed the mulberry32 seed
 * @returns the shuffled copy
 */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  return Array.from(seededPermutation(items.length, seed), (i) => items[i]);
}
