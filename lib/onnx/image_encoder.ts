/**
 * The CLIP image encoder on ONNX Runtime: the only module that knows ONNX Runtime sessions for
 * images. Execution providers are tried in order; the one that loads is used.
 * @module
 */
import type * as ort from "onnxruntime-node";
import { ortRuntime } from "./ort.ts";
import { openSession } from "./ort_session.ts";
import { CLIP_SIZE, ConfigError } from "../base/mod.ts";
import type { ProviderName } from "./providers.ts";

/** What the model takes: float32 NCHW normalised pixels, or uint8 NHWC raw frames. */
export type EncoderInputKind = "float32-nchw" | "uint8-nhwc";

/** Options for opening an encoder. */
export interface ImageEncoderOptions {
  /** Providers to try in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** Input name (default `pixel_values`). */
  inputName?: string;
  /** Output name (default `image_embeds`). */
  outputName?: string;
  /** Called once per provider that did not load, with the reason. */
  onFallback?: (provider: ProviderName, reason: string) => void;
  /** Intra-op threads for the CPU provider (default: ONNX Runtime's choice). */
  threads?: number;
  /** Inter-op threads (default: ONNX Runtime's choice). */
  interOpThreads?: number;
}

/** An open CLIP image encoder session. */
export class ImageEncoder {
  /** The provider that loaded. */
  readonly provider: ProviderName;
  /** The model's input kind. */
  readonly inputKind: EncoderInputKind;
  /** Embedding width (512 for ViT-B/32). */
  readonly embedDim: number;
  /** Input tensor name. */
  readonly inputName: string;
  /** Output tensor name. */
  readonly outputName: string;
  #session: ort.InferenceSession;

  private constructor(
    session: ort.InferenceSession,
    provider: ProviderName,
    inputName: string,
    outputName: string,
    inputKind: EncoderInputKind,
    embedDim: number,
  ) {
    this.#session = session;
    this.provider = provider;
    this.inputName = inputName;
    this.outputName = outputName;
    this.inputKind = inputKind;
    this.embedDim = embedDim;
  }

  /**
   * Opens a model, trying the providers in order, and checks its input and output.
   * @param model path to the `.onnx` file, or its bytes
   * @param opts providers, tensor names, fallback callback
   * @returns the encoder
   * @example
   * ```ts
   * import { strictEqual } from "node:assert/strict";
   * import { buildVisionModel } from "./clip_model_builder.ts";
   * import { ImageEncoder } from "./image_encoder.ts";
   * const { bytes } = await buildVisionModel({ size: "tiny" }); // or the path of an .onnx file
   * const enc = await ImageEncoder.open(bytes, { providers: ["cpu"] });
   * const emb = await enc.encode(new Float32Array(2 * 3 * 224 * 224), 2);
   * strictEqual(emb.length, 2 * 512);
   * await enc.release();
   * ```
   */
  static async open(
    model: string | Uint8Array,
    opts: ImageEncoderOptions = {},
  ): Promise<ImageEncoder> {
    const inputName = opts.inputName ?? "pixel_values";
    const outputName = opts.outputName ?? "image_embeds";
    const where = typeof model === "string" ? model : "the model";
    const { session, provider } = await openSession(model, {
      providers: opts.providers,
      threads: opts.threads,
      interOpThreads: opts.interOpThreads,
      onFallback: opts.onFallback,
      source: where,
    });
    try {
      const { kind, dim } = checkModel(session, inputName, outputName, where);
      return new ImageEncoder(session, provider, inputName, outputName, kind, dim);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /**
   * Runs the encoder on a batch.
   * @param input float32 (n,3,224,224) normalised, or uint8 (n,224,224,3) frames, per `inputKind`
   * @param n batch size
   * @returns (n, embedDim) float32 embeddings
   */
  async encode(input: Float32Array | Uint8Array, n: number): Promise<Float32Array> {
    const S = CLIP_SIZE;
    const dims = this.inputKind === "uint8-nhwc" ? [n, S, S, 3] : [n, 3, S, S];
    const type = this.inputKind === "uint8-nhwc" ? "uint8" : "float32";
    const tensor = new (ortRuntime().Tensor)(type, input, dims);
    const out = await this.#session.run({ [this.inputName]: tensor });
    const y = out[this.outputName];
    const data = y.data as Float32Array;
    tensor.dispose?.();
    if (y.dims.length !== 2 || y.dims[0] !== n || y.dims[1] !== this.embedDim) {
      throw new ConfigError(
        `${this.outputName} came out [${y.dims}], expected [${n},${this.embedDim}]`,
      );
    }
    return data.constructor === Float32Array ? data : Float32Array.from(data);
  }

  /** Frees the session. */
  async release(): Promise<void> {
    await this.#session.release();
  }
}

function checkModel(
  s: ort.InferenceSession,
  inputName: string,
  outputName: string,
  where: string,
): { kind: EncoderInputKind; dim: number } {
  const S = CLIP_SIZE;
  const expected =
    `input ${inputName} float32 [N,3,${S},${S}] (or uint8 [N,${S},${S},3]) and output ${outputName} float32 [N,D]`;
  const describe = (ms: readonly ort.InferenceSession.ValueMetadata[]) =>
    ms.map((m) =>
      m.isTensor ? `${m.name} ${m.type} [${m.shape.join(",")}]` : `${m.name} (not a tensor)`
    )
      .join(", ");
  const fail = (what: string) =>
    new ConfigError(
      `${where}: ${what}; expected ${expected}. The model has inputs ${describe(s.inputMetadata)}` +
        ` and outputs ${describe(s.outputMetadata)}`,
    );
  const inp = s.inputMetadata.find((m) => m.name === inputName);
  const out = s.outputMetadata.find((m) => m.name === outputName);
  if (!inp || !inp.isTensor) throw fail(`no input named ${inputName}`);
  if (!out || !out.isTensor) throw fail(`no output named ${outputName}`);
  const shape = inp.shape.map((d) => (typeof d === "number" ? d : -1));
  let kind: EncoderInputKind;
  if (inp.type === "float32" && sameDims(shape, [3, S, S])) kind = "float32-nchw";
  else if (inp.type === "uint8" && sameDims(shape, [S, S, 3])) kind = "uint8-nhwc";
  else throw fail(`input ${inputName} is ${inp.type} [${inp.shape.join(",")}]`);
  if (out.type !== "float32" || out.shape.length !== 2) {
    throw fail(`output ${outputName} is ${out.type} [${out.shape.join(",")}]`);
  }
  const d = out.shape[1];
  return { kind, dim: typeof d === "number" ? d : 512 };
}

function sameDims(shape: number[], tail: number[]): boolean {
  return shape.length === 4 && tail.every((t, i) => shape[i + 1] === t || shape[i + 1] === -1);
}
