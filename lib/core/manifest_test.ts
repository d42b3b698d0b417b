import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { ConfigError, ConfigMismatchError, WorkDirBusyError } from "./errors.ts";
import { configHash, isSafeId, Manifest, type VideoRow } from "./manifest.ts";
import { ensureWorkDir, lockWorkDir } from "./work_dir.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath, tempDir } from "../../tests/support/media.ts";

function video(id: string, split: VideoRow["split"] = "train"): VideoRow {
  return { id, split, label: "abseiling", youtubeId: id, timeStart: 0, timeEnd: 10, source: null };
}

Deno.test("manifest: videos and per-step state transitions", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    assertEquals(m.addVideos([video("a"), video("b"), video("c", "val")]), 3);
    assertEquals(m.addVideos([video("a")]), 0, "an existing id is left alone");
    assertEquals(m.counts("download"), { pending: 3, done: 0, failed: 0 });
    m.markDone("download", "a", { path: "/v/a.mp4", sha256: "00" });
    m.markDone("download", "b", { path: "/v/b.mp4" });
    m.markFailed("download", "c", "missing from archive");
    assertEquals(m.counts("download"), { pending: 0, done: 2, failed: 1 });
    assertEquals(m.counts("download", "val"), { pending: 0, done: 0, failed: 1 });
    assertEquals(m.failures("download"), [
      { id: "c", split: "val", error: "missing from archive" },
    ]);
    assertEquals(
      m.stepStates("download"),
      new Map([["a", "done"], ["b", "done"], ["c", "failed"]]),
    );
    assertEquals(
      m.videos({ step: "sample", state: "pending", after: "download" }).map((v) => v.id),
      ["a", "b"],
    );
    m.markDone("sample", "a", { path: "/f/a.npy", frames: 10, sha256: "ff" });
    const a = m.video("a")!;
    assertEquals(a.steps.sample?.frames, 10);
    assertEquals(a.steps.download?.path, "/v/a.mp4");
    assertEquals(m.videos({ step: "sample", state: "done" }).map((v) => v.id), ["a"]);
    m.markFailed("sample", "a", "boom");
    assertEquals(m.video("a")!.steps.sample?.state, "failed");
    m.markPending("sample", "a");
    assertEquals(m.video("a")!.steps.sample, undefined);
    await assertRejects(() => m.markDone("sample", "nope", { path: "x" }), "no video");
    await assertRejects(() => m.addVideos([video("../../x")]), "unsafe video id");
    assert(!isSafeId("a/b") && !isSafeId(".hidden") && isSafeId("-abc_DEF_000010_000020"));
    m.putShard({
      index: 0,
      split: "train",
      file: "ds_000000.tar",
      samples: 2,
      bytes: 10,
      sha256: "aa",
    });
    const ex = m.export();
    assertEquals(ex.shardTotals, { train: { samples: 2, tars: 1 } });
    assertEquals(ex.splits.train.videos, 2);
    assertEquals(ex.splits.val.download.failed, 1);
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("manifest: a config mismatch is refused, naming every differing key, and nothing is written", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.applyConfig({ fps: 1, preset: "clip" });
    const h = m.configHash();
    m.applyConfig({ fps: 1, batch: 32 }); // same value, new key: fine
    assertEquals(m.config(), { batch: 32, fps: 1, preset: "clip" });
    assert(m.configHash() !== h);
    assertEquals(
      m.configHash(),
      configHash({ preset: "clip", fps: 1, batch: 32 }),
      "key order does not matter",
    );
    const e = await assertRejects(() =>
      m.applyConfig({ fps: 2, preset: "clip-video-encode-1.0", seed: 5 }, "W")
    );
    assert(e instanceof ConfigMismatchError);
    assertEquals(e.keys, ["fps", "preset"]);
    assert(
      e.message.includes("work dir W") && e.message.includes("fps is 1 there, 2 now"),
      e.message,
    );
    assertEquals(m.config().seed, undefined, "a refused config writes nothing");
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("manifest: a newer schema is refused with a message", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "manifest.db");
    Manifest.open(path).close();
    const db = new DatabaseSync(path);
    db.exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    db.close();
    const e = await assertRejects(() => Manifest.open(path), "schema 99");
    assert(e instanceof ConfigError);
  } finally {
    await cleanup();
  }
});

Deno.test("manifest: a writer killed with SIGKILL mid-batch leaves a readable DB with only committed rows", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "manifest.db");
    const script = join(dir, "writer.ts");
    await Deno.writeTextFile(
      script,
      `import { Manifest } from ${JSON.stringify(repoPath("lib", "core", "manifest.ts"))};
const m = Manifest.open(${JSON.stringify(path)});
for (let b = 0; ; b++) {
  const rows = Array.from({ length: 100 }, (_, i) => ({ id: "v" + (b * 100 + i), split: "train" as const,
    label: "x", youtubeId: "y", timeStart: 0, timeEnd: 10, source: null }));
  m.addVideos(rows);
  console.log(b + 1);
}`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = 0, text = "";
    while (seen < 20) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const lines = text.trim().split("\n");
      seen = Number(lines[lines.length - 1]) || 0;
    }
    assert(seen >= 20, `the writer committed batches before the kill (${seen})`);
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    const db = new DatabaseSync(path);
    assertEquals(
      (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
      "ok",
    );
    db.close();
    const m = Manifest.open(path);
    const n = m.videos().length;
    assertEquals(n % 100, 0, `only whole committed batches: ${n} rows`);
    assert(n >= seen * 100, `every batch reported committed is there (${n} rows, ${seen} batches)`);
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("work dir lock: a second process refuses (or waits) while the first holds it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await ensureWorkDir(dir);
    const holder = join(dir, "holder.ts");
    await Deno.writeTextFile(
      holder,
      `import { lockWorkDir } from ${JSON.stringify(repoPath("lib", "core", "work_dir.ts"))};
await lockWorkDir(${JSON.stringify(dir)});
console.log("held");
await new Promise((r) => setTimeout(r, 1500));
// written while the lock is still held: the lock is released only when this process exits
Deno.writeTextFileSync(${JSON.stringify(join(dir, "holder-done"))}, "");`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", holder],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert((await reader.read()).value?.includes("held"));
    const e = await assertRejects(() => lockWorkDir(dir, { wait: false }), "is in use by pid");
    assert(e instanceof WorkDirBusyError);
    let waited = "";
    const lock = await lockWorkDir(dir, { onWait: (h) => (waited = h) });
    assert(waited.startsWith("pid "), `told whom it waited for: ${waited}`);
    // the holder finished its work before the lock came free
    assert(
      await Deno.stat(join(dir, "holder-done")).then(() => true, () => false),
      "got the lock early",
    );
    lock.release();
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.status;
  } finally {
    await cleanup();
  }
});
