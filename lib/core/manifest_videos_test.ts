import { join } from "node:path";
import { isSafeId, Manifest, type VideoRow } from "./manifest.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

function video(id: string, split: VideoRow["split"] = "train"): VideoRow {
  return { id, split, label: "abseiling", youtubeId: id, timeStart: 0, timeEnd: 10, source: null };
}

Deno.test("manifest videos: added once, refused when unsafe, listed, paged and counted by filter", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    assertEquals(m.videos.add([video("a"), video("b"), video("c", "val")]), 3);
    assertEquals(m.videos.add([video("a")]), 0, "an existing id is left alone");
    await assertRejects(() => m.videos.add([video("../../x")]), "unsafe video id");
    assert(!isSafeId("a/b") && !isSafeId(".hidden") && isSafeId("-abc_DEF_000010_000020"));
    assertEquals(m.videos.get("c")?.split, "val");
    assertEquals(m.videos.get("nope"), undefined);
    m.steps.markDone("download", "a", { path: "/v/a.mp4" });
    m.steps.markFailed("download", "c", "gone");
    assertEquals(
      m.videos.list({ step: "sample", state: "pending", after: "download" }).map((v) => v.id),
      ["a"],
    );
    assertEquals(m.videos.list({ split: "train" }).map((v) => v.id), ["a", "b"]);
    assertEquals(
      m.videos.list({ step: "download", states: ["pending", "failed"] }).map((v) => v.id),
      ["b", "c"],
    );
    assertEquals(m.videos.count({ notFailed: "download" }), 2);
    // one row a page: every video once, in id order, with its records
    const paged = Array.from(m.videos.each({}, 1));
    assertEquals(paged.map((v) => v.id), ["a", "b", "c"]);
    assertEquals(paged[0].steps.download?.state, "done");
    m.close();
  } finally {
    await cleanup();
  }
});
