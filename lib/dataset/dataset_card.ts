/**
 * The dataset card's "Data Splits" section: what a published set promises per split, e.g.
 * `* Train - 536489 samples | 54 tar's`. Split names are matched case-insensitively (Train,
 * Validation / Val, Test); anything else is a `FormatError` naming the line.
 * @module
 */
import { FormatError, parseSplitName, type Split, type SplitCount } from "../core/mod.ts";

/** Samples and tars per split, as a card states them (splits it does not list are absent). */
export type SplitTotals = Partial<Record<Split, SplitCount>>;

const HEADING = /^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$/;
const BULLET = /^\s*[*+-]\s+(.*)$/;
const SPLIT_LINE =
  /^([A-Za-z][A-Za-z ]*?)\s*(?:-|–|—|:)\s*([\d,_]+)\s*samples?\s*(?:\||,|;)\s*([\d,_]+)\s*tar(?:'s|s)?\s*$/i;

/**
 * Parses a card's "Data Splits" section.
 * @param text the card (Markdown)
 * @param file the card's path, named in errors
 * @returns samples and tars per listed split
 * @example
 * ```ts
 * const totals = parseCardSplits("### Data Splits\n* Train - 20 samples | 2 tar's\n");
 * totals.train; // { samples: 20, tars: 2 }
 * ```
 */
export function parseCardSplits(text: string, file = "card"): SplitTotals {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const start = lines.findIndex((l) => {
    const h = HEADING.exec(l);
    return h !== null && /^data\s+splits?$/i.test(h[2]);
  });
  if (start < 0) throw new FormatError(`${file}: no "Data Splits" section`);
  const level = HEADING.exec(lines[start])![1].length;
  const totals: SplitTotals = {};
  let inFence = false;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const h = HEADING.exec(line);
    if (h && h[1].length <= level) break;
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
