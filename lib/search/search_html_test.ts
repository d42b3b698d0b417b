import { formatSearchHtml } from "./search_html.ts";
import type { SearchHit, SearchResult } from "./search.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

function hit(rank: number, extra: Partial<SearchHit> = {}): SearchHit {
  return {
    rank,
    score: 0.3 - rank / 100,
    key: `val_${String(rank).padStart(9, "0")}`,
    videoID: `vid${rank}`,
    label: "playing guitar",
    start: 10,
    end: 20,
    split: "val",
    shard: "val-000000.tar",
    url: null,
    thumbnail: null,
    ...extra,
  };
}

function result(results: SearchResult["results"], split: SearchResult["split"]): SearchResult {
  return {
    results,
    shardsDir: "work/shards",
    split,
    pool: "mean",
    k: 2,
    tars: 1,
    videos: 5,
    empty: 0,
    dim: 4,
  };
}

Deno.test("search_html: a thumbnail over one base64 chunk comes back byte for byte from its data: URI", () => {
  // 0x8000 bytes is one fromCharCode chunk; 70000 spans three, with every byte value in each
  const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
  const html = formatSearchHtml(
    result([{ query: "guitar", hits: [hit(1, { thumbnail: bytes })] }], "val"),
  );
  const m = /src="data:image\/jpeg;base64,([A-Za-z0-9+/=]+)"/.exec(html);
  assert(m, "no data: URI");
  const back = Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0));
  assertEquals(back, bytes);
  assert(!html.includes("no thumbnail"));
});

Deno.test("search_html: one table per query, one row per hit, with rank, score, segment, split and link", () => {
  const html = formatSearchHtml(result([
    {
      query: "guitar",
      hits: [hit(1, { url: "https://www.youtube.com/watch?v=abc&t=10s" }), hit(2)],
    },
    { query: "dog", hits: [] },
  ], null));
  assertEquals(html.match(/<table>/g)?.length, 2);
  assertEquals(html.match(/<tr><td>/g)?.length, 2);
  assert(html.includes("<h2>1. guitar</h2>") && html.includes("<h2>2. dog</h2>"), html);
  assert(html.includes("<td>1</td>") && html.includes("<td>0.2900</td>"), html);
  assert(html.includes("<td>10–20 s</td><td>val</td>"), html);
  assert(html.includes('<a href="https://www.youtube.com/watch?v=abc&#38;t=10s">source</a>'), html);
  assert(html.includes("work/shards: 5 videos (all splits, pool mean), top 2"), html);
  assert(html.startsWith("<!doctype html>") && html.trimEnd().endsWith("</html>"));
});

Deno.test("search_html: the page names the split searched", () => {
  const html = formatSearchHtml(result([{ query: "q", hits: [hit(1)] }], "test"));
  assert(html.includes("5 videos (test, pool mean)"), html);
});
