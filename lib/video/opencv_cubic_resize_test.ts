// The clip-video-encode-1.0 preset's cubic resize against OpenCV 4 itself: OpenCV 4.10's
// WebAssembly build (@techstark/opencv-js, a test dependency) runs cv.resize(INTER_CUBIC) on the
// same pixels at several scales (2× decimation, the preset's short side to 224, upscaling, odd
// sizes, 1 and 3 channels).
import cvModule from "@techstark/opencv-js";
import { mulberry32 } from "../base/mod.ts";
import { resizeCubicOpenCv } from "./opencv_cubic_resize.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

/** The subset of OpenCV.js this test calls. */
interface Mat {
  data: Uint8Array;
  delete(): void;
}
interface OpenCv {
  Mat: new () => Mat;
  Size: new (w: number, h: number) => unknown;
  CV_8UC1: number;
  CV_8UC3: number;
  INTER_CUBIC: number;
  matFromArray(rows: number, cols: number, type: number, data: ArrayLike<number>): Mat;
  resize(src: Mat, dst: Mat, size: unknown, fx: number, fy: number, interpolation: number): void;
  getBuildInformation(): string;
}

/**
 * OpenCV.js once its WebAssembly is compiled. The module is thenable (Emscripten's `then` hands
 * back the module itself), so a promise must never resolve to it (that adopts it again and again,
 * forever): it travels wrapped, and readiness is polled.
 */
async function loadOpenCv(): Promise<{ cv: OpenCv }> {
  const cv = cvModule as unknown as OpenCv;
  const deadline = Date.now() + 120_000;
  while (typeof cv.Mat !== "function") {
    if (Date.now() > deadline) throw new Error("OpenCV.js did not initialise in 120 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { cv };
}

/** A smooth image with noise and hard edges (values reach 0 and 255, so saturation shows). */
function testImage(w: number, h: number, channels: number, seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  const img = new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        const edge = (x >> 4) % 2 === (y >> 4) % 2 ? 60 : -60;
        const v = 128 + 90 * Math.sin(x / 7 + c) * Math.cos(y / 11) + edge + 50 * (rnd() - 0.5);
        img[(y * w + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return img;
}

const CASES: [number, number, number, number, number][] = [
  // [width, height, channels, dstWidth, dstHeight]
  [448, 448, 3, 224, 224], // 2× decimation
  [320, 240, 3, 299, 224], // short side to 224 (the preset on 4:3)
  [640, 360, 3, 398, 224], // 16:9
  [1280, 720, 3, 398, 224], // 1/3.2
  [400, 300, 1, 299, 224],
  [160, 120, 3, 299, 224], // upscaling
  [97, 61, 3, 224, 141], // odd sizes, upscaling
];

Deno.test("clip-video-encode-1.0 cubic resize: bit-exact with OpenCV 4.10's INTER_CUBIC (scalar build)", async () => {
  const { cv } = await loadOpenCv();
  assert(cv.getBuildInformation().includes("OpenCV 4.10"), "the reference is OpenCV 4.10");
  const figures: string[] = [];
  for (const [w, h, ch, dw, dh] of CASES) {
    const src = testImage(w, h, ch, w * 31 + h);
    const m = cv.matFromArray(h, w, ch === 3 ? cv.CV_8UC3 : cv.CV_8UC1, src);
    const out = new cv.Mat();
    try {
      cv.resize(m, out, new cv.Size(dw, dh), 0, 0, cv.INTER_CUBIC);
      const ref = Uint8Array.from(out.data);
      assertEquals(ref.length, dw * dh * ch);
      // the same arithmetic as OpenCV 4's scalar path: identical, value for value
      const exact = resizeCubicOpenCv(src, w, h, ch, dw, dh, { vertical: "fixed-point" });
      let mismatches = 0;
      for (let i = 0; i < ref.length; i++) if (exact[i] !== ref[i]) mismatches++;
      assertEquals(mismatches, 0, `${w}x${h}x${ch} → ${dw}x${dh}: ${mismatches} values differ`);
      // the preset's float32 vertical pass (OpenCV 4's x86 SIMD builds): off by one at most, rarely
      const simd = resizeCubicOpenCv(src, w, h, ch, dw, dh);
      let off = 0, max = 0;
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(simd[i] - ref[i]);
        if (d > 0) off++;
        max = Math.max(max, d);
      }
      assert(max <= 1, `${w}x${h} → ${dw}x${dh}: float32 pass off by ${max}`);
      assert(off / ref.length <= 0.001, `${w}x${h} → ${dw}x${dh}: ${off} values off by one`);
      figures.push(`${w}x${h}x${ch}→${dw}x${dh}: ${off}/${ref.length}`);
    } finally {
      m.delete();
      out.delete();
    }
  }
  console.log(
    `float32 vertical pass vs OpenCV 4.10 scalar, values off by one: ${figures.join(", ")}`,
  );
});
