/**
 * The embeddings export: a shard set written as the folder layout clip-retrieval and autofaiss
 * read (`img_emb/`, `text_emb/`, `metadata/`), one unit-length row per video, in parts.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { makeSyntheticWorkDir } from "../../fixtures/synthetic_work_dir.ts";
 * import { shard } from "../shard/mod.ts";
 * import { exportEmbeddings } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "work"), counts: { val: 4 } });
 * await shard({ work: layout.root, quiet: true });
 * const s = await exportEmbeddings({ shards: layout.shards, out: join(dir, "export"), log: () => {} });
 * strictEqual(s.parts, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  DEFAULT_PART_SIZE,
  EXPORT_DTYPES,
  EXPORT_POOLINGS,
  EXPORT_RECORD,
  type ExportDtype,
  exportEmbeddings,
  type ExportOptions,
  type ExportPooling,
  type ExportSummary,
} from "./embeddings_export.ts";
export { METADATA_CREATED_BY, metadataParquet, type MetadataRow } from "./parquet_metadata.ts";
export type { ProviderName, PROVIDERS } from "../onnx/mod.ts";
