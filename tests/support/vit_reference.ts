/**
 * An independent forward pass of the fixture CLIP models in plain TypeScript (float64 math), to
 * check what ONNX Runtime computes from the built graphs. It reads the weights from a model file's
 * initializers and shares no code with the graph builder: the convolution is a matmul over
 * patches, attention, LayerNorm and quick-GELU are written out here.
 *
 * Weight layout (the builder's contract): names as in OpenAI CLIP's state dict, matrices used as
 * `x · W` stored `[in, out]`, `conv1.weight` `[width, 3, patch, patch]`.
 * @module
 */
import { readModel } from "../../lib/onnx/onnx_graph.ts";

/** CLIP's RGB mean and std, written out again here on purpose (not imported from the builder). */
const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

/** Weights of a model as float32 arrays, plus the shape recorded in its metadata. */
export interface ReferenceModel {
  /** Weights by name. */
  weights: Map<string, Float32Array>;
  /** Weight shapes by name. */
  dims: Map<string, number[]>;
  /** Attention heads (from the model's metadata). */
  heads: number;
  /** Number of residual blocks (counted from the weight names). */
  layers: number;
  /** The MLP's activation (default CLIP's quick-GELU). */
  activation?: "quick_gelu" | "gelu";
}

/**
 * A reference model from weights in hand (OpenAI names, matrices `[in, out]`), for one tower.
 * @param weights weights by name with their shapes (both towers may be present)
 * @param tower which tower's weights to keep
 * @param heads attention heads of that tower
 * @param activation its MLP activation
 * @returns the model
 */
export function referenceModelFromWeights(
  weights: ReadonlyMap<string, { dims: number[]; data: Float32Array }>,
  tower: "vision" | "text",
  heads: number,
  activation: "quick_gelu" | "gelu" = "quick_gelu",
): ReferenceModel {
  const w = new Map<string, Float32Array>();
  const dims = new Map<string, number[]>();
  let layers = 0;
  for (const [name, t] of weights) {
    if (name.startsWith("visual.") !== (tower === "vision")) continue;
    w.set(name, t.data);
    dims.set(name, t.dims);
    const m = /resblocks\.(\d+)\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  return { weights: w, dims, heads, layers, activation };
}

/**
 * Loads a fixture model's weights (float16 weights are widened to float32).
 * @param bytes the ONNX file
 * @returns the weights and the head count
 */
export async function loadReferenceModel(bytes: Uint8Array): Promise<ReferenceModel> {
  const model = await readModel(bytes);
  const weights = new Map<string, Float32Array>();
  const dims = new Map<string, number[]>();
  for (const [name, t] of model.initializers) {
    if (t.dtype === "float32") weights.set(name, t.data as Float32Array);
    else if (t.dtype === "float16") {
      const bits = t.data as Uint16Array;
      weights.set(
        name,
        Float32Array.from(new Float16Array(bits.buffer, bits.byteOffset, bits.length)),
      );
    } else continue;
    dims.set(name, t.dims);
  }
  const options = JSON.parse(model.metadata["kinembed.model_options"] ?? "{}");
  const heads = options?.config?.heads;
  if (typeof heads !== "number") throw new Error("reference: model metadata lacks config.heads");
  let layers = 0;
  for (const name of weights.keys()) {
    const m = /resblocks\.(\d+)\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  return { weights, dims, heads, layers };
}

/**
 * CLIP's preprocessing of raw frames: uint8 RGB `[n, H, W, 3]` → float32 `[n, 3, H, W]`,
 * `(x/255 − mean)/std`.
 * @param frames raw frames
 * @param n number of frames
 * @param size frame side (default 224)
 * @returns normalised pixels, channel-first
 */
export function normalizeFramesReference(frames: Uint8Array, n: number, size = 224): Float32Array {
  const out = new Float32Array(n * 3 * size * size);
  const plane = size * size;
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const v = frames[(b * plane + p) * 3 + c];
        out[(b * 3 + c) * plane + p] = (v / 255 - MEAN[c]) / STD[c];
      }
    }
  }
  return out;
}

/**
 * The vision model's `image_embeds` for normalised pixels.
 * @param model weights from {@linkcode loadReferenceModel}
 * @param pixels float32 `[n, 3, S, S]`
 * @param n batch size
 * @returns float32 `[n, embedDim]`
 */
export function referenceImageEmbeds(
  model: ReferenceModel,
  pixels: Float32Array,
  n: number,
): Float32Array {
  const w = (name: string) => weightOf(model, "visual." + name);
  const [width, , patch] = model.dims.get("visual.conv1.weight")!;
  const tokensCount = model.dims.get("visual.positional_embedding")![0];
  const grid = Math.round(Math.sqrt(tokensCount - 1));
  const side = grid * patch;
  const embedDim = model.dims.get("visual.proj")![1];
  const conv = w("conv1.weight");
  const out = new Float32Array(n * embedDim);
  for (let b = 0; b < n; b++) {
    const img = pixels.subarray(b * 3 * side * side, (b + 1) * 3 * side * side);
    // Token 0 is the class embedding; token 1 + gy·grid + gx is patch (gy, gx).
    let x: Float64Array = new Float64Array(tokensCount * width);
    x.set(w("class_embedding"), 0);
    for (let gy = 0; gy < grid; gy++) {
      for (let gx = 0; gx < grid; gx++) {
        const t = 1 + gy * grid + gx;
        for (let o = 0; o < width; o++) {
          let acc = 0;
          for (let c = 0; c < 3; c++) {
            for (let ky = 0; ky < patch; ky++) {
              const row = (c * side + gy * patch + ky) * side + gx * patch;
              const wrow = ((o * 3 + c) * patch + ky) * patch;
              for (let kx = 0; kx < patch; kx++) acc += conv[wrow + kx] * img[row + kx];
            }
          }
          x[t * width + o] = acc;
        }
      }
    }
    addInPlace(x, w("positional_embedding"));
    x = layerNorm(x, width, w("ln_pre.weight"), w("ln_pre.bias"));
    for (let i = 0; i < model.layers; i++) {
      x = residualBlock(model, `visual.transformer.resblocks.${i}`, x, tokensCount, width, false);
    }
    const cls = layerNorm(x.subarray(0, width), width, w("ln_post.weight"), w("ln_post.bias"));
    out.set(matmul(cls, 1, width, w("proj"), embedDim), b * embedDim);
  }
  return out;
}

/**
 * The text model's `text_embeds` for token ids: causal blocks, pooled at each row's argmax id.
 * @param model weights from {@linkcode loadReferenceModel}
 * @param ids int64 `[n, context]`
 * @param n batch size
 * @returns float32 `[n, embedDim]`
 */
export function referenceTextEmbeds(
  model: ReferenceModel,
  ids: BigInt64Array,
  n: number,
): Float32Array {
  const w = (name: string) => weightOf(model, name);
  const [context, width] = model.dims.get("positional_embedding")!;
  const embedDim = model.dims.get("text_projection")![1];
  const table = w("token_embedding.weight");
  const out = new Float32Array(n * embedDim);
  for (let b = 0; b < n; b++) {
    const row = ids.subarray(b * context, (b + 1) * context);
    let x: Float64Array = new Float64Array(context * width);
    for (let t = 0; t < context; t++) {
      const id = Number(row[t]);
      x.set(table.subarray(id * width, (id + 1) * width), t * width);
    }
    addInPlace(x, w("positional_embedding"));
    for (let i = 0; i < model.layers; i++) {
      x = residualBlock(model, `transformer.resblocks.${i}`, x, context, width, true);
    }
    x = layerNorm(x, width, w("ln_final.weight"), w("ln_final.bias"));
    let end = 0;
    for (let t = 1; t < context; t++) if (row[t] > row[end]) end = t;
    const pooled = x.subarray(end * width, (end + 1) * width);
    out.set(matmul(pooled, 1, width, w("text_projection"), embedDim), b * embedDim);
  }
  return out;
}

function weightOf(model: ReferenceModel, name: string): Float32Array {
  const v = model.weights.get(name);
  if (!v) throw new Error(`reference: model has no weight ${name}`);
  return v;
}

/** x (tokens × width) + MHSA(LN(x)), then + MLP(LN(x)) with quick-GELU. */
function residualBlock(
  model: ReferenceModel,
  prefix: string,
  x: Float64Array,
  tokens: number,
  width: number,
  causal: boolean,
): Float64Array {
  const w = (name: string) => weightOf(model, `${prefix}.${name}`);
  const heads = model.heads, d = width / heads;
  const h = layerNorm(x, width, w("ln_1.weight"), w("ln_1.bias"));
  const qkv = matmul(h, tokens, width, w("attn.in_proj_weight"), 3 * width);
  addBias(qkv, w("attn.in_proj_bias"));
  const merged = new Float64Array(tokens * width);
  const scores = new Float64Array(tokens);
  for (let hd = 0; hd < heads; hd++) {
    const qOff = hd * d, kOff = width + hd * d, vOff = 2 * width + hd * d;
    for (let i = 0; i < tokens; i++) {
      const last = causal ? i : tokens - 1;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        let s = 0;
        for (let e = 0; e < d; e++) {
          s += qkv[i * 3 * width + qOff + e] * qkv[j * 3 * width + kOff + e];
        }
        scores[j] = s / Math.sqrt(d);
        if (scores[j] > max) max = scores[j];
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) sum += scores[j] = Math.exp(scores[j] - max);
      for (let e = 0; e < d; e++) {
        let acc = 0;
        for (let j = 0; j <= last; j++) acc += scores[j] * qkv[j * 3 * width + vOff + e];
        merged[i * width + hd * d + e] = acc / sum;
      }
    }
  }
  const attn = matmul(merged, tokens, width, w("attn.out_proj.weight"), width);
  addBias(attn, w("attn.out_proj.bias"));
  const x1 = Float64Array.from(x);
  addInPlace(x1, attn);

  const h2 = layerNorm(x1, width, w("ln_2.weight"), w("ln_2.bias"));
  const mlp = w("mlp.c_fc.bias").length;
  const f = matmul(h2, tokens, width, w("mlp.c_fc.weight"), mlp);
  addBias(f, w("mlp.c_fc.bias"));
  if (model.activation === "gelu") {
    for (let i = 0; i < f.length; i++) f[i] = 0.5 * f[i] * (1 + erf(f[i] / Math.SQRT2));
  } else {
    for (let i = 0; i < f.length; i++) f[i] = f[i] / (1 + Math.exp(-1.702 * f[i]));
  }
  const p = matmul(f, tokens, mlp, w("mlp.c_proj.weight"), width);
  addBias(p, w("mlp.c_proj.bias"));
  addInPlace(x1, p);
  return x1;
}

/** Per-row LayerNorm over `width` values, epsilon 1e-5 (biased variance). */
function layerNorm(
  x: Float64Array,
  width: number,
  gamma: Float32Array,
  beta: Float32Array,
): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / width; r++) {
    let mean = 0;
    for (let i = 0; i < width; i++) mean += x[r * width + i];
    mean /= width;
    let variance = 0;
    for (let i = 0; i < width; i++) variance += (x[r * width + i] - mean) ** 2;
    variance /= width;
    const inv = 1 / Math.sqrt(variance + 1e-5);
    for (let i = 0; i < width; i++) {
      out[r * width + i] = (x[r * width + i] - mean) * inv * gamma[i] + beta[i];
    }
  }
  return out;
}

/** (rows × inner) · (inner × cols), the right side row-major float32. */
function matmul(
  a: Float64Array,
  rows: number,
  inner: number,
  b: Float32Array,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < inner; k++) {
      const av = a[r * inner + k];
      if (av === 0) continue;
      for (let c = 0; c < cols; c++) out[r * cols + c] += av * b[k * cols + c];
    }
  }
  return out;
}

function addBias(x: Float64Array, bias: Float32Array): void {
  for (let i = 0; i < x.length; i++) x[i] += bias[i % bias.length];
}

function addInPlace(x: Float64Array, y: ArrayLike<number>): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

/** The error function in float64: Taylor series near 0, erfc's continued fraction beyond. */
function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = a, sum = a;
    for (let n = 1; n < 200; n++) {
      term *= -a * a / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * sum * 2 / Math.sqrt(Math.PI);
  }
  let t = a;
  for (let k = 120; k >= 1; k--) t = a + (k / 2) / t;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / t;
  return Math.sign(x) * (1 - erfc);
}
