import { assert, assertEquals } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { InterruptedError, readNpy } from "../base/mod.ts";
import { Manifest } from "../core/mod.ts";
import { sample } from "./sample.ts";
import { clipGeometry, decodeFrames, probeVideo } from "./ffmpeg.ts";
import {
  ffmpegRun,
  lavfiVideo,
  repoPath,
  tempDir,
  workWithVideos,
} from "../../tests/support/media.ts";

const DEMO_CLIP = repoPath("fixtures", "kinetics_demo_clip.mp4");

function pixel(data: Uint8Array, frame: number, y: number, x: number): number[] {
  const o = ((frame * 224 + y) * 224 + x) * 3;
  return [data[o], data[o + 1], data[o + 2]];
}

function near(a: number[], b: number[], tol: number): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) <= tol);
}

Deno.test("the real Kinetics clip (10.0 s, 28 fps) gives 10 frames of 224x224", async () => {
  const p = await probeVideo(DEMO_CLIP, "demo");
  assertEquals([p.width, p.height, p.frameRate, p.duration], [340, 256, 28, 10]);
  const f = await decodeFrames(DEMO_CLIP, "demo");
  assertEquals([f.count, f.size, f.data.length], [10, 224, 10 * 224 * 224 * 3]);
});

Deno.test("geometry: short side to 224, long side truncated, crop centred half-to-even", () => {
  assertEquals(clipGeometry(340, 256), {
    scaleWidth: 297,
    scaleHeight: 224,
    cropX: 36,
    cropY: 0,
    size: 224,
  });
  assertEquals(clipGeometry(240, 320), {
    scaleWidth: 224,
    scaleHeight: 298,
    cropX: 0,
    cropY: 37,
    size: 224,
  });
  // (227-224)/2 = 1.5 rounds to 2 (half to even), the 1.0 preset floors to 1
  assertEquals(clipGeometry(227, 224).cropX, 2);
  assertEquals(clipGeometry(227, 224, "clip-video-encode-1.0").cropX, 1);
});

Deno.test("frame counts follow the timestamp rule: ceil(duration·fps), first frame for short videos", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const cases: [string, string[], number][] = [
      ["color=red:s=320x240:r=25:d=0.5", [], 1],
      ["testsrc2=s=320x240:r=30000/1001:d=3.2", [], 4],
      ["testsrc2=s=320x240:r=60:d=12", [], 12],
      ["testsrc2=s=240x320:r=25:d=2", ["-r", "25"], 2],
    ];
    for (const [i, [graph, extra, want]] of cases.entries()) {
      const path = await lavfiVideo(join(dir, `v${i}.mp4`), graph, extra);
      const f = await decodeFrames(path, `v${i}`);
      assertEquals(f.count, want, graph);
    }
    // variable frame rate: 1 s at 30 fps then 4 s at 15 fps = 5 s -> 5 frames
    const vfr = join(dir, "vfr.mp4");
    await ffmpegRun([
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=320x240:r=30:d=3",
      "-vf",
      "setpts='if(lt(N,30),N/30,1+(N-30)/15)/TB'",
      "-fps_mode",
      "vfr",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      vfr,
    ]);
    assertEquals((await decodeFrames(vfr, "vfr")).count, 5);
    // at 2 fps a 3.2 s video gives ceil(6.4) = 7 frames
    assertEquals((await decodeFrames(join(dir, "v1.mp4"), "v1", { fps: 2 })).count, 7);
  } finally {
    await cleanup();
  }
});

Deno.test("a solid colour comes out as that colour (±2); the crop is centred; portrait and rotated come out upright", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const solid = await lavfiVideo(join(dir, "solid.mp4"), "color=0x3366CC:s=320x240:r=10:d=1", [
      "-pix_fmt",
      "yuv444p",
      "-qp",
      "0",
    ]);
    const s = await decodeFrames(solid, "solid");
    for (const [y, x] of [[0, 0], [112, 112], [223, 223]]) {
      assert(
        near(pixel(s.data, 0, y, x), [0x33, 0x66, 0xcc], 2),
        `pixel ${pixel(s.data, 0, y, x)}`,
      );
    }
    // three vertical bands red | green | blue, 672x224: only the green middle survives a centred crop
    const bands = await lavfiVideo(
      join(dir, "bands.mp4"),
      "color=red:s=224x224:r=10:d=1[a];color=lime:s=224x224:r=10:d=1[b];color=blue:s=224x224:r=10:d=1[c];[a][b][c]hstack=3",
      ["-pix_fmt", "yuv444p", "-qp", "0"],
    );
    const b = await decodeFrames(bands, "bands");
    for (const x of [2, 112, 221]) assert(near(pixel(b.data, 0, 112, x), [0, 255, 0], 3), `x=${x}`);
    // portrait 224x448, red above blue: the centre crop holds red on top, blue below
    const portrait = await lavfiVideo(
      join(dir, "portrait.mp4"),
      "color=red:s=224x224:r=10:d=1[a];color=blue:s=224x224:r=10:d=1[b];[a][b]vstack",
      ["-pix_fmt", "yuv444p", "-qp", "0"],
    );
    const p = await decodeFrames(portrait, "portrait");
    assert(near(pixel(p.data, 0, 10, 112), [255, 0, 0], 3));
    assert(near(pixel(p.data, 0, 213, 112), [0, 0, 255], 3));
    // the same picture stored sideways with a rotation tag comes out as the portrait
    const sideways = join(dir, "sideways.mp4"), rotated = join(dir, "rotated.mp4");
    await ffmpegRun([
      "-i",
      portrait,
      "-vf",
      "transpose=2",
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv444p",
      "-qp",
      "0",
      sideways,
    ]);
    await ffmpegRun(["-i", sideways, "-c", "copy", "-metadata:s:v:0", "rotate=270", rotated]);
    assertEquals((await probeVideo(rotated, "r")).rotation % 180, 90);
    const r = await decodeFrames(rotated, "rotated");
    assert(near(pixel(r.data, 0, 10, 112), [255, 0, 0], 3), `top ${pixel(r.data, 0, 10, 112)}`);
    assert(
      near(pixel(r.data, 0, 213, 112), [0, 0, 255], 3),
      `bottom ${pixel(r.data, 0, 213, 112)}`,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("sample step: frames/<id>.npy for good videos, failures named for bad ones, rerun does nothing", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const good = await lavfiVideo(join(dir, "good.mp4"), "testsrc2=s=320x240:r=25:d=3");
    const empty = join(dir, "empty.mp4");
    await Deno.writeFile(empty, new Uint8Array());
    const junk = join(dir, "junk.mp4");
    await Deno.writeFile(junk, crypto.getRandomValues(new Uint8Array(5000)));
    const audio = join(dir, "audio.m4a");
    await ffmpegRun(["-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", audio]);
    await workWithVideos(work, [
      { id: "good", path: good },
      { id: "empty", path: empty },
      { id: "junk", path: junk },
      { id: "audio", path: audio },
    ]);
    const s = await sample({ work, jobs: 2, quiet: true });
    assertEquals(s.done, 1);
    assertEquals(s.frames, 3);
    assertEquals(s.failed.map((f) => f.id), ["audio", "empty", "junk"]);
    assert(s.failed.find((f) => f.id === "audio")!.error.includes("no video stream"));
    for (const f of s.failed) assert(f.error.length > 5, f.error);
    const arr = readNpy(await Deno.readFile(join(work, "frames", "good.npy")));
    assertEquals([arr.dtype, arr.shape], ["<u1", [3, 224, 224, 3]]);
    const again = await sample({ work, quiet: true });
    assertEquals([again.done, again.alreadyDone], [0, 1]);
    const m = Manifest.open(join(work, "manifest.db"));
    assertEquals(m.steps.counts("sample"), { pending: 0, done: 1, failed: 3 });
    assertEquals(m.config().fps, 1);
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("OpenCV cubic resize: constant stays constant, same size is the identity, a ramp stays monotone", async () => {
  const { resizeCubicOpenCv } = await import("./opencv_cubic_resize.ts");
  const flat = new Uint8Array(40 * 30 * 3).fill(77);
  assert(resizeCubicOpenCv(flat, 40, 30, 3, 17, 11).every((v) => v === 77));
  const noise = Uint8Array.from({ length: 20 * 10 * 3 }, (_, i) => (i * 37) % 256);
  assertEquals(resizeCubicOpenCv(noise, 20, 10, 3, 20, 10), noise);
  const ramp = Uint8Array.from({ length: 64 }, (_, i) => i * 4);
  const r = resizeCubicOpenCv(ramp, 64, 1, 1, 16, 1);
  for (let i = 1; i < r.length; i++) assert(r[i] > r[i - 1], `ramp ${r}`);
});

Deno.test("preset clip-video-encode-1.0: BGR order, OpenCV-style resize, floor crop", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = await lavfiVideo(join(dir, "c.mp4"), "color=0x3366CC:s=227x250:r=10:d=1", [
      "-pix_fmt",
      "yuv444p",
      "-qp",
      "0",
    ]);
    const q = await decodeFrames(path, "c", { preset: "clip-video-encode-1.0" });
    assertEquals(q.count, 1);
    assert(
      near(pixel(q.data, 0, 100, 100), [0xcc, 0x66, 0x33], 2),
      `BGR ${pixel(q.data, 0, 100, 100)}`,
    );
    const c = await decodeFrames(path, "c");
    assert(
      near(pixel(c.data, 0, 100, 100), [0x33, 0x66, 0xcc], 2),
      `RGB ${pixel(c.data, 0, 100, 100)}`,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("sample step: a decoder stopped by a signal (a scheduler's requeue, Ctrl-C) leaves the video pending, not failed", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const good = await lavfiVideo(join(dir, "good.mp4"), "testsrc2=s=320x240:r=25:d=2");
    await workWithVideos(work, [{ id: "good", path: good }]);
    // answers -version as ffmpeg does, then is stopped by SIGTERM when asked to decode
    const stopped = join(dir, "ffmpeg-stopped");
    await Deno.writeTextFile(
      stopped,
      `#!/bin/sh\ncase " $* " in *" -version "*) exec ffmpeg -version ;; esac\nkill -TERM $$\n`,
    );
    await Deno.chmod(stopped, 0o755);
    let thrown: unknown;
    try {
      await sample({ work, ffmpeg: stopped, quiet: true });
    } catch (e) {
      thrown = e;
    }
    assert(thrown instanceof InterruptedError, String(thrown));
    assert((thrown as Error).message.includes("stays pending"), (thrown as Error).message);
    const m = Manifest.open(join(work, "manifest.db"));
    assertEquals(m.steps.counts("sample"), { pending: 1, done: 0, failed: 0 });
    m.close();
  } finally {
    await cleanup();
  }
});
