import { readParquet } from "parquet-wasm";
import { tableFromIPC } from "apache-arrow";
import { METADATA_CREATED_BY, metadataParquet, type MetadataRow } from "./parquet_metadata.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

const ROWS: MetadataRow[] = [
  {
    key: "vid_000000000",
    videoID: "abc123def45",
    label: "air drumming",
    split: "train",
    start: 10,
    end: 20,
    frames: 10,
    tar: "ds_000000.tar",
    row: 0,
  },
  {
    key: "vid_000000001",
    videoID: "",
    label: "",
    split: "test",
    start: null,
    end: 2.5,
    frames: 1,
    tar: "ds_000001.tar",
    row: 1,
  },
];

Deno.test("metadataParquet: rows read back by parquet-wasm as written, nulls kept; the same rows give the same bytes, with the pinned created_by", async () => {
  const bytes = await metadataParquet(ROWS);
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  assertEquals(table.schema.fields.map((f) => f.name), Object.keys(ROWS[0]));
  assertEquals(table.toArray().map((r) => ({ ...r.toJSON() })), ROWS);
  assertEquals(await metadataParquet(ROWS), bytes);
  const text = new TextDecoder("latin1").decode(bytes);
  assert(text.includes(METADATA_CREATED_BY), "created_by is not the pinned one");
});
