/**
 * A work dir keeps working after it is moved, copied or reached through a symlink: the manifest
 * stores step outputs relative to the work dir (and migrates older manifests that stored them
 * absolute), so the next step reads the files where they are now and download fetches nothing
 * again.
 */
import { denoTask } from "./support/tasks.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { Manifest } from "../lib/core/manifest.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir } from "./support/media.ts";

async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const bytes = await Deno.readFile(join(dir, e.name));
    out.set(e.name, new TextDecoder("latin1").decode(bytes.subarray(0, 64)) + bytes.length);
  }
  return out;
}

Deno.test("a work dir moved, copied or reached through a symlink keeps working: shard reads the embeddings where they are now, download fetches nothing again", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const src = join(dir, "src", "train", "abseiling");
    await Deno.mkdir(src, { recursive: true });
    await lavfiVideo(join(src, "a1.mp4"), "color=c=red:s=64x48:r=5:d=2");
    await lavfiVideo(join(src, "b2.mp4"), "color=c=blue:s=64x48:r=5:d=2");
    const { vision } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const first = join(dir, "first");
    const videos = ["--videos", join(dir, "src")];
    for (
      const [step, args] of [
        ["download", videos],
        ["sample", ["--jobs", "1"]],
        ["encode", ["--model", vision, "--providers", "cpu"]],
        ["shard", ["--per-shard", "1"]],
      ] as const
    ) {
      const r = await task(step, ["--work", first, ...args]);
      assertEquals(r.code, 0, `${step}: ${r.stderr}${r.stdout}`);
    }
    const shards = await tree(join(first, "shards"));
    const m = Manifest.open(join(first, "manifest.db"), { readOnly: true });
    const stored = new DatabaseSync(join(first, "manifest.db"), { readOnly: true });
    try {
      const paths = stored.prepare("SELECT path FROM steps WHERE path IS NOT NULL").all() as {
        path: string;
      }[];
      assert(paths.length >= 4, JSON.stringify(paths));
      for (const p of paths) assert(/^(videos|emb)\//.test(p.path), p.path);
      assertEquals(m.videos.get("a1")!.steps.encode!.path, join(first, "emb", "a1.npy"));
    } finally {
      stored.close();
      m.close();
    }

    const rerun = async (work: string) => {
      // the shards go, so that shard must read every embedding again
      await Deno.remove(join(work, "shards"), { recursive: true });
      const dl = await task("download", ["--work", work, ...videos]);
      assertEquals(dl.code, 0, dl.stderr + dl.stdout);
      assert(dl.stderr.includes("nothing to download: 2 videos already done"), dl.stderr);
      assert(!dl.stderr.includes("is gone"), dl.stderr);
      for (const step of ["sample", "encode"]) {
        const args = step === "encode" ? ["--model", vision, "--providers", "cpu"] : [];
        const r = await task(step, ["--work", work, ...args]);
        assertEquals(r.code, 0, r.stderr + r.stdout);
        assert(r.stdout.includes("nothing to do"), r.stdout);
      }
      const sh = await task("shard", ["--work", work, "--per-shard", "1"]);
      assertEquals(sh.code, 0, sh.stderr + sh.stdout);
      assertEquals(await tree(join(work, "shards")), shards);
    };

    await t.step("moved", async () => {
      const moved = join(dir, "moved");
      await Deno.rename(first, moved);
      await rerun(moved);
      await Deno.rename(moved, first);
    });
    await t.step("copied, the original removed", async () => {
      const copy = join(dir, "copy");
      const cp = await new Deno.Command("cp", { args: ["-a", first, copy] }).output();
      assert(cp.success);
      const hidden = join(dir, "hidden");
      await Deno.rename(first, hidden);
      await rerun(copy);
      await Deno.rename(hidden, first);
    });
    await t.step("reached through a symlink", async () => {
      const link = join(dir, "link");
      await Deno.symlink(first, link);
      await rerun(link);
    });
  } finally {
    await cleanup();
  }
});

Deno.test("manifest: absolute output paths of an older file become relative when a writer opens it, also after the work dir moved", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "now", "work");
    await Deno.mkdir(work, { recursive: true });
    const path = join(work, "manifest.db");
    Manifest.open(path).close();
    // what an older kinembed wrote in /elsewhere/work, before the folder was moved here
    const db = new DatabaseSync(path);
    db.exec("DELETE FROM meta WHERE key = 'step_paths'");
    db.exec(
      "INSERT INTO videos VALUES ('a1', 'train', 'videos', 'a1', 0, 10, NULL), " +
        "('b2', 'val', 'x', 'b2', 0, 10, NULL)",
    );
    const put = db.prepare(
      "INSERT INTO steps VALUES (?, ?, 'done', NULL, ?, 2, NULL, '2026-11-01T00:00:00Z')",
    );
    put.run("a1", "download", "/elsewhere/videos/work/videos/train/videos/a1.mp4");
    put.run("a1", "sample", null);
    put.run("a1", "encode", "/elsewhere/videos/work/emb/a1.npy");
    put.run("b2", "download", join(work, "videos", "val", "x", "b2.mp4"));
    put.run("b2", "encode", "/data/outside/b2.npy"); // not an output folder: left as it is
    db.close();

    const m = Manifest.open(path);
    try {
      assertEquals(
        m.videos.get("a1")!.steps.download!.path,
        join(work, "videos/train/videos/a1.mp4"),
      );
      assertEquals(m.videos.get("a1")!.steps.sample!.path, null);
      assertEquals(m.videos.get("a1")!.steps.encode!.path, join(work, "emb/a1.npy"));
      assertEquals(m.videos.get("b2")!.steps.download!.path, join(work, "videos/val/x/b2.mp4"));
      assertEquals(m.videos.get("b2")!.steps.encode!.path, "/data/outside/b2.npy");
    } finally {
      m.close();
    }
    const raw = new DatabaseSync(path, { readOnly: true });
    const rows = raw.prepare(
      "SELECT path FROM steps WHERE path IS NOT NULL ORDER BY video_id, step",
    )
      .all() as { path: string }[];
    raw.close();
    assertEquals(rows.map((r) => r.path), [
      "videos/train/videos/a1.mp4",
      "emb/a1.npy",
      "videos/val/x/b2.mp4",
      "/data/outside/b2.npy",
    ]);
  } finally {
    await cleanup();
  }
});

/** `deno task <name> <args> --quiet`, as a user runs it. */
function task(name: string, args: string[]) {
  return denoTask(name, [...args, "--quiet"]);
}
