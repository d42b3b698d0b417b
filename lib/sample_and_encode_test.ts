import { assert, assertEquals } from "../tests/support/assert.ts";
import { join } from "node:path";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { readNpy } from "./base/mod.ts";
import { sample } from "./video/mod.ts";
import { encode } from "./encode/mod.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "../tests/support/media.ts";
import { sampleAndEncode } from "./sample_and_encode.ts";

const MODELS = repoPath("fixtures", "models");
const DEMO_CLIP = repoPath("fixtures", "kinetics_demo_clip.mp4");

/** Files in a folder (none when it does not exist). */
async function names(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test("a video that does not decode is recorded as failed, the others encoded; retried only on request", async () => {
  const { dir, cleanup } = await tempDir("kinembed-stream-");
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const good = await lavfiVideo(join(dir, "good.mp4"), "testsrc2=s=320x240:r=10:d=2");
    const bad = join(dir, "bad.mp4");
    await Deno.writeTextFile(bad, "this is not a video\n");
    const work = join(dir, "work");
    await workWithVideos(work, [{ id: "good", path: good }, { id: "bad", path: bad }]);
    const opts = { work, model: vision, providers: ["cpu" as const], batch: 4, quiet: true };
    const r = await sampleAndEncode(opts);
    assertEquals([r.sample.done, r.encode.done, r.encode.frames], [1, 1, r.sample.frames]);
    assert(r.encode.frames > 0);
    assertEquals(r.sample.failed.map((f) => f.id), ["bad"]);
    assert(r.sample.failed[0].error.length > 0 && !r.sample.failed[0].error.includes("\n"));
    assertEquals(await names(join(work, "emb")), ["good.npy"]);
    const emb = readNpy(await Deno.readFile(join(work, "emb", "good.npy")));
    assertEquals(emb.shape, [r.encode.frames, 512]);
    // Frames are not kept on disk unless asked.
    assertEquals((await names(join(work, "frames"))).filter((n) => n.endsWith(".npy")), []);
    // A rerun has nothing to do (the failure stays recorded); retryFailed decodes it again.
    const again = await sampleAndEncode(opts);
    assertEquals([again.sample.done, again.encode.done, again.encode.alreadyDone], [0, 0, 1]);
    assertEquals(again.sample.failed.map((f) => f.id), ["bad"]);
    const retried = await sampleAndEncode({ ...opts, retryFailed: true });
    assertEquals([retried.sample.done, retried.encode.done], [0, 0]);
    assertEquals(retried.sample.failed.map((f) => f.id), ["bad"]);
  } finally {
    await cleanup();
  }
});

Deno.test("frames a sample step kept are encoded without decoding again, then dropped; keepFrames keeps new ones", async () => {
  const { dir, cleanup } = await tempDir("kinembed-stream-");
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const a = await lavfiVideo(join(dir, "a.mp4"), "testsrc2=s=320x240:r=10:d=2");
    const b = await lavfiVideo(join(dir, "b.mp4"), "testsrc2=s=320x240:r=10:d=3");
    const work = join(dir, "work");
    await workWithVideos(work, [{ id: "a", path: a }]);
    await sample({ work, quiet: true });
    const kept = (await names(join(work, "frames"))).filter((n) => n.endsWith(".npy"));
    assertEquals(kept.length, 1);
    const opts = { work, model: vision, providers: ["cpu" as const], batch: 4, quiet: true };
    const r = await sampleAndEncode(opts);
    // Read from the kept pack: nothing decoded, one video encoded, its pack removed after.
    assertEquals([r.sample.done, r.sample.alreadyDone, r.encode.done], [0, 1, 1]);
    assertEquals((await names(join(work, "frames"))).filter((n) => n.endsWith(".npy")), []);

    await workWithVideos(work, [{ id: "b", path: b }]);
    const k = await sampleAndEncode({ ...opts, keepFrames: true });
    assertEquals([k.sample.done, k.encode.done], [1, 1]);
    const packs = (await names(join(work, "frames"))).filter((n) => n.endsWith(".npy"));
    assertEquals(packs.length, 1);
    const pack = readNpy(await Deno.readFile(join(work, "frames", packs[0])));
    assertEquals(pack.shape[0], k.encode.frames);
    assertEquals(await names(join(work, "emb")), ["a.npy", "b.npy"]);
  } finally {
    await cleanup();
  }
});

Deno.test("run stream: sample → encode overlapped gives the same bytes as the two steps apart", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    await Deno.mkdir(join(dir, "a"));
    const apart = join(dir, "a", "work");
    const short = await lavfiVideo(join(dir, "a", "short.mp4"), "testsrc2=s=320x240:r=25:d=2.5");
    await workWithVideos(apart, [{ id: "clip", path: DEMO_CLIP }, { id: "short", path: short }]);
    await sample({ work: apart, quiet: true });
    await encode({ work: apart, model: vision, providers: ["cpu"], batch: 4, quiet: true });
    await Deno.mkdir(join(dir, "b"));
    const work = join(dir, "b", "work");
    await workWithVideos(work, [
      { id: "clip", path: DEMO_CLIP },
      { id: "short", path: join(dir, "a", "short.mp4") },
    ]);
    const r = await sampleAndEncode({
      work,
      model: vision,
      providers: ["cpu"],
      batch: 4,
      maxFramesInFlight: 8,
      quiet: true,
    });
    assertEquals([r.sample.done, r.encode.done, r.encode.frames], [2, 2, 13]);
    for (const id of ["clip", "short"]) {
      assertEquals(
        await Deno.readFile(join(work, "emb", `${id}.npy`)),
        await Deno.readFile(join(apart, "emb", `${id}.npy`)),
        id,
      );
    }
    const again = await sampleAndEncode({
      work,
      model: vision,
      providers: ["cpu"],
      batch: 4,
      quiet: true,
    });
    assertEquals([again.sample.done, again.encode.done], [0, 0]);
  } finally {
    await cleanup();
  }
});

Deno.test("a removed embedding file is encoded again by the next run, to the same bytes", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const work = join(dir, "work");
    await workWithVideos(work, [{ id: "clip", path: DEMO_CLIP }]);
    const opts = { work, model: vision, providers: ["cpu" as const], batch: 4, quiet: true };
    await sampleAndEncode(opts);
    const emb = join(work, "emb", "clip.npy");
    const before = await Deno.readFile(emb);
    await Deno.remove(emb);
    const again = await sampleAndEncode(opts);
    assertEquals([again.sample.done, again.encode.done], [1, 1]);
    assertEquals(await Deno.readFile(emb), before);
  } finally {
    await cleanup();
  }
});

Deno.test("a kept frames file that is damaged is decoded again by the stream, to the bytes a clean run gives; the run goes on", async () => {
  const { dir, cleanup } = await tempDir("kinembed-stream-");
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const a = await lavfiVideo(join(dir, "a.mp4"), "testsrc2=s=320x240:r=10:d=2");
    const b = await lavfiVideo(join(dir, "b.mp4"), "testsrc2=s=320x240:r=10:d=3");
    const videos = [{ id: "a", path: a }, { id: "b", path: b }];
    const opts = { model: vision, providers: ["cpu" as const], batch: 4, quiet: true };
    const clean = join(dir, "clean");
    await workWithVideos(clean, videos);
    await sampleAndEncode({ ...opts, work: clean });
    const work = join(dir, "work");
    await workWithVideos(work, videos);
    await sample({ work, quiet: true });
    await Deno.writeTextFile(join(work, "frames", "a.npy"), "damaged");
    const r = await sampleAndEncode({ ...opts, work });
    assertEquals([r.sample.done, r.encode.done, r.encode.failed], [1, 2, []]);
    for (const id of ["a", "b"]) {
      assertEquals(
        await Deno.readFile(join(work, "emb", `${id}.npy`)),
        await Deno.readFile(join(clean, "emb", `${id}.npy`)),
        id,
      );
    }
  } finally {
    await cleanup();
  }
});
