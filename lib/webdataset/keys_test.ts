import { isShardFileName, parseSampleKey, sampleKey, shardFileName } from "./keys.ts";
import { assertEquals } from "../../tests/support/assert.ts";

Deno.test("keys: sample keys and shard names round-trip; only ds_<digits>.tar is a shard", () => {
  assertEquals(sampleKey(42), "vid_000000042");
  assertEquals(parseSampleKey("sub/vid_000000042"), 42);
  assertEquals(parseSampleKey("vid_42.npy"), null);
  assertEquals(shardFileName(7), "ds_000007.tar");
  assertEquals(
    ["ds_000007.tar", "ds_7.tar", "ds_000007.tar.partial", "ds_x.tar", "splits.csv"].map(
      isShardFileName,
    ),
    [true, true, false, false, false],
  );
});
