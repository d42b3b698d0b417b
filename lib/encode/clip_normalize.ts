/**
 * CLIP's input normalisation: uint8 RGB frames (HWC) to float32 CHW, `(x/255 − mean) / std`.
 * @module
 */

import { CLIP_MEAN, CLIP_STD } from "../base/mod.ts";

// One 256-entry table per channel: the normalised value of every byte, computed in float64 once
// and rounded to float32 once (the same value the float32 formula gives up to rounding).
const TABLES = [0, 1, 2].map((c) =>
  Float32Array.from({ length: 256 }, (_, v) => (v / 255 - CLIP_MEAN[c]) / CLIP_STD[c])
);

/**
 * Normalises frames into a CHW batch buffer.
 * @param src frames, (n, size, size, 3) uint8
 * @param srcFrame index of the first frame to take from `src`
 * @param count how many frames
 * @param size frame side
 * @param dst the batch, (B, 3, size, size) float32
 * @param dstFrame index of the first slot to fill in `dst`
 */
export function normalizeFrames(
  src: Uint8Array,
  srcFrame: number,
  count: number,
  size: number,
  dst: Float32Array,
  dstFrame: number,
): void {
  const plane = size * size;
  const [t0, t1, t2] = TABLES;
  for (let f = 0; f < count; f++) {
    let s = (srcFrame + f) * plane * 3;
    const d = (dstFrame + f) * plane * 3;
    for (let p = 0; p < plane; p++, s += 3) {
      dst[d + p] = t0[src[s]];
      dst[d + plane + p] = t1[src[s + 1]];
      dst[d + 2 * plane + p] = t2[src[s + 2]];
    }
  }
}
