/** `kinembed search`: exact text-to-video top-k over a shard set. */
import { dirname } from "node:path";
import { ConfigError, requireWorkDir, UsageError } from "../lib/core/mod.ts";
import { intFlag, runTask, SEARCH_TASK, stringFlag } from "../lib/cli/mod.ts";
import {
  formatSearchHtml,
  formatSearchText,
  parseQueryLines,
  search,
  searchJson,
} from "../lib/search/mod.ts";
import { parseProviders } from "../lib/onnx/mod.ts";

await runTask(SEARCH_TASK, async (values, positionals) => {
  const work = stringFlag(values, "work");
  const shards = stringFlag(values, "shards");
  if (work !== undefined && shards === undefined) await requireWorkDir(work, "search");
  const queries = [...positionals];
  const file = stringFlag(values, "queries");
  if (file !== undefined) {
    const listed = parseQueryLines(await Deno.readTextFile(file));
    if (listed.length === 0) throw new UsageError(`--queries ${file} holds no query (one a line)`);
    for (const q of listed) queries.push(q);
  }
  const html = stringFlag(values, "html");
  if (html !== undefined) {
    const stat = await Deno.stat(dirname(html)).catch(() => null);
    if (!stat?.isDirectory) {
      throw new ConfigError(`--html ${html}: folder ${dirname(html)} not found`);
    }
  }
  const log = values.quiet === true ? () => {} : (line: string) => console.error(line);
  const result = await search({
    work: work ?? (shards === undefined ? "work" : undefined),
    shards,
    queries,
    textModel: stringFlag(values, "text-model"),
    k: intFlag(values, "k", 1),
    split: stringFlag(values, "split"),
    pool: stringFlag(values, "pool"),
    providers: parseProviders(stringFlag(values, "providers") ?? "cuda,cpu"),
    // a query cut to 77 tokens is said even with --quiet
    log: (line) => line.startsWith("warning:") ? console.error(line) : log(line),
  });
  console.log(formatSearchText(result).trimEnd());
  if (html !== undefined) {
    await Deno.writeTextFile(html, formatSearchHtml(result));
    console.log(`page: ${html}`);
  }
  return { code: 0, summary: searchJson(result) };
});
