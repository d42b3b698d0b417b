/**
 * The dataset card, read once for verify and eval alike: its "Data Splits" section (what a
 * published set promises per split, e.g. `* Train - 536489 samples | 54 tar's`) and its
 * "Zero-shot Evaluation" and "Linear-probe Evaluation" accuracy tables. Split names are matched
 * case-insensitively (Train, Validation / Val, Test); anything unreadable is a `FormatError` naming
 * the line.
 * @module
 */
import { FormatError, parseSplitName, type Split, type SplitCount } from "../base/mod.ts";

/** Samples and tars per split, as a card states them (splits it does not list are absent). */
export type SplitTotals = Partial<Record<Split, SplitCount>>;

/** Top-1, top-5 and their mean, as the card tabulates them. */
export interface Accuracy {
  /** Top-1 accuracy. */
  top1: number;
  /** Top-5 accuracy. */
  top5: number;
  /** mean(Top1, Top5). */
  mean: number;
}

/** The accuracies a dataset card publishes. */
export interface PublishedAccuracies {
  /** The card file. */
  source: string;
  /** Its "Zero-shot Evaluation" table, when it has one. */
  zeroShot?: Accuracy;
  /** Its "Linear-probe Evaluation" table, when it has one. */
  linearProbe?: Accuracy;
}

/** One line of a card, with what Markdown makes of it. */
interface CardLine {
  /** The line's text. */
  text: string;
  /** Inside (or opening or closing) a fenced code block: neither a heading nor content. */
  fenced: boolean;
  /** The heading's level (1–6) and its words (links reduced to their text), on heading lines. */
  heading?: { level: number; title: string };
}

const HEADING = /^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$/;
const BULLET = /^\s*[*+-]\s+(.*)$/;
const SPLIT_LINE =
  /^([A-Za-z][A-Za-z ]*?)\s*(?:-|–|—|:)\s*([\d,_]+)\s*samples?\s*(?:\||,|;)\s*([\d,_]+)\s*tar(?:'s|s)?\s*$/i;

/** Splits a card into lines and marks its headings and fenced code blocks. */
function cardLines(text: string): CardLine[] {
  let inFence = false;
  return text.replace(/^\uFEFF/, "").split(/\r?\n/).map((line) => {
    const fence = /^\s*(```|~~~)/.test(line);
    if (fence) inFence = !inFence;
    if (fence || inFence) return { text: line, fenced: true };
    const h = HEADING.exec(line);
    // "[Zero-shot Evaluation](https://...)" → "Zero-shot Evaluation"
    const title = h?.[2].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").trim();
    return h ? { text: line, fenced: false, heading: { level: h[1].length, title: title! } } : {
      text: line,
      fenced: false,
    };
  });
}

/**
 * Parses a card's "Data Splits" section.
 * @param text the card (Markdown)
 * @param file the card's path, named in errors
 * @returns samples and tars per listed split
 * @throws {FormatError} naming the line that cannot be read
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseCardSplits } from "./dataset_card.ts";
 * const totals = parseCardSplits("### Data Splits\n* Train - 20 samples | 2 tar's\n");
 * deepStrictEqual(totals, { train: { samples: 20, tars: 2 } });
 * ```
 */
export function parseCardSplits(text: string, file = "card"): SplitTotals {
  const lines = cardLines(text);
  const start = lines.findIndex((l) => l.heading && /^data\s+splits?$/i.test(l.heading.title));
  if (start < 0) throw new FormatError(`${file}: no "Data Splits" section`);
  const level = lines[start].heading!.level;
  const totals: SplitTotals = {};
  for (let i = start + 1; i < lines.length; i++) {
    const { text: line, fenced, heading } = lines[i];
    if (fenced) continue;
    if (heading && heading.level <= level) break;
    const b = BULLET.exec(line);
    if (!b) continue;
    const where = `${file}:${i + 1}`;
    const m = SPLIT_LINE.exec(b[1].trim());
    if (!m) {
      throw new FormatError(
        `${where}: cannot read split line ${JSON.stringify(line.trim())} ` +
          `(want e.g. "* Train - 536489 samples | 54 tar's")`,
      );
    }
    const split = parseSplitName(m[1]);
    if (!split) {
      throw new FormatError(
        `${where}: unknown split ${JSON.stringify(m[1])} in ${JSON.stringify(line.trim())} ` +
          `(want Train, Validation/Val or Test)`,
      );
    }
    if (totals[split]) throw new FormatError(`${where}: split ${m[1]} listed twice`);
    totals[split] = {
      samples: Number(m[2].replace(/[,_]/g, "")),
      tars: Number(m[3].replace(/[,_]/g, "")),
    };
  }
  if (Object.keys(totals).length === 0) {
    throw new FormatError(`${file}:${start + 1}: the "Data Splits" section lists no splits`);
  }
  return totals;
}

/**
 * Reads and parses a card file's "Data Splits" section.
 * @param path the card
 * @returns samples and tars per listed split
 */
export async function readCardSplits(path: string): Promise<SplitTotals> {
  return parseCardSplits(await Deno.readTextFile(path), path);
}

/**
 * Parses the accuracy tables of a dataset card: the table under a heading containing
 * "Zero-shot Evaluation" and the one under "Linear-probe Evaluation" (rows `Top-1`, `Top-5`,
 * `mean(Top1, Top5)`, the number in the second column).
 * @param text the card (Markdown)
 * @param file its name, for messages
 * @returns the published accuracies found (each absent when the card has no such table, or its
 *   cells hold no number: `n/a`, `–`, empty)
 * @throws {FormatError} naming the line of a row whose value is not a number
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseCardAccuracies } from "./dataset_card.ts";
 * const card = "## Zero-shot Evaluation\n| | Accuracy |\n|---|---|\n| Top-1 | 0.3 |\n| Top-5 | 0.5 |\n";
 * deepStrictEqual(parseCardAccuracies(card).zeroShot, { top1: 0.3, top5: 0.5, mean: 0.4 });
 * ```
 */
export function parseCardAccuracies(text: string, file = "card"): PublishedAccuracies {
  const lines = cardLines(text);
  const out: PublishedAccuracies = { source: file };
  lines.forEach(({ heading }, i) => {
    const h = heading?.title.toLowerCase();
    if (h === undefined) return;
    if (h.includes("zero-shot evaluation") && !out.zeroShot) {
      out.zeroShot = parseAccuracyTable(lines, i + 1, file);
    } else if (h.includes("linear-probe evaluation") && !out.linearProbe) {
      out.linearProbe = parseAccuracyTable(lines, i + 1, file);
    }
  });
  return out;
}

/** The accuracy table from line `start` to the next heading, when it has Top-1 and Top-5. */
function parseAccuracyTable(lines: CardLine[], start: number, file: string): Accuracy | undefined {
  const found: Partial<Accuracy> = {};
  for (let i = start; i < lines.length; i++) {
    const { text: line, fenced, heading } = lines[i];
    if (heading) break;
    if (fenced || !line.trim().startsWith("|")) continue;
    const cells = line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
    if (cells.length < 2) continue;
    const name = cells[0].toLowerCase().replace(/\s+/g, "");
    const key = name === "top-1" || name === "top1"
      ? "top1"
      : name === "top-5" || name === "top5"
      ? "top5"
      : name.startsWith("mean(")
      ? "mean"
      : undefined;
    if (!key) continue;
    // "n/a", "–" or an empty cell: the card publishes no number there (e.g. a new dataset's card)
    if (/^(n\/?a|tbd|none|-+|–|—|)$/i.test(cells[1])) continue;
    const value = Number(cells[1]);
    if (!Number.isFinite(value)) {
      throw new FormatError(
        `${file}:${i + 1}: ${cells[0]} has no number (${JSON.stringify(cells[1])})`,
      );
    }
    found[key] = value;
  }
  if (found.top1 === undefined || found.top5 === undefined) return undefined;
  // Where the card leaves out the mean, it is the mean.
  return { top1: found.top1, top5: found.top5, mean: found.mean ?? (found.top1 + found.top5) / 2 };
}
