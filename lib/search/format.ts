/**
 * `search`'s terminal table and `--json` shape.
 * @module
 */
import type { SearchResult } from "./search.ts";

/**
 * The results as text: per query a heading and one line per hit (rank, score, key, videoID,
 * label, segment, link).
 * @param result what {@linkcode search} found
 * @returns lines ending in a newline
 */
export function formatSearchText(result: SearchResult): string {
  const out: string[] = [];
  for (const [i, r] of result.results.entries()) {
    if (i > 0) out.push("");
    out.push(`query ${i + 1}: ${r.query}`);
    out.push("rank  score   key            videoID          label  start-end  link");
    for (const h of r.hits) {
      out.push(
        `${String(h.rank).padStart(4)}  ${h.score.toFixed(4)}  ${h.key}  ${h.videoID}  ` +
          `${h.label}  ${h.start}-${h.end}  ${h.url ?? "-"}`,
      );
    }
  }
  return out.join("\n") + "\n";
}

/**
 * The results for `--json`: per query its hits without the thumbnail bytes (`thumbnail` says
 * whether there is one).
 * @param result what {@linkcode search} found
 * @returns a JSON-ready object
 */
export function searchJson(result: SearchResult): Record<string, unknown> {
  return {
    shards: result.shardsDir,
    split: result.split,
    pool: result.pool,
    k: result.k,
    tars: result.tars,
    videos: result.videos,
    emptyVideos: result.empty,
    results: result.results.map((r) => ({
      query: r.query,
      hits: r.hits.map((h) => ({
        rank: h.rank,
        score: h.score,
        key: h.key,
        videoID: h.videoID,
        label: h.label,
        start: h.start,
        end: h.end,
        split: h.split,
        shard: h.shard,
        url: h.url,
        thumbnail: h.thumbnail !== null,
      })),
    })),
  };
}
