import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { CLIP_SIZE, ConfigError } from "../base/mod.ts";
import { attr, type Dim, OnnxGraph, type ValueDataType } from "./onnx_graph.ts";
import { ImageEncoder } from "./image_encoder.ts";

const S = CLIP_SIZE;
/** The weights of the tiny encoders below: the 3 channel means times W (3 × 4). */
const W = [1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, -1];

/**
 * A stand-in encoder: each channel's mean over the image, times W. Its input is float32 NCHW or
 * uint8 NHWC, with the names and shapes given.
 */
async function meanEncoder(opts: {
  kind: "float32-nchw" | "uint8-nhwc";
  input?: string;
  output?: string;
  inputType?: ValueDataType;
  inputDims?: Dim[];
}): Promise<Uint8Array> {
  const g = new OnnxGraph({ name: "mean_encoder" });
  const nchw = opts.kind === "float32-nchw";
  const x = g.input(
    opts.input ?? "pixel_values",
    opts.inputType ?? (nchw ? "float32" : "uint8"),
    opts.inputDims ?? (nchw ? ["N", 3, S, S] : ["N", S, S, 3]),
  );
  const f = nchw ? x : g.node("Cast", [x], { to: attr.int(1) });
  const means = g.node("ReduceMean", [f], {
    axes: attr.ints(nchw ? [2, 3] : [1, 2]),
    keepdims: attr.int(0),
  });
  const w = g.initializer("w", "float32", [3, 4], Float32Array.from(W));
  g.node("MatMul", [means, w], {}, { out: opts.output ?? "image_embeds" });
  g.output(opts.output ?? "image_embeds", "float32", ["N", 4]);
  return await g.serialize();
}

/** What meanEncoder gives for images filled with one value per channel. */
function expected(channels: number[][]): number[] {
  return channels.flatMap((c) =>
    [0, 1, 2, 3].map((j) => c[0] * W[j] + c[1] * W[4 + j] + c[2] * W[8 + j])
  );
}

Deno.test("ImageEncoder reads a float32 NCHW model's embedding width and encodes a batch", async () => {
  const enc = await ImageEncoder.open(await meanEncoder({ kind: "float32-nchw" }), {
    providers: ["cpu"],
  });
  try {
    assertEquals(
      [enc.provider, enc.inputKind, enc.embedDim, enc.inputName, enc.outputName],
      ["cpu", "float32-nchw", 4, "pixel_values", "image_embeds"],
    );
    const colours = [[0.5, -1, 2], [1, 2, 3]];
    const x = new Float32Array(colours.length * 3 * S * S);
    colours.forEach((c, i) =>
      c.forEach((v, ch) => x.fill(v, (i * 3 + ch) * S * S, (i * 3 + ch + 1) * S * S))
    );
    const y = await enc.encode(x, colours.length);
    assert(y instanceof Float32Array);
    const want = expected(colours);
    assertEquals(y.length, want.length);
    y.forEach((v, i) => assert(Math.abs(v - want[i]) < 1e-5, `${i}: ${v} vs ${want[i]}`));
  } finally {
    await enc.release();
  }
});

Deno.test("ImageEncoder takes a uint8 NHWC model with other tensor names, fed raw frames", async () => {
  const model = await meanEncoder({ kind: "uint8-nhwc", input: "frames", output: "emb" });
  const enc = await ImageEncoder.open(model, {
    providers: ["cpu"],
    inputName: "frames",
    outputName: "emb",
  });
  try {
    assertEquals(enc.inputKind, "uint8-nhwc");
    const colours = [[10, 200, 30]];
    const x = new Uint8Array(S * S * 3);
    for (let p = 0; p < S * S; p++) x.set(colours[0], p * 3);
    const y = await enc.encode(x, 1);
    const want = expected(colours);
    y.forEach((v, i) => assert(Math.abs(v - want[i]) < 1e-3, `${i}: ${v} vs ${want[i]}`));
  } finally {
    await enc.release();
  }
});

Deno.test("ImageEncoder refuses a model without the named input or output, listing what it has", async () => {
  const model = await meanEncoder({ kind: "float32-nchw", input: "images" });
  const e = await assertRejects(
    () => ImageEncoder.open(model, { providers: ["cpu"] }),
    "the model: no input named pixel_values; expected input pixel_values float32 [N,3,224,224]",
  );
  assert(e instanceof ConfigError);
  assert(e.message.includes("The model has inputs images float32 [N,3,224,224]"), e.message);
  await assertRejects(
    () => ImageEncoder.open(model, { providers: ["cpu"], inputName: "images", outputName: "out" }),
    "no output named out",
  );
});

Deno.test("ImageEncoder refuses an input of another size or type", async () => {
  const small = await meanEncoder({ kind: "float32-nchw", inputDims: ["N", 3, 32, 32] });
  await assertRejects(
    () => ImageEncoder.open(small, { providers: ["cpu"] }),
    "input pixel_values is float32 [N,3,32,32]",
  );
  const nhwcFloat = await meanEncoder({ kind: "uint8-nhwc", inputType: "float32" });
  await assertRejects(
    () => ImageEncoder.open(nhwcFloat, { providers: ["cpu"] }),
    "input pixel_values is float32 [N,224,224,3]",
  );
});
