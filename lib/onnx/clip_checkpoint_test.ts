import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import {
  openClipArchitecture,
  openClipCheckpoint,
  transformersArchitecture,
} from "./clip_checkpoint.ts";
import {
  buildTextModel,
  buildVisionModel,
  textParameterCount,
  visionParameterCount,
} from "./clip_model_builder.ts";
import { encodeSafetensors, SafetensorsFile } from "./safetensors.ts";
import {
  checkpointTensors,
  fixtureClipWeights,
  TINY_CHECKPOINT_TEXT,
  TINY_CHECKPOINT_VISION,
  writeFixtureCheckpoint,
} from "../../fixtures/clip_checkpoints.ts";
import {
  normalizeFramesReference,
  referenceImageEmbeds,
  referenceModelFromWeights,
  referenceTextEmbeds,
} from "../../tests/support/vit_reference.ts";

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  try {
    return (await s.run(feeds))[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

/** max |a − b| / max |b|. */
function relativeError(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

function frames(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n * 224 * 224 * 3 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}

const IDS = (() => {
  const ids = new BigInt64Array(2 * 77);
  ids.set([49406, 320, 22697, 49407].map(BigInt), 0);
  ids.set([49406, 320, 24925, 533, 6765, 320, 4535, 49407].map(BigInt), 77);
  return ids;
})();

/** Builds both towers from a checkpoint and checks them against the reference on its weights. */
async function checkAgainstReference(
  path: string,
  truth: Map<string, { dims: number[]; data: Float32Array }>,
  heads: { vision: number; text: number },
  activation: "quick_gelu" | "gelu",
): Promise<void> {
  const ckpt = await openClipCheckpoint(path);
  try {
    const vision = await buildVisionModel({
      config: ckpt.arch.vision,
      checkpoint: await ckpt.weights("vision", "test"),
    });
    const text = await buildTextModel({
      config: ckpt.arch.text,
      checkpoint: await ckpt.weights("text", "test"),
    });
    const pixels = normalizeFramesReference(frames(2, 5), 2);
    const image = await run(vision.bytes, {
      pixel_values: new ort.Tensor("float32", pixels, [2, 3, 224, 224]),
    });
    const refImage = referenceImageEmbeds(
      referenceModelFromWeights(truth, "vision", heads.vision, activation),
      pixels,
      2,
    );
    const imageErr = relativeError(image, refImage);
    assert(imageErr <= 1e-4, `image embeddings differ by ${imageErr} relative`);
    const txt = await run(text.bytes, { input_ids: new ort.Tensor("int64", IDS, [2, 77]) });
    const refText = referenceTextEmbeds(
      referenceModelFromWeights(truth, "text", heads.text, activation),
      IDS,
      2,
    );
    const textErr = relativeError(txt, refText);
    assert(textErr <= 1e-4, `text embeddings differ by ${textErr} relative`);
    assertEquals(image.length, 2 * TINY_CHECKPOINT_VISION.embedDim);
  } finally {
    ckpt.close();
  }
}

Deno.test("a transformers CLIPModel checkpoint builds into encoders equal to the reference", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await writeFixtureCheckpoint(dir, { layout: "transformers", seed: 1 });
    const ckpt = await openClipCheckpoint(dir);
    assertEquals(ckpt.arch.layout, "transformers");
    assertEquals(ckpt.arch.vision, TINY_CHECKPOINT_VISION);
    assertEquals(ckpt.arch.text, TINY_CHECKPOINT_TEXT);
    ckpt.close();
    await checkAgainstReference(dir, c.truth, { vision: 2, text: 2 }, "quick_gelu");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an open_clip checkpoint with exact GELU and bfloat16 weights equals the reference", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await writeFixtureCheckpoint(dir, {
      layout: "open_clip",
      seed: 2,
      activation: "gelu",
      dtype: "BF16",
    });
    await checkAgainstReference(dir, c.truth, { vision: 2, text: 2 }, "gelu");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bare float16 safetensors file: architecture inferred from its shapes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const vision = { ...TINY_CHECKPOINT_VISION, heads: 1 };
    const text = { ...TINY_CHECKPOINT_TEXT, heads: 1 };
    const c = await writeFixtureCheckpoint(dir, {
      layout: "transformers",
      vision,
      text,
      dtype: "F16",
      bare: true,
    });
    const ckpt = await openClipCheckpoint(c.path);
    assertEquals(ckpt.arch.vision, vision);
    assertEquals(ckpt.arch.text, text);
    assertEquals(ckpt.configPath, null);
    ckpt.close();
    await checkAgainstReference(c.path, c.truth, { vision: 1, text: 1 }, "quick_gelu");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("missing, extra and mis-shaped tensors are named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFixtureCheckpoint(dir, { layout: "transformers" });
    const truth = fixtureClipWeights(TINY_CHECKPOINT_VISION, TINY_CHECKPOINT_TEXT, 0);
    const tensors = checkpointTensors(truth, "transformers", "F32")
      .filter((t) => t.name !== "text_model.encoder.layers.1.mlp.fc2.bias")
      .map((t) =>
        t.name === "visual_projection.weight"
          ? { ...t, shape: [16, 128], data: t.data.subarray(0, 16 * 128) }
          : t
      );
    tensors.push({
      name: "vision_model.extra.weight",
      dtype: "F32",
      shape: [1],
      data: new Float32Array(1),
    });
    await Deno.writeFile(join(dir, "model.safetensors"), encodeSafetensors(tensors));
    const e = await assertRejects(() => openClipCheckpoint(dir), "does not match");
    for (
      const n of [
        "text_model.encoder.layers.1.mlp.fc2.bias",
        "vision_model.extra.weight",
        "visual_projection.weight is [16,128], expected [32,64]",
      ]
    ) assert(e.message.includes(n), `${n} not in: ${e.message}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a truncated checkpoint is caught by its header, never half-read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = await writeFixtureCheckpoint(dir, { layout: "open_clip" });
    const bytes = await Deno.readFile(c.weightsFile);
    await Deno.writeFile(c.weightsFile, bytes.subarray(0, bytes.length - 100));
    await assertRejects(() => openClipCheckpoint(dir), "open_clip_model.safetensors: not a valid");
    await Deno.writeFile(c.weightsFile, bytes.subarray(0, 5));
    await assertRejects(() => SafetensorsFile.open(c.weightsFile), "shorter than the 8-byte");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SigLIP, ResNet and EVA checkpoints are refused by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeFixtureCheckpoint(dir, { layout: "transformers" });
    await Deno.writeTextFile(join(dir, "config.json"), JSON.stringify({ model_type: "siglip" }));
    await assertRejects(() => openClipCheckpoint(dir), 'model_type "siglip" is not supported');
    await Deno.remove(join(dir, "config.json"));
    await Deno.rename(join(dir, "model.safetensors"), join(dir, "open_clip_model.safetensors"));
    const cfg = (vision_cfg: Record<string, unknown>) =>
      JSON.stringify({ model_cfg: { embed_dim: 32, vision_cfg, text_cfg: {} } });
    await Deno.writeTextFile(join(dir, "open_clip_config.json"), cfg({ layers: [3, 4, 6, 3] }));
    await assertRejects(() => openClipCheckpoint(dir), "a ResNet image tower");
    await Deno.writeTextFile(
      join(dir, "open_clip_config.json"),
      cfg({ timm_model_name: "eva02_base_patch16_clip_224" }),
    );
    await assertRejects(() => openClipCheckpoint(dir), "eva02_base_patch16_clip_224");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors round trip of float32, float16 and bfloat16", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const v = Float32Array.of(1, -2.5, 0.1, 65504);
    const path = join(dir, "t.safetensors");
    await Deno.writeFile(
      path,
      encodeSafetensors([
        { name: "a", dtype: "F32", shape: [4], data: v },
        { name: "b", dtype: "F16", shape: [2, 2], data: v },
        { name: "c", dtype: "BF16", shape: [4], data: v },
      ], { format: "pt" }),
    );
    const f = await SafetensorsFile.open(path);
    try {
      assertEquals(f.metadata, { format: "pt" });
      assertEquals([...await f.float32("a")], [...v]);
      assertEquals([...await f.float32("b")], [1, -2.5, Math.fround(0.0999755859375), 65504]);
      assertEquals([...await f.float32("c")], [1, -2.5, 0.10009765625, 65536]);
      assertEquals(f.entries.get("b")?.shape, [2, 2]);
    } finally {
      f.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the released CLIP configs give the published architectures and parameter counts", () => {
  /** The fields of openai/clip-vit-*'s config.json that set the shape (the rest are defaults). */
  const openai = (patch: number, vision: [number, number, number], text: [number, number]) => ({
    architectures: ["CLIPModel"],
    model_type: "clip",
    projection_dim: text[0] === 768 ? 768 : 512,
    text_config: {
      hidden_size: text[0],
      intermediate_size: 4 * text[0],
      num_attention_heads: text[1],
      num_hidden_layers: 12,
      max_position_embeddings: 77,
      vocab_size: 49408,
      hidden_act: "quick_gelu",
    },
    vision_config: {
      hidden_size: vision[0],
      intermediate_size: 4 * vision[0],
      num_attention_heads: vision[1],
      num_hidden_layers: vision[2],
      image_size: 224,
      patch_size: patch,
      hidden_act: "quick_gelu",
    },
  });
  // totals as published, logit_scale (one parameter) included
  for (
    const [name, cfg, total, embed] of [
      ["ViT-B/32", openai(32, [768, 12, 12], [512, 8]), 151_277_313, 512],
      ["ViT-B/16", openai(16, [768, 12, 12], [512, 8]), 149_620_737, 512],
      ["ViT-L/14", openai(14, [1024, 16, 24], [768, 12]), 427_616_513, 768],
    ] as const
  ) {
    const arch = transformersArchitecture(cfg, name);
    assertEquals(arch.vision.embedDim, embed, name);
    assertEquals(
      visionParameterCount(arch.vision) + textParameterCount(arch.text) + 1,
      total,
      name,
    );
  }
  // open_clip: LAION's ViT-B-32 (GELU) and OpenAI's weights in open_clip's layout (quick-GELU)
  const laion = openClipArchitecture({
    model_cfg: {
      embed_dim: 512,
      vision_cfg: { image_size: 224, layers: 12, width: 768, patch_size: 32 },
      text_cfg: { context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12 },
    },
  }, "laion");
  assertEquals(laion.visionActivation, "gelu");
  assertEquals(laion.vision.heads, 12);
  assertEquals(
    visionParameterCount(laion.vision) + textParameterCount(laion.text) + 1,
    151_277_313,
  );
  const timm = openClipArchitecture({
    model_cfg: {
      embed_dim: 512,
      quick_gelu: true,
      vision_cfg: { image_size: 224, layers: 12, width: 768, patch_size: 32 },
      text_cfg: { context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12 },
    },
  }, "timm");
  assertEquals(timm.textActivation, "quick_gelu");
});
