/**
 * Zero-shot class weights as the CLIP-Kinetics700 card computed them: the class weight is the mean
 * over the prompt templates of the L2-normalised text embeddings of `template.format(class)`,
 * L2-normalised again. The text encoder is a CLIP text model on ONNX Runtime (input `input_ids`
 * int64 `[N, 77]`, output `text_embeds` `[N, D]`), fed by {@linkcode ClipTokenizer}.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { buildTextModel } from "../onnx/mod.ts";
 * import { buildZeroShotClassifier } from "./class_weights.ts";
 * const text = await buildTextModel({ size: "tiny" }); // or the path of a text tower .onnx
 * const clf = await buildZeroShotClassifier(text.bytes, ["abseiling", "air drumming"], ["a photo of {}."], {
 *   providers: ["cpu"],
 * });
 * strictEqual(clf.numClasses, 2);
 * ```
 * @module
 */
import { openSession, ortRuntime, type ProviderName } from "../onnx/mod.ts";
import { ConfigError, normalizeRowsInPlace } from "../base/mod.ts";
import { fillTemplate } from "../dataset/mod.ts";
import { ClipTokenizer, CONTEXT_LENGTH } from "./clip_tokenizer.ts";

/** Zero-shot class weights. */
export interface ZeroShotClassifier {
  /** `[K, D]` row-major, each row of unit length. */
  weights: Float32Array;
  /** Number of classes K. */
  numClasses: number;
  /** Embedding width D. */
  dim: number;
  /** Class names, in weight-row order. */
  classNames: string[];
  /** The provider the text encoder ran on (absent when the weights were given directly). */
  provider?: ProviderName;
}

/** Options of {@linkcode buildZeroShotClassifier}. */
export interface TextEncoderOptions {
  /** Execution providers tried in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** CPU threads. */
  threads?: number;
  /** Prompts per text-encoder run (default 64). */
  batchSize?: number;
  /** Input name (default `input_ids`). */
  inputName?: string;
  /** Output name (default `text_embeds`). */
  outputName?: string;
  /** A loaded tokenizer (default: CLIP's, loaded from the shipped vocabulary). */
  tokenizer?: ClipTokenizer;
  /** Called for each provider that did not load. */
  onFallback?: (provider: ProviderName, reason: string) => void;
  /** Called after each batch with prompts done and total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Class weights from text embeddings: each prompt's embedding L2-normalised, averaged over the
 * templates of its class, the average L2-normalised (computed in float64).
 * @param embeddings `[K·T, D]` row-major, class-major: row `c·T + t` is class c with template t
 * @param numClasses K
 * @param numTemplates T
 * @param dim D
 * @returns `[K, D]` unit rows
 */
export function classWeightsFromTextEmbeddings(
  embeddings: Float32Array,
  numClasses: number,
  numTemplates: number,
  dim: number,
): Float32Array {
  if (embeddings.length !== numClasses * numTemplates * dim) {
    throw new RangeError(
      `zero-shot: ${embeddings.length} text-embedding values, expected ${numClasses}×${numTemplates}×${dim}`,
    );
  }
  const mean = new Float64Array(numClasses * dim);
  const row = new Float64Array(dim);
  for (let c = 0; c < numClasses; c++) {
    for (let t = 0; t < numTemplates; t++) {
      const base = (c * numTemplates + t) * dim;
      for (let j = 0; j < dim; j++) row[j] = embeddings[base + j];
      normalizeRowsInPlace(row, 1, dim);
      for (let j = 0; j < dim; j++) mean[c * dim + j] += row[j] / numTemplates;
    }
  }
  normalizeRowsInPlace(mean, numClasses, dim);
  return Float32Array.from(mean);
}

/**
 * Encodes every `template × class` prompt with a CLIP text model and builds the class weights.
 * @param textModel path to the text encoder `.onnx` (or its bytes)
 * @param classNames the classes, in index order
 * @param templates prompt templates holding `{}`
 * @param opts providers, batch size, tensor names, tokenizer
 * @returns the classifier
 * @throws {ConfigError} when the model lacks the input or output, or returns another shape
 */
export async function buildZeroShotClassifier(
  textModel: string | Uint8Array,
  classNames: readonly string[],
  templates: readonly string[],
  opts: TextEncoderOptions = {},
): Promise<ZeroShotClassifier> {
  if (classNames.length === 0) throw new ConfigError("zero-shot: no class names");
  if (templates.length === 0) throw new ConfigError("zero-shot: no prompt templates");
  const inputName = opts.inputName ?? "input_ids";
  const outputName = opts.outputName ?? "text_embeds";
  const where = typeof textModel === "string" ? textModel : "the text model";
  const tokenizer = opts.tokenizer ?? await ClipTokenizer.load();
  const { session, provider } = await openSession(textModel, {
    providers: opts.providers,
    threads: opts.threads,
    onFallback: opts.onFallback,
  });
  try {
    if (!session.inputNames.includes(inputName) || !session.outputNames.includes(outputName)) {
      throw new ConfigError(
        `${where}: expected input ${inputName} int64 [N,${CONTEXT_LENGTH}] and output ` +
          `${outputName} float32 [N,D]; the model has inputs ${session.inputNames.join(", ")} ` +
          `and outputs ${session.outputNames.join(", ")}`,
      );
    }
    const prompts: string[] = [];
    for (const c of classNames) for (const t of templates) prompts.push(fillTemplate(t, c));
    const batch = opts.batchSize ?? 64;
    let dim = 0;
    let embeddings = new Float32Array(0);
    for (let start = 0; start < prompts.length; start += batch) {
      const part = prompts.slice(start, start + batch);
      const ids = tokenizer.tokenize(part);
      const input = new (ortRuntime().Tensor)("int64", ids, [part.length, CONTEXT_LENGTH]);
      const out = await session.run({ [inputName]: input });
      const y = out[outputName];
      if (y.type !== "float32" || y.dims.length !== 2 || y.dims[0] !== part.length) {
        throw new ConfigError(
          `${where}: ${outputName} came out ${y.type} [${y.dims}], expected float32 [${part.length},D]`,
        );
      }
      if (dim === 0) {
        dim = Number(y.dims[1]);
        embeddings = new Float32Array(prompts.length * dim);
      }
      embeddings.set(y.data as Float32Array, start * dim);
      y.dispose?.();
      opts.onProgress?.(Math.min(prompts.length, start + batch), prompts.length);
    }
    return {
      weights: classWeightsFromTextEmbeddings(embeddings, classNames.length, templates.length, dim),
      numClasses: classNames.length,
      dim,
      classNames: [...classNames],
      provider,
    };
  } finally {
    await session.release();
  }
}
