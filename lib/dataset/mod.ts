/**
 * What a published dataset promises: the reference data shipped in `data/` (classes,
 * prompt templates, BPE vocabulary, the CLIP-Kinetics700 card) and the card's per-split totals.
 * @module
 */
export * from "./reference_data.ts";
export * from "./dataset_card.ts";
