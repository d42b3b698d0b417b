/**
 * Failure lists that scale: the complete list goes to a CSV under `<work>/reports/`
 * (`id,split,step,reason`), the terminal gets a summary of at most about 20 lines (the count per
 * reason, the first few ids, and the path of the complete list).
 * @module
 */
import { dirname } from "node:path";
import { openAtomic, writeAll } from "./atomic_file.ts";

/** One failed item: a video, a shard or an archive. */
export interface FailedItem {
  /** Its id (video id, shard file, archive name). */
  id: string;
  /** Why it failed, in one line. */
  error: string;
  /** The split it belongs to, where that is known. */
  split?: string | null;
  /** The step it failed in, where the caller's step does not say it. */
  step?: string;
}

/** What a failure list comes to, for the terminal. */
export interface FailureSummary {
  /** Failed items in all. */
  total: number;
  /** Count per reason, most frequent first (ties in reason order). */
  reasons: { reason: string; count: number }[];
  /** The first few items (`SHOWN_ITEMS`, or as many as asked), in the list's order. */
  first: FailedItem[];
  /** The complete list's CSV (null when none was written). */
  file: string | null;
}

/** Reasons shown one a line; the rest are summed into one line. */
export const SHOWN_REASONS = 8;
/** Ids shown when the list is long. */
export const SHOWN_IDS = 5;
/** Up to this many failures, each is shown whole, one a line. */
export const SHOWN_ITEMS = 10;

/**
 * The reason kind of an error: the message with what varies from item to item taken out (the
 * class after `for <split>/`, the archive's name, quoted values, paths and numbers), so that 100k
 * failures fall into a handful of lines.
 * @param error the one-line error
 * @returns the kind, at most 100 characters
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { failureReason } from "./failure_report.ts";
 * assertEquals(
 *   failureReason("no archive listed for train/abseiling"),
 *   "no archive listed for train/…",
 * );
 * assertEquals(
 *   failureReason("archive abseiling.tar.gz failed: HTTP 404"),
 *   "archive … failed: HTTP 404",
 * );
 * ```
 */
export function failureReason(error: string): string {
  return error
    .replace(/^([A-Za-z0-9_\-.]+): /, "") // a leading item id (`<id>: ffmpeg said ...`)
    .replace(/ for (train|val|test)\/.*$/, " for $1/…")
    .replace(/\barchive \S+ failed:/, "archive … failed:")
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/(?:^|\s)\/\S+/g, " …")
    .replace(/\b\d+(\.\d+)?\b/g, (n) => (/^[1-5]\d\d$/.test(n) ? n : "N")) // keep HTTP statuses
    .trim()
    .slice(0, 100);
}

/** A CSV field, quoted when it needs to be. */
function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * Writes the complete failure list as CSV (`id,split,step,reason`; reason is the whole error) and
 * sums it up. Nothing is written when nothing failed (an older list of the same name is removed).
 * @param items the failures
 * @param file the CSV to write, e.g. `<work>/reports/download_failures.csv`
 * @param step the step named in rows whose item has none
 * @param keep how many of the first items the summary keeps (at least `SHOWN_ITEMS`)
 * @returns the summary
 */
export async function writeFailureList(
  items: Iterable<FailedItem>,
  file: string,
  step: string,
  keep = SHOWN_ITEMS,
): Promise<FailureSummary> {
  const counts = new Map<string, number>();
  const reasonOf = new Map<string, string>();
  const first: FailedItem[] = [];
  let total = 0;
  const enc = new TextEncoder();
  let out: Awaited<ReturnType<typeof openAtomic>> | null = null;
  let buf = "id,split,step,reason\n";
  try {
    for (const f of items) {
      if (out === null) {
        await Deno.mkdir(dirname(file), { recursive: true });
        out = await openAtomic(file);
      }
      total++;
      if (first.length < Math.max(keep, SHOWN_ITEMS)) first.push(f);
      // errors repeat (one per class and split at most, mostly): each is reduced once
      let reason = reasonOf.get(f.error);
      if (reason === undefined) {
        reason = failureReason(f.error);
        if (reasonOf.size < 10_000) reasonOf.set(f.error, reason);
      }
      counts.set(reason, (counts.get(reason) ?? 0) + 1);
      buf += [f.id, f.split ?? "", f.step ?? step, f.error].map(csvField).join(",") + "\n";
      if (buf.length > 1 << 16) {
        await writeAll(out.file, enc.encode(buf));
        buf = "";
      }
    }
    if (out === null) {
      await Deno.remove(file).catch(() => {});
      return { total: 0, reasons: [], first: [], file: null };
    }
    await writeAll(out.file, enc.encode(buf));
    await out.commit();
  } catch (e) {
    await out?.abort();
    throw e;
  }
  const reasons = [...counts].map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
  return { total, reasons, first, file };
}

/**
 * The summary as at most `SHOWN_ITEMS + 2` lines: `N failed:`, then each failure as `id: error`
 * when there are at most `SHOWN_ITEMS`, else one line per reason with its count and the first
 * ids; last, where the complete list is.
 * @param summary from `writeFailureList`
 * @param what what failed, e.g. `videos failed in download`
 * @returns the lines (none when nothing failed)
 */
export function formatFailureSummary(summary: FailureSummary, what = "failed"): string[] {
  if (summary.total === 0) return [];
  const lines = [`${summary.total} ${what}:`];
  if (summary.total <= SHOWN_ITEMS) {
    for (const f of summary.first.slice(0, SHOWN_ITEMS)) lines.push(`  ${f.id}: ${f.error}`);
    if (summary.file !== null) lines.push(`  complete list: ${summary.file}`);
    return lines;
  }
  for (const r of summary.reasons.slice(0, SHOWN_REASONS)) {
    lines.push(`  ${String(r.count).padStart(7)}  ${r.reason}`);
  }
  const rest = summary.reasons.slice(SHOWN_REASONS);
  if (rest.length > 0) {
    const n = rest.reduce((s, r) => s + r.count, 0);
    lines.push(`  ${String(n).padStart(7)}  (${rest.length} other reasons)`);
  }
  const ids = summary.first.slice(0, SHOWN_IDS).map((f) => f.id);
  lines.push(`  first: ${ids.join(", ")}, ...`);
  if (summary.file !== null) lines.push(`  complete list: ${summary.file}`);
  return lines;
}
