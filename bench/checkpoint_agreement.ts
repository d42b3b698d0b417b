/**
 * Checkpoint → ONNX agreement at real shapes: a CLIP checkpoint with seeded random weights and the
 * real key names and shapes (ViT-B/32 by default) is written in transformers' or open_clip's
 * layout, built by kinembed, run on ONNX Runtime's CPU provider, and compared with the
 * independent TypeScript forward pass (float64) on the same weights; the fp16-uint8 variant is
 * compared with the float32 one. `--record` keeps the table in `bench/RESULTS.md`.
 *
 * ```sh
 * deno task bench agreement [--shapes vit-b-32,tiny] [--images 2] [--record]
 * ```
 * @module
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { parseArgs } from "node:util";
import { writeFixtureCheckpoint } from "../fixtures/clip_checkpoints.ts";
import type { TextConfig, VisionConfig } from "../lib/onnx/mod.ts";
import { resolveModel } from "../lib/model/mod.ts";
import { normalizeFrames } from "../lib/encode/mod.ts";
import {
  referenceImageEmbeds,
  referenceModelFromWeights,
  referenceTextEmbeds,
} from "../tests/support/vit_reference.ts";
import { recordTable } from "./results.ts";

const SHAPES: Record<
  string,
  {
    vision: VisionConfig;
    text: TextConfig;
    layout: "transformers" | "open_clip";
    activation: "quick_gelu" | "gelu";
  }
> = {
  "vit-b-32": {
    vision: {
      imageSize: 224,
      patch: 32,
      width: 768,
      layers: 12,
      heads: 12,
      mlp: 3072,
      embedDim: 512,
    },
    text: { vocab: 49408, context: 77, width: 512, layers: 12, heads: 8, mlp: 2048, embedDim: 512 },
    layout: "transformers",
    activation: "quick_gelu",
  },
  "vit-b-32-gelu-open_clip": {
    vision: {
      imageSize: 224,
      patch: 32,
      width: 768,
      layers: 12,
      heads: 12,
      mlp: 3072,
      embedDim: 512,
    },
    text: { vocab: 49408, context: 77, width: 512, layers: 12, heads: 8, mlp: 2048, embedDim: 512 },
    layout: "open_clip",
    activation: "gelu",
  },
  "tiny": {
    vision: { imageSize: 224, patch: 32, width: 64, layers: 2, heads: 2, mlp: 256, embedDim: 32 },
    text: { vocab: 49408, context: 77, width: 16, layers: 2, heads: 2, mlp: 64, embedDim: 32 },
    layout: "transformers",
    activation: "quick_gelu",
  },
};

const { values } = parseArgs({
  args: Deno.args,
  options: {
    shapes: { type: "string", default: "vit-b-32,tiny" },
    images: { type: "string", default: "2" },
    record: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    `usage: deno task bench agreement [--shapes ${Object.keys(SHAPES).join(",")}] ` +
      "[--images N] [--record]",
  );
  Deno.exit(0);
}

function relErr(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

async function run(path: string, name: string, t: ort.Tensor): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(path, { executionProviders: ["cpu"] });
  try {
    return (await s.run({ [name]: t }))[s.outputNames[0]].data as Float32Array;
  } finally {
    await s.release();
  }
}

const n = Number(values.images);
const rows: string[] = [];
const dir = await Deno.makeTempDir({ prefix: "kinembed-agreement-" });
try {
  for (const shape of values.shapes!.split(",")) {
    const s = SHAPES[shape];
    if (!s) throw new Error(`unknown shape ${shape}`);
    const ckptDir = join(dir, shape);
    const t0 = performance.now();
    const ckpt = await writeFixtureCheckpoint(ckptDir, {
      layout: s.layout,
      vision: s.vision,
      text: s.text,
      activation: s.activation,
      seed: 1,
    });
    const tWrite = (performance.now() - t0) / 1000;
    const opts = { cacheDir: join(dir, "built") };
    const t1 = performance.now();
    const vision = await resolveModel(ckptDir, { ...opts, variant: "float32" });
    const tBuild = (performance.now() - t1) / 1000;
    const half = await resolveModel(ckptDir, { ...opts, variant: "fp16-uint8" });
    const text = await resolveModel(ckptDir, { ...opts, tower: "text" });

    let seed = 7;
    const frames = Uint8Array.from({ length: n * 224 * 224 * 3 }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed >>> 24;
    });
    const pixels = new Float32Array(n * 3 * 224 * 224);
    normalizeFrames(frames, 0, n, 224, pixels, 0);
    const image = await run(
      vision.path,
      "pixel_values",
      new ort.Tensor("float32", pixels, [n, 3, 224, 224]),
    );
    const imageHalf = await run(
      half.path,
      "pixel_values",
      new ort.Tensor("uint8", frames, [n, 224, 224, 3]),
    );
    const t2 = performance.now();
    const refImage = referenceImageEmbeds(
      referenceModelFromWeights(ckpt.truth, "vision", s.vision.heads, s.activation),
      pixels,
      n,
    );
    const ids = new BigInt64Array(2 * 77);
    ids.set([49406, 320, 22697, 49407].map(BigInt), 0);
    ids.set([49406, 320, 24925, 533, 6765, 320, 4535, 49407].map(BigInt), 77);
    const txt = await run(text.path, "input_ids", new ort.Tensor("int64", ids, [2, 77]));
    const refText = referenceTextEmbeds(
      referenceModelFromWeights(ckpt.truth, "text", s.text.heads, s.activation),
      ids,
      2,
    );
    const tRef = (performance.now() - t2) / 1000;
    const row = `| ${shape} | ${s.layout} | ${s.activation} | ${n} | ${
      relErr(image, refImage).toExponential(2)
    } | ${relErr(txt, refText).toExponential(2)} | ${relErr(imageHalf, image).toExponential(2)} | ${
      tWrite.toFixed(1)
    } | ${tBuild.toFixed(1)} | ${tRef.toFixed(1)} |`;
    console.log(row);
    rows.push(row);
    await Deno.remove(ckptDir, { recursive: true });
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
const table = [
  "| shapes | layout | activation | images | image fp32 vs reference (max rel) | text fp32 vs reference (2 prompts) | fp16-uint8 vs fp32 image | write ckpt (s) | build image fp32 (s) | reference (s) |",
  "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ...rows,
].join("\n");
console.log(table);
if (values.record) {
  await recordTable(
    "CLIP checkpoint → ONNX agreement (CPU reference)",
    `deno task bench agreement --shapes ${values.shapes} --images ${n} --record`,
    table,
    "Checkpoints with seeded random weights and the real key names and shapes, written by " +
      "fixtures/clip_checkpoints.ts; built by lib/model (the model builder); run by ONNX Runtime " +
      "1.29 on the CPU provider; reference: tests/support/vit_reference.ts in float64 on the same " +
      "weights. Relative error = max |a − b| / max |b|. No GPU was lent for this run: the " +
      "float16 comparison is ONNX Runtime's CPU provider, and no PyTorch comparison was made.",
  );
}
