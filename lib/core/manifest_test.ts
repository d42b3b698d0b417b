import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { ConfigError, ConfigMismatchError } from "../base/mod.ts";
import { configHash, Manifest } from "./manifest.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath, tempDir } from "../../tests/support/media.ts";

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

/** The per-video tables as files written before they were clustered (rowid tables) held them. */
const ROWID_TABLES = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1'), ('step_paths', 'relative');
CREATE TABLE videos (
  id TEXT PRIMARY KEY, split TEXT NOT NULL, label TEXT, youtube_id TEXT NOT NULL,
  time_start REAL NOT NULL, time_end REAL NOT NULL, source TEXT
);
CREATE INDEX videos_split ON videos(split);
CREATE TABLE steps (
  video_id TEXT NOT NULL REFERENCES videos(id), step TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','done','failed')),
  error TEXT, path TEXT, frames INTEGER, sha256 TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (video_id, step)
);
CREATE INDEX steps_state ON steps(step, state);
`;

Deno.test("manifest: a file with rowid tables is rebuilt clustered on open, every row kept, and counts agree with a join", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "manifest.db");
    const db = new DatabaseSync(path);
    db.exec(ROWID_TABLES);
    // rows in a non-id order, as per-class archives and concurrent steps write them
    const ids = Array.from(
      { length: 3000 },
      (_, i) => `v${String((i * 7919) % 3000).padStart(5, "0")}`,
    );
    const addVideo = db.prepare("INSERT INTO videos VALUES (?, ?, ?, ?, 0, 10, NULL)");
    const addStep = db.prepare("INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, 't')");
    db.exec("BEGIN");
    ids.forEach((id, i) => {
      addVideo.run(id, ["train", "val", "test"][i % 3], i % 3 === 2 ? null : `class ${i % 7}`, id);
      if (i % 11 === 0) return addStep.run(id, "download", "failed", "gone", null, null, null);
      addStep.run(id, "download", "done", null, `videos/train/${id}.mp4`, null, "aa");
      if (i % 13 === 0) addStep.run(id, "sample", "pending", null, null, null, null);
      else if (i % 5 !== 0) addStep.run(id, "sample", "done", null, null, i % 4, null);
      if (i % 5 > 1) addStep.run(id, "encode", "done", null, `emb/${id}.npy`, i % 4, "bb");
    });
    db.exec("COMMIT");
    const dump = (d: DatabaseSync) => [
      d.prepare("SELECT * FROM videos ORDER BY id").all(),
      d.prepare("SELECT * FROM steps ORDER BY video_id, step").all(),
    ];
    const before = dump(db);
    // the counts as a join over every video works them out, per step and split
    const joined = (step: string, split: string) => {
      const out = { pending: 0, done: 0, failed: 0 };
      for (
        const r of db.prepare(
          `SELECT COALESCE(s.state, 'pending') AS state, COUNT(*) AS n FROM videos v
           LEFT JOIN steps s ON s.video_id = v.id AND s.step = ? WHERE v.split = ? GROUP BY 1`,
        ).all(step, split)
      ) out[r.state as keyof typeof out] = Number(r.n);
      return out;
    };
    const expected = ["download", "sample", "encode"].map((step) =>
      ["train", "val", "test"].map((split) => joined(step, split))
    );
    db.close();
    const sizeBefore = (await Deno.stat(path)).size;

    const m = Manifest.open(path);
    const ex = m.export();
    for (const [i, step] of (["download", "sample", "encode"] as const).entries()) {
      for (const [j, split] of (["train", "val", "test"] as const).entries()) {
        assertEquals(m.steps.counts(step, split), expected[i][j], `${step} ${split}`);
        assertEquals(ex.splits[split][step], expected[i][j], `export ${step} ${split}`);
      }
      const all = expected[i].reduce((a, c) => ({
        pending: a.pending + c.pending,
        done: a.done + c.done,
        failed: a.failed + c.failed,
      }));
      assertEquals(m.steps.counts(step), all, step);
    }
    m.steps.markDone("encode", ids[1], { path: join(dir, "emb", `${ids[1]}.npy`) });
    m.close();

    const after = new DatabaseSync(path);
    const tables = after.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('videos', 'steps')",
    ).all() as { name: string; sql: string }[];
    assertEquals(tables.length, 2);
    for (const t of tables) assert(/WITHOUT ROWID\s*$/.test(t.sql), `${t.name}: ${t.sql}`);
    const indexes = after.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ).all().map((r) => r.name);
    assertEquals(indexes, ["steps_state", "videos_split"]);
    assertEquals(after.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
    assertEquals(after.prepare("PRAGMA foreign_key_check").all().length, 0);
    const [videos, steps] = dump(after);
    assertEquals(videos, before[0]);
    // the one record written after the rebuild (video 1 had no encode record) is the only change
    const added = (r: Record<string, unknown>) => r.video_id === ids[1] && r.step === "encode";
    assertEquals(steps.filter((r) => !added(r)), before[1]);
    assertEquals(steps.filter(added).map((r) => r.path), [`emb/${ids[1]}.npy`]);
    after.close();
    // the old tables' pages were given back: the file is not bigger than before
    assert((await Deno.stat(path)).size <= sizeBefore, "vacuumed");
    // a second open finds nothing to rebuild: the tables keep their pages
    const roots = (d: DatabaseSync) =>
      d.prepare("SELECT name, rootpage FROM sqlite_master ORDER BY name").all();
    const inspect = new DatabaseSync(path, { readOnly: true });
    const rootsBefore = roots(inspect);
    inspect.close();
    Manifest.open(path).close();
    const again = new DatabaseSync(path, { readOnly: true });
    assertEquals(roots(again), rootsBefore);
    again.close();
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
  m.videos.add(rows);
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
    const n = m.videos.list().length;
    assertEquals(n % 100, 0, `only whole committed batches: ${n} rows`);
    assert(n >= seen * 100, `every batch reported committed is there (${n} rows, ${seen} batches)`);
    m.close();
  } finally {
    await cleanup();
  }
});
