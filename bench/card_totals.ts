/**
 * The published CLIP-Kinetics700 size, read once from the shipped card
 * (`data/clip-kinetics700-card.md`) by the dataset card parser, for every benchmark that scales
 * to it: samples per split, and all of them together.
 * @module
 */
import { SPLITS } from "../lib/core/mod.ts";
import type { Split } from "../lib/core/mod.ts";
import { defaultCardPath, readCardSplits } from "../lib/dataset/mod.ts";

/** Samples per split as the card states them (train 536,489, val 33,966, test 64,532). */
export const CARD_SAMPLES: Readonly<Record<Split, number>> = await cardSamples(defaultCardPath);

/** Samples of all splits together, as the card states them. */
export const CARD_TOTAL_SAMPLES: number = SPLITS.reduce((a, s) => a + CARD_SAMPLES[s], 0);

/** Reads every split's sample count from a card, which must list all three. */
async function cardSamples(card: string): Promise<Record<Split, number>> {
  const totals = await readCardSplits(card);
  const missing = SPLITS.filter((s) => totals[s] === undefined);
  if (missing.length > 0) throw new Error(`${card}: no ${missing.join(", ")} in "Data Splits"`);
  return { train: totals.train!.samples, val: totals.val!.samples, test: totals.test!.samples };
}
