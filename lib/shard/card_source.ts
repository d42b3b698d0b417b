/**
 * Where a shard set came from, as its Hub dataset card says it: the `license` and
 * `source_datasets` of the YAML front matter and the BibTeX entries to cite. They come from the
 * `--license`/`--source-dataset` flags or from a source card (e.g. the published
 * CLIP-Kinetics700 card), and a rerun that names none keeps what the card already says. Nothing is
 * invented: without a license none is written (the Hub then shows the license as unknown, which is
 * true, where `license: other` would claim a custom one exists).
 * @module
 */
import { UsageError } from "../base/mod.ts";

/** What the card says about the data's origin. */
export interface CardSource {
  /** Hub license ids, e.g. `mit`, `cc-by-4.0`. */
  licenses: string[];
  /** The datasets the videos came from, e.g. `kinetics700`. */
  sourceDatasets: string[];
  /** BibTeX entries the source card gave (without the fences). */
  citations: string[];
}

/** Kinetics-700's BibTeX entry (arXiv:1907.06987), cited when a source dataset is Kinetics. */
export const KINETICS700_BIBTEX = `@article{carreira2019short,
  title = {A Short Note on the Kinetics-700 Human Action Dataset},
  author = {Carreira, Jo{\\~a}o and Noland, Eric and Hillier, Chloe and Zisserman, Andrew},
  journal = {arXiv preprint arXiv:1907.06987},
  year = {2019},
  eprint = {1907.06987},
  archivePrefix = {arXiv}
}`;

/** CLIP's BibTeX entry (arXiv:2103.00020), cited for the embeddings. */
export const CLIP_BIBTEX = `@inproceedings{radford2021learning,
  title = {Learning Transferable Visual Models From Natural Language Supervision},
  author = {Radford, Alec and Kim, Jong Wook and Hallacy, Chris and Ramesh, Aditya and Goh, Gabriel and Agarwal, Sandhini and Sastry, Girish and Askell, Amanda and Mishkin, Pamela and Clark, Jack and Krueger, Gretchen and Sutskever, Ilya},
  booktitle = {Proceedings of the 38th International Conference on Machine Learning},
  series = {Proceedings of Machine Learning Research},
  volume = {139},
  pages = {8748--8763},
  publisher = {PMLR},
  year = {2021},
  eprint = {2103.00020},
  archivePrefix = {arXiv}
}`;

// the Hub's license ids are lowercase, e.g. mit, apache-2.0, cc-by-nc-sa-4.0, openrail++, other
const LICENSE_ID = /^[a-z0-9][a-z0-9.+-]{0,63}$/;
const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\-/|:+]{0,199}$/;

function splitList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}

/**
 * The card source the flags give, checked: each value may be repeated or comma-separated.
 * @param licenses `--license` values
 * @param sourceDatasets `--source-dataset` values
 * @returns the source (no citations), or undefined when neither flag was given
 * @throws UsageError naming the flag and the value that is not a Hub id
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { cardSourceFromFlags } from "./card_source.ts";
 * const s = cardSourceFromFlags(["mit"], ["kinetics700,original"]);
 * deepStrictEqual(s?.sourceDatasets, ["kinetics700", "original"]);
 * ```
 */
export function cardSourceFromFlags(
  licenses: readonly string[],
  sourceDatasets: readonly string[],
): CardSource | undefined {
  const l = splitList(licenses);
  const d = splitList(sourceDatasets);
  for (const id of l) {
    if (!LICENSE_ID.test(id)) {
      throw new UsageError(
        `--license ${JSON.stringify(id.slice(0, 80))}: not a Hub license id ` +
          "(lowercase, e.g. mit, cc-by-4.0, other)",
      );
    }
  }
  for (const name of d) {
    if (!DATASET_NAME.test(name)) {
      throw new UsageError(
        `--source-dataset ${JSON.stringify(name.slice(0, 80))}: not a dataset name ` +
          "(letters, digits and _ . - / | : + only, e.g. kinetics700)",
      );
    }
  }
  if (licenses.length === 0 && sourceDatasets.length === 0) return undefined;
  return { licenses: [...new Set(l)], sourceDatasets: [...new Set(d)], citations: [] };
}

/** The YAML front matter's lines (between the `---` lines), or [] when there is none. */
function frontMatter(card: string): string[] {
  const lines = card.split(/\r?\n/);
  if (lines[0]?.trim() !== "---") return [];
  const end = lines.indexOf("---", 1);
  return end < 0 ? [] : lines.slice(1, end);
}

/** A top-level key's values: `key: value`, `key: [a, b]` or a `- item` list below it. */
function frontMatterList(lines: readonly string[], key: string): string[] {
  const unquote = (v: string) => v.trim().replace(/^(["'])(.*)\1$/, "$2");
  const i = lines.findIndex((l) => l.startsWith(`${key}:`));
  if (i < 0) return [];
  const inline = lines[i].slice(key.length + 1).trim();
  if (inline.startsWith("[")) {
    return inline.replace(/^\[|\]$/g, "").split(",").map(unquote).filter((v) => v !== "");
  }
  if (inline !== "") return [unquote(inline)];
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    const m = /^\s*- (.*)$/.exec(l);
    if (!m) break;
    out.push(unquote(m[1]));
  }
  return out;
}

/**
 * What a card (a source card, or the shards' own from an earlier run) says of the data's origin:
 * its front matter's `license` and `source_datasets`, and its fenced `bibtex` blocks.
 * @param card the card's text
 * @returns the source; empty lists where the card says nothing
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { readCardSource } from "./card_source.ts";
 * const s = readCardSource("---\nlicense:\n- mit\npretty_name: X\n---\n# X\n");
 * deepStrictEqual(s, { licenses: ["mit"], sourceDatasets: [], citations: [] });
 * ```
 */
export function readCardSource(card: string): CardSource {
  const fm = frontMatter(card);
  const citations = [...card.matchAll(/^```bibtex\r?\n([\s\S]*?)\r?\n```/gm)].map((m) =>
    m[1].trim()
  );
  return {
    licenses: frontMatterList(fm, "license"),
    sourceDatasets: frontMatterList(fm, "source_datasets"),
    citations,
  };
}

/**
 * The BibTeX entries a card cites: the source's own, then Kinetics-700's when a source dataset is
 * Kinetics, then CLIP's (the embeddings are CLIP's), each once.
 * @param source the card source
 * @returns the entries, in that order
 */
export function cardCitations(source: CardSource): string[] {
  const kinetics = source.sourceDatasets.some((d) => /kinetics/i.test(d));
  const own = source.citations.filter((c) => c !== KINETICS700_BIBTEX && c !== CLIP_BIBTEX);
  return [...new Set([...own, ...(kinetics ? [KINETICS700_BIBTEX] : []), CLIP_BIBTEX])];
}

/**
 * Joins two card sources part by part: each of `first`'s non-empty lists wins, else `second`'s.
 * @param first e.g. the flags
 * @param second e.g. a source card, or the card of an earlier run
 * @returns the joined source (empty lists where neither has one)
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { mergeCardSources } from "./card_source.ts";
 * const flags = { licenses: ["cc-by-4.0"], sourceDatasets: [], citations: [] };
 * const card = { licenses: ["mit"], sourceDatasets: ["kinetics700"], citations: [] };
 * deepStrictEqual(mergeCardSources(flags, card).licenses, ["cc-by-4.0"]);
 * deepStrictEqual(mergeCardSources(flags, card).sourceDatasets, ["kinetics700"]);
 * ```
 */
export function mergeCardSources(first?: CardSource, second?: CardSource): CardSource {
  const pick = (k: keyof CardSource) => first?.[k].length ? first[k] : second?.[k] ?? [];
  return {
    licenses: pick("licenses"),
    sourceDatasets: pick("sourceDatasets"),
    citations: pick("citations"),
  };
}
