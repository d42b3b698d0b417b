import { join } from "node:path";
import { Manifest, type VideoRow } from "./manifest.ts";
import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

function video(id: string, split: VideoRow["split"] = "train"): VideoRow {
  return { id, split, label: "abseiling", youtubeId: id, timeStart: 0, timeEnd: 10, source: null };
}

Deno.test("manifest steps: per-step state transitions, counts and failures", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.videos.add([video("a"), video("b"), video("c", "val")]);
    assertEquals(m.steps.counts("download"), { pending: 3, done: 0, failed: 0 });
    m.steps.markDone("download", "a", { path: "/v/a.mp4", sha256: "00" });
    m.steps.markDone("download", "b", { path: "/v/b.mp4" });
    m.steps.markFailed("download", "c", "missing from archive");
    assertEquals(m.steps.counts("download"), { pending: 0, done: 2, failed: 1 });
    assertEquals(m.steps.counts("download", "val"), { pending: 0, done: 0, failed: 1 });
    assertEquals(m.steps.failures("download"), [
      { id: "c", split: "val", error: "missing from archive" },
    ]);
    assertEquals(
      m.steps.stepStates("download"),
      new Map([["a", "done"], ["b", "done"], ["c", "failed"]]),
    );
    m.steps.markDone("sample", "a", { path: "/f/a.npy", frames: 10, sha256: "ff" });
    const a = m.videos.get("a")!;
    assertEquals(a.steps.sample?.frames, 10);
    assertEquals(a.steps.download?.path, "/v/a.mp4");
    assertEquals(m.videos.list({ step: "sample", state: "done" }).map((v) => v.id), ["a"]);
    m.steps.dropOutput("sample", "a");
    assertEquals(m.videos.get("a")!.steps.sample?.path, null);
    assertEquals(m.videos.get("a")!.steps.sample?.frames, 10, "a dropped output keeps its count");
    m.steps.markFailed("sample", "a", "boom");
    assertEquals(m.videos.get("a")!.steps.sample?.state, "failed");
    m.steps.markPending("sample", "a");
    assertEquals(m.videos.get("a")!.steps.sample, undefined);
    await assertRejects(() => m.steps.markDone("sample", "nope", { path: "x" }), "no video");
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("manifest steps: records copied to another manifest come back the same", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const src = Manifest.open(join(dir, "a.db"));
    const dst = Manifest.open(join(dir, "b.db"));
    for (const m of [src, dst]) m.videos.add([video("a"), video("b")]);
    src.steps.markDone("encode", "a", { path: join(dir, "emb", "a.npy"), frames: 3, sha256: "e" });
    src.steps.markFailed("encode", "b", "decode error");
    assertEquals(dst.steps.putRecords(src.steps.records()), 2);
    assertEquals(Array.from(dst.steps.records()), Array.from(src.steps.records()));
    assertEquals(Array.from(dst.steps.doneOutputs("encode")), [
      { id: "a", path: join(dir, "emb", "a.npy") },
    ]);
    src.close();
    dst.close();
  } finally {
    await cleanup();
  }
});
