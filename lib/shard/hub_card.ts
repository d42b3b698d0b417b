/**
 * The shard set's `README.md`: a dataset card in the Hugging Face Hub's format, so the Hub and
 * `datasets` know which tars are which split (by their default file patterns every `ds_*.tar`
 * would load as `train`). YAML front matter with `configs` → `data_files` per split (from the
 * plan) and `dataset_info` features of the WebDataset members; the per-split totals worded as the
 * published CLIP-Kinetics700 card words them (`verify --card shards/README.md` reads them back);
 * the run's provenance; and eval's numbers once `eval --update-card` (or `run --eval`) has put
 * them there (between two marker comments; each evaluation's section is replaced by a newer one
 * and kept otherwise, and a rerun of `shard` keeps them all).
 * @module
 */
import { join } from "node:path";
import {
  KINEMBED_VERSION,
  RUN_SETTINGS,
  type RunConfig,
  type SettingName,
  type Split,
  SPLITS,
  TEMP_SUFFIX,
  writeFileAtomic,
} from "../core/mod.ts";
import type { ShardPlan } from "./plan.ts";

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
  };
}

function sizeCategory(n: number): string {
  const steps: [number, string][] = [
    [1e3, "n<1K"],
    [1e4, "1K<n<10K"],
    [1e5, "10K<n<100K"],
    [1e6, "100K<n<1M"],
    [1e7, "1M<n<10M"],
  ];
  for (const [limit, name] of steps) if (n < limit) return name;
  return "10M<n<100M";
}

/** A YAML scalar: plain when it cannot be misread, else double-quoted JSON (valid YAML). */
function yamlScalar(s: string): string {
  return /^[A-Za-z0-9_.\-/]+$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[\d.]+)$/i.test(s)
    ? s
    : JSON.stringify(s);
}

const TITLE: Record<Split, string> = { train: "Train", val: "Validation", test: "Test" };

/**
 * The Hub dataset card of a shard set.
 * @param plan the shard plan (which tar holds which split)
 * @param provenance where the embeddings came from
 * @param evalSection Markdown of eval's numbers (kept between the markers), when eval has run
 * @returns the card (`README.md` text)
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { planShards } from "./plan.ts";
 * import { cardProvenance, formatHubCard } from "./hub_card.ts";
 * const videos = [{ id: "a", split: "train" as const }, { id: "b", split: "val" as const }];
 * const plan = planShards(videos, { seed: 0, perShard: 10 });
 * const card = formatHubCard(plan, cardProvenance({ fps: 1 }, "0".repeat(64)));
 * ok(card.includes("* Validation - 1 samples | 1 tar's"));
 * ```
 */
export function formatHubCard(
  plan: ShardPlan,
  provenance: CardProvenance,
  evalSection?: string,
): string {
  const present = SPLITS.filter((s) => plan.totals[s].samples > 0);
  const total = present.reduce((a, s) => a + plan.totals[s].samples, 0);
  const y: string[] = [
    "---",
    "pretty_name: CLIP embeddings of video clips (kinembed)",
    "tags:",
    "- webdataset",
    "- clip",
    "- video",
    "- embeddings",
    "task_categories:",
    "- feature-extraction",
    "- zero-shot-classification",
    "size_categories:",
    `- ${yamlScalar(sizeCategory(total))}`,
    "configs:",
    "- config_name: default",
    "  data_files:",
  ];
  for (const s of present) {
    y.push(`  - split: ${HUB_SPLIT_NAMES[s]}`, "    path:");
    for (const sh of plan.shards) if (sh.split === s) y.push(`    - ${yamlScalar(sh.file)}`);
  }
  y.push(
    "dataset_info:",
    "  features:",
    "  - name: __key__",
    "    dtype: string",
    "  - name: __url__",
    "    dtype: string",
    "  - name: json",
    "    struct:",
    "    - name: videoID",
    "      dtype: string",
    "    - name: start_time",
    "      dtype: string",
    "    - name: end_time",
    "      dtype: string",
    "  - name: npy",
    "    dtype:",
    "      array2_d:",
    "        shape:",
    "        - null",
    `        - ${provenance.dim}`,
    `        dtype: ${yamlScalar(provenance.dtype)}`,
    "  - name: txt",
    "    dtype: string",
    "  splits:",
  );
  for (const s of present) {
    y.push(`  - name: ${HUB_SPLIT_NAMES[s]}`, `    num_examples: ${plan.totals[s].samples}`);
  }
  y.push("---", "");
  const p = provenance;
  const body = [
    "# Dataset Card for CLIP embeddings of video clips",
    "",
    "## Dataset Description",
    "",
    "### Dataset Summary",
    "",
    `Per-frame CLIP image embeddings of video clips, sampled at ${p.fps} frame(s) per second ` +
    "and encoded by kinembed, stored as a WebDataset.",
    "",
    "## Dataset Structure",
    "",
    "### Data Format",
    "",
    `WebDataset tars \`ds_%06d.tar\` of up to ${plan.perShard} samples each, keys \`vid_%09d\`; ` +
    "the members of one sample are contiguous, in the order `.json`, `.npy`, `.txt`. " +
    "`splits.csv` (`tar_file,split`) and the YAML above name the split of each tar.",
    "",
    "### Data Fields",
    "",
    `* vid.npy: the per-frame embeddings, ${p.dtype}, shape (n_frames, ${p.dim}), not normalised`,
    "* vid.txt: the label (no newline)",
    "* vid.json: YouTube video ID, start time, end time",
    "",
    "### Data Splits",
    "",
    ...present.map((s) =>
      `* ${TITLE[s]} - ${plan.totals[s].samples} samples | ${plan.totals[s].tars} tar's`
    ),
    "",
    "## Provenance",
    "",
    "| | |",
    "| --- | --- |",
    `| Model | ${p.model} |`,
    `| Revision | ${p.revision} |`,
    `| Model sha256 | \`${p.modelSha256}\` |`,
    `| Preset | ${p.preset} |`,
    `| FPS | ${p.fps} |`,
    `| Dtype | ${p.dtype} |`,
    `| Shuffle seed | ${plan.seed} |`,
    `| kinembed | ${p.kinembedVersion} |`,
    `| Config hash | \`${p.configHash}\` |`,
    "",
    "## Evaluation",
    "",
    CARD_EVAL_START,
    evalSection?.trim() ?? "Not evaluated yet: run `kinembed eval --update-card` on these shards.",
    CARD_EVAL_END,
    "",
  ];
  return y.join("\n") + body.join("\n");
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
 * Writes a shard set's `README.md` (atomically, only when it changed), keeping the eval numbers
 * an earlier `eval` put in it.
 * @param dir the shards folder
 * @param plan the shard plan
 * @param config the run configuration
 * @param configHash its hash
 */
export async function writeHubCard(
  dir: string,
  plan: ShardPlan,
  config: RunConfig,
  configHash: string,
): Promise<void> {
  const path = join(dir, "README.md");
  const old = await Deno.readTextFile(path).catch(() => null);
  const kept = old === null ? undefined : cardEvalSection(old);
  const evalSection = kept?.startsWith("Not evaluated yet") ? undefined : kept;
  const text = formatHubCard(plan, cardProvenance(config, configHash), evalSection);
  if (old !== text) await writeFileAtomic(path, new TextEncoder().encode(text));
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
 * import { mergeCardEvalSections } from "./hub_card.ts";
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
