/**
 * CLIP's text side: the BPE tokenizer with its ftfy-style cleaning, and class weights from prompt
 * templates run through a CLIP text tower (the zero-shot classifier that eval scores with and
 * export stores).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { buildTextModel } from "../onnx/mod.ts";
 * import { buildZeroShotClassifier, ClipTokenizer } from "./mod.ts";
 *
 * const tokenizer = await ClipTokenizer.load();
 * deepStrictEqual(Array.from(tokenizer.tokenize(["a diagram"]).slice(0, 4)), [49406n, 320n, 22697n, 49407n]);
 * const text = await buildTextModel({ size: "tiny" }); // or the path of a text tower .onnx
 * const clf = await buildZeroShotClassifier(text.bytes, ["abseiling", "zumba"], ["a photo of {}."], {
 *   providers: ["cpu"],
 *   tokenizer,
 * });
 * strictEqual(clf.weights.length, clf.numClasses * clf.dim);
 * ```
 * @module
 */
export {
  cleanText,
  CLIP_VOCAB_SIZE,
  ClipTokenizer,
  CONTEXT_LENGTH,
  END_OF_TEXT,
  START_OF_TEXT,
  TextTooLongError,
  type TokenizeOptions,
  type TruncatedText,
} from "./clip_tokenizer.ts";
export {
  buildZeroShotClassifier,
  classWeightsFromTextEmbeddings,
  type TextEncoderOptions,
  type ZeroShotClassifier,
} from "./class_weights.ts";
export type { ProviderName, PROVIDERS } from "../onnx/mod.ts";
