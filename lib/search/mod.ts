/**
 * Text-to-video search over a shard set: exact cosine top-k of a CLIP text embedding against each
 * video's pooled embedding (mean of unit frames, or the centre frame), streamed tar by tar with a
 * running top-k per query; results as text, JSON or a self-contained HTML page.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { QueryScorer } from "./mod.ts";
 * // two unit queries in 2-D, three videos: each query's best video first
 * const scorer = new QueryScorer<string>(Float32Array.of(1, 0, 0, 1), 2, 1);
 * scorer.add(Float32Array.of(0.6, 0.8), 0, "a");
 * scorer.add(Float32Array.of(1, 0), 0, "b");
 * scorer.add(Float32Array.of(0, 1), 0, "c");
 * deepStrictEqual(scorer.tops.map((t) => t.sorted()[0].item), ["b", "c"]);
 * ```
 * @module
 */
export {
  encodeQueries,
  normalizeRows,
  pooledVideo,
  type QueryHits,
  QueryScorer,
  search,
  SEARCH_POOLINGS,
  type SearchHit,
  type SearchOptions,
  type SearchPooling,
  type SearchResult,
  sourceSegmentUrl,
} from "./search.ts";
export { parseQueryLines, tokenizeQueries } from "./query_text.ts";
export { type Scored, TopKHeap } from "./top_k_heap.ts";
export { formatSearchText, searchJson } from "./format.ts";
export { formatSearchHtml } from "./search_html.ts";
export type { Split, SPLITS } from "../base/mod.ts";
export type { ProviderName, PROVIDERS } from "../onnx/mod.ts";
export type { ClipTokenizer, TokenizeOptions, TruncatedText } from "../text/mod.ts";
