import { formatSearchText, searchJson } from "./format.ts";
import type { SearchHit, SearchResult } from "./search.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

function hit(rank: number, extra: Partial<SearchHit> = {}): SearchHit {
  return {
    rank,
    score: 0.31234567 - rank / 100,
    key: `train_${String(rank).padStart(9, "0")}`,
    videoID: `v${rank}`,
    label: "juggling balls",
    start: 3,
    end: 13,
    split: "train",
    shard: "train-000001.tar",
    url: null,
    thumbnail: null,
    ...extra,
  };
}

const RESULT: SearchResult = {
  results: [
    {
      query: "juggling",
      hits: [hit(1, { url: "https://example.org/v1" }), hit(2, { thumbnail: new Uint8Array(3) })],
    },
    { query: "cat", hits: [hit(1)] },
  ],
  shardsDir: "s",
  split: "train",
  pool: "centre",
  k: 2,
  tars: 3,
  videos: 9,
  empty: 1,
  dim: 4,
};

Deno.test("format: the text table is a heading and one line a hit per query, queries apart by a blank line", () => {
  const text = formatSearchText(RESULT);
  const header = "rank  score   key            videoID          label  start-end  link";
  assertEquals(text.split("\n"), [
    "query 1: juggling",
    header,
    "   1  0.3023  train_000000001  v1  juggling balls  3-13  https://example.org/v1",
    "   2  0.2923  train_000000002  v2  juggling balls  3-13  -",
    "",
    "query 2: cat",
    header,
    "   1  0.3023  train_000000001  v1  juggling balls  3-13  -",
    "",
  ]);
});

Deno.test("format: --json keeps every field but the thumbnail bytes, which become a yes/no", () => {
  const json = searchJson(RESULT);
  const round: { results: { query: string; hits: Record<string, unknown>[] }[] } = JSON.parse(
    JSON.stringify(json),
  );
  assertEquals(round, json);
  assertEquals(
    { ...round, results: undefined },
    {
      shards: "s",
      split: "train",
      pool: "centre",
      k: 2,
      tars: 3,
      videos: 9,
      emptyVideos: 1,
      results: undefined,
    },
  );
  const hits = round.results[0].hits;
  assertEquals(hits[1], {
    rank: 2,
    score: 0.31234567 - 0.02,
    key: "train_000000002",
    videoID: "v2",
    label: "juggling balls",
    start: 3,
    end: 13,
    split: "train",
    shard: "train-000001.tar",
    url: null,
    thumbnail: true,
  });
  assertEquals(hits[0].thumbnail, false);
  assertEquals(round.results.map((r) => r.query), ["juggling", "cat"]);
  assert(!("dim" in round));
});
