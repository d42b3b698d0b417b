import { join } from "node:path";
import { configHash, Manifest, type VideoRow } from "./manifest.ts";
import { assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

function video(id: string, split: VideoRow["split"]): VideoRow {
  return { id, split, label: "abseiling", youtubeId: id, timeStart: 0, timeEnd: 10, source: null };
}

Deno.test("manifest export: config and hash, per-split step counts, shard totals", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.applyConfig({ fps: 1, preset: "clip" });
    m.videos.add([video("a", "train"), video("b", "train"), video("c", "val")]);
    m.steps.markDone("download", "a", { path: "/v/a.mp4" });
    m.steps.markFailed("download", "c", "gone");
    const shard = { split: "train" as const, samples: 2, bytes: 10, sha256: "aa", planHash: null };
    m.shards.put({ ...shard, index: 0, file: "ds_000000.tar" });
    m.shards.put({ ...shard, index: 1, file: "ds_000001.tar", samples: 1 });
    const ex = m.export();
    assertEquals(ex.schemaVersion, 1);
    assertEquals(ex.config, { fps: 1, preset: "clip" });
    assertEquals(ex.configHash, configHash({ preset: "clip", fps: 1 }));
    assertEquals(ex.splits.train.videos, 2);
    assertEquals(ex.splits.train.download, { pending: 1, done: 1, failed: 0 });
    assertEquals(ex.splits.val.download, { pending: 0, done: 0, failed: 1 });
    assertEquals(ex.splits.val.sample, { pending: 1, done: 0, failed: 0 });
    assertEquals(ex.shardTotals, { train: { samples: 3, tars: 2 } });
    assertEquals(ex.shards.length, 2);
    m.close();
  } finally {
    await cleanup();
  }
});
