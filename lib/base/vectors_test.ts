import { meanPooledFeature, normalizeRowsInPlace } from "./vectors.ts";
import { assertEquals } from "../../tests/support/assert.ts";

const rounded = (x: ArrayLike<number>) => Array.from(x, (v) => +v.toFixed(6));

Deno.test("normalizeRowsInPlace scales each row to unit length and leaves a zero row zero", () => {
  const x = Float32Array.of(3, 4, 0, 0, 0, -2);
  normalizeRowsInPlace(x, 3, 2);
  assertEquals(rounded(x), [0.6, 0.8, 0, 0, 0, -1]);
  const wide = Float64Array.of(1, 2, 2, 0, 0, 0);
  normalizeRowsInPlace(wide, 2, 3);
  assertEquals(rounded(wide), [0.333333, 0.666667, 0.666667, 0, 0, 0]);
});

Deno.test("meanPooledFeature normalises each frame before averaging, then the mean", () => {
  // a long frame must not outweigh a short one
  assertEquals(rounded(meanPooledFeature(Float32Array.of(3, 0, 0, 5), 2, 2)), [0.707107, 0.707107]);
  assertEquals(rounded(meanPooledFeature(Float32Array.of(0, 0, 0, 0), 2, 2)), [0, 0]);
  // only the first `count` frames count
  assertEquals(rounded(meanPooledFeature(Float32Array.of(0, 2, 9, 0), 1, 2)), [0, 1]);
});
