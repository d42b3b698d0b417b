/**
 * The `search --html` page: self-contained (styles inline, thumbnails as `data:` URIs), one table
 * per query, one row per hit.
 * @module
 */
import type { SearchResult } from "./search.ts";

function encodeBase64(bytes: Uint8Array): string {
  let bin = "";
  // chunks keep the argument list of fromCharCode short
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Renders search results as one HTML page.
 * @param result what {@linkcode search} found
 * @returns the page
 */
export function formatSearchHtml(result: SearchResult): string {
  const tables = result.results.map((r, qi) => {
    const rows = r.hits.map((h) => {
      const thumb = h.thumbnail
        ? `<img class="thumb" alt="${esc(h.key)}" src="data:image/jpeg;base64,${
          encodeBase64(h.thumbnail)
        }">`
        : `<div class="thumb none">no thumbnail</div>`;
      const link = h.url ? `<a href="${esc(h.url)}">source</a>` : "";
      return `<tr><td>${h.rank}</td><td>${thumb}</td><td>${h.score.toFixed(4)}</td>` +
        `<td class="key">${esc(h.key)}</td><td>${esc(h.videoID)}</td><td>${esc(h.label)}</td>` +
        `<td>${h.start}–${h.end} s</td><td>${h.split}</td><td>${link}</td></tr>`;
    }).join("\n");
    return `<h2>${qi + 1}. ${esc(r.query)}</h2>\n<table>\n<tr><th>rank</th><th>frame</th>` +
      `<th>score</th><th>key</th><th>videoID</th><th>label</th><th>segment</th><th>split</th>` +
      `<th>link</th></tr>\n${rows}\n</table>`;
  }).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kinembed search</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #bbb; padding: 4px 8px; text-align: left; vertical-align: middle; }
th { background: #2f5d8a; color: #fff; }
.thumb { width: 112px; height: 112px; object-fit: cover; display: block; }
.none { background: #d9d9d9; color: #555; font-size: 12px; display: flex; align-items: center; justify-content: center; }
.key { font-family: monospace; }
</style></head><body>
<h1>kinembed search</h1>
<p>${esc(result.shardsDir)}: ${result.videos} videos (${
    result.split ?? "all splits"
  }, pool ${result.pool}), top ${result.k} by cosine similarity</p>
${tables}
</body></html>
`;
}
