import { join } from "node:path";
import { decodeFrames } from "./ffmpeg.ts";
import { assertEquals } from "../../tests/support/assert.ts";
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
