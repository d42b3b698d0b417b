/**
 * What a complete shard set carries beside its tars, written by `shard` (one run) and `merge`
 * (workers) alike: `splits.csv`, `manifest.json`, the Hub dataset card `README.md`, and no tar of
 * another plan.
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../base/mod.ts";
import type { RunConfig } from "../core/mod.ts";
import type { ShardPlan } from "./plan.ts";
import { writeHubCard } from "./hub_card.ts";
import type { CardSource } from "./card_source.ts";
import { formatSplitsCsv, isShardFileName } from "../webdataset/mod.ts";

/**
 * Removes the shard tars in a folder that the plan does not name (of an earlier, larger or
 * different plan).
 * @param dir the shards folder
 * @param planned the plan's file names
 * @returns the names removed, sorted
 */
export async function removeUnplannedShards(
  dir: string,
  planned: ReadonlySet<string>,
): Promise<string[]> {
  const removed: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && isShardFileName(e.name) && !planned.has(e.name)) {
      await Deno.remove(join(dir, e.name));
      removed.push(e.name);
    }
  }
  return removed.sort();
}

/**
 * Writes the set's `splits.csv` (from the plan), `manifest.json` (the exported manifest) and
 * `README.md` (the Hub dataset card, from the plan and the exported config), each atomically and
 * only when its content changed, so a no-op rerun touches nothing.
 * @param dir the shards folder
 * @param plan the shard plan
 * @param exported what `manifest.json` holds
 * @param source the card's license, source datasets and citations (absent: the card's earlier)
 */
export async function writeSetFiles(
  dir: string,
  plan: ShardPlan,
  exported: Record<string, unknown>,
  source?: CardSource,
): Promise<void> {
  await writeIfChanged(
    join(dir, "splits.csv"),
    formatSplitsCsv(plan.shards.map((s) => ({ tarFile: s.file, split: s.split }))),
  );
  await writeIfChanged(join(dir, "manifest.json"), JSON.stringify(exported, null, 2) + "\n");
  await writeHubCard(
    dir,
    plan,
    (exported.config ?? {}) as RunConfig,
    String(exported.configHash ?? ""),
    source,
  );
}

async function writeIfChanged(path: string, text: string): Promise<void> {
  const old = await Deno.readTextFile(path).catch(() => null);
  if (old !== text) await writeFileAtomic(path, new TextEncoder().encode(text));
}
