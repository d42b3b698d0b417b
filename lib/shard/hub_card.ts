/**
 * Writes the shard set's `README.md`: a dataset card in the Hugging Face Hub's format, so the Hub
 * and `datasets` know which tars are which split (by their default file patterns every `ds_*.tar`
 * would load as `train`). YAML front matter with `configs` → `data_files` per split (from the
 * plan) and `dataset_info` features of the WebDataset members; the per-split totals worded as the
 * published CLIP-Kinetics700 card words them (`verify --card shards/README.md` reads them back);
 * the run's provenance; and eval's numbers, which a rerun of `shard` keeps (the card's parts that
 * readers and `eval` rely on live in `lib/webdataset/card.ts`); the license, source datasets and
 * citations (`card_source.ts`); and how to load the set with `webdataset`, `datasets` and kinembed.
 * @module
 */
import { join } from "node:path";
import { type Split, SPLITS, writeFileAtomic } from "../base/mod.ts";
import type { RunConfig } from "../core/mod.ts";
import {
  CARD_EVAL_END,
  CARD_EVAL_START,
  cardDataFiles,
  cardEvalSection,
  type CardProvenance,
  cardProvenance,
  HUB_SPLIT_NAMES,
} from "../webdataset/mod.ts";
import type { ShardPlan } from "./plan.ts";
import { cardCitations, type CardSource, mergeCardSources, readCardSource } from "./card_source.ts";

/**
 * The module the card's Deno snippet imports kinembed from: a checkout's `mod.ts`, relative to
 * the folder holding the card (README.md's "Library use" names it the same way).
 */
export const CARD_KINEMBED_IMPORT = "../kinembed/mod.ts";

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

/** A `{ split: [files] }` literal that is valid Python and TypeScript alike. */
function filesLiteral(files: [string, string[]][], indent: string): string[] {
  return [
    "{",
    ...files.map(([split, f]) =>
      `${indent}${JSON.stringify(split)}: [${f.map((x) => JSON.stringify(x)).join(", ")}],`
    ),
    "}",
  ];
}

/** The "How to load" section: `webdataset`, `datasets` and kinembed, on the card's data_files. */
function howToLoad(files: [string, string[]][]): string[] {
  const first = files[0] ?? ["train", []];
  const py = filesLiteral(files, "    ");
  const ts = filesLiteral(files, "  ");
  return [
    "## How to load",
    "",
    "Each snippet runs in the folder that holds this card; the paths are the `data_files` above.",
    "",
    "With [webdataset](https://github.com/webdataset/webdataset) (`pip install webdataset`):",
    "",
    "```python",
    "import webdataset as wds",
    "",
    `urls = [${first[1].map((x) => JSON.stringify(x)).join(", ")}]  # ${first[0]}`,
    "for sample in wds.WebDataset(urls, shardshuffle=False).decode():",
    '    print(sample["__key__"], sample["txt"], sample["npy"].shape, sample["json"]["videoID"])',
    "```",
    "",
    "With Hugging Face `datasets` (`pip install datasets`):",
    "",
    "```python",
    "from datasets import load_dataset",
    "",
    `data_files = ${py[0]}`,
    ...py.slice(1),
    'ds = load_dataset("webdataset", data_files=data_files)',
    `print(ds[${JSON.stringify(first[0])}][0]["txt"])`,
    "```",
    "",
    "With kinembed's reader (Deno, a kinembed checkout beside this folder; `--allow-read` only):",
    "",
    "```ts",
    "// read_card_shards.ts: deno run --allow-read read_card_shards.ts",
    `import { ShardReader } from ${JSON.stringify(CARD_KINEMBED_IMPORT)};`,
    "",
    `const dataFiles: Record<string, string[]> = ${ts[0]}`,
    ...ts.slice(1, -1),
    `${ts[ts.length - 1]};`,
    "for (const [split, files] of Object.entries(dataFiles)) {",
    "  for await (const s of new ShardReader(files)) {",
    '    console.log(split, s.key, s.label, s.embeddings.shape.join("x"));',
    "  }",
    "}",
    "```",
    "",
  ];
}

/**
 * The Hub dataset card of a shard set.
 * @param plan the shard plan (which tar holds which split)
 * @param provenance where the embeddings came from
 * @param evalSection Markdown of eval's numbers (kept between the markers), when eval has run
 * @param source license, source datasets and citations (none written where it has none)
 * @returns the card (`README.md` text)
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { planShards } from "./plan.ts";
 * import { cardProvenance } from "../webdataset/mod.ts";
 * import { formatHubCard } from "./hub_card.ts";
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
  source: CardSource = { licenses: [], sourceDatasets: [], citations: [] },
): string {
  const present = SPLITS.filter((s) => plan.totals[s].samples > 0);
  const total = present.reduce((a, s) => a + plan.totals[s].samples, 0);
  const y: string[] = [
    "---",
    "pretty_name: CLIP embeddings of video clips (kinembed)",
    ...(source.licenses.length
      ? ["license:", ...source.licenses.map((l) => `- ${yamlScalar(l)}`)]
      : []),
    ...(source.sourceDatasets.length
      ? ["source_datasets:", ...source.sourceDatasets.map((d) => `- ${yamlScalar(d)}`)]
      : []),
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
  const dataFiles = cardDataFiles(plan.shards);
  for (const s of present) {
    y.push(`  - split: ${HUB_SPLIT_NAMES[s]}`, "    path:");
    for (const file of dataFiles[s]) y.push(`    - ${yamlScalar(file)}`);
  }
  for (const line of featuresYaml(provenance)) y.push(line);
  y.push("  splits:");
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
    "`splits.csv` (`tar_file,split`) and the YAML above name the split of each tar. " +
    SAME_BYTES_SENTENCE,
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
    ...howToLoad(present.map((s) => [HUB_SPLIT_NAMES[s], dataFiles[s]])),
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
    "## Citation",
    "",
    ...cardCitations(source).flatMap((c) => ["```bibtex", c, "```", ""]),
  ];
  return y.join("\n") + body.join("\n");
}

/**
 * What the card says of the bytes a scale-out run gives (docs/cluster.md says the same): the tars
 * and `splits.csv` do not depend on the worker count; `manifest.json` and the card record it.
 */
export const SAME_BYTES_SENTENCE =
  "The tars and `splits.csv` are the same bytes however many workers wrote them; " +
  "`manifest.json` and this card record the worker layout (in the config hash).";

/** The `dataset_info.features` block: what the Hub's viewer and `datasets` decode. */
function featuresYaml(provenance: CardProvenance): string[] {
  return [
    "dataset_info:",
    "  features:",
    "  - name: __key__",
    "    dtype: string",
    "  - name: __url__",
    "    dtype: string",
    ...(provenance.thumbnails ? ["  - name: jpg", "    dtype: image"] : []),
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
  ];
}

/**
 * Writes a shard set's `README.md` (atomically, only when it changed), keeping the eval numbers
 * an earlier `eval` put in it.
 * @param dir the shards folder
 * @param plan the shard plan
 * @param config the run configuration
 * @param configHash its hash
 * @param source license, source datasets and citations; each absent part: the card's earlier one
 */
export async function writeHubCard(
  dir: string,
  plan: ShardPlan,
  config: RunConfig,
  configHash: string,
  source?: CardSource,
): Promise<void> {
  const path = join(dir, "README.md");
  const old = await Deno.readTextFile(path).catch(() => null);
  const kept = old === null ? undefined : cardEvalSection(old);
  const evalSection = kept?.startsWith("Not evaluated yet") ? undefined : kept;
  // what a rerun does not name it keeps from the card, so a flag given once is not lost
  const before = old === null ? undefined : readCardSource(old);
  const s = mergeCardSources(source, before);
  const text = formatHubCard(plan, cardProvenance(config, configHash), evalSection, s);
  if (old !== text) await writeFileAtomic(path, new TextEncoder().encode(text));
}
