/**
 * What a shard set's Hub dataset card (`README.md`) says that readers and `eval` rely on: the
 * Hub's split names, the `data_files` map (which tar is which split), the provenance fields, and
 * the part between two marker comments where `eval` puts its numbers (each evaluation's section
 * replaced by a newer one and kept otherwise), written through a temp file of a fixed name.
 * @module
 */
import { join } from "node:path";
import { KINEMBED_VERSION, type Split, SPLITS, TEMP_SUFFIX, writeFileAtomic } from "../base/mod.ts";
import { RUN_SETTINGS, type RunConfig, type SettingName } from "../core/mod.ts";

/** The Hub's names of the splits (the card's wording, `datasets`' split names). */
export const HUB_SPLIT_NAMES: Record<Split, string> = {
  train: "train",
  val: "validation",
  test: "test",
};

/** Opens the part of the card that `eval` writes. */
export const CARD_EVAL_START = "<!-- kinembed eval: start -->";
/** Closes the part of the card that `eval` writes. */
export const CARD_EVAL_END = "<!-- kinembed eval: end -->";

/** What the card says about where the embeddings came from. */
export interface CardProvenance {
  /** The image model's name (a Hub id, or the ONNX file's name). */
  model: string;
  /** Its revision (a Hub commit), or a note that it was a local file. */
  revision: string;
  /** SHA-256 of the ONNX image encoder. */
  modelSha256: string;
  /** Preprocessing preset. */
  preset: string;
  /** Frames per second sampled. */
  fps: string;
  /** Embedding dtype in the `.npy` members. */
  dtype: string;
  /** Embedding width. */
  dim: number;
  /** kinembed's version. */
  kinembedVersion: string;
  /** Hash of the run configuration (`manifest.json`'s `configHash`). */
  configHash: string;
  /** Whether the tars hold thumbnails as `<key>.jpg` (`shard --thumbnails`). */
  thumbnails?: boolean;
}

/**
 * The card's provenance from the run configuration.
 * @param config the run configuration (`manifest.json`'s `config`)
 * @param hash its hash
 * @returns model, revision, sha256, preset, fps, dtype, width, version, config hash
 */
export function cardProvenance(config: RunConfig, hash: string): CardProvenance {
  const str = (name: SettingName, fallback: string) => {
    const value = config[RUN_SETTINGS[name].key];
    return value === undefined || value === null ? fallback : String(value);
  };
  return {
    model: str("modelName", "a local ONNX image encoder (no Hub name recorded)"),
    revision: str("modelRevision", "none (a local file)"),
    modelSha256: str("modelSha256", "unknown"),
    preset: str("preset", "unknown"),
    fps: str("fps", "unknown"),
    dtype: str("dtype", RUN_SETTINGS.dtype.default),
    dim: Number(config[RUN_SETTINGS.embedDim.key] ?? RUN_SETTINGS.embedDim.default),
    kinembedVersion: KINEMBED_VERSION,
    configHash: hash,
    ...(config[RUN_SETTINGS.shardThumbnails.key] === true ? { thumbnails: true } : {}),
  };
}

/**
 * The card's `data_files` map: the shard files of each split, in the order given.
 * @param shards each shard's file name and split (e.g. the plan's shards, in index order)
 * @returns per split its files (empty for a split without shards)
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { cardDataFiles } from "./card.ts";
 * const files = cardDataFiles([{ file: "ds_000000.tar", split: "train" }, { file: "ds_000001.tar", split: "val" }]);
 * deepStrictEqual(files, { train: ["ds_000000.tar"], val: ["ds_000001.tar"], test: [] });
 * ```
 */
export function cardDataFiles(
  shards: readonly { file: string; split: Split }[],
): Record<Split, string[]> {
  const files = Object.fromEntries(SPLITS.map((s) => [s, [] as string[]])) as Record<
    Split,
    string[]
  >;
  for (const sh of shards) files[sh.split].push(sh.file);
  return files;
}

/**
 * The eval part of a card (between the markers), or undefined when it has none.
 * @param card the card's text
 * @returns the Markdown between the markers
 */
export function cardEvalSection(card: string): string | undefined {
  const a = card.indexOf(CARD_EVAL_START);
  const b = card.indexOf(CARD_EVAL_END);
  if (a < 0 || b < a) return undefined;
  return card.slice(a + CARD_EVAL_START.length, b).trim();
}

/**
 * The temp file `eval` writes the card through (a fixed name, so eval's permissions can name it).
 * @param dir the shards folder
 * @returns `<dir>/.README.md.eval.partial`
 */
export function cardEvalTempPath(dir: string): string {
  return join(dir, `.README.md.eval${TEMP_SUFFIX}`);
}

/**
 * Merges a fresh eval section into the one a card holds: each `### ` block of `fresh` replaces
 * the block of the same heading, and every other block the card had is kept (a probe-only eval
 * keeps the earlier zero-shot numbers), zero-shot first as in the published card; the text
 * before the first block is `fresh`'s.
 * @param old the card's eval section (between the markers), when it has one
 * @param fresh eval's numbers as Markdown
 * @returns the merged section
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { mergeCardEvalSections } from "./card.ts";
 * const old = "Run 1.\n\n### Linear-probe Evaluation\n\nlp 1";
 * const merged = mergeCardEvalSections(old, "Run 2.\n\n### Zero-shot Evaluation\n\nzs 2");
 * strictEqual(merged, "Run 2.\n\n### Zero-shot Evaluation\n\nzs 2\n\n### Linear-probe Evaluation\n\nlp 1");
 * ```
 */
export function mergeCardEvalSections(old: string | undefined, fresh: string): string {
  const split = (text: string) => {
    const parts = text.trim().split(/^(?=### )/m);
    const head = parts[0].startsWith("### ") ? "" : parts.shift()!.trim();
    const blocks = new Map(parts.map((b) => [b.split("\n", 1)[0].trim(), b.trim()]));
    return { head, blocks };
  };
  const before = split(old ?? "");
  const after = split(fresh);
  const blocks = new Map(before.blocks);
  for (const [heading, block] of after.blocks) blocks.set(heading, block);
  // the published card's order: zero-shot, then linear probe, each method before its mean-pooled
  const rank = (h: string) =>
    (/zero-shot/i.test(h) ? 0 : /linear-probe/i.test(h) ? 2 : 4) + (/mean-pooled/i.test(h) ? 1 : 0);
  const sorted = [...blocks].sort((a, b) => rank(a[0]) - rank(b[0])).map(([, block]) => block);
  return [after.head, ...sorted].filter((x) => x !== "").join("\n\n");
}

/**
 * Whether a shard set's `README.md` is a card kinembed wrote (it has the eval markers), so that
 * eval may put its numbers in it.
 * @param dir the shards folder
 * @returns the card's path when it has the markers, else undefined (no card, or another's)
 */
export async function hubCardWithEval(dir: string): Promise<string | undefined> {
  const path = join(dir, "README.md");
  const text = await Deno.readTextFile(path).catch(() => null);
  return text !== null && cardEvalSection(text) !== undefined ? path : undefined;
}

/**
 * Puts eval's numbers into a shard set's `README.md` written by kinembed (between the markers),
 * keeping every section of earlier numbers that these do not replace
 * ({@linkcode mergeCardEvalSections}). A card without the markers (e.g. a published set's own) is
 * left alone.
 * @param dir the shards folder
 * @param markdown eval's numbers as Markdown
 * @returns the card's path when it was updated, else undefined
 */
export async function updateHubCardEval(
  dir: string,
  markdown: string,
): Promise<string | undefined> {
  const path = join(dir, "README.md");
  const old = await Deno.readTextFile(path).catch(() => null);
  if (old === null) return undefined;
  const a = old.indexOf(CARD_EVAL_START);
  const b = old.indexOf(CARD_EVAL_END);
  if (a < 0 || b < a) return undefined;
  const kept = cardEvalSection(old);
  const merged = mergeCardEvalSections(
    kept?.startsWith("Not evaluated yet") ? undefined : kept,
    markdown,
  );
  const text = old.slice(0, a + CARD_EVAL_START.length) + "\n" + merged + "\n" + old.slice(b);
  if (text !== old) {
    await writeFileAtomic(path, new TextEncoder().encode(text), { tmp: cardEvalTempPath(dir) });
  }
  return path;
}
