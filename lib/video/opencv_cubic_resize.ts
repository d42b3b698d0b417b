/**
 * OpenCV 4's `cv2.resize(..., interpolation=INTER_CUBIC)` for 8-bit images, computed the way its
 * code does: Keys cubic with a = −0.75 sampled at `(d + 0.5)·scale − 0.5`, no low-pass filter when
 * shrinking, edge pixels replicated, 11-bit fixed-point weights for the horizontal pass into
 * integers, then the vertical pass. OpenCV 4 has two vertical passes for 8-bit output: its x86
 * SIMD builds (`VResizeCubicVec_32s8u`) run it in float32, rounded half to even and saturated (the
 * default here: the `clip-video-encode-1.0` preset uses it to reproduce how the published
 * CLIP-Kinetics700 frames, made with opencv-python on x86 in 2022, were resized); scalar builds
 * (such as OpenCV 4.10's WebAssembly build, `@techstark/opencv-js`) sum the fixed-point products in
 * integers and round by shifting. With `vertical: "fixed-point"` this module matches OpenCV 4.10's
 * scalar build bit for bit at every scale tested (`opencv_cubic_resize_test.ts`); the float pass
 * differs from it by one in at most 0.1% of values. OpenCV 5.0 dropped the fixed-point horizontal
 * weights: against it 2–3% of values differ by one.
 * @module
 */

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;
const A = -0.75;

/** Rounds half to even, as OpenCV's `cvRound` does under the default FP mode. */
function cvRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The four fixed-point weights and the first source index for each destination index. */
function cubicTaps(srcLen: number, dstLen: number): { start: Int32Array; weights: Int32Array } {
  const scale = srcLen / dstLen;
  const start = new Int32Array(dstLen);
  const weights = new Int32Array(dstLen * 4);
  const c = new Float32Array(4);
  for (let d = 0; d < dstLen; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    const s = Math.floor(f);
    const x = Math.fround(f - s);
    // OpenCV's interpolateCubic, in float32 as there
    c[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    c[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    c[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    c[3] = 1 - c[0] - c[1] - c[2];
    start[d] = s - 1;
    for (let k = 0; k < 4; k++) weights[d * 4 + k] = cvRound(c[k] * COEF_SCALE);
  }
  return { start, weights };
}

/**
 * Resizes an interleaved 8-bit image.
 * @param src pixels, (height, width, channels) C order
 * @param width source width
 * @param height source height
 * @param channels channels per pixel
 * @param dstWidth output width
 * @param dstHeight output height
 * @param opts `vertical`: `float32` (default; OpenCV 4's x86 SIMD builds) or `fixed-point`
 *   (OpenCV 4's scalar builds)
 * @returns the resized pixels, (dstHeight, dstWidth, channels)
 */
export function resizeCubicOpenCv(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  dstWidth: number,
  dstHeight: number,
  opts: { vertical?: "float32" | "fixed-point" } = {},
): Uint8Array {
  const h = cubicTaps(width, dstWidth);
  const v = cubicTaps(height, dstHeight);
  const rowLen = dstWidth * channels;
  // horizontal pass over every source row (integers, as OpenCV's HResizeCubic)
  const rows = new Int32Array(height * rowLen);
  for (let y = 0; y < height; y++) {
    const srow = y * width * channels;
    const drow = y * rowLen;
    for (let d = 0; d < dstWidth; d++) {
      const s0 = h.start[d];
      for (let ch = 0; ch < channels; ch++) {
        let acc = 0;
        for (let k = 0; k < 4; k++) {
          const sx = Math.min(width - 1, Math.max(0, s0 + k));
          acc += src[srow + sx * channels + ch] * h.weights[d * 4 + k];
        }
        rows[drow + d * channels + ch] = acc;
      }
    }
  }
  const out = new Uint8Array(dstHeight * rowLen);
  if (opts.vertical === "fixed-point") {
    // OpenCV 4's scalar VResizeCubic: integer products, (sum + 2^21) >> 22, saturated
    for (let d = 0; d < dstHeight; d++) {
      const s0 = v.start[d];
      const r = [0, 1, 2, 3].map((k) => Math.min(height - 1, Math.max(0, s0 + k)) * rowLen);
      const b = [0, 1, 2, 3].map((k) => v.weights[d * 4 + k]);
      for (let i = 0; i < rowLen; i++) {
        const acc = rows[r[0] + i] * b[0] + rows[r[1] + i] * b[1] + rows[r[2] + i] * b[2] +
          rows[r[3] + i] * b[3];
        const val = Math.floor((acc + (1 << 21)) / (1 << 22));
        out[d * rowLen + i] = val < 0 ? 0 : val > 255 ? 255 : val;
      }
    }
    return out;
  }
  // vertical pass in float32 (OpenCV 4's vectorised VResizeCubicVec_32s8u): weights scaled by
  // 2^-22, S0·b0 + (S1·b1 + (S2·b2 + S3·b3)) with fused multiply-adds, rounded half to even,
  // saturated
  const scale = Math.fround(1 / (COEF_SCALE * COEF_SCALE));
  const f = Math.fround;
  for (let d = 0; d < dstHeight; d++) {
    const s0 = v.start[d];
    const r = [0, 1, 2, 3].map((k) => Math.min(height - 1, Math.max(0, s0 + k)) * rowLen);
    const b = [0, 1, 2, 3].map((k) => f(v.weights[d * 4 + k] * scale));
    for (let i = 0; i < rowLen; i++) {
      let acc = f(rows[r[3] + i] * b[3]);
      acc = f(rows[r[2] + i] * b[2] + acc);
      acc = f(rows[r[1] + i] * b[1] + acc);
      acc = f(rows[r[0] + i] * b[0] + acc);
      const val = cvRound(acc);
      out[d * rowLen + i] = val < 0 ? 0 : val > 255 ? 255 : val;
    }
  }
  return out;
}
