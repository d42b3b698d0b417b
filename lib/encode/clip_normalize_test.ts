import { join } from "node:path";
import { mulberry32 } from "../base/mod.ts";
import { normalizeFrames } from "./clip_normalize.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { runPython } from "../../tests/support/python.ts";

// numpy's view of CLIP's preprocessing on uint8 HWC frames: transpose to CHW, then
// (x/255 − mean)/std computed in float64 and rounded to float32 once (float64.npy), and the same
// formula in float32 arithmetic as torchvision's ToTensor + Normalize does it (float32.npy)
const PY_NORMALIZE = `
import sys, numpy as np
d = sys.argv[1]
n, size = int(sys.argv[2]), int(sys.argv[3])
frames = np.fromfile(d + "/frames.u8", np.uint8).reshape(n, size, size, 3).transpose(0, 3, 1, 2)
mean = np.array([0.48145466, 0.4578275, 0.40821073]).reshape(1, 3, 1, 1)
std = np.array([0.26862954, 0.26130258, 0.27577711]).reshape(1, 3, 1, 1)
((frames / 255.0 - mean) / std).astype("<f4").tofile(d + "/float64.f4")
x = frames.astype(np.float32) / np.float32(255)
((x - mean.astype(np.float32)) / std.astype(np.float32)).astype("<f4").tofile(d + "/float32.f4")
`;

Deno.test("clip normalize: CHW values equal numpy's float64 formula rounded once; float32 arithmetic within 1e-6", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const n = 3, size = 16; // 768 pixels a frame: every byte value in every channel shows up
    const rand = mulberry32(4);
    const frames = Uint8Array.from(
      { length: n * size * size * 3 },
      (_, i) => i < 768 ? i % 256 : Math.floor(rand() * 256),
    );
    await Deno.writeFile(join(dir, "frames.u8"), frames);
    await runPython(PY_NORMALIZE, [dir, String(n), String(size)]);
    const exact = new Float32Array((await Deno.readFile(join(dir, "float64.f4"))).buffer);
    const f32 = new Float32Array((await Deno.readFile(join(dir, "float32.f4"))).buffer);
    const ours = new Float32Array(n * 3 * size * size);
    normalizeFrames(frames, 0, n, size, ours, 0);
    assertEquals(ours, exact);
    // float32 arithmetic rounds x/255 and x − mean apart (about 6e-8 each, over std ≈ 0.26)
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - f32[i]));
    assert(worst > 0 && worst < 1e-6, `${worst} from torchvision-style float32 arithmetic`);
    // the extremes: R of byte 0 (pixel 0), G of byte 255 (pixel 170: byte 3·170 + 1 = 511 ≡ 255)
    assertEquals(ours[0], Math.fround((0 - 0.48145466) / 0.26862954));
    assertEquals(
      ours[size * size + 170],
      Math.fround((1 - 0.4578275) / 0.26130258),
      "G of byte 255",
    );
  } finally {
    await cleanup();
  }
});

Deno.test("clip normalize: frames go to the slots asked for and nothing else is written", () => {
  const size = 2, plane = size * size;
  // 4 frames, frame f's pixel p has R=10f+p, G=100+10f+p, B=200+10f+p
  const src = Uint8Array.from({ length: 4 * plane * 3 }, (_, i) => {
    const f = Math.floor(i / (plane * 3)), p = Math.floor(i / 3) % plane, c = i % 3;
    return 100 * c + 10 * f + p;
  });
  const dst = new Float32Array(5 * 3 * plane).fill(-99);
  normalizeFrames(src, 1, 2, size, dst, 3); // frames 1 and 2 into batch slots 3 and 4
  const whole = new Float32Array(4 * 3 * plane);
  normalizeFrames(src, 0, 4, size, whole, 0);
  assert(dst.subarray(0, 3 * 3 * plane).every((v) => v === -99), "slots 0..2 untouched");
  assertEquals(dst.subarray(3 * 3 * plane), whole.subarray(1 * 3 * plane, 3 * 3 * plane));
  // CHW: slot 3's green plane holds frame 1's green bytes 110..113
  const g = dst.subarray(3 * 3 * plane + plane, 3 * 3 * plane + 2 * plane);
  assertEquals(
    Array.from(g),
    [110, 111, 112, 113].map((v) => Math.fround((v / 255 - 0.4578275) / 0.26130258)),
  );
  normalizeFrames(src, 0, 0, size, dst, 0);
  assert(dst.subarray(0, 3 * plane).every((v) => v === -99), "count 0 writes nothing");
});
