import { assert, assertEquals } from "../../tests/support/assert.ts";
import { pooledVideo, QueryScorer, sourceSegmentUrl } from "./search.ts";
import { formatSearchHtml } from "./search_html.ts";

Deno.test("sourceSegmentUrl links YouTube and Kinetics ids only", () => {
  assertEquals(
    sourceSegmentUrl("abc123def45", 7.9),
    "https://www.youtube.com/watch?v=abc123def45&t=7s",
  );
  assertEquals(
    sourceSegmentUrl("-_-QUuC4vJs_000084_000094", 84),
    "https://www.youtube.com/watch?v=-_-QUuC4vJs&t=84s",
  );
  assertEquals(sourceSegmentUrl("clip-0001", 3), null);
  assertEquals(sourceSegmentUrl("abc/23def45", 3), null);
});

Deno.test("pooledVideo: mean of unit frames, or the unit centre frame", () => {
  const frames = Float32Array.of(3, 0, 0, 5, 0, 2);
  const mean = pooledVideo(frames, 3, 2, "mean");
  assert(
    Math.abs(mean[0] - 1 / Math.sqrt(5)) < 1e-6 && Math.abs(mean[1] - 2 / Math.sqrt(5)) < 1e-6,
  );
  assertEquals(Array.from(pooledVideo(frames, 3, 2, "centre")), [0, 1]);
  assertEquals(Array.from(pooledVideo(frames, 2, 2, "centre")), [0, 1]);
});

Deno.test("QueryScorer scores each video against every query and builds a video once", () => {
  const scorer = new QueryScorer<string>(Float32Array.of(1, 0, 0, 1), 2, 2);
  let built = 0;
  for (const [x, y, name] of [[1, 0, "a"], [0, 1, "b"], [0.6, 0.8, "c"]] as const) {
    scorer.add(Float32Array.of(0, x, y), 1, () => (built++, name));
  }
  assertEquals(scorer.tops.map((t) => t.sorted().map((h) => h.item)), [["a", "c"], ["b", "c"]]);
  assertEquals(built, 3);
});

Deno.test("formatSearchHtml escapes what the shards hold", () => {
  const html = formatSearchHtml({
    results: [{
      query: "<b>q</b>",
      hits: [{
        rank: 1,
        score: 0.5,
        key: "vid_000000000",
        videoID: 'x"y',
        label: "<script>alert(1)</script>",
        start: 0,
        end: 10,
        split: "val",
        shard: "s.tar",
        url: null,
        thumbnail: null,
      }],
    }],
    shardsDir: "shards",
    split: null,
    pool: "mean",
    k: 1,
    tars: 1,
    videos: 1,
    empty: 0,
    dim: 2,
  });
  assert(!html.includes("<script>") && !html.includes("<b>q"), html);
  assert(html.includes("&#60;script&#62;") && html.includes("no thumbnail"), html);
});

Deno.test("QueryScorer agrees with a plain sort for 7 queries (four at a time, then the rest)", () => {
  const dim = 16, n = 300, q = 7, k = 5;
  let seed = 3;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
  const queries = Float32Array.from({ length: q * dim }, rand);
  const videos = Float32Array.from({ length: n * dim }, rand);
  const scorer = new QueryScorer<number>(queries, dim, k);
  for (let i = 0; i < n; i++) scorer.add(videos, i * dim, i);
  for (let j = 0; j < q; j++) {
    const scores = Array.from({ length: n }, (_, i) => {
      let d = 0;
      for (let x = 0; x < dim; x++) d += queries[j * dim + x] * videos[i * dim + x];
      return d;
    });
    const want = scores.map((s, i) => [s, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k).map((p) => p[1]);
    assertEquals(scorer.tops[j].sorted().map((h) => h.item), want);
  }
});
