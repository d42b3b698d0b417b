/**
 * `splits.csv`: which split each shard belongs to (`tar_file,split`, one line per shard).
 * Written with the split names `train`, `val`, `test`; read accepting any case and `validation`.
 * @module
 */
import { join } from "node:path";
import { ConfigError, FormatError, parseSplitName, type Split } from "../base/mod.ts";
import { workDirShardsHint } from "../core/mod.ts";

/** One line of `splits.csv`. */
export interface SplitsCsvRow {
  /** The shard's file name. */
  tarFile: string;
  /** Its split. */
  split: Split;
}

/**
 * Formats `splits.csv`.
 * @param rows one per shard, in index order
 * @returns the file's text (header line first, newline-terminated)
 */
export function formatSplitsCsv(rows: readonly SplitsCsvRow[]): string {
  return ["tar_file,split", ...rows.map((r) => `${r.tarFile},${r.split}`)].join("\n") + "\n";
}

/**
 * Parses `splits.csv` (columns found by their header names; extra columns ignored).
 * @param text the file's text
 * @param file its path, named in errors
 * @returns its rows in file order
 */
export function parseSplitsCsv(text: string, file = "splits.csv"): SplitsCsvRow[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const header = lines[0].split(",").map((s) => s.trim().toLowerCase());
  const tarCol = header.indexOf("tar_file");
  const splitCol = header.indexOf("split");
  if (tarCol < 0 || splitCol < 0) {
    throw new FormatError(`${file}:1: header must name columns tar_file and split`);
  }
  const rows: SplitsCsvRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    const cols = lines[i].split(",").map((s) => s.trim().replace(/^"(.*)"$/, "$1"));
    const split = parseSplitName(cols[splitCol] ?? "");
    const tarFile = cols[tarCol] ?? "";
    if (!tarFile) throw new FormatError(`${file}:${i + 1}: no tar_file`);
    if (!split) {
      throw new FormatError(
        `${file}:${i + 1}: unknown split ${JSON.stringify(cols[splitCol] ?? "")}`,
      );
    }
    rows.push({ tarFile: tarFile.replace(/^.*\//, ""), split });
  }
  return rows;
}

/** The tars of each split of a shard directory, in `splits.csv` order. */
export type ShardSplits = Partial<Record<Split, string[]>>;

/**
 * Reads `splits.csv` in a shard directory and resolves its tars.
 * @param shardsDir the directory holding `ds_*.tar` and `splits.csv`
 * @returns tar paths per split
 * @throws {ConfigError} when `splits.csv` or a tar it names is missing
 */
export async function readShardSplits(shardsDir: string): Promise<ShardSplits> {
  const csv = join(shardsDir, "splits.csv");
  let text: string;
  try {
    text = await Deno.readTextFile(csv);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(
        `${csv} not found: eval needs the split of each shard (tar_file,split)` +
          await workDirShardsHint(shardsDir),
      );
    }
    throw e;
  }
  const out: ShardSplits = {};
  for (const row of parseSplitsCsv(text, csv)) {
    const path = join(shardsDir, row.tarFile);
    try {
      await Deno.stat(path);
    } catch {
      throw new ConfigError(`${csv} names ${row.tarFile}, which is not in ${shardsDir}`);
    }
    (out[row.split] ??= []).push(path);
  }
  return out;
}
