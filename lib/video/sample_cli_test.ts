import { join } from "node:path";
import { taskFile } from "../../tests/support/tasks.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { lavfiVideo, tempDir, workWithVideos } from "../../tests/support/media.ts";
import { readNpy } from "../base/mod.ts";
import { Manifest } from "../core/mod.ts";

Deno.test("sample CLI: --preset and --fps reach the frames and the config; other settings on that work dir are refused", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    // 0x3366CC: R 0x33, G 0x66, B 0xCC; 2 s at 10 fps
    const path = await lavfiVideo(join(dir, "c.mp4"), "color=0x3366CC:s=250x227:r=10:d=2", [
      "-pix_fmt",
      "yuv444p",
      "-qp",
      "0",
    ]);
    await workWithVideos(work, [{ id: "c", path }]);
    const r = await task(
      "sample",
      "--work",
      work,
      "--preset",
      "clip-video-encode-1.0",
      "--fps",
      "2",
      "--quiet",
    );
    assertEquals(r.code, 0, r.stderr);
    const frames = readNpy(await Deno.readFile(join(work, "frames", "c.npy")));
    // 2 s at 2 fps: 4 frames; BGR order
    assertEquals(frames.shape, [4, 224, 224, 3]);
    const px = Array.from((frames.data as Uint8Array).subarray(0, 3));
    assert(px.every((v, i) => Math.abs(v - [0xcc, 0x66, 0x33][i]) <= 2), `BGR pixel ${px}`);
    const m = Manifest.open(join(work, "manifest.db"), { readOnly: true });
    const config = m.config();
    m.close();
    assertEquals([config.fps, config.preset], [2, "clip-video-encode-1.0"]);

    for (
      const [args, key] of [
        [
          ["--fps", "1", "--preset", "clip-video-encode-1.0"],
          "it was made with --fps 2, this run asks for --fps 1",
        ],
        [
          ["--fps", "2"],
          "it was made with --preset clip-video-encode-1.0, this run asks for --preset clip",
        ],
      ] as const
    ) {
      const refused = await task("sample", "--work", work, ...args, "--quiet");
      assertEquals(refused.code, 2, refused.stdout + refused.stderr);
      assert(refused.stderr.includes(`work dir ${work} holds outputs of another configuration`));
      assert(refused.stderr.includes(key), refused.stderr);
    }
    // nothing was lost: the frames are the ones made before
    assertEquals(readNpy(await Deno.readFile(join(work, "frames", "c.npy"))).shape, [
      4,
      224,
      224,
      3,
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("sample CLI: a failed video stays failed on a plain rerun; --retry-failed decodes it again", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const bad = join(dir, "bad.mp4");
    await Deno.writeFile(bad, new Uint8Array(4096).fill(7));
    const good = await lavfiVideo(join(dir, "good.mp4"), "testsrc2=s=320x240:r=25:d=2");
    await workWithVideos(work, [{ id: "bad", path: bad }, { id: "good", path: good }]);
    const first = await task("sample", "--work", work, "--quiet");
    assertEquals(first.code, 1, first.stderr);
    assert(first.stderr.includes("bad: ffmpeg: moov atom not found"), first.stderr);
    // the file is fixed; a plain rerun does not look at it again
    await Deno.copyFile(good, bad);
    const plain = await task("sample", "--work", work, "--quiet");
    assertEquals(plain.code, 1, plain.stderr);
    assert(plain.stdout.includes("sample: 0 videos, 0 frames"), plain.stdout);
    assert(plain.stderr.includes("bad: ffmpeg: moov atom not found"), plain.stderr);
    assert(!(await Deno.stat(join(work, "frames", "bad.npy")).then(() => true, () => false)));
    const retry = await task("sample", "--work", work, "--retry-failed", "--quiet");
    assertEquals(retry.code, 0, retry.stdout + retry.stderr);
    assert(retry.stdout.includes("sample: 1 videos, 2 frames"), retry.stdout);
    assertEquals(readNpy(await Deno.readFile(join(work, "frames", "bad.npy"))).shape[0], 2);
  } finally {
    await cleanup();
  }
});

/** A task file run directly, arguments as a list. */
function task(name: string, ...args: string[]) {
  return taskFile(name, args);
}
