/**
 * CLIP checkpoints in the builder's terms: the architecture read from a checkpoint's config
 * (transformers' `config.json` or open_clip's `open_clip_config.json`, or inferred from a bare
 * safetensors file's shapes), every tensor of the checkpoint checked by name and shape, and the
 * weights renamed and laid out as {@linkcode buildVisionModel} and {@linkcode buildTextModel} take
 * them (OpenAI's state dict names, `MatMul` matrices `[in, out]`).
 *
 * Two naming schemes are read: transformers' `CLIPModel` (`vision_model.*`, `text_model.*`,
 * `visual_projection`, `text_projection`, `logit_scale`) and open_clip / OpenAI (`visual.*`,
 * `transformer.resblocks.*`, `token_embedding`, `ln_final`, `text_projection`).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { openClipCheckpoint } from "./clip_checkpoint.ts";
 * import { buildVisionModel } from "./clip_model_builder.ts";
 * // a transformers-layout folder (config.json + model.safetensors) with tiny random weights
 * import { writeFixtureCheckpoint } from "../../fixtures/clip_checkpoints.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFixtureCheckpoint(dir, { layout: "transformers" });
 * const ckpt = await openClipCheckpoint(dir);
 * const checkpoint = await ckpt.weights("vision", dir);
 * const vision = await buildVisionModel({ config: ckpt.arch.vision, checkpoint });
 * strictEqual(vision.config.embedDim, ckpt.arch.vision.embedDim);
 * ckpt.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { basename, join } from "node:path";
import { ConfigError, FormatError, pathExists } from "../base/mod.ts";
import { SafetensorsFile } from "./safetensors.ts";
import type { CheckpointWeights, TextConfig, VisionConfig } from "./clip_model_builder.ts";

/** The two weight naming schemes. */
export type CheckpointLayout = "transformers" | "open_clip";

/** A CLIP architecture the builder can make. */
export interface ClipArchitecture {
  /** Which naming scheme the checkpoint uses. */
  layout: CheckpointLayout;
  /** The image tower. */
  vision: VisionConfig;
  /** The text tower. */
  text: TextConfig;
  /** The vision MLP's activation. */
  visionActivation: "quick_gelu" | "gelu";
  /** The text MLP's activation. */
  textActivation: "quick_gelu" | "gelu";
  /** LayerNorm epsilon of both towers. */
  layerNormEpsilon: number;
}

/** A tower of the model. */
export type ClipTower = "vision" | "text";

/** Tensors a checkpoint may hold that the encoders do not use. */
const UNUSED =
  /^(logit_scale|logit_bias|(text_model|vision_model)\.embeddings\.position_ids|attn_mask|input_resolution|context_length|vocab_size)$/;

/** The file names of the two folder layouts. */
export const CHECKPOINT_FILES: Readonly<
  Record<CheckpointLayout, { config: string; weights: string }>
> = {
  transformers: { config: "config.json", weights: "model.safetensors" },
  open_clip: { config: "open_clip_config.json", weights: "open_clip_model.safetensors" },
};

/** A parsed JSON object. */
export type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v as Json : {};
}

/**
 * The architecture of a transformers `CLIPModel` config (`config.json`), with transformers'
 * defaults for absent fields.
 * @param config the parsed `config.json`
 * @param where names the config in errors
 * @returns the architecture
 * @throws ConfigError for a model type or setting the builder does not support
 */
export function transformersArchitecture(config: Json, where: string): ClipArchitecture {
  const type = config.model_type;
  if (type !== "clip") {
    throw new ConfigError(
      `${where}: model_type ${
        JSON.stringify(type)
      } is not supported; the builder makes OpenAI-style ` +
        `CLIP ViTs (transformers model_type "clip", open_clip ViT-*), not ${
          String(type ?? "an unknown model")
        }`,
    );
  }
  const vc = { ...obj(config.vision_config_dict), ...obj(config.vision_config) };
  const tc = { ...obj(config.text_config_dict), ...obj(config.text_config) };
  const num = (c: Json, k: string, d: number) => {
    const v = c[k] ?? d;
    if (!Number.isSafeInteger(v) || (v as number) <= 0) {
      throw new ConfigError(`${where}: ${k} ${JSON.stringify(v)} is not a positive integer`);
    }
    return v as number;
  };
  const act = (c: Json, tower: string) => {
    const a = c.hidden_act ?? "quick_gelu";
    if (a !== "quick_gelu" && a !== "gelu") {
      throw new ConfigError(`${where}: ${tower} hidden_act ${JSON.stringify(a)} is not supported`);
    }
    return a as "quick_gelu" | "gelu";
  };
  const projection = num(config, "projection_dim", 512);
  const eps = Number(vc.layer_norm_eps ?? tc.layer_norm_eps ?? 1e-5);
  return {
    layout: "transformers",
    vision: {
      imageSize: num(vc, "image_size", 224),
      patch: num(vc, "patch_size", 32),
      width: num(vc, "hidden_size", 768),
      layers: num(vc, "num_hidden_layers", 12),
      heads: num(vc, "num_attention_heads", 12),
      mlp: num(vc, "intermediate_size", 3072),
      embedDim: projection,
    },
    text: {
      vocab: num(tc, "vocab_size", 49408),
      context: num(tc, "max_position_embeddings", 77),
      width: num(tc, "hidden_size", 512),
      layers: num(tc, "num_hidden_layers", 12),
      heads: num(tc, "num_attention_heads", 8),
      mlp: num(tc, "intermediate_size", 2048),
      embedDim: projection,
    },
    visionActivation: act(vc, "vision"),
    textActivation: act(tc, "text"),
    layerNormEpsilon: eps,
  };
}

/**
 * The architecture of an open_clip config (`open_clip_config.json`: `model_cfg` with `embed_dim`,
 * `vision_cfg`, `text_cfg`, `quick_gelu`), with open_clip's defaults for absent fields.
 * @param config the parsed config
 * @param where names the config in errors
 * @returns the architecture
 * @throws ConfigError for a ResNet, timm (EVA) or Hugging Face text tower, or options the
 *   builder does not make
 */
export function openClipArchitecture(config: Json, where: string): ClipArchitecture {
  const model = obj(config.model_cfg ?? config);
  const vc = obj(model.vision_cfg);
  const tc = obj(model.text_cfg);
  const refuse = (what: string) => {
    throw new ConfigError(
      `${where}: ${what} is not supported; the builder makes OpenAI-style CLIP ViTs only`,
    );
  };
  if (Array.isArray(vc.layers)) refuse("a ResNet image tower (vision_cfg.layers is a list)");
  if (vc.timm_model_name) refuse(`a timm image tower (${vc.timm_model_name}, e.g. EVA)`);
  if (tc.hf_model_name) refuse(`a Hugging Face text tower (${tc.hf_model_name})`);
  for (const k of ["attentional_pool", "ls_init_value", "no_ln_pre", "final_ln_after_pool"]) {
    if (vc[k]) refuse(`vision_cfg.${k}`);
    if (tc[k]) refuse(`text_cfg.${k}`);
  }
  if (vc.pool_type !== undefined && vc.pool_type !== "tok") {
    refuse(`vision pool_type ${vc.pool_type}`);
  }
  if (tc.pool_type !== undefined && tc.pool_type !== "argmax") {
    refuse(`text pool_type ${tc.pool_type}`);
  }
  if (tc.proj_bias || tc.embed_cls) refuse("text_cfg.proj_bias / embed_cls");
  const num = (c: Json, k: string, d: number | undefined, what: string) => {
    const v = c[k] ?? d;
    if (!Number.isSafeInteger(v) || (v as number) <= 0) {
      throw new ConfigError(
        `${where}: ${what}.${k} ${JSON.stringify(v)} is not a positive integer`,
      );
    }
    return v as number;
  };
  const embed = num(model, "embed_dim", undefined, "model_cfg");
  const vWidth = num(vc, "width", 768, "vision_cfg");
  const tWidth = num(tc, "width", 512, "text_cfg");
  const mlpRatio = Number(vc.mlp_ratio ?? 4);
  const tMlpRatio = Number(tc.mlp_ratio ?? 4);
  const act = model.quick_gelu === true ? "quick_gelu" : "gelu";
  const imageSize = Array.isArray(vc.image_size) ? vc.image_size[0] : vc.image_size;
  return {
    layout: "open_clip",
    vision: {
      imageSize: num({ image_size: imageSize }, "image_size", 224, "vision_cfg"),
      patch: num(vc, "patch_size", 16, "vision_cfg"),
      width: vWidth,
      layers: num(vc, "layers", 12, "vision_cfg"),
      heads: vWidth / num(vc, "head_width", 64, "vision_cfg"),
      mlp: Math.round(vWidth * mlpRatio),
      embedDim: embed,
    },
    text: {
      vocab: num(tc, "vocab_size", 49408, "text_cfg"),
      context: num(tc, "context_length", 77, "text_cfg"),
      width: tWidth,
      layers: num(tc, "layers", 12, "text_cfg"),
      heads: num(tc, "heads", 8, "text_cfg"),
      mlp: Math.round(tWidth * tMlpRatio),
      embedDim: embed,
    },
    visionActivation: act,
    textActivation: act,
    layerNormEpsilon: 1e-5,
  };
}

/** How one builder tensor is made from the checkpoint's tensors. */
export interface TensorRecipe {
  /** The builder's name. */
  name: string;
  /** The checkpoint tensors it is made of, with their expected shapes. */
  sources: { name: string; shape: number[] }[];
  /** Transpose a 2-D source (after concatenating the sources along axis 0). */
  transpose: boolean;
}

/**
 * The builder tensors of a tower and the checkpoint tensors each is made of, for a layout.
 * @param arch the architecture
 * @param tower which tower
 * @returns one recipe per builder tensor
 */
export function towerRecipes(arch: ClipArchitecture, tower: ClipTower): TensorRecipe[] {
  const out: TensorRecipe[] = [];
  const hf = arch.layout === "transformers";
  const add = (name: string, source: string, shape: number[], transpose = false) =>
    out.push({ name, sources: [{ name: source, shape }], transpose });
  const blocks = (
    builderPrefix: string,
    sourcePrefix: string,
    W: number,
    mlp: number,
    n: number,
  ) => {
    for (let i = 0; i < n; i++) {
      const b = `${builderPrefix}.${i}`, s = `${sourcePrefix}.${i}`;
      const ln = (bn: string, sn: string) => {
        add(`${b}.${bn}.weight`, `${s}.${sn}.weight`, [W]);
        add(`${b}.${bn}.bias`, `${s}.${sn}.bias`, [W]);
      };
      if (hf) {
        ln("ln_1", "layer_norm1");
        ln("ln_2", "layer_norm2");
        const qkv = ["q_proj", "k_proj", "v_proj"];
        out.push({
          name: `${b}.attn.in_proj_weight`,
          sources: qkv.map((p) => ({ name: `${s}.self_attn.${p}.weight`, shape: [W, W] })),
          transpose: true,
        });
        out.push({
          name: `${b}.attn.in_proj_bias`,
          sources: qkv.map((p) => ({ name: `${s}.self_attn.${p}.bias`, shape: [W] })),
          transpose: false,
        });
        add(`${b}.attn.out_proj.weight`, `${s}.self_attn.out_proj.weight`, [W, W], true);
        add(`${b}.attn.out_proj.bias`, `${s}.self_attn.out_proj.bias`, [W]);
        add(`${b}.mlp.c_fc.weight`, `${s}.mlp.fc1.weight`, [mlp, W], true);
        add(`${b}.mlp.c_fc.bias`, `${s}.mlp.fc1.bias`, [mlp]);
        add(`${b}.mlp.c_proj.weight`, `${s}.mlp.fc2.weight`, [W, mlp], true);
        add(`${b}.mlp.c_proj.bias`, `${s}.mlp.fc2.bias`, [W]);
      } else {
        ln("ln_1", "ln_1");
        ln("ln_2", "ln_2");
        add(`${b}.attn.in_proj_weight`, `${s}.attn.in_proj_weight`, [3 * W, W], true);
        add(`${b}.attn.in_proj_bias`, `${s}.attn.in_proj_bias`, [3 * W]);
        add(`${b}.attn.out_proj.weight`, `${s}.attn.out_proj.weight`, [W, W], true);
        add(`${b}.attn.out_proj.bias`, `${s}.attn.out_proj.bias`, [W]);
        add(`${b}.mlp.c_fc.weight`, `${s}.mlp.c_fc.weight`, [mlp, W], true);
        add(`${b}.mlp.c_fc.bias`, `${s}.mlp.c_fc.bias`, [mlp]);
        add(`${b}.mlp.c_proj.weight`, `${s}.mlp.c_proj.weight`, [W, mlp], true);
        add(`${b}.mlp.c_proj.bias`, `${s}.mlp.c_proj.bias`, [W]);
      }
    }
  };
  if (tower === "vision") {
    const v = arch.vision, W = v.width, grid = v.imageSize / v.patch;
    const e = hf ? "vision_model.embeddings." : "visual.";
    add("visual.conv1.weight", hf ? e + "patch_embedding.weight" : e + "conv1.weight", [
      W,
      3,
      v.patch,
      v.patch,
    ]);
    add("visual.class_embedding", e + "class_embedding", [W]);
    add(
      "visual.positional_embedding",
      hf ? e + "position_embedding.weight" : e + "positional_embedding",
      [grid * grid + 1, W],
    );
    const pre = hf ? "vision_model.pre_layrnorm" : "visual.ln_pre";
    add("visual.ln_pre.weight", `${pre}.weight`, [W]);
    add("visual.ln_pre.bias", `${pre}.bias`, [W]);
    blocks(
      "visual.transformer.resblocks",
      hf ? "vision_model.encoder.layers" : "visual.transformer.resblocks",
      W,
      v.mlp,
      v.layers,
    );
    const post = hf ? "vision_model.post_layernorm" : "visual.ln_post";
    add("visual.ln_post.weight", `${post}.weight`, [W]);
    add("visual.ln_post.bias", `${post}.bias`, [W]);
    if (hf) add("visual.proj", "visual_projection.weight", [v.embedDim, W], true);
    else add("visual.proj", "visual.proj", [W, v.embedDim]);
  } else {
    const t = arch.text, W = t.width;
    add(
      "token_embedding.weight",
      hf ? "text_model.embeddings.token_embedding.weight" : "token_embedding.weight",
      [t.vocab, W],
    );
    add(
      "positional_embedding",
      hf ? "text_model.embeddings.position_embedding.weight" : "positional_embedding",
      [t.context, W],
    );
    blocks(
      "transformer.resblocks",
      hf ? "text_model.encoder.layers" : "transformer.resblocks",
      W,
      t.mlp,
      t.layers,
    );
    const fin = hf ? "text_model.final_layer_norm" : "ln_final";
    add("ln_final.weight", `${fin}.weight`, [W]);
    add("ln_final.bias", `${fin}.bias`, [W]);
    if (hf) add("text_projection", "text_projection.weight", [t.embedDim, W], true);
    else add("text_projection", "text_projection", [W, t.embedDim]);
  }
  return out;
}

/** Names a few items of a list and counts the rest. */
function someNames(names: string[]): string {
  const shown = names.slice(0, 6).join(", ");
  return names.length > 6 ? `${shown} and ${names.length - 6} more` : shown;
}

/**
 * Checks every tensor of a checkpoint against an architecture: none missing, none extra (apart
 * from `logit_scale` and buffers such as `position_ids`), every shape as the architecture says.
 * @param file the open checkpoint
 * @param arch the architecture
 * @throws FormatError naming the missing, extra and mis-shaped tensors
 */
export function checkCheckpointTensors(file: SafetensorsFile, arch: ClipArchitecture): void {
  const expected = new Map<string, number[]>();
  for (const tower of ["vision", "text"] as const) {
    for (const r of towerRecipes(arch, tower)) {
      for (const s of r.sources) expected.set(s.name, s.shape);
    }
  }
  const missing = [...expected.keys()].filter((n) => !file.entries.has(n));
  const extra = [...file.entries.keys()].filter((n) => !expected.has(n) && !UNUSED.test(n));
  const misshaped: string[] = [];
  for (const [name, shape] of expected) {
    const e = file.entries.get(name);
    if (e && (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))) {
      misshaped.push(`${name} is [${e.shape}], expected [${shape}]`);
    }
  }
  const problems: string[] = [];
  if (missing.length) problems.push(`missing ${missing.length} tensors: ${someNames(missing)}`);
  if (extra.length) problems.push(`${extra.length} unexpected tensors: ${someNames(extra)}`);
  if (misshaped.length) problems.push(`mis-shaped: ${someNames(misshaped)}`);
  if (problems.length) {
    throw new FormatError(
      `${file.path}: does not match the ${arch.layout} CLIP architecture of its config ` +
        `(vision ${describe(arch.vision)}, text ${arch.text.width}w/${arch.text.layers}l): ` +
        problems.join("; "),
    );
  }
}

function describe(v: VisionConfig): string {
  return `ViT ${v.width}w/${v.layers}l/patch ${v.patch}/${v.imageSize}px`;
}

/**
 * Infers the architecture of a bare safetensors checkpoint from its tensor names and shapes:
 * widths, layers, patch, image size, vocabulary, context and projection from the shapes; heads as
 * width/64 (every released CLIP ViT has 64-wide heads); the activation from the file's metadata
 * (`activation`), else CLIP's quick-GELU.
 * @param file the open checkpoint
 * @returns the architecture
 * @throws ConfigError when the names are neither scheme, or name another architecture
 */
export function inferArchitecture(file: SafetensorsFile): ClipArchitecture {
  const has = (n: string) => file.entries.has(n);
  const shape = (n: string) => {
    const e = file.entries.get(n);
    if (!e) throw new FormatError(`${file.path}: no tensor ${n}, cannot infer the architecture`);
    return e.shape;
  };
  const count = (re: RegExp) => {
    let n = 0;
    for (const k of file.entries.keys()) {
      const m = re.exec(k);
      if (m) n = Math.max(n, Number(m[1]) + 1);
    }
    return n;
  };
  if (has("visual.layer1.0.conv1.weight") || has("visual.attnpool.positional_embedding")) {
    throw new ConfigError(`${file.path}: a ResNet CLIP is not supported (ViT only)`);
  }
  const hf = has("vision_model.embeddings.patch_embedding.weight");
  if (!hf && !has("visual.conv1.weight")) {
    throw new ConfigError(
      `${file.path}: neither transformers (vision_model.*) nor open_clip (visual.*) CLIP tensor names`,
    );
  }
  const [W, , P] = shape(
    hf ? "vision_model.embeddings.patch_embedding.weight" : "visual.conv1.weight",
  );
  const tokens = shape(
    hf ? "vision_model.embeddings.position_embedding.weight" : "visual.positional_embedding",
  )[0];
  const grid = Math.round(Math.sqrt(tokens - 1));
  const [vocab, tW] = shape(
    hf ? "text_model.embeddings.token_embedding.weight" : "token_embedding.weight",
  );
  const context =
    shape(hf ? "text_model.embeddings.position_embedding.weight" : "positional_embedding")[0];
  const embedDim = hf ? shape("visual_projection.weight")[0] : shape("visual.proj")[1];
  const vMlp = shape(
    hf
      ? "vision_model.encoder.layers.0.mlp.fc1.weight"
      : "visual.transformer.resblocks.0.mlp.c_fc.weight",
  )[0];
  const tMlp = shape(
    hf ? "text_model.encoder.layers.0.mlp.fc1.weight" : "transformer.resblocks.0.mlp.c_fc.weight",
  )[0];
  const act = file.metadata.activation === "gelu" ? "gelu" : "quick_gelu";
  return {
    layout: hf ? "transformers" : "open_clip",
    vision: {
      imageSize: grid * P,
      patch: P,
      width: W,
      layers: count(
        hf ? /^vision_model\.encoder\.layers\.(\d+)\./ : /^visual\.transformer\.resblocks\.(\d+)\./,
      ),
      heads: Math.max(1, Math.round(W / 64)),
      mlp: vMlp,
      embedDim,
    },
    text: {
      vocab,
      context,
      width: tW,
      layers: count(
        hf ? /^text_model\.encoder\.layers\.(\d+)\./ : /^transformer\.resblocks\.(\d+)\./,
      ),
      heads: Math.max(1, Math.round(tW / 64)),
      mlp: tMlp,
      embedDim,
    },
    visionActivation: act,
    textActivation: act,
    layerNormEpsilon: 1e-5,
  };
}

/** An open, checked CLIP checkpoint. */
export interface ClipCheckpoint {
  /** The safetensors file. */
  weightsPath: string;
  /** The config file it was read with (null: inferred from a bare safetensors file). */
  configPath: string | null;
  /** The architecture. */
  arch: ClipArchitecture;
  /**
   * One tower's weights in the builder's names and layout.
   * @param tower which tower
   * @param source recorded in the built model (e.g. the checkpoint's sha256)
   */
  weights(tower: ClipTower, source: string): Promise<CheckpointWeights>;
  /** Closes the file. */
  close(): void;
}

/**
 * Opens a CLIP checkpoint: a `.safetensors` file, or a folder in transformers' layout
 * (`config.json` + `model.safetensors`) or open_clip's (`open_clip_config.json` +
 * `open_clip_model.safetensors`); reads its architecture and checks every tensor.
 * @param path the file or folder
 * @returns the open checkpoint
 * @throws ConfigError for an unsupported architecture or a folder with neither layout;
 *   FormatError for a damaged file or missing, extra or mis-shaped tensors
 */
export async function openClipCheckpoint(path: string): Promise<ClipCheckpoint> {
  const stat = await Deno.stat(path).catch(() => null);
  if (stat === null) throw new ConfigError(`checkpoint ${path} does not exist`);
  let weightsPath = path, configPath: string | null = null;
  let arch: ClipArchitecture | null = null;
  if (stat.isDirectory) {
    for (const layout of ["transformers", "open_clip"] as const) {
      const files = CHECKPOINT_FILES[layout];
      const cfg = join(path, files.config), w = join(path, files.weights);
      if (await pathExists(cfg) && await pathExists(w)) {
        configPath = cfg;
        weightsPath = w;
        break;
      }
    }
    if (configPath === null) {
      throw new ConfigError(
        `${path}: no CLIP checkpoint here (expected config.json + model.safetensors, or ` +
          "open_clip_config.json + open_clip_model.safetensors)",
      );
    }
    // a device or FIFO named like a checkpoint file would never finish reading (or opening)
    for (const f of [configPath, weightsPath]) {
      if (!(await Deno.stat(f)).isFile) {
        throw new ConfigError(`${f}: not a regular file; a checkpoint's files must be plain files`);
      }
    }
    let json: Json;
    try {
      json = JSON.parse(await Deno.readTextFile(configPath));
    } catch (e) {
      throw new FormatError(`${configPath}: not JSON (${(e as Error).message})`);
    }
    arch = basename(configPath) === "config.json"
      ? transformersArchitecture(json, configPath)
      : openClipArchitecture(json, configPath);
  } else if (!path.endsWith(".safetensors")) {
    throw new ConfigError(`${path}: a checkpoint file must be .safetensors`);
  } else if (!stat.isFile) {
    throw new ConfigError(`${path}: not a regular file; a checkpoint's files must be plain files`);
  }
  const file = await SafetensorsFile.open(weightsPath);
  try {
    arch ??= inferArchitecture(file);
    if (arch.vision.width % arch.vision.heads !== 0 || arch.text.width % arch.text.heads !== 0) {
      throw new ConfigError(`${configPath ?? weightsPath}: width is not a multiple of the heads`);
    }
    if (arch.vision.imageSize % arch.vision.patch !== 0) {
      throw new ConfigError(`${configPath ?? weightsPath}: image size is not a multiple of patch`);
    }
    checkCheckpointTensors(file, arch);
  } catch (e) {
    file.close();
    throw e;
  }
  const a = arch;
  return {
    weightsPath,
    configPath,
    arch: a,
    async weights(tower, source) {
      const weights = new Map<string, Float32Array>();
      for (const r of towerRecipes(a, tower)) {
        // one read at a time: the reads share the file's position
        const parts: Float32Array[] = [];
        for (const s of r.sources) parts.push(await file.float32(s.name));
        let data: Float32Array;
        if (parts.length === 1) data = parts[0];
        else {
          data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const p of parts) {
            data.set(p, at);
            at += p.length;
          }
        }
        if (r.transpose) {
          const cols = r.sources[0].shape[1];
          data = transpose(data, data.length / cols, cols);
        }
        weights.set(r.name, data);
      }
      return {
        weights,
        activation: tower === "vision" ? a.visionActivation : a.textActivation,
        layerNormEpsilon: a.layerNormEpsilon,
        source,
      };
    },
    close: () => file.close(),
  };
}

/** rows × cols → cols × rows. */
function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}
