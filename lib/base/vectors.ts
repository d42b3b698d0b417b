/**
 * Plain vector maths on row-major float arrays: rows scaled to unit length, and the mean-pooled
 * feature of a clip's frames.
 * @module
 */

/**
 * Scales each row of a row-major matrix to unit length (a zero row stays zero).
 * @param x `[rows, dim]`, changed in place
 * @param rows how many rows
 * @param dim their width
 */
export function normalizeRowsInPlace(
  x: Float32Array | Float64Array,
  rows: number,
  dim: number,
): void {
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let j = 0; j < dim; j++) sq += x[r * dim + j] ** 2;
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let j = 0; j < dim; j++) x[r * dim + j] *= inv;
  }
}

/**
 * The mean-pooled feature of a clip: each frame L2-normalised, averaged, and the mean
 * L2-normalised again.
 * @param frames `[count, dim]` row-major
 * @param count number of frames (at least one)
 * @param dim embedding width
 * @returns the unit-length `[dim]` feature (all zeros when every frame is zero)
 * @example
 * ```ts
 * import { meanPooledFeature } from "./vectors.ts";
 * meanPooledFeature(Float32Array.of(3, 0, 0, 5), 2, 2); // [√½, √½]
 * ```
 */
export function meanPooledFeature(frames: Float32Array, count: number, dim: number): Float32Array {
  const acc = new Float64Array(dim);
  for (let f = 0; f < count; f++) {
    let sq = 0;
    for (let j = 0; j < dim; j++) sq += frames[f * dim + j] ** 2;
    const inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
    for (let j = 0; j < dim; j++) acc[j] += frames[f * dim + j] * inv;
  }
  let sq = 0;
  for (let j = 0; j < dim; j++) sq += acc[j] ** 2;
  const inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
  return Float32Array.from(acc, (v) => v * inv);
}
