import { join } from "node:path";
import { ensureFixtureModel, ensureFixtureModels } from "../../fixtures/make_models.ts";
import { encode } from "./encode.ts";
import { ConfigError, ConfigMismatchError, float16ToFloat32, readNpy } from "../base/mod.ts";
import { Manifest } from "../core/mod.ts";
import { ImageEncoder } from "../onnx/mod.ts";
import { sample } from "../video/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "../../tests/support/media.ts";
import {
  loadReferenceModel,
  normalizeFramesReference,
  referenceImageEmbeds,
} from "../../tests/support/vit_reference.ts";

const MODELS = repoPath("fixtures", "models");
const DEMO_CLIP = repoPath("fixtures", "kinetics_demo_clip.mp4");

async function sampledWork(dir: string): Promise<string> {
  const work = join(dir, "work");
  const short = await lavfiVideo(join(dir, "short.mp4"), "testsrc2=s=320x240:r=25:d=2.5");
  await workWithVideos(work, [{ id: "clip", path: DEMO_CLIP }, { id: "short", path: short }]);
  await sample({ work, quiet: true });
  return work;
}

Deno.test("encode: the tiny model's embeddings equal an independent forward pass (≤1e-4), batch 3 over 10+3 frames", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const work = await sampledWork(dir);
    const frames = readNpy(await Deno.readFile(join(work, "frames", "clip.npy")));
    const s = await encode({
      work,
      model: vision,
      providers: ["cpu"],
      batch: 3,
      dtype: "float32",
      keepFrames: true,
      quiet: true,
    });
    assertEquals([s.done, s.frames, s.provider], [2, 13, "cpu"]);
    const emb = readNpy(await Deno.readFile(join(work, "emb", "clip.npy")));
    assertEquals([emb.dtype, emb.shape], ["<f4", [10, 512]]);
    const ref = await loadReferenceModel(await Deno.readFile(vision));
    let maxErr = 0;
    for (const f of [0, 4, 9]) {
      const px = (frames.data as Uint8Array).subarray(f * 224 * 224 * 3, (f + 1) * 224 * 224 * 3);
      const want = referenceImageEmbeds(ref, normalizeFramesReference(px, 1), 1);
      for (let j = 0; j < 512; j++) {
        maxErr = Math.max(maxErr, Math.abs(want[j] - (emb.data as Float32Array)[f * 512 + j]));
      }
    }
    assert(maxErr <= 1e-4, `max abs error ${maxErr}`);
  } finally {
    await cleanup();
  }
});

Deno.test("encode: float16 output is the float32 result rounded; rerun does nothing; another model is refused", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const work = await sampledWork(dir);
    const enc = await ImageEncoder.open(vision, { providers: ["cpu"] });
    const frames = readNpy(await Deno.readFile(join(work, "frames", "short.npy")));
    // the expected values come from outside the library: CLIP's normalisation written out
    // (tests/support/vit_reference.ts) and numpy's float32 → float16 rounding
    const x = normalizeFramesReference(frames.data as Uint8Array, 3);
    const direct = await enc.encode(x, 3);
    await enc.release();
    const numpy = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import sys, numpy as np; " +
        "sys.stdout.buffer.write(np.frombuffer(sys.stdin.buffer.read(), '<f4').astype('<f2').tobytes())",
      ],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = numpy.stdin.getWriter();
    await w.write(new Uint8Array(direct.buffer, direct.byteOffset, direct.byteLength));
    await w.close();
    const half = (await numpy.output()).stdout;
    const wantHalf = new Uint16Array(half.buffer, half.byteOffset, half.length / 2);
    let fallback = "";
    const s = await encode({
      work,
      model: vision,
      providers: ["cuda", "cpu"],
      batch: 4,
      quiet: true,
      onFallback: (p, reason) => (fallback = `${p}: ${reason}`),
    });
    assert(fallback.startsWith("cuda: "), `fallback reported: ${fallback}`);
    assertEquals(s.provider, "cpu");
    const emb = readNpy(await Deno.readFile(join(work, "emb", "short.npy")));
    assertEquals([emb.dtype, emb.shape], ["<f2", [3, 512]]);
    assertEquals(wantHalf.length, 3 * 512);
    assertEquals(Array.from(emb.data as Uint16Array), Array.from(wantHalf));
    const back = float16ToFloat32(emb.data as Uint16Array);
    for (let i = 0; i < back.length; i++) {
      assert(Math.abs(back[i] - direct[i]) <= Math.abs(direct[i]) * 1e-3 + 1e-4);
    }
    // frames are dropped after encoding; the manifest says so
    const m = Manifest.open(join(work, "manifest.db"));
    assertEquals(m.videos.get("short")!.steps.sample?.path, null);
    assertEquals(m.config().provider, "cpu");
    m.close();
    await assertRejects(() => Deno.stat(join(work, "frames", "short.npy")));
    const again = await encode({ work, model: vision, providers: ["cpu"], batch: 4, quiet: true });
    assertEquals([again.done, again.alreadyDone], [0, 2]);
    const other = await ensureFixtureModel(MODELS, "vision", "tiny", { seed: 1 });
    const e = await assertRejects(() =>
      encode({ work, model: other.path, providers: ["cpu"], batch: 4, quiet: true })
    );
    assert(e instanceof ConfigMismatchError && e.keys.includes("model_sha256"), String(e));
  } finally {
    await cleanup();
  }
});

Deno.test("encode: a wrong model or a file that is not ONNX is a clear error naming what was expected", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { text } = await ensureFixtureModels(MODELS, "tiny");
    const e1 = await assertRejects(
      () => ImageEncoder.open(text, { providers: ["cpu"] }),
      "no input named pixel_values",
    );
    assert(e1 instanceof ConfigError && e1.message.includes("input_ids int64"), e1.message);
    const junk = join(dir, "junk.onnx");
    await Deno.writeTextFile(junk, "not a model");
    await assertRejects(
      () => ImageEncoder.open(junk, { providers: ["cpu"] }),
      "is not a loadable ONNX model",
    );
    await assertRejects(
      () => ImageEncoder.open(join(dir, "missing.onnx"), { providers: ["cpu"] }),
      "missing.onnx",
    );
  } finally {
    await cleanup();
  }
});
