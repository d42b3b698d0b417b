/**
 * `--model` and `--text-model` as hub repo ids, end to end through the real tasks (launcher,
 * least-privilege permissions, subprocesses) against a fake hub on 127.0.0.1 that redirects the
 * weights to a second port: `run` fetches and builds the image encoder, `eval` the text encoder,
 * and a second run sends no request at all. `model info|list` read the same caches.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir } from "./support/media.ts";
import { checkpointFiles, startFakeHub } from "./support/fake_hub.ts";
import { syntheticCard } from "../fixtures/synthetic_work_dir.ts";
import { writeFixtureCheckpoint } from "../fixtures/clip_checkpoints.ts";
import { readNpy } from "../lib/core/mod.ts";
import { readRawSamples } from "../lib/webdataset/mod.ts";
import { resolveModel } from "../lib/model/mod.ts";
import { normalizeFrames } from "../lib/encode/mod.ts";
import { readModel } from "../lib/onnx/mod.ts";
import * as ort from "onnxruntime-node";

async function task(
  name: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("deno", {
    args: ["task", "--quiet", name, ...args],
    cwd: repoPath(),
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("run --model and eval --text-model with a hub repo id: fetched, built, recorded; the rerun sends 0 requests", async () => {
  const { dir, cleanup } = await tempDir();
  const hub = await startFakeHub();
  try {
    const ckpt = join(dir, "ckpt");
    await writeFixtureCheckpoint(ckpt, { layout: "transformers", seed: 9 });
    const commit = await hub.addRepo("test/clip-tiny", await checkpointFiles(ckpt));
    await writeFixtureCheckpoint(join(dir, "other"), { layout: "open_clip", seed: 10 });
    await hub.addRepo("test/clip-other", await checkpointFiles(join(dir, "other")));

    // 2 classes × (2 train + 1 val) one-second videos
    const classes = ["abseiling", "air drumming"];
    const rows = ["path,label,split"];
    for (const [c, label] of classes.entries()) {
      for (const [i, split] of ["train", "train", "val"].entries()) {
        const look = c === 0 ? "testsrc" : "smptebars";
        const p = await lavfiVideo(join(dir, `v${c}${i}.mp4`), `${look}=s=160x120:r=10:d=1`);
        rows.push(`${p},${label},${split}`);
      }
    }
    await Deno.writeTextFile(join(dir, "videos.csv"), rows.join("\n") + "\n");
    await Deno.writeTextFile(join(dir, "classes.txt"), classes.join("\n") + "\n");
    await Deno.writeTextFile(
      join(dir, "card.md"),
      syntheticCard({ train: { samples: 4, tars: 1 }, val: { samples: 2, tars: 1 } }),
    );
    const env = {
      HF_ENDPOINT: hub.url,
      HF_HUB_CACHE: join(dir, "hf", "hub"),
      KINEMBED_MODEL_CACHE: join(dir, "built"),
      KINEMBED_ALLOW_NET: hub.cdnHost,
    };
    const work = join(dir, "work");
    const runArgs = [
      "--work",
      work,
      "--videos",
      join(dir, "videos.csv"),
      "--model",
      "test/clip-tiny",
      "--providers",
      "cpu",
      "--per-shard",
      "10",
      "--card",
      join(dir, "card.md"),
      "--classes",
      join(dir, "classes.txt"),
      "--quiet",
    ];
    const first = await task("run", runArgs, env);
    assertEquals(first.code, 0, first.stdout + first.stderr);
    assert(hub.totalRequests() >= 4, `${hub.totalRequests()} requests`);
    assertEquals(hub.cdn.requests.length, 1);

    // the run config names the model; the shards hold its 32-wide embeddings
    const manifest = JSON.parse(await Deno.readTextFile(join(work, "shards", "manifest.json")));
    assertEquals(manifest.config.model_name, "test/clip-tiny");
    assertEquals(manifest.config.model_revision, commit);
    assertEquals(manifest.config.embed_dim, 32);
    assertEquals(manifest.config.model_variant, "float32");
    assert(/^[0-9a-f]{64}$/.test(manifest.config.model_checkpoint_sha256));
    const samples = await Array.fromAsync(readRawSamples(join(work, "shards", "ds_000000.tar")));
    assertEquals(readNpy(samples[0].members.get("npy")!).shape.at(-1), 32);

    const evalArgs = [
      "--work",
      work,
      "--text-model",
      "test/clip-tiny",
      "--classes",
      join(dir, "classes.txt"),
      "--providers",
      "cpu",
      "--quiet",
    ];
    const before = hub.totalRequests();
    const ev = await task("eval", evalArgs, env);
    assertEquals(ev.code, 0, ev.stdout + ev.stderr);
    // the config and weights were cached by run: the text encoder is built with no request
    assertEquals(hub.totalRequests(), before);
    const report = JSON.parse(await Deno.readTextFile(join(work, "reports", "eval.json")));
    assert(report.zeroShot && report.linearProbe, JSON.stringify(report.notRun));

    // the rerun: nothing to do, and not one request
    const again = await task("run", runArgs, env);
    assertEquals(again.code, 0, again.stdout + again.stderr);
    const evAgain = await task("eval", evalArgs, env);
    assertEquals(evAgain.code, 0, evAgain.stderr);
    assertEquals(hub.totalRequests(), before);

    // another model in the same work dir is refused
    const other = await task("encode", [
      "--work",
      work,
      "--model",
      "test/clip-other",
      "--providers",
      "cpu",
      "--quiet",
    ], env);
    assertEquals(other.code, 2, other.stderr);
    assert(/model/.test(other.stderr), other.stderr);

    // model info and list read the caches, offline
    const info = await task("model", ["info", "test/clip-tiny", "--json"], {
      ...env,
      HF_HUB_OFFLINE: "1",
    });
    assertEquals(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout);
    assertEquals(parsed.arch.vision.width, 64);
    assert(parsed.built["vision-float32"] && parsed.built["text-float32"], info.stdout);
    const list = await task("model", ["list"], env);
    assertEquals(list.code, 0, list.stderr);
    assert(list.stdout.includes("test/clip-tiny: 1 snapshot(s)"), list.stdout);
  } finally {
    await hub.close();
    await cleanup();
  }
});

Deno.test("the fp16 uint8 variant takes raw frames and agrees with the float32 variant fed encode's normalisation", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ckpt = join(dir, "ckpt");
    await writeFixtureCheckpoint(ckpt, { layout: "transformers", seed: 6 });
    const opts = { cacheDir: join(dir, "built") };
    const half = await resolveModel(ckpt, { ...opts, variant: "fp16-uint8" });
    const full = await resolveModel(ckpt, { ...opts, variant: "float32" });
    const halfModel = await readModel(await Deno.readFile(half.path));
    assertEquals(halfModel.inputs, [{
      name: "pixel_values",
      dtype: "uint8",
      dims: ["N", 224, 224, 3],
    }]);
    assertEquals(halfModel.initializers.get("visual.proj")?.dtype, "float16");
    const n = 3;
    let s = 11;
    const frames = Uint8Array.from({ length: n * 224 * 224 * 3 }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s >>> 24;
    });
    const pixels = new Float32Array(n * 3 * 224 * 224);
    normalizeFrames(frames, 0, n, 224, pixels, 0);
    const run = async (path: string, t: ort.Tensor) => {
      const session = await ort.InferenceSession.create(path, { executionProviders: ["cpu"] });
      try {
        return (await session.run({ pixel_values: t })).image_embeds.data as Float32Array;
      } finally {
        await session.release();
      }
    };
    const a = await run(half.path, new ort.Tensor("uint8", frames, [n, 224, 224, 3]));
    const b = await run(full.path, new ort.Tensor("float32", pixels, [n, 3, 224, 224]));
    let diff = 0, scale = 0;
    for (let i = 0; i < b.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    assert(diff / scale <= 1e-2, `fp16 differs by ${diff / scale} relative`);
    assert(diff > 0, "the float16 graph computes in float16");
  } finally {
    await cleanup();
  }
});

Deno.test("model build: both image variants and the text encoder, then cached; a missing checkpoint is named", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ckpt = join(dir, "ckpt");
    await writeFixtureCheckpoint(ckpt, { layout: "open_clip", seed: 3 });
    const env = { KINEMBED_MODEL_CACHE: join(dir, "built") };
    const out = await task("model", ["build", ckpt], env);
    assertEquals(out.code, 0, out.stderr);
    const built = out.stdout.trim().split("\n");
    assertEquals(built.length, 3);
    assert(built.every((l) => l.startsWith("built: ")), out.stdout);
    const again = await task("model", ["build", ckpt], env);
    assert(again.stdout.trim().split("\n").every((l) => l.startsWith("cached: ")), again.stdout);
    const bad = await task("model", ["build", join(dir, "nothing.safetensors")], env);
    assertEquals(bad.code, 2);
    assert(bad.stderr.includes("nothing.safetensors"), bad.stderr);
  } finally {
    await cleanup();
  }
});
