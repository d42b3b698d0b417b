import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import {
  buildTextModel,
  buildVisionModel,
  TEXT_CONFIGS,
  textParameterCount,
  VISION_CONFIGS,
  visionParameterCount,
} from "./clip_model_builder.ts";
import { attr, OnnxGraph, readModel } from "./onnx_graph.ts";
import { ensureFixtureModel, ensureFixtureModels } from "../../fixtures/make_models.ts";
import {
  loadReferenceModel,
  normalizeFramesReference,
  referenceImageEmbeds,
  referenceTextEmbeds,
} from "../../tests/support/vit_reference.ts";

const CPU = { executionProviders: ["cpu"] };

/** Deterministic pseudo-random values for test inputs. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function randomFrames(n: number, seed: number): Uint8Array {
  const next = lcg(seed);
  return Uint8Array.from({ length: n * 224 * 224 * 3 }, () => Math.floor(next() * 256));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function runModel(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes, CPU);
  try {
    const out = await session.run(feeds);
    return out[session.outputNames[0]];
  } finally {
    await session.release();
  }
}

/** Token rows in CLIP's layout: start, words, end (the largest id), zero padding. */
function tokenRows(rows: number[][]): BigInt64Array {
  const ids = new BigInt64Array(rows.length * 77);
  rows.forEach((r, b) => ids.set([49406, ...r, 49407].map(BigInt), b * 77));
  return ids;
}

Deno.test("tiny vision model matches the TypeScript reference on two random images", async () => {
  const model = await buildVisionModel({ size: "tiny", seed: 7 });
  assert(model.bytes.length < 2e6, `tiny vision is ${model.bytes.length} bytes`);
  const pixels = normalizeFramesReference(randomFrames(2, 1), 2);
  const out = await runModel(model.bytes, {
    pixel_values: new ort.Tensor("float32", pixels, [2, 3, 224, 224]),
  });
  assertEquals(out.dims, [2, 512]);
  const ref = referenceImageEmbeds(await loadReferenceModel(model.bytes), pixels, 2);
  const got = out.data as Float32Array;
  const err = maxAbsDiff(got, ref);
  assert(err <= 1e-4, `max abs error ${err}`);
  // The two images give different embeddings of a sane magnitude.
  assert(maxAbsDiff(got.subarray(0, 512), got.subarray(512)) > 1e-2);
  const norm = Math.hypot(...got.subarray(0, 512));
  assert(norm > 1 && norm < 1e3, `embedding norm ${norm}`);
});

Deno.test("uint8-nhwc variant equals the float32 model on the normalised frames", async () => {
  const frames = randomFrames(2, 2);
  const uint8 = await buildVisionModel({ size: "tiny", inputFormat: "uint8-nhwc" });
  assertEquals((await readModel(uint8.bytes)).inputs, [
    { name: "pixel_values", dtype: "uint8", dims: ["N", 224, 224, 3] },
  ]);
  const fromFrames = await runModel(uint8.bytes, {
    pixel_values: new ort.Tensor("uint8", frames, [2, 224, 224, 3]),
  });
  const pixels = normalizeFramesReference(frames, 2);
  const fromPixels = await runModel((await buildVisionModel({ size: "tiny" })).bytes, {
    pixel_values: new ort.Tensor("float32", pixels, [2, 3, 224, 224]),
  });
  assertEquals(fromFrames.dims, [2, 512]);
  const err = maxAbsDiff(fromFrames.data as Float32Array, fromPixels.data as Float32Array);
  assert(err <= 1e-4, `max abs error ${err}`);
});

Deno.test("float16 variant runs on the CPU provider and stays close to float32", async () => {
  const pixels = normalizeFramesReference(randomFrames(1, 3), 1);
  const feeds = { pixel_values: new ort.Tensor("float32", pixels, [1, 3, 224, 224]) };
  const half = await buildVisionModel({ size: "tiny", dtype: "float16" });
  assert((await readModel(half.bytes)).initializers.get("visual.proj")?.dtype === "float16");
  const a = (await runModel(half.bytes, feeds)).data as Float32Array;
  const b = (await runModel((await buildVisionModel({ size: "tiny" })).bytes, feeds))
    .data as Float32Array;
  const scale = Math.max(...b.map(Math.abs));
  assert(maxAbsDiff(a, b) <= 0.02 * scale, `fp16 differs by ${maxAbsDiff(a, b)} (scale ${scale})`);
});

Deno.test("tiny text model matches the reference and pools at the end token", async () => {
  const model = await buildTextModel({ size: "tiny", seed: 3 });
  assert(model.bytes.length < 2e6, `tiny text is ${model.bytes.length} bytes`);
  assertEquals((await readModel(model.bytes)).inputs, [
    { name: "input_ids", dtype: "int64", dims: ["N", 77] },
  ]);
  const ids = tokenRows([[320, 22697], [320, 24925, 533, 6765, 320, 4535]]);
  const out = await runModel(model.bytes, { input_ids: new ort.Tensor("int64", ids, [2, 77]) });
  assertEquals(out.dims, [2, 512]);
  const got = out.data as Float32Array;
  const ref = referenceTextEmbeds(await loadReferenceModel(model.bytes), ids, 2);
  const err = maxAbsDiff(got, ref);
  assert(err <= 1e-4, `max abs error ${err}`);

  // Tokens after the end token (all smaller than it) cannot change the output: causal + pooled.
  const noisy = ids.slice();
  for (let t = 4; t < 77; t++) noisy[t] = BigInt(1000 + t);
  for (let t = 9; t < 77; t++) noisy[77 + t] = BigInt(40000 + t);
  const again = await runModel(model.bytes, { input_ids: new ort.Tensor("int64", noisy, [2, 77]) });
  assert(maxAbsDiff(again.data as Float32Array, got) <= 1e-6);
  // A token before the end token does change it.
  const changed = ids.slice();
  changed[1] = 321n;
  const other = await runModel(model.bytes, {
    input_ids: new ort.Tensor("int64", changed, [2, 77]),
  });
  assert(maxAbsDiff((other.data as Float32Array).subarray(0, 512), got.subarray(0, 512)) > 1e-3);
  assertEquals((other.data as Float32Array).subarray(512), got.subarray(512));
});

Deno.test("vit-b-32 parameter counts match CLIP ViT-B/32 and the model runs a batch of 1", async () => {
  const vision = await buildVisionModel({ size: "vit-b-32" });
  const visionFile = await readModel(vision.bytes);
  assertEquals(visionFile.parameterCount, 87_849_216);
  assertEquals(vision.parameterCount, visionParameterCount(VISION_CONFIGS["vit-b-32"]));
  assertEquals(visionFile.outputs, [{ name: "image_embeds", dtype: "float32", dims: ["N", 512] }]);
  const out = await runModel(vision.bytes, {
    pixel_values: new ort.Tensor("float32", normalizeFramesReference(randomFrames(1, 4), 1), [
      1,
      3,
      224,
      224,
    ]),
  });
  assertEquals(out.dims, [1, 512]);
  assert((out.data as Float32Array).every(Number.isFinite));

  const text = await buildTextModel({ size: "vit-b-32" });
  const textCount = (await readModel(text.bytes)).parameterCount;
  assertEquals(textCount, textParameterCount(TEXT_CONFIGS["vit-b-32"]));
  // CLIP ViT-B/32's text tower: 63,165,952 without its 512×512 projection, 63,428,096 with it.
  assert(Math.abs(textCount / 63_165_952 - 1) <= 0.02, `text has ${textCount} parameters`);
  assertEquals(textCount, 63_428_096);
});

Deno.test("same seed gives byte-identical models, another seed other weights", async () => {
  const a = (await buildVisionModel({ seed: 5 })).bytes;
  const b = (await buildVisionModel({ seed: 5 })).bytes;
  const c = (await buildVisionModel({ seed: 6 })).bytes;
  assertEquals(a, b);
  assertEquals(a.length, c.length);
  assert(!sameBytes(a, c));
  assertEquals(
    (await buildTextModel({ seed: 1 })).bytes,
    (await buildTextModel({ seed: 1 })).bytes,
  );
  assert(
    !sameBytes(
      (await buildTextModel({ seed: 1 })).bytes,
      (await buildTextModel({ seed: 2 })).bytes,
    ),
  );
});

Deno.test("ensureFixtureModels builds once, keeps identical files, rebuilds stale ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_models_" });
  try {
    const paths = await ensureFixtureModels(dir, "tiny");
    assertEquals(paths, {
      vision: join(dir, "vision_tiny.onnx"),
      text: join(dir, "text_tiny.onnx"),
    });
    assertEquals(
      await Deno.readFile(paths.vision),
      (await buildVisionModel({ size: "tiny" })).bytes,
    );
    const before = (await Deno.stat(paths.vision)).mtime;
    assertEquals((await ensureFixtureModel(dir, "vision", "tiny")).built, false);
    assertEquals((await Deno.stat(paths.vision)).mtime, before);

    // Another seed is another file; a file from other options or a damaged one is rebuilt.
    const seeded = await ensureFixtureModels(dir, "tiny", 4, { inputFormat: "uint8-nhwc" });
    assertEquals(seeded.vision, join(dir, "vision_tiny_uint8_seed4.onnx"));
    await Deno.copyFile(seeded.text, paths.text);
    await Deno.writeFile(paths.vision, new Uint8Array([1, 2, 3]));
    const [v, t] = await Promise.all([
      ensureFixtureModel(dir, "vision", "tiny"),
      ensureFixtureModel(dir, "text", "tiny"),
    ]);
    assert(v.built && t.built);
    assertEquals(await Deno.readFile(paths.text), (await buildTextModel({ size: "tiny" })).bytes);
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assertEquals(left.sort(), [
      "text_tiny.onnx",
      "text_tiny_seed4.onnx",
      "vision_tiny.onnx",
      "vision_tiny_uint8_seed4.onnx",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("make_models CLI writes the models, is idempotent, and rejects unknown flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_models_cli_" });
  const cli = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "fixtures/make_models.ts", ...args],
      cwd: new URL("../..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  try {
    const first = await cli("--out", dir, "--only", "vision", "--dtype", "float16");
    assertEquals(first.code, 0, text(first.stderr));
    assert(text(first.stdout).startsWith(`wrote ${join(dir, "vision_tiny_fp16.onnx")}`));
    const second = await cli("--out", dir, "--only", "vision", "--dtype", "float16");
    assert(text(second.stdout).startsWith("up to date"), text(second.stdout));
    const bad = await cli("--out", dir, "--colour", "red");
    assertEquals(bad.code, 2);
    assert(text(bad.stderr).includes("--colour"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("OnnxGraph: typed attributes, symbolic dims, duplicate names refused", async () => {
  const g = new OnnxGraph({ name: "probe" });
  const x = g.input("x", "float32", ["N", 4]);
  await assertRejects(() => g.input("x", "float32", [1]), "defined twice");
  await assertRejects(
    () => g.initializer("w", "float32", [2, 2], new Float32Array(3)),
    "4 expected",
  );
  const ln = g.node("LayerNormalization", [
    x,
    g.initializer("gamma", "float32", [4], Float32Array.of(1, 2, 3, 4)),
  ], { axis: attr.int(-1), epsilon: attr.float(0.5) });
  const [a, b] = g.nodeOutputs("Split", [ln], { axis: attr.int(1) }, { out: 2 });
  g.node("Concat", [b, a], { axis: attr.int(1) }, { out: "y" });
  g.output("y", "float32", ["N", 4]);
  g.metadata("what", "probe");
  const bytes = await g.serialize();
  const summary = await readModel(bytes);
  assertEquals(summary.opset, 17);
  assertEquals(summary.parameterCount, 4);
  assertEquals(summary.ops, ["LayerNormalization", "Split", "Concat"]);
  assertEquals(summary.metadata, { what: "probe" });
  const out = await runModel(bytes, {
    x: new ort.Tensor("float32", Float32Array.of(0, 0, 1, 1), [1, 4]),
  });
  // mean 0.5, variance 0.25, epsilon 0.5 → (x − 0.5)/√0.75 · gamma, halves swapped.
  const s = 0.5 / Math.sqrt(0.75);
  assert(maxAbsDiff(out.data as Float32Array, [3 * s, 4 * s, -s, -2 * s]) < 1e-6);
});
