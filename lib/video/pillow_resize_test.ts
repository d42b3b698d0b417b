import { assert, assertEquals } from "../../tests/support/assert.ts";
import { byteDiff, pillowResize, pillowVersion } from "../../tests/support/pillow.ts";
import type { PillowCase } from "../../tests/support/pillow.ts";
import { mulberry32 } from "../base/mod.ts";
import { clipGeometry } from "./ffmpeg.ts";
import { PillowResizeStream, resizeBicubicPillow } from "./pillow_resize.ts";

type Texture = (x: number, y: number, c: number, w: number, h: number) => number;

/** Frames that tell kernels apart: noise, one-pixel checks, sharp edges that overshoot, stripes. */
const TEXTURES: Record<string, Texture> = {
  noise: (() => {
    const rnd = mulberry32(7);
    return () => Math.floor(rnd() * 256);
  })(),
  checks: (x, y, c) => ((x + y + c) % 2 ? 255 : 0),
  blocks: (x, y, c) => (((x >> 3) + (y >> 2) + c) % 2 ? 250 : 5),
  edge: (x, _y, c, w) => (x < w / 3 ? 0 : x < (2 * w) / 3 ? 255 : 40 * c),
  stripes: (x, y, c) => Math.round(127.5 + 127.5 * Math.sin((x * 0.9 + y * 0.35) * (c + 1))),
};

function image(t: Texture, w: number, h: number): Uint8Array {
  const a = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) a[(y * w + x) * 3 + c] = t(x, y, c, w, h);
    }
  }
  return a;
}

/** A source size, a resized size and a crop, as the `clip` preset would cut a frame. */
function clipCase(t: Texture, w: number, h: number): PillowCase {
  const g = clipGeometry(w, h);
  return {
    rgb: image(t, w, h),
    width: w,
    height: h,
    dstWidth: g.scaleWidth,
    dstHeight: g.scaleHeight,
    crop: { x: g.cropX, y: g.cropY, width: g.size, height: g.size },
  };
}

function ours(c: PillowCase): Uint8Array {
  return resizeBicubicPillow(c.rgb, c.width, c.height, 3, c.dstWidth, c.dstHeight, c.crop);
}

Deno.test("Pillow bicubic: byte-identical to Pillow on textured frames, shrinking and enlarging, with CLIP's crop", async () => {
  const sizes: [number, number][] = [
    [340, 256], // the real Kinetics clip
    [480, 360],
    [1280, 720],
    [240, 320], // portrait
    [227, 224], // crop offset 1.5 → 2
    [160, 120], // enlarging
    [100, 37], // enlarging ×6
  ];
  const cases: [string, PillowCase][] = [];
  for (const [name, t] of Object.entries(TEXTURES)) {
    for (const [w, h] of sizes) cases.push([`${name} ${w}x${h}`, clipCase(t, w, h)]);
  }
  // odd sizes, one axis only, extreme ratios, no crop
  const plain: [number, number, number, number][] = [
    [7, 5, 3, 2],
    [50, 40, 13, 40],
    [50, 40, 50, 17],
    [3, 3, 224, 224],
    [1000, 3, 5, 1],
    [33, 65, 64, 31],
  ];
  for (const [w, h, dw, dh] of plain) {
    cases.push([`noise ${w}x${h}→${dw}x${dh}`, {
      rgb: image(TEXTURES.noise, w, h),
      width: w,
      height: h,
      dstWidth: dw,
      dstHeight: dh,
    }]);
  }
  const want = await pillowResize(cases.map(([, c]) => c));
  const version = await pillowVersion();
  for (const [i, [name, c]] of cases.entries()) {
    const d = byteDiff(ours(c), want[i]);
    assertEquals(d.differing, 0, `${name}: ${JSON.stringify(d)} against Pillow ${version}`);
  }
});

Deno.test("Pillow bicubic: a crop window gives the same bytes as resizing all and cropping", () => {
  const src = image(TEXTURES.noise, 90, 70);
  const all = resizeBicubicPillow(src, 90, 70, 3, 41, 53);
  const win = resizeBicubicPillow(src, 90, 70, 3, 41, 53, { x: 5, y: 9, width: 30, height: 20 });
  for (let y = 0; y < 20; y++) {
    const from = ((y + 9) * 41 + 5) * 3;
    assertEquals(win.subarray(y * 90, (y + 1) * 90), all.subarray(from, from + 90), `row ${y}`);
  }
});

Deno.test("Pillow bicubic: constant stays constant, same size is the identity, a bad window is refused", () => {
  const flat = new Uint8Array(40 * 30 * 3).fill(77);
  assert(resizeBicubicPillow(flat, 40, 30, 3, 17, 11).every((v) => v === 77));
  assert(resizeBicubicPillow(flat, 40, 30, 3, 170, 110).every((v) => v === 77));
  const noise = image(TEXTURES.noise, 20, 10);
  assertEquals(resizeBicubicPillow(noise, 20, 10, 3, 20, 10), noise);
  let err = "";
  try {
    resizeBicubicPillow(noise, 20, 10, 3, 8, 8, { x: 4, y: 0, width: 5, height: 8 });
  } catch (e) {
    err = String(e);
  }
  assert(err.includes("window 5x8+4+0 outside 8x8"), err);
});

Deno.test("PillowResizeStream: written in pieces of any size, the bytes are resizeBicubicPillow's", () => {
  const [w, h] = [97, 61];
  const src = new Uint8Array(w * h * 3).map((_, i) => (i * 7919 + (i >> 5)) % 256);
  const cases: [number, number, { x: number; y: number; width: number; height: number }?][] = [
    [40, 25, { x: 3, y: 2, width: 30, height: 20 }],
    [w, 30],
    [50, h, { x: 10, y: 5, width: 20, height: 40 }],
    [150, 90],
  ];
  for (const [dw, dh, win] of cases) {
    const whole = resizeBicubicPillow(src, w, h, 3, dw, dh, win);
    for (const piece of [1, 7, w * 3 - 1, w * 3, w * 3 + 5, 4096, src.length]) {
      const stream = new PillowResizeStream(w, h, 3, dw, dh, win);
      for (let at = 0; at < src.length; at += piece) stream.write(src.subarray(at, at + piece));
      assertEquals(stream.end(), whole, `${dw}x${dh} in pieces of ${piece}`);
    }
  }
});

Deno.test("PillowResizeStream: an image cut short or too long is refused", () => {
  const stream = new PillowResizeStream(4, 4, 3, 2, 2);
  stream.write(new Uint8Array(4 * 3 * 3 + 5));
  let error = "";
  try {
    stream.end();
  } catch (e) {
    error = (e as Error).message;
  }
  assertEquals(error, "41 bytes is not 4x4x3");
  let over = "";
  try {
    new PillowResizeStream(4, 4, 3, 2, 2).write(new Uint8Array(4 * 5 * 3));
  } catch (e) {
    over = (e as Error).message;
  }
  assertEquals(over, "more than 4x4x3 bytes");
});
