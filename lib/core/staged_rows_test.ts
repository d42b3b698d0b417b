import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { Manifest, type VideoRow } from "./manifest.ts";
import type { StagedDuplicate } from "./staged_rows.ts";

function row(id: string, split: VideoRow["split"], label: string | null): VideoRow {
  return { id, split, label, youtubeId: id, timeStart: 0, timeEnd: 10, source: null };
}

Deno.test("staged rows: duplicates name the first row; picks narrow and widen; only picked rows reach the manifest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    const dups: StagedDuplicate[] = [];
    const staged = m.videos.stageRows((d) => dups.push(d));
    await staged.load(async () => {
      staged.add(row("a1", "train", "yoga"), "train.csv", 2);
      staged.add(row("a2", "train", "yoga"), "train.csv", 3);
      staged.add(row("b1", "train", "abseiling"), "train.csv", 4);
      staged.add(row("v1", "val", "yoga"), "validate.csv", 2);
      await Promise.resolve(); // a read in between, as the readers do
      staged.add(row("t1", "test", null), "test.csv", 2);
      staged.add(row("a2", "val", "yoga"), "validate.csv", 3);
    });
    assertEquals(staged.size, 5);
    assertEquals(dups.map((d) => [d.row.id, d.file, d.line, d.first]), [
      ["a2", "validate.csv", 3, "train.csv:3"],
    ]);
    assertEquals(staged.labels(), ["abseiling", "yoga"]);
    // everything is picked as staged; splits narrow; a named pick replaces it
    assertEquals(staged.pickAll(), 5);
    assertEquals(staged.pickAll(["val", "test"]), 2);
    assertEquals(staged.row("a1")?.picked, false);
    assertEquals(staged.row("v1")?.picked, true);
    assertEquals(staged.row("zz"), undefined);
    assertEquals(Array.from(staged.candidates(["train"]), (c) => c.id), ["a1", "a2", "b1"]);
    assertEquals(staged.pickOnly(["a1", "b1", "t1"]), 3);
    assertEquals(staged.keepPicked(new Set(["a1", "t1", "v1"])), 2);
    assertEquals(staged.pickAll(), 5);
    assertEquals(staged.pickOnly(["a1", "a2", "b1", "t1"]), 4);
    assertEquals(staged.addPickedToManifest(), 4);
    assertEquals(staged.addPickedToManifest(), 0);
    assertEquals(m.videos.get("v1"), undefined);
    assertEquals(m.videos.get("a2")?.label, "yoga");

    // states per split and class, and failures written for what is not done
    m.steps.markDone("download", "a1", { path: join(dir, "a1.mp4") });
    m.steps.markFailed("download", "a2", "earlier reason");
    const byClass = (c: { split: string; label: string | null }) => `${c.split}/${c.label}`;
    assertEquals(
      staged.classStates("download").map((c) => [byClass(c), c.picked, c.states]),
      [
        ["test/null", 1, { done: 0, failed: 0, pending: 1 }],
        ["train/abseiling", 1, { done: 0, failed: 0, pending: 1 }],
        ["train/yoga", 2, { done: 1, failed: 1, pending: 0 }],
      ],
    );
    assertEquals(Array.from(staged.doneOutputs("download")), [
      { id: "a1", path: join(dir, "a1.mp4") },
    ]);
    assertEquals(staged.undonePage("download", "", 10).map((r) => r.id), ["a2", "b1", "t1"]);
    assertEquals(staged.undonePage("download", "a2", 1).map((r) => r.id), ["b1"]);
    const written = m.batch(() =>
      staged.failUndone("download", [
        { split: "train", label: "yoga", error: "missing from archive", keepFailed: true },
        { split: "train", label: "abseiling", error: "missing from archive", keepFailed: true },
        { split: "test", label: null, error: "no archive listed for test", keepFailed: false },
      ])
    );
    assertEquals(written, 2); // a2 kept its reason, a1 is done
    assertEquals(m.videos.get("a2")?.steps.download?.error, "earlier reason");
    assertEquals(m.videos.get("b1")?.steps.download?.error, "missing from archive");
    assertEquals(m.videos.get("t1")?.steps.download?.error, "no archive listed for test");
    assertEquals(m.videos.get("a1")?.steps.download?.state, "done");
    m.close();

    // the staged table lived on the connection only
    const again = Manifest.open(join(dir, "manifest.db"));
    assertEquals(again.steps.counts("download"), { pending: 0, done: 1, failed: 3 });
    again.close();
    const bytes = await Deno.readFile(join(dir, "manifest.db"));
    assert(!new TextDecoder().decode(bytes).includes("staged"), "no staged table in the file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("staged rows: rejected rows' places are merged into the candidates in id order, one without a split only when all splits are drawn", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    const staged = m.videos.stageRows(() => {});
    await staged.load(async () => {
      staged.add(row("b1", "train", "yoga"), "train.csv", 2);
      staged.addRejected({ id: "a0_?_000010", split: "train", label: "yoga" });
      staged.add(row("d1", "val", "yoga"), "train.csv", 4);
      staged.addRejected({ id: "c9", split: null, label: "yoga" });
      staged.addRejected({ id: "z9", split: "val", label: null });
      await Promise.resolve();
    });
    assertEquals(staged.size, 2);
    const show = (c: { id: string; split: string | null; rejected: boolean }) =>
      `${c.id}:${c.split}${c.rejected ? "!" : ""}`;
    assertEquals(Array.from(staged.candidates(), show), [
      "a0_?_000010:train!",
      "b1:train",
      "c9:null!",
      "d1:val",
      "z9:val!",
    ]);
    assertEquals(Array.from(staged.candidates(["val"]), show), ["d1:val", "z9:val!"]);
    // rejected rows never reach the manifest
    assertEquals(staged.addPickedToManifest(), 2);
    assertEquals(m.videos.get("c9"), undefined);
    m.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
