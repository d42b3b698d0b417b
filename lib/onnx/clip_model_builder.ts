/**
 * CLIP-shaped ONNX models with seeded random weights: a ViT image encoder (`pixel_values` →
 * `image_embeds`) and a causal text encoder (`input_ids` → `text_embeds`), for tests, the demo and
 * benchmarks where real weights cannot be fetched. The same options give byte-identical bytes.
 *
 * Weight names follow OpenAI CLIP's state dict (`visual.conv1.weight`, `transformer.resblocks.0.
 * attn.in_proj_weight`, ...), but every matrix fed to `MatMul` is stored `[in, out]` (PyTorch's
 * `Linear` stores `[out, in]`).
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { join } from "node:path";
 * import { buildVisionModel } from "./clip_model_builder.ts";
 * const model = await buildVisionModel({ size: "tiny", seed: 1 });
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(join(dir, "vision_tiny.onnx"), model.bytes); // for --model
 * ok(model.parameterCount > 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { attr, OnnxGraph, type TensorValue } from "./onnx_graph.ts";
import { CLIP_MEAN, CLIP_SIZE, CLIP_STD, float32ToFloat16 } from "../base/mod.ts";

/** Named model sizes: `tiny` for tests (each file under 2 MB), `vit-b-32` like CLIP ViT-B/32. */
export type ModelSize = "tiny" | "vit-b-32";

/** The model sizes, in a stable order. */
export const MODEL_SIZES: readonly ModelSize[] = ["tiny", "vit-b-32"];

/**
 * What the vision model takes: float32 `[N,3,224,224]` already normalised (CLIP exports' input), or
 * raw uint8 RGB frames `[N,224,224,3]` normalised inside the graph (4× less to copy to a GPU).
 */
export type VisionInputFormat = "float32-nchw" | "uint8-nhwc";

/**
 * Weight and compute precision. `float16` keeps the model's inputs and outputs as they are
 * (float32 or uint8 in, float32 out) and casts at the edges. It is meant for the CUDA provider;
 * the CPU provider runs it too (ONNX Runtime 1.29 wraps operators that lack float16 CPU kernels in
 * float32 casts), which is slower than the float32 model there.
 */
export type ModelDtype = "float32" | "float16";

/** Shape of a ViT image encoder. */
export interface VisionConfig {
  /** Input side in pixels. */
  imageSize: number;
  /** Patch side in pixels (the patch-embedding convolution's kernel and stride). */
  patch: number;
  /** Transformer width. */
  width: number;
  /** Number of residual blocks. */
  layers: number;
  /** Attention heads (`width` must be a multiple). */
  heads: number;
  /** Hidden size of each block's MLP. */
  mlp: number;
  /** Output embedding size. */
  embedDim: number;
}

/** Shape of a causal text encoder. */
export interface TextConfig {
  /** Vocabulary size (CLIP: 49,408; the end token 49,407 is the largest id). */
  vocab: number;
  /** Context length (CLIP: 77). */
  context: number;
  /** Transformer width. */
  width: number;
  /** Number of residual blocks. */
  layers: number;
  /** Attention heads (`width` must be a multiple). */
  heads: number;
  /** Hidden size of each block's MLP. */
  mlp: number;
  /** Output embedding size. */
  embedDim: number;
}

/** Vision encoder shape per size. `vit-b-32` has CLIP ViT-B/32's 87,849,216 parameters. */
export const VISION_CONFIGS: Readonly<Record<ModelSize, Readonly<VisionConfig>>> = {
  "tiny": {
    imageSize: CLIP_SIZE,
    patch: 32,
    width: 64,
    layers: 2,
    heads: 2,
    mlp: 256,
    embedDim: 512,
  },
  "vit-b-32": {
    imageSize: CLIP_SIZE,
    patch: 32,
    width: 768,
    layers: 12,
    heads: 12,
    mlp: 3072,
    embedDim: 512,
  },
};

/**
 * Text encoder shape per size. `vit-b-32` has CLIP's text tower (63,428,096 parameters with the
 * 512×512 projection). `tiny` is narrow because its 49,408-token embedding dominates the file.
 */
export const TEXT_CONFIGS: Readonly<Record<ModelSize, Readonly<TextConfig>>> = {
  "tiny": { vocab: 49408, context: 77, width: 8, layers: 2, heads: 2, mlp: 32, embedDim: 512 },
  "vit-b-32": {
    vocab: 49408,
    context: 77,
    width: 512,
    layers: 12,
    heads: 8,
    mlp: 2048,
    embedDim: 512,
  },
};

/** Options of {@linkcode buildVisionModel}. */
export interface VisionModelOptions {
  /** Named size (default `tiny`). */
  size?: ModelSize;
  /** Overrides of the size's shape. */
  config?: Partial<VisionConfig>;
  /** Weight seed (default 0); the same options give byte-identical models. */
  seed?: number;
  /** Input layout and type (default `float32-nchw`). */
  inputFormat?: VisionInputFormat;
  /** Weight and compute precision (default `float32`). */
  dtype?: ModelDtype;
  /** Trained weights instead of seeded random ones (see {@linkcode CheckpointWeights}). */
  checkpoint?: CheckpointWeights;
}

/**
 * Trained weights for the builder: every tensor under the builder's name (OpenAI CLIP's state
 * dict names) in the builder's layout (matrices fed to `MatMul` stored `[in, out]`), plus what the
 * architecture does differently from OpenAI's CLIP.
 */
export interface CheckpointWeights {
  /** float32 values by builder name; each must have exactly the size the shape asks for. */
  weights: ReadonlyMap<string, Float32Array>;
  /** The MLP's activation: CLIP's `quick_gelu` (x·σ(1.702x)) or the exact `gelu` (erf). */
  activation: "quick_gelu" | "gelu";
  /** LayerNorm epsilon (CLIP: 1e-5). */
  layerNormEpsilon: number;
  /** What the weights are (e.g. the checkpoint's sha256), recorded in the model's metadata. */
  source: string;
}

/** Options of {@linkcode buildTextModel}. */
export interface TextModelOptions {
  /** Named size (default `tiny`). */
  size?: ModelSize;
  /** Overrides of the size's shape. */
  config?: Partial<TextConfig>;
  /** Weight seed (default 0). */
  seed?: number;
  /** Weight and compute precision (default `float32`). */
  dtype?: ModelDtype;
  /** Trained weights instead of seeded random ones. */
  checkpoint?: CheckpointWeights;
}

/** A built model: its ONNX bytes and what it is. */
export interface BuiltModel<C> {
  /** The ONNX file's content. */
  bytes: Uint8Array;
  /** Number of weights (floating-point initializers). */
  parameterCount: number;
  /** The graph input's name. */
  inputName: string;
  /** The graph output's name. */
  outputName: string;
  /** The shape the model was built with. */
  config: C;
}

/**
 * Builds a CLIP ViT image encoder: patch-embedding convolution (no bias), class token, positional
 * embedding, pre-LayerNorm, residual blocks (LN → multi-head self-attention; LN → MLP with
 * quick-GELU), post-LayerNorm on the class token, projection (no bias). Output `image_embeds`
 * float32 `[N, embedDim]`, not normalised.
 * @param opts size, seed, input format, dtype
 * @returns the model bytes and parameter count
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { buildVisionModel } from "./clip_model_builder.ts";
 * import { readModel } from "./onnx_graph.ts";
 * const { bytes } = await buildVisionModel({ size: "tiny", inputFormat: "uint8-nhwc" });
 * deepStrictEqual((await readModel(bytes)).inputs[0].dims, ["N", 224, 224, 3]);
 * ```
 */
export async function buildVisionModel(
  opts: VisionModelOptions = {},
): Promise<BuiltModel<VisionConfig>> {
  const size = opts.size ?? "tiny";
  const cfg: VisionConfig = { ...VISION_CONFIGS[size], ...opts.config };
  const inputFormat = opts.inputFormat ?? "float32-nchw";
  const dtype = opts.dtype ?? "float32";
  checkHeads(cfg.width, cfg.heads);
  if (cfg.imageSize % cfg.patch !== 0) {
    throw new RangeError(`image size ${cfg.imageSize} is not a multiple of patch ${cfg.patch}`);
  }
  const ctx = new BuildContext(
    new OnnxGraph({
      name: "clip_vision",
      doc: opts.checkpoint
        ? "CLIP ViT image encoder"
        : "CLIP-shaped ViT image encoder, random weights",
    }),
    dtype,
    opts.seed ?? 0,
    opts.checkpoint,
  );
  const { g } = ctx;
  const W = cfg.width, S = cfg.imageSize, P = cfg.patch, grid = S / P;

  let pixels: string;
  if (inputFormat === "uint8-nhwc") {
    g.input("pixel_values", "uint8", ["N", S, S, 3]);
    // Transpose while still uint8: a quarter of the bytes to move.
    const nchw = g.node("Transpose", ["pixel_values"], { perm: attr.ints([0, 3, 1, 2]) });
    const x = g.node("Cast", [nchw], { to: attr.int(1) });
    // (x/255 − mean)/std = x · 1/(255·std) − mean/std, per channel.
    const scale = g.floats(CLIP_STD.map((s) => 1 / (255 * s)), [1, 3, 1, 1]);
    const shift = g.floats(CLIP_MEAN.map((m, i) => -m / CLIP_STD[i]), [1, 3, 1, 1]);
    pixels = ctx.toCompute(g.node("Add", [g.node("Mul", [x, scale]), shift]));
  } else {
    g.input("pixel_values", "float32", ["N", 3, S, S]);
    pixels = ctx.toCompute("pixel_values");
  }

  const conv = g.node("Conv", [
    pixels,
    ctx.param("visual.conv1.weight", [W, 3, P, P], 1 / Math.sqrt(3 * P * P)),
  ], { kernel_shape: attr.ints([P, P]), strides: attr.ints([P, P]) });
  const patches = g.node("Transpose", [g.node("Reshape", [conv, g.int64([0, W, grid * grid])])], {
    perm: attr.ints([0, 2, 1]),
  });
  const cls = g.node("Reshape", [
    ctx.param("visual.class_embedding", [W], 0.5),
    g.int64([1, 1, W]),
  ]);
  const batch = g.node("Shape", [patches], { start: attr.int(0), end: attr.int(1) });
  const clsShape = g.node("Concat", [batch, g.int64([1, W])], { axis: attr.int(0) });
  let x = g.node("Concat", [g.node("Expand", [cls, clsShape]), patches], { axis: attr.int(1) });
  x = g.node("Add", [x, ctx.param("visual.positional_embedding", [grid * grid + 1, W], 0.1)]);
  x = ctx.layerNorm(x, "visual.ln_pre", W);
  for (let i = 0; i < cfg.layers; i++) {
    x = ctx.residualBlock(x, `visual.transformer.resblocks.${i}`, W, cfg.heads, cfg.mlp);
  }
  // A scalar index drops the token axis: [N, S, W] → [N, W].
  const first = g.node("Gather", [x, g.int64([0], [])], { axis: attr.int(1) });
  const pooled = ctx.layerNorm(first, "visual.ln_post", W);
  const proj = ctx.param("visual.proj", [W, cfg.embedDim], 1 / Math.sqrt(W));
  ctx.toFloat32(g.node("MatMul", [pooled, proj]), "image_embeds");
  g.output("image_embeds", "float32", ["N", cfg.embedDim]);
  g.metadata(MODEL_OPTIONS_KEY, modelOptionsKey("vision", opts));
  return {
    bytes: await g.serialize(),
    parameterCount: g.parameterCount(),
    inputName: "pixel_values",
    outputName: "image_embeds",
    config: cfg,
  };
}

/**
 * Builds a CLIP text encoder: token embedding + positional embedding, causal residual blocks
 * (additive mask), final LayerNorm, the hidden state at each row's argmax(input_ids) (CLIP's end
 * token 49,407 is the largest id), projection (no bias). Input `input_ids` int64 `[N, context]`,
 * output `text_embeds` float32 `[N, embedDim]`, not normalised.
 * @param opts size, seed, dtype
 * @returns the model bytes and parameter count
 */
export async function buildTextModel(
  opts: TextModelOptions = {},
): Promise<BuiltModel<TextConfig>> {
  const size = opts.size ?? "tiny";
  const cfg: TextConfig = { ...TEXT_CONFIGS[size], ...opts.config };
  const dtype = opts.dtype ?? "float32";
  checkHeads(cfg.width, cfg.heads);
  const ctx = new BuildContext(
    new OnnxGraph({
      name: "clip_text",
      doc: opts.checkpoint
        ? "CLIP causal text encoder"
        : "CLIP-shaped causal text encoder, random weights",
    }),
    dtype,
    opts.seed ?? 0,
    opts.checkpoint,
  );
  const { g } = ctx;
  const W = cfg.width, L = cfg.context;
  g.input("input_ids", "int64", ["N", L]);
  const tokens = ctx.param("token_embedding.weight", [cfg.vocab, W], 0.5);
  let x = g.node("Gather", [tokens, "input_ids"], { axis: attr.int(0) });
  x = g.node("Add", [x, ctx.param("positional_embedding", [L, W], 0.1)]);
  // Additive causal mask: position i attends to positions ≤ i.
  const mask = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) mask[i * L + j] = -Infinity;
  const maskName = g.constant(ctx.computeTensor([L, L], mask));
  for (let i = 0; i < cfg.layers; i++) {
    x = ctx.residualBlock(x, `transformer.resblocks.${i}`, W, cfg.heads, cfg.mlp, maskName);
  }
  x = ctx.layerNorm(x, "ln_final", W);
  const end = g.node("ArgMax", ["input_ids"], { axis: attr.int(1), keepdims: attr.int(1) });
  // Per row b: x[b, end[b], :] → [N, W].
  const pooled = g.node("GatherND", [x, end], { batch_dims: attr.int(1) });
  const proj = ctx.param("text_projection", [W, cfg.embedDim], 1 / Math.sqrt(W));
  ctx.toFloat32(g.node("MatMul", [pooled, proj]), "text_embeds");
  g.output("text_embeds", "float32", ["N", cfg.embedDim]);
  g.metadata(MODEL_OPTIONS_KEY, modelOptionsKey("text", opts));
  return {
    bytes: await g.serialize(),
    parameterCount: g.parameterCount(),
    inputName: "input_ids",
    outputName: "text_embeds",
    config: cfg,
  };
}

/** Version of the builder's output; bumped whenever the same options would give other bytes. */
export const MODEL_BUILDER_VERSION = 1;

/** The metadata entry in which a built model records {@linkcode modelOptionsKey}. */
export const MODEL_OPTIONS_KEY = "kinembed.model_options";

/**
 * A canonical string of everything that determines a built model's bytes (builder version, kind,
 * size, resolved shape, seed, input format, dtype); equal keys mean byte-identical models.
 * @param kind which encoder
 * @param opts the options given to the builder
 * @returns canonical JSON
 */
export function modelOptionsKey(
  kind: "vision" | "text",
  opts: VisionModelOptions | TextModelOptions,
): string {
  const size = opts.size ?? "tiny";
  const config = kind === "vision"
    ? { ...VISION_CONFIGS[size], ...(opts as VisionModelOptions).config }
    : { ...TEXT_CONFIGS[size], ...(opts as TextModelOptions).config };
  return JSON.stringify({
    builder: MODEL_BUILDER_VERSION,
    kind,
    size,
    config: Object.fromEntries(Object.entries(config).sort(([a], [b]) => a < b ? -1 : 1)),
    seed: opts.seed ?? 0,
    inputFormat: kind === "vision"
      ? ((opts as VisionModelOptions).inputFormat ?? "float32-nchw")
      : undefined,
    dtype: opts.dtype ?? "float32",
    // present only for trained weights, so random-weight models keep their bytes
    ...(opts.checkpoint
      ? {
        weights: opts.checkpoint.source,
        activation: opts.checkpoint.activation,
        layerNormEpsilon: opts.checkpoint.layerNormEpsilon,
      }
      : {}),
  });
}

/**
 * Parameter count of a vision shape, computed from the architecture (not by building it).
 * @param cfg the shape
 * @returns the number of weights
 */
export function visionParameterCount(cfg: VisionConfig): number {
  const W = cfg.width, grid = cfg.imageSize / cfg.patch;
  return W * 3 * cfg.patch * cfg.patch + W + (grid * grid + 1) * W + 2 * W +
    cfg.layers * blockParameterCount(W, cfg.mlp) + 2 * W + W * cfg.embedDim;
}

/**
 * Parameter count of a text shape, computed from the architecture.
 * @param cfg the shape
 * @returns the number of weights
 */
export function textParameterCount(cfg: TextConfig): number {
  const W = cfg.width;
  return cfg.vocab * W + cfg.context * W + cfg.layers * blockParameterCount(W, cfg.mlp) + 2 * W +
    W * cfg.embedDim;
}

function blockParameterCount(W: number, mlp: number): number {
  return 4 * W + (W * 3 * W + 3 * W) + (W * W + W) + (W * mlp + mlp) + (mlp * W + W);
}

function checkHeads(width: number, heads: number): void {
  if (width % heads !== 0) {
    throw new RangeError(`width ${width} is not a multiple of ${heads} heads`);
  }
}

/** The graph being built, its precision, and where its weights come from. */
class BuildContext {
  constructor(
    readonly g: OnnxGraph,
    readonly dtype: ModelDtype,
    readonly seed: number,
    readonly checkpoint?: CheckpointWeights,
  ) {}

  /**
   * A weight in the compute dtype, named like CLIP's state dict: the checkpoint's when there is
   * one, else seeded normal values.
   */
  param(name: string, dims: number[], std: number, mean = 0): string {
    const count = dims.reduce((a, b) => a * b, 1);
    let values: Float32Array;
    if (this.checkpoint) {
      const w = this.checkpoint.weights.get(name);
      if (!w) throw new RangeError(`checkpoint weights lack ${name}`);
      if (w.length !== count) {
        throw new RangeError(
          `checkpoint weight ${name} has ${w.length} values, [${dims}] needs ${count}`,
        );
      }
      values = w;
    } else values = seededNormal(this.seed, name, count, std, mean);
    return this.g.initializer(
      name,
      this.dtype,
      dims,
      this.dtype === "float16" ? float32ToFloat16(values) : values,
    );
  }

  /** A constant tensor in the compute dtype. */
  computeTensor(dims: number[], values: Float32Array): TensorValue {
    return this.dtype === "float16"
      ? { dtype: "float16", dims, data: float32ToFloat16(values) }
      : { dtype: "float32", dims, data: values };
  }

  /** A scalar constant in the compute dtype. */
  scalar(value: number): string {
    return this.g.constant(this.computeTensor([], Float32Array.of(value)));
  }

  /** Casts a float32 value to the compute dtype (a no-op for float32). */
  toCompute(x: string): string {
    return this.dtype === "float16" ? this.g.node("Cast", [x], { to: attr.int(10) }) : x;
  }

  /** Produces the float32 graph output `name` from a compute-dtype value. */
  toFloat32(x: string, name: string): void {
    if (this.dtype === "float16") this.g.node("Cast", [x], { to: attr.int(1) }, { out: name });
    else this.g.node("Identity", [x], {}, { out: name });
  }

  /** LayerNormalization over the last axis with weights `<prefix>.weight` and `<prefix>.bias`. */
  layerNorm(x: string, prefix: string, width: number): string {
    return this.g.node("LayerNormalization", [
      x,
      this.param(`${prefix}.weight`, [width], 0.05, 1),
      this.param(`${prefix}.bias`, [width], 0.05),
    ], { axis: attr.int(-1), epsilon: attr.float(this.checkpoint?.layerNormEpsilon ?? 1e-5) });
  }

  /** `x · w + b` with `w` stored `[in, out]`, named `<weight>` and `<bias>`. */
  linear(x: string, weight: string, bias: string, inDim: number, outDim: number): string {
    const w = this.param(weight, [inDim, outDim], 1 / Math.sqrt(inDim));
    const b = this.param(bias, [outDim], 0.02);
    return this.g.node("Add", [this.g.node("MatMul", [x, w]), b]);
  }

  /**
   * One pre-LN residual block on `[N, S, W]`: x + MHSA(LN(x)), then x + MLP(LN(x)) with
   * quick-GELU. An additive `[S, S]` mask makes the attention causal.
   */
  residualBlock(
    x: string,
    prefix: string,
    W: number,
    heads: number,
    mlp: number,
    mask?: string,
  ): string {
    const { g } = this;
    const D = W / heads;
    const h = this.layerNorm(x, `${prefix}.ln_1`, W);
    const qkv = this.linear(
      h,
      `${prefix}.attn.in_proj_weight`,
      `${prefix}.attn.in_proj_bias`,
      W,
      3 * W,
    );
    // Opset 17 Split has no num_outputs: three outputs split the axis equally.
    const [q, k, v] = g.nodeOutputs("Split", [qkv], { axis: attr.int(-1) }, { out: 3 });
    const perHead = (t: string, perm: number[]) =>
      g.node("Transpose", [g.node("Reshape", [t, g.int64([0, 0, heads, D])])], {
        perm: attr.ints(perm),
      });
    const qh = perHead(q, [0, 2, 1, 3]); // [N, H, S, D]
    const kt = perHead(k, [0, 2, 3, 1]); // [N, H, D, S]
    const vh = perHead(v, [0, 2, 1, 3]); // [N, H, S, D]
    let scores = g.node("Mul", [g.node("MatMul", [qh, kt]), this.scalar(1 / Math.sqrt(D))]);
    if (mask) scores = g.node("Add", [scores, mask]);
    const probs = g.node("Softmax", [scores], { axis: attr.int(-1) });
    const merged = g.node("Reshape", [
      g.node("Transpose", [g.node("MatMul", [probs, vh])], { perm: attr.ints([0, 2, 1, 3]) }),
      g.int64([0, 0, W]),
    ]);
    x = g.node("Add", [
      x,
      this.linear(merged, `${prefix}.attn.out_proj.weight`, `${prefix}.attn.out_proj.bias`, W, W),
    ]);

    const h2 = this.layerNorm(x, `${prefix}.ln_2`, W);
    const f = this.linear(h2, `${prefix}.mlp.c_fc.weight`, `${prefix}.mlp.c_fc.bias`, W, mlp);
    const gelu = this.checkpoint?.activation === "gelu"
      // exact GELU: x · ½(1 + erf(x/√2))
      ? g.node("Mul", [
        g.node("Mul", [f, this.scalar(0.5)]),
        g.node("Add", [
          g.node("Erf", [g.node("Mul", [f, this.scalar(Math.SQRT1_2)])]),
          this.scalar(1),
        ]),
      ])
      : g.node("Mul", [f, g.node("Sigmoid", [g.node("Mul", [f, this.scalar(1.702)])])]);
    return g.node("Add", [
      x,
      this.linear(gelu, `${prefix}.mlp.c_proj.weight`, `${prefix}.mlp.c_proj.bias`, mlp, W),
    ]);
  }
}

/**
 * Seeded normal values: each weight has its own stream (mulberry32 seeded by a hash of the seed
 * and the weight's name, Box-Muller), so one weight's values do not depend on the others.
 * @param seed the model seed
 * @param name the weight's name
 * @param count how many values
 * @param std standard deviation
 * @param mean mean
 * @returns the values
 */
export function seededNormal(
  seed: number,
  name: string,
  count: number,
  std: number,
  mean = 0,
): Float32Array {
  // FNV-1a over "seed:name".
  let h = 0x811c9dc5;
  const key = `${seed}:${name}`;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  let state = h >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform())); // 1 − u ∈ (0, 1]: log is finite
    const theta = 2 * Math.PI * uniform();
    out[i] = mean + std * r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = mean + std * r * Math.sin(theta);
  }
  return out;
}
