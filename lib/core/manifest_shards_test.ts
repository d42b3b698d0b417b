import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Manifest, type ShardRow, type VideoRow } from "./manifest.ts";
import { assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

function video(id: string, split: VideoRow["split"]): VideoRow {
  return { id, split, label: null, youtubeId: id, timeStart: 0, timeEnd: 10, source: null };
}

function shard(index: number, split: ShardRow["split"]): ShardRow {
  const file = `ds_${String(index).padStart(6, "0")}.tar`;
  return { index, split, file, samples: 2, bytes: 10, sha256: "aa", planHash: null };
}

Deno.test("manifest shards: rows are put, replaced and read back in index order", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.shards.put(shard(1, "val"));
    m.shards.put(shard(0, "train"));
    assertEquals(m.shards.all().map((s) => s.file), ["ds_000000.tar", "ds_000001.tar"]);
    m.shards.put({ ...shard(1, "val"), planHash: "p1" });
    assertEquals(m.shards.all()[1].planHash, "p1", "a row with the same index is replaced");
    m.shards.replace([shard(5, "test")]);
    assertEquals(m.shards.all(), [shard(5, "test")]);
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("manifest shards: ids are ranked per split in id order, optionally only done ones", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.videos.add([
      video("c", "train"),
      video("a", "train"),
      video("b", "val"),
      video("d", "train"),
    ]);
    const all = m.shards.rankIds();
    assertEquals(all.counts, { train: 3, val: 1, test: 0 });
    assertEquals(all.idsAt("train", new Uint32Array([2, 0])), ["d", "a"]);
    m.steps.markDone("encode", "c", { path: null });
    const done = m.shards.rankIds("encode");
    assertEquals(done.counts, { train: 1, val: 0, test: 0 });
    assertEquals(done.idsAt("train", new Uint32Array([0])), ["c"]);
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("manifest shards: the run note outlives the connection and is kept where older files keep it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "manifest.db");
    const m = Manifest.open(path);
    assertEquals(m.shards.runNote("shard"), null);
    m.shards.setRunNote("shard", "seen:42");
    m.close();
    const db = new DatabaseSync(path, { readOnly: true });
    assertEquals(
      db.prepare("SELECT value FROM meta WHERE key = 'memo:shard'").get()?.value,
      "seen:42",
    );
    db.close();
    const again = Manifest.open(path);
    assertEquals(again.shards.runNote("shard"), "seen:42");
    again.shards.setRunNote("shard", null);
    assertEquals(again.shards.runNote("shard"), null);
    again.close();
  } finally {
    await cleanup();
  }
});
