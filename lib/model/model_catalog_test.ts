import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { writeFixtureCheckpoint } from "../../fixtures/clip_checkpoints.ts";
import { textParameterCount, visionParameterCount } from "../onnx/mod.ts";
import type { HubSettings } from "./hub_settings.ts";
import { listCachedModels, modelInfo } from "./model_catalog.ts";
import { builtEncoderFile, ENCODER_CACHE_KEY_COVERS, encoderCacheKey } from "./model_store.ts";

const COMMIT_A = "1".repeat(40);
const COMMIT_B = "2".repeat(40);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kinembed-catalog-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function hubAt(cacheDir: string): HubSettings {
  return { endpoint: "http://127.0.0.1:9", token: null, cacheDir, offline: true };
}

/** The sha256 of a file, computed by Python. */
async function pythonSha256(path: string): Promise<string> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
      path,
    ],
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("modelInfo describes a local checkpoint: sha256, architecture, parameters, built encoders", async () => {
  await withDir(async (dir) => {
    const ckpt = join(dir, "ckpt");
    await writeFixtureCheckpoint(ckpt, { layout: "transformers", seed: 3 });
    const built = join(dir, "built");
    const opts = { hub: hubAt(join(dir, "hub")), cacheDir: built };
    const info = await modelInfo(ckpt, opts);
    assertEquals([info.name, info.revision, info.checkpoint, info.requests], [ckpt, null, ckpt, 0]);
    assertEquals(info.sha256, await pythonSha256(join(ckpt, "model.safetensors")));
    assertEquals(info.arch.vision.embedDim, 32);
    assertEquals(info.parameters, {
      vision: visionParameterCount(info.arch.vision),
      text: textParameterCount(info.arch.text),
    });
    assertEquals(info.cacheKey, await encoderCacheKey(info.sha256, info.arch));
    assertEquals(info.cacheKeyCovers, ENCODER_CACHE_KEY_COVERS);
    assertEquals(info.built, {
      "vision-float32": null,
      "vision-fp16-uint8": null,
      "text-float32": null,
    });
    // An encoder present in the cache is listed by its path.
    const path = join(built, info.cacheKey, builtEncoderFile("vision", "float32"));
    await Deno.mkdir(join(built, info.cacheKey), { recursive: true });
    await Deno.writeFile(path, new Uint8Array(1));
    assertEquals((await modelInfo(ckpt, opts)).built["vision-float32"], path);
  });
});

Deno.test("modelInfo refuses an .onnx file: it describes checkpoints and hub models", async () => {
  await assertRejects(
    () => modelInfo("/tmp/encoder.onnx"),
    "is an .onnx file: info describes checkpoints",
  );
});

Deno.test("listCachedModels lists complete hub snapshots and built encoders by model, sorted", async () => {
  await withDir(async (dir) => {
    const hub = join(dir, "hub");
    const snap = (repo: string, commit: string) =>
      join(hub, `models--${repo.replace("/", "--")}`, "snapshots", commit);
    const put = async (path: string) => {
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeTextFile(path, "{}");
    };
    // Both layouts count; a snapshot without its weights does not.
    await put(join(snap("openai/clip-vit-base-patch32", COMMIT_A), "config.json"));
    await put(join(snap("openai/clip-vit-base-patch32", COMMIT_A), "model.safetensors"));
    await put(join(snap("openai/clip-vit-base-patch32", COMMIT_B), "config.json"));
    await put(join(snap("acme/clip-small", COMMIT_B), "open_clip_config.json"));
    await put(join(snap("acme/clip-small", COMMIT_B), "open_clip_model.safetensors"));
    await put(join(snap("acme/partial", COMMIT_A), "config.json"));
    await Deno.mkdir(join(hub, "datasets--acme--videos"), { recursive: true });
    // Built encoders: a current folder (its record names its key), an earlier-layout one, a bare one.
    const built = join(dir, "built");
    await put(join(built, "key1", "vision-float32.onnx"));
    await Deno.writeTextFile(
      join(built, "key1", "model.json"),
      JSON.stringify({ name: "acme/clip-small", cache_key: "key1" }),
    );
    await put(join(built, "oldsha", "vision-float32-b1.onnx"));
    await Deno.writeTextFile(
      join(built, "oldsha", "model.json"),
      JSON.stringify({ name: "acme/clip-small" }),
    );
    await put(join(built, "loose", "text-float32.onnx"));
    await put(join(built, "loose", "notes.txt"));

    const listed = await listCachedModels({ hub: hubAt(hub), cacheDir: built });
    assertEquals(listed, [
      {
        name: "acme/clip-small",
        commits: [COMMIT_B],
        built: [join(built, "key1", "vision-float32.onnx")],
        stale: [join(built, "oldsha", "vision-float32-b1.onnx")],
        known: false,
      },
      {
        name: "loose",
        commits: [],
        built: [],
        stale: [join(built, "loose", "text-float32.onnx")],
        known: false,
      },
      {
        name: "openai/clip-vit-base-patch32",
        commits: [COMMIT_A],
        built: [],
        stale: [],
        known: true,
      },
    ]);
  });
});

Deno.test("listCachedModels with caches that do not exist lists nothing", async () => {
  await withDir(async (dir) => {
    assertEquals(
      await listCachedModels({ hub: hubAt(join(dir, "no-hub")), cacheDir: join(dir, "no-built") }),
      [],
    );
  });
});
