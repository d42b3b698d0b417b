/**
 * What a published dataset promises: the reference data shipped in `data/` (classes, prompt
 * templates, BPE vocabulary, the CLIP-Kinetics700 card) and the card itself, read by one parser
 * for verify (its per-split totals) and eval (its accuracy tables).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { fillTemplate, loadClassNames, readCardSplits } from "./mod.ts";
 *
 * const classes = await loadClassNames();
 * strictEqual(classes.length, 700);
 * strictEqual(fillTemplate("a photo of {}.", classes[0]), "a photo of abseiling.");
 * deepStrictEqual((await readCardSplits(new URL("../../data/clip-kinetics700-card.md", import.meta.url).pathname)).val, {
 *   samples: 33966,
 *   tars: 4,
 * });
 * ```
 * @module
 */
export {
  DATA_DIR,
  defaultCardPath,
  defaultClassesPath,
  defaultTemplatesPath,
  defaultVocabPath,
  fillTemplate,
  loadClassNames,
  loadPromptTemplates,
  parseClassNames,
  parsePromptTemplates,
  TEMPLATE_PLACEHOLDER,
} from "./reference_data.ts";
export {
  type Accuracy,
  parseCardAccuracies,
  parseCardSplits,
  type PublishedAccuracies,
  readCardSplits,
  type SplitTotals,
} from "./dataset_card.ts";
export type { Split, SplitCount, SPLITS } from "../base/mod.ts";
