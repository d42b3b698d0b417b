import { join } from "node:path";
import { Buffer } from "node:buffer";
import { decodeFrames } from "./ffmpeg.ts";
import { PRESETS } from "./presets.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { lavfiVideo, tempDir } from "../../tests/support/media.ts";

Deno.test("decodeFrames: good decodes stay good while the event loop is busy (no 'Output stream closed')", async () => {
  const { dir, cleanup } = await tempDir();
  // a busy event loop (encoding on the same thread) must not fail good decodes: through
  // the earlier stream-based decoder it did: its output closed 20 ms before the exit was seen
  const busy = setInterval(() => {
    const t = performance.now();
    while (performance.now() - t < 30) { /* hold the event loop */ }
  }, 5);
  try {
    const clip = await lavfiVideo(join(dir, "c.mp4"), "testsrc2=s=320x240:r=25:d=1");
    const errors: string[] = [];
    const counts = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        decodeFrames(clip, `v${i}`).then((p) => p.count, (e) => {
          errors.push(String(e));
          return 0;
        })),
    );
    assertEquals(errors, []);
    assertEquals(counts, Array(24).fill(1));
  } finally {
    clearInterval(busy);
    await cleanup();
  }
});

Deno.test("decodeFrames with a thumbnail: every preset's frames as without, the middle frame kept", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // 3 s, a rotated portrait clip: rotation and orientation reach both outputs
    const clip = await lavfiVideo(join(dir, "c.mp4"), "testsrc2=s=320x240:r=10:d=3", [
      "-metadata:s:v",
      "rotate=90",
    ]);
    for (const preset of PRESETS) {
      const thumbnail = join(dir, "thumbs", `${preset}.jpg`);
      const plain = await decodeFrames(clip, "c", { preset });
      const both = await decodeFrames(clip, "c", { preset, thumbnail });
      assertEquals(both.count, plain.count, preset);
      assert(Buffer.compare(both.data, plain.data) === 0, `${preset}: frames differ`);
      assertEquals(both.thumbnail, thumbnail);
      assertEquals(plain.thumbnail, undefined);
      const bytes = await Deno.readFile(thumbnail);
      assertEquals([bytes[0], bytes[1], bytes[2]], [0xff, 0xd8, 0xff], `${preset}: a JPEG`);
    }
    // only the kept thumbnails: the per-frame JPEGs' temp folders are gone
    assertEquals(
      [...Deno.readDirSync(join(dir, "thumbs"))].map((e) => e.name).sort(),
      PRESETS.map((p) => `${p}.jpg`).sort(),
    );
  } finally {
    await cleanup();
  }
});
