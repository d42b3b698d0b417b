/**
 * The `metadata/metadata_{i}.parquet` files of an embeddings export, written with
 * hyparquet-writer (pure JavaScript, no native code). The writer's `created_by` is pinned and no
 * time is written, so the same rows give the same bytes.
 * @module
 */

/** One row of an export's metadata: one exported video. */
export interface MetadataRow {
  /** The WebDataset key, e.g. `vid_000000042`. */
  key: string;
  /** The YouTube id from the sample's `.json` (empty when it has none). */
  videoID: string;
  /** The label (empty for an unlabelled test video). */
  label: string;
  /** The split of the sample's tar, from `splits.csv`. */
  split: string;
  /** Clip start in seconds from the `.json`'s `start_time` (null when absent or not a number). */
  start: number | null;
  /** Clip end in seconds from the `.json`'s `end_time` (null when absent or not a number). */
  end: number | null;
  /** Number of frame embeddings the sample holds. */
  frames: number;
  /** The tar file's name. */
  tar: string;
  /** The row of this video in the part's `img_emb_{i}.npy`. */
  row: number;
}

/** The `created_by` of every metadata file: the writer and its pinned version, nothing variable. */
export const METADATA_CREATED_BY = "kinembed export (hyparquet-writer 0.17.0)";

/**
 * Encodes metadata rows as one Parquet file (columns key, videoID, label, split, start, end,
 * frames, tar, row; snappy; one row group).
 * @param rows the rows, in file order
 * @returns the file's bytes
 */
export async function metadataParquet(rows: readonly MetadataRow[]): Promise<Uint8Array> {
  // loaded on first use, so importing the library loads no npm package
  const { parquetWriteBuffer } = await import("hyparquet-writer");
  const col = <K extends keyof MetadataRow>(name: K) => rows.map((r) => r[name]);
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: "key", data: col("key"), type: "STRING", nullable: false },
      { name: "videoID", data: col("videoID"), type: "STRING", nullable: false },
      { name: "label", data: col("label"), type: "STRING", nullable: false },
      { name: "split", data: col("split"), type: "STRING", nullable: false },
      { name: "start", data: col("start"), type: "DOUBLE" },
      { name: "end", data: col("end"), type: "DOUBLE" },
      { name: "frames", data: col("frames"), type: "INT32", nullable: false },
      { name: "tar", data: col("tar"), type: "STRING", nullable: false },
      { name: "row", data: col("row"), type: "INT32", nullable: false },
    ],
    rowGroupSize: Math.max(1, rows.length),
    createdBy: METADATA_CREATED_BY,
  });
  return new Uint8Array(buffer);
}
