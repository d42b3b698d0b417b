import { DatabaseSync } from "node:sqlite";
import { isSafeId, stateCounts, STEPS, toStep, toVideo } from "./manifest_rows.ts";
import type { Row } from "./manifest_connection.ts";
import { assertEquals } from "../../tests/support/assert.ts";

Deno.test("manifest_rows: the tracked steps are download, sample, encode in pipeline order", () => {
  assertEquals([...STEPS], ["download", "sample", "encode"]);
});

Deno.test("manifest_rows: isSafeId takes file-name-safe ids and refuses paths, dots and overlong ids", () => {
  for (const id of ["abc_000010_000020", "-x", "_", "a.b-c", "A".repeat(200), "a.mp4"]) {
    assertEquals(isSafeId(id), true, id);
  }
  for (
    const id of [
      "",
      ".hidden",
      "a..b",
      "../x",
      "a/b",
      "a\\b",
      "a b",
      "é",
      "a\n",
      "A".repeat(201),
      "a\0",
    ]
  ) {
    assertEquals(isSafeId(id), false, JSON.stringify(id));
  }
});

Deno.test("manifest_rows: stateCounts counts untouched videos and pending records as pending", () => {
  assertEquals(
    stateCounts(10, [{ state: "done", n: 4 }, { state: "failed", n: 1 }, {
      state: "pending",
      n: 2,
    }]),
    {
      pending: 5,
      done: 4,
      failed: 1,
    },
  );
  assertEquals(stateCounts(3, []), { pending: 3, done: 0, failed: 0 });
  // SQLite's COUNT(*) may come back as a bigint
  assertEquals(stateCounts(2, [{ state: "done", n: 2n as unknown as number }]), {
    pending: 0,
    done: 2,
    failed: 0,
  });
});

Deno.test("manifest_rows: rows read back from a real SQLite table convert to videos and step records", () => {
  const db = new DatabaseSync(":memory:");
  try {
    db.exec(
      `CREATE TABLE videos (id TEXT PRIMARY KEY, split TEXT NOT NULL, label TEXT, youtube_id TEXT NOT NULL,
      time_start REAL NOT NULL, time_end REAL NOT NULL, source TEXT);
      CREATE TABLE steps (video_id TEXT NOT NULL, step TEXT NOT NULL, state TEXT NOT NULL, error TEXT, path TEXT,
      frames INTEGER, sha256 TEXT, updated_at TEXT NOT NULL);`,
    );
    db.prepare("INSERT INTO videos VALUES (?, ?, ?, ?, ?, ?, ?)").run(
      "abc_000001_000011",
      "val",
      "yoga",
      "abc",
      1.5,
      11,
      "http://127.0.0.1/a.tar.gz",
    );
    db.prepare("INSERT INTO videos VALUES (?, ?, NULL, ?, ?, ?, NULL)").run(
      "t1",
      "test",
      "t1",
      0,
      10,
    );
    db.prepare("INSERT INTO steps VALUES (?, ?, ?, NULL, ?, ?, ?, ?)").run(
      "abc_000001_000011",
      "sample",
      "done",
      "frames/abc.u8",
      8,
      "ab".repeat(32),
      "now",
    );
    db.prepare("INSERT INTO steps VALUES (?, ?, ?, ?, NULL, NULL, NULL, ?)").run(
      "t1",
      "download",
      "failed",
      "404",
      "now",
    );
    const videos = (db.prepare("SELECT * FROM videos ORDER BY id").all() as Row[]).map(toVideo);
    assertEquals(videos, [
      {
        id: "abc_000001_000011",
        split: "val",
        label: "yoga",
        youtubeId: "abc",
        timeStart: 1.5,
        timeEnd: 11,
        source: "http://127.0.0.1/a.tar.gz",
      },
      {
        id: "t1",
        split: "test",
        label: null,
        youtubeId: "t1",
        timeStart: 0,
        timeEnd: 10,
        source: null,
      },
    ]);
    const steps = (db.prepare("SELECT * FROM steps ORDER BY video_id").all() as Row[]).map(toStep);
    assertEquals(steps, [
      {
        videoId: "abc_000001_000011",
        step: "sample",
        state: "done",
        error: null,
        path: "frames/abc.u8",
        frames: 8,
        sha256: "ab".repeat(32),
      },
      {
        videoId: "t1",
        step: "download",
        state: "failed",
        error: "404",
        path: null,
        frames: null,
        sha256: null,
      },
    ]);
  } finally {
    db.close();
  }
});
