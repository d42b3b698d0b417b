/**
 * The catalogue of bad inputs (docs/troubleshooting.md): each is fed to the real task the way a
 * user runs it (`deno task <step>`, through the permission launcher) and must give one clear line
 * naming the item, while the good items of the same run are still processed.
 */
import { denoTask as task } from "./support/tasks.ts";
import { join } from "node:path";
import { makeSyntheticWorkDir, syntheticCard } from "../fixtures/synthetic_work_dir.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { Manifest } from "../lib/core/manifest.ts";
import { attr, OnnxGraph } from "../lib/onnx/onnx_graph.ts";
import { shard } from "../lib/shard/shard.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { ffmpegRun, lavfiVideo, repoPath, tempDir } from "./support/media.ts";

const MODELS = repoPath("fixtures", "models");

/** The one line of `text` that mentions `needle` (fails unless exactly one does). */
function lineWith(text: string, needle: string): string {
  const lines = text.split("\n").filter((l) => l.includes(needle));
  assertEquals(lines.length, 1, `one line with ${needle} in:\n${text}`);
  return lines[0];
}

/** A `.tar.gz` made by Python's tarfile, so that unsafe members can be written on purpose. */
async function pythonTarGz(
  path: string,
  members: { name: string; file?: string; symlink?: string }[],
): Promise<void> {
  const script = `
import json, sys, tarfile
with tarfile.open(sys.argv[1], "w:gz") as t:
    for m in json.loads(sys.argv[2]):
        info = tarfile.TarInfo(m["name"])
        if "symlink" in m:
            info.type = tarfile.SYMTYPE
            info.linkname = m["symlink"]
            t.addfile(info)
        else:
            data = open(m["file"], "rb").read()
            info.size = len(data)
            import io
            t.addfile(info, io.BytesIO(data))
`;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, path, JSON.stringify(members)],
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

/** Can this process mount a tmpfs here (root in CI; not in every container)? */
async function canMount(dir: string): Promise<boolean> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
    stderr: "null",
  }).output().catch(() => null);
  if (!out?.success) return false;
  await umount(dir);
  return true;
}

async function umount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir], stderr: "null" }).output();
}

async function mount(dir: string, opts: string): Promise<void> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", opts, "tmpfs", dir],
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("bad videos: each fails alone with ffmpeg's reason in one line; good ones (odd paths too) are sampled", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const src = join(dir, "src");
    await Deno.mkdir(src);
    await lavfiVideo(join(src, "good.mp4"), "testsrc=s=160x120:r=10:d=2");
    // a source file and a work dir with spaces, quotes and non-ASCII in their paths
    const oddDir = join(src, `we ird 'q' "dq" ü日本`);
    await Deno.mkdir(oddDir);
    await lavfiVideo(join(oddDir, `gööd "clip" 'x'.mp4`), "testsrc=s=160x120:r=10:d=2");
    await Deno.writeFile(join(src, "zero.mp4"), new Uint8Array());
    const random = new Uint8Array(5000);
    for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 251;
    await Deno.writeFile(join(src, "random.mp4"), random);
    // moov at the end (no +faststart), tail cut off: the index is gone
    const full = await lavfiVideo(join(dir, "full.mp4"), "testsrc=s=160x120:r=10:d=3");
    const fullBytes = await Deno.readFile(full);
    await Deno.writeFile(
      join(src, "truncated.mp4"),
      fullBytes.subarray(0, fullBytes.length * 0.66),
    );
    await ffmpegRun(["-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac", join(src, "audio.mp4")]);
    // moov first, then the mdat header with no frame data: a video stream, 0 decodable frames
    const fs = await lavfiVideo(join(dir, "fs.mp4"), "testsrc=s=160x120:r=10:d=3", [
      "-movflags",
      "+faststart",
    ]);
    const fsBytes = await Deno.readFile(fs);
    const mdat = new TextDecoder("latin1").decode(fsBytes).indexOf("mdat");
    await Deno.writeFile(join(src, "noframes.mp4"), fsBytes.subarray(0, mdat + 4));
    // headers declaring huge frames and holding almost nothing
    const y4m = (w: number) =>
      new TextEncoder().encode(
        `YUV4MPEG2 W${w} H${w} F25:1 Ip A1:1 C420jpeg\nFRAME\n` + "x".repeat(900),
      );
    await Deno.writeFile(join(src, "huge16k.y4m"), y4m(16384));
    await Deno.writeFile(join(src, "huge8k.y4m"), y4m(8192));
    const names = [
      "good.mp4",
      "zero.mp4",
      "random.mp4",
      "truncated.mp4",
      "audio.mp4",
      "noframes.mp4",
      "huge16k.y4m",
      "huge8k.y4m",
    ];
    const csv = ["path,label,split", ...names.map((n) => `${n},abseiling,train`)];
    csv.push(`"we ird 'q' ""dq"" ü日本/gööd ""clip"" 'x'.mp4",abseiling,train`);
    await Deno.writeTextFile(join(src, "list.csv"), csv.join("\n") + "\n");

    const work = join(dir, `wörk "dir" 'q'`);
    const dl = await task("download", [
      "--work",
      work,
      "--videos",
      join(src, "list.csv"),
      "--quiet",
    ]);
    assertEquals(dl.code, 0, dl.stderr + dl.stdout);
    const s = await task("sample", ["--work", work, "--quiet"]);
    assertEquals(s.code, 1, s.stderr + s.stdout);
    assert(s.stdout.includes("sample: 2 videos"), s.stdout);
    const expect: [string, string][] = [
      ["zero", "zero: ffmpeg: empty file (0 bytes)"],
      ["random", "random: ffmpeg: moov atom not found"],
      ["truncated", "truncated: ffmpeg: moov atom not found"],
      ["audio", "audio: no video stream"],
      ["noframes", "noframes: ffmpeg: Could not find codec parameters"],
      ["huge16k", "huge16k: ffmpeg: Picture size 16384x16384 is invalid"],
      ["huge8k", "huge8k: no decodable frames"],
    ];
    // the terminal gets a summary, the complete list is a CSV under reports/
    const listPath = join(work, "reports", "sample_failures.csv");
    assert(s.stderr.includes(`7 failed:`), s.stderr);
    assert(s.stderr.includes(`complete list: ${listPath}`), s.stderr);
    assert(s.stderr.split("\n").length <= 22, s.stderr);
    const list = await Deno.readTextFile(listPath);
    for (const [id, want] of expect) {
      await t.step(`${id}: ${want.slice(id.length + 2)}`, () => {
        const line = lineWith(list, `${id},train,sample,`);
        const error = line.slice(`${id},train,sample,`.length).replace(/^"/, "");
        assert(error.startsWith(want.slice(id.length + 2)), line);
        assert(s.stderr.includes(`  ${id}: ${want.slice(id.length + 2)}`), s.stderr);
      });
    }
    await t.step("a path with spaces, quotes and non-ASCII: sampled like any other", () => {
      const m = Manifest.open(join(work, "manifest.db"), { readOnly: true });
      try {
        const done = m.videos.list({ step: "sample", state: "done" });
        assertEquals(done.length, 2);
        const odd = done.find((v) => v.id !== "good")!;
        assert(odd.source!.endsWith(`gööd "clip" 'x'.mp4`), odd.source!);
        assert(/^g__d__clip___x__[0-9a-f]{8}$/.test(odd.id), odd.id);
        assertEquals(odd.steps.sample!.frames, 2);
      } finally {
        m.close();
      }
    });
  } finally {
    await cleanup();
  }
});

Deno.test("annotation CSV: missing column, bad time, duplicate id and unsafe youtube ids are named by file and line; CRLF + BOM read; the good rows download", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
    const ids = ["goodAAAAAAA_000001_000011", "goodBBBBBBB_000002_000012"];
    await pythonTarGz(
      join(dir, "abseiling.tar.gz"),
      ids.map((id) => ({ name: `train/abseiling/${id}.mp4`, file: video })),
    );
    await Deno.writeTextFile(join(dir, "list.txt"), "abseiling.tar.gz\n");
    const rows = [
      "label,youtube_id,time_start,time_end,split",
      "abseiling,goodAAAAAAA,1,11,train",
      "abseiling,goodBBBBBBB,2,12,train",
      "abseiling,badtimeXXXX,soon,12,train",
      "abseiling,goodAAAAAAA,1,11,train",
      "abseiling,../../x,1,11,train",
      "abseiling,a/b,1,11,train",
    ];
    await Deno.writeTextFile(join(dir, "train.csv"), "\uFEFF" + rows.join("\r\n") + "\r\n");
    await Deno.writeTextFile(join(dir, "nosplit.csv"), "label,youtube_id,time_start,time_end\n");
    const work = join(dir, "work");
    const r = await task("download", [
      "--work",
      work,
      "--annotations",
      join(dir, "train.csv"),
      "--annotations",
      join(dir, "nosplit.csv"),
      "--archives",
      join(dir, "list.txt"),
      "--quiet",
    ]);
    assertEquals(r.code, 1, r.stderr + r.stdout);
    const csv = join(dir, "train.csv");
    assert(lineWith(r.stderr, "nosplit.csv:1: missing column split").includes("no rows read"));
    assert(lineWith(r.stderr, `${csv}:4:`).includes(`bad time_start "soon"`), r.stderr);
    assert(
      lineWith(r.stderr, `${csv}:5:`).includes(`duplicate id ${ids[0]} (first at ${csv}:2)`),
      r.stderr,
    );
    assert(lineWith(r.stderr, `${csv}:6:`).includes(`unsafe youtube_id "../../x"`), r.stderr);
    assert(lineWith(r.stderr, `${csv}:7:`).includes(`unsafe youtube_id "a/b"`), r.stderr);
    assert(r.stdout.includes("train: 2 done, 0 failed"), r.stdout);
    for (const id of ids) {
      assert((await Deno.stat(join(work, "videos", "train", "abseiling", `${id}.mp4`))).isFile);
    }
    // nothing was written above the work dir
    assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort(), [
      "abseiling.tar.gz",
      "list.txt",
      "nosplit.csv",
      "train.csv",
      "v.mp4",
      "work",
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("archive members: `..`, an absolute path and a symlink are refused and named; the rest is extracted", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
    const id = "goodAAAAAAA_000001_000011";
    const outside = join(dir, "escaped.mp4");
    await pythonTarGz(join(dir, "abseiling.tar.gz"), [
      { name: "train/abseiling/../../../escaped.mp4", file: video },
      { name: outside, file: video },
      { name: "train/abseiling/linkAAAAAA_000001_000011.mp4", symlink: "/etc/passwd" },
      { name: `train/abseiling/${id}.mp4`, file: video },
    ]);
    await Deno.writeTextFile(join(dir, "list.txt"), "abseiling.tar.gz\n");
    await Deno.writeTextFile(
      join(dir, "train.csv"),
      `label,youtube_id,time_start,time_end,split\nabseiling,goodAAAAAAA,1,11,train\n`,
    );
    const work = join(dir, "work");
    const r = await task("download", [
      "--work",
      work,
      "--annotations",
      join(dir, "train.csv"),
      "--archives",
      join(dir, "list.txt"),
      "--quiet",
    ]);
    assertEquals(r.code, 0, r.stderr + r.stdout);
    const refused = (member: string) =>
      lineWith(r.stderr, `refused member ${JSON.stringify(member)}`);
    assert(refused("train/abseiling/../../../escaped.mp4").endsWith("path with `..`"), r.stderr);
    assert(refused(outside).endsWith("absolute path"), r.stderr);
    assert(
      refused("train/abseiling/linkAAAAAA_000001_000011.mp4").endsWith(`symlink to "/etc/passwd"`),
    );
    assert(r.stdout.includes("refused: 3 unsafe archive members"), r.stdout);
    assert(r.stdout.includes("train: 1 done, 0 failed"), r.stdout);
    await assertMissing(outside);
    await assertMissing(join(work, "escaped.mp4"));
  } finally {
    await cleanup();
  }
});

async function assertMissing(path: string): Promise<void> {
  const there = await Deno.lstat(path).then(() => true, () => false);
  assert(!there, `${path} exists`);
}

Deno.test("models: a file that is not ONNX, a wrong input name, a wrong input shape: one line naming the model and what was expected", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    await Deno.mkdir(work); // encode continues a work dir; it does not make one
    const junk = join(dir, "junk.onnx");
    await Deno.writeTextFile(junk, "this is not a model\n");
    const { text } = await ensureFixtureModels(MODELS, "tiny");
    // pixel_values at 112×112: pooled to 3 numbers, projected to 512
    const g = new OnnxGraph({ name: "small" });
    const x = g.input("pixel_values", "float32", ["N", 3, 112, 112]);
    const pooled = g.node("GlobalAveragePool", [x]);
    const flat = g.node("Flatten", [pooled], { axis: attr.int(1) });
    const w = g.initializer("w", "float32", [3, 512], new Float32Array(3 * 512).fill(0.1));
    g.node("MatMul", [flat, w], {}, { out: "image_embeds" });
    g.output("image_embeds", "float32", ["N", 512]);
    const small = join(dir, "small.onnx");
    await Deno.writeFile(small, await g.serialize());
    const cases: [string, string, string][] = [
      ["not ONNX", junk, `--model ${junk}: not an ONNX model`],
      ["wrong input name", text, `${text}: no input named pixel_values`],
      ["wrong input shape", small, `${small}: input pixel_values is float32 [N,3,112,112]`],
    ];
    for (const [what, model, want] of cases) {
      await t.step(what, async () => {
        const r = await task("encode", ["--work", work, "--model", model, "--providers", "cpu"]);
        assertEquals(r.code, 2, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assertEquals(lines.length, 1, r.stderr);
        assert(lines[0].startsWith(`kinembed encode: ${want}`), lines[0]);
      });
    }
  } finally {
    await cleanup();
  }
});

Deno.test("dataset card: no Data Splits section, or an unknown split: one line naming the card (and line)", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const shards = join(dir, "shards");
    await Deno.mkdir(shards);
    const none = join(dir, "none.md");
    await Deno.writeTextFile(none, "# A card\n\n## Dataset Structure\n\nNo splits here.\n");
    const unknown = join(dir, "unknown.md");
    await Deno.writeTextFile(
      unknown,
      "# A card\n\n### Data Splits\n* Train - 10 samples | 1 tar's\n* Holdout - 3 samples | 1 tar's\n",
    );
    const cases: [string, string, string][] = [
      ["no Data Splits section", none, `--card ${none}: no "Data Splits" section`],
      ["unknown split", unknown, `--card ${unknown}:5: unknown split "Holdout"`],
    ];
    for (const [what, card, want] of cases) {
      await t.step(what, async () => {
        const r = await task("verify", ["--shards", shards, "--card", card]);
        assertEquals(r.code, 2, r.stderr);
        const lines = r.stderr.trim().split("\n");
        assertEquals(lines.length, 1, r.stderr);
        assert(lines[0].startsWith(`kinembed verify: ${want}`), lines[0]);
      });
    }
  } finally {
    await cleanup();
  }
});

const NPY_MAGIC = new Uint8Array([0x93, ...new TextEncoder().encode("NUMPY")]);

/** Where `needle` first occurs in `hay` at or after `from` (-1: nowhere). */
function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = Math.max(0, from); i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("a shard truncated mid-member: verify names the shard and the key, and still checks the others", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    await makeSyntheticWorkDir({ dir: work, counts: { train: 6, val: 2 }, frames: () => 3 });
    await shard({ work, perShard: 2, quiet: true });
    const path = join(work, "shards", "ds_000001.tar");
    const bytes = await Deno.readFile(path);
    // inside the second sample's .npy payload (200 bytes after its magic)
    const secondNpy = indexOfBytes(bytes, NPY_MAGIC, indexOfBytes(bytes, NPY_MAGIC, 0) + 1);
    assert(secondNpy > 0);
    await Deno.writeFile(path, bytes.subarray(0, secondNpy + 200));
    const card = join(dir, "card.md");
    await Deno.writeTextFile(
      card,
      syntheticCard({ train: { samples: 6, tars: 3 }, val: { samples: 2, tars: 1 } }),
    );
    const r = await task("verify", ["--work", work, "--card", card, "--quiet"]);
    assertEquals(r.code, 1, r.stderr + r.stdout);
    const line = lineWith(r.stdout, "ds_000001.tar vid_000000003: truncated tar");
    assert(line.includes("vid_000000003.npy"), line);
    // the shards after it were read: their keys are there, val is complete
    assert(/^val\s+2\s+2\s+1\s+1\s+ok$/m.test(r.stdout), r.stdout);
  } finally {
    await cleanup();
  }
});

Deno.test("a .npy whose header lies about its shape: shard fails that shard only, naming the sample and the file", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const { encoded } = await makeSyntheticWorkDir({
      dir: work,
      counts: { train: 6 },
      frames: () => 2,
      recordSha256: false,
    });
    const victim = join(work, "emb", `${encoded[3].id}.npy`);
    const bytes = await Deno.readFile(victim);
    const at = new TextDecoder("latin1").decode(bytes.subarray(0, 128)).indexOf("(2, 512)");
    bytes[at + 1] = "5".charCodeAt(0);
    await Deno.writeFile(victim, bytes);
    const r = await task("shard", ["--work", work, "--per-shard", "2", "--quiet"]);
    assertEquals(r.code, 1, r.stderr + r.stdout);
    const line = lineWith(r.stderr, encoded[3].id);
    assert(line.includes(`${victim}: npy: header says <f2 (5,512)`), line);
    assert(/ds_00000\d\.tar: vid_\d{9} \(video /.test(line.trim()), line);
    assert(r.stdout.includes("2 written, 0 kept"), r.stdout);
    assertEquals(
      (await Array.fromAsync(Deno.readDir(join(work, "shards"))))
        .filter((e) => e.name.endsWith(".tar")).length,
      2,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("an unwritable work dir: one line naming it (a path under a file; a read-only mount)", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    await t.step("a path whose parent is a file", async () => {
      const file = join(dir, "a-file");
      await Deno.writeTextFile(file, "x");
      const r = await task("shard", ["--work", join(file, "work")]);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(
        r.stderr.trim(),
        `kinembed shard: cannot make work dir ${join(file, "work")}: Not a directory ` +
          `(os error 20): mkdir '${join(file, "work")}'`,
      );
    });
    const ro = join(dir, "ro");
    await Deno.mkdir(ro);
    await t.step({
      name: "a work dir on a read-only mount",
      ignore: !(await canMount(ro)),
      fn: async () => {
        await mount(ro, "size=1m");
        try {
          await makeSyntheticWorkDir({ dir: join(ro, "work"), counts: { train: 2 } });
          const remount = await new Deno.Command("mount", {
            args: ["-o", "remount,ro", ro],
          }).output();
          assert(remount.success);
          const r = await task("shard", ["--work", join(ro, "work")]);
          assertEquals(r.code, 2, r.stderr);
          assertEquals(
            r.stderr.trim(),
            `kinembed shard: work dir ${join(ro, "work")} is not writable: Read-only file ` +
              `system (os error 30): open '${join(ro, "work", "lock")}'`,
          );
        } finally {
          await umount(ro);
        }
      },
    });
  } finally {
    await cleanup();
  }
});

Deno.test("a full disk during shard: one line naming the shard, no temp file, shards done kept; after freeing space the rerun finishes them, identical", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const shardsMount = join(dir, "work", "shards");
    await Deno.mkdir(shardsMount, { recursive: true });
    if (!(await canMount(shardsMount))) {
      await t.step({ name: "tmpfs mount not permitted here", ignore: true, fn: () => {} });
      return;
    }
    const work = join(dir, "work");
    const counts = { train: 30, val: 6 };
    await makeSyntheticWorkDir({ dir: work, counts, frames: () => 10 });
    // the same set sharded on a roomy disk, for comparison
    const clean = join(dir, "clean");
    await makeSyntheticWorkDir({ dir: clean, counts, frames: () => 10 });
    await shard({ work: clean, perShard: 4, quiet: true });
    // each shard is about 45 kB, all ten about 450 kB: 1 MB with 800 kB of ballast fits a few
    await mount(shardsMount, "size=1m");
    try {
      const ballast = join(shardsMount, "ballast");
      await Deno.writeFile(ballast, new Uint8Array(800 * 1024));
      const r = await task("shard", ["--work", work, "--per-shard", "4", "--quiet"]);
      assertEquals(r.code, 2, r.stderr + r.stdout);
      const lines = r.stderr.trim().split("\n");
      assertEquals(lines.length, 1, r.stderr);
      const m = new RegExp(
        `^kinembed shard: no space left on device \\d+:\\d+ mounted at ${shardsMount} writing ` +
          `${shardsMount}/(ds_\\d{6}\\.tar); the (\\d+) shards before it are kept; free space ` +
          "and run again \\(finished work is kept\\)$",
      ).exec(lines[0]);
      assert(m, lines[0]);
      const kept = Number(m[2]);
      assert(kept >= 1, lines[0]);
      const names = (await Array.fromAsync(Deno.readDir(shardsMount))).map((e) => e.name).sort();
      assertEquals(names, [
        "ballast",
        ...Array.from({ length: kept }, (_, i) => `ds_${String(i).padStart(6, "0")}.tar`),
      ]);
      await Deno.remove(ballast);
      const again = await task("shard", ["--work", work, "--per-shard", "4", "--quiet"]);
      assertEquals(again.code, 0, again.stderr + again.stdout);
      assert(again.stdout.includes(`written, ${kept} kept`), again.stdout);
      for await (const e of Deno.readDir(join(clean, "shards"))) {
        if (!e.name.endsWith(".tar") && e.name !== "splits.csv") continue;
        assertEquals(
          await Deno.readFile(join(shardsMount, e.name)),
          await Deno.readFile(join(clean, "shards", e.name)),
          e.name,
        );
      }
    } finally {
      await umount(shardsMount);
    }
  } finally {
    await cleanup();
  }
});

/** Fills a mounted tmpfs to the last byte; returns the ballast file. */
async function fillUp(dir: string): Promise<string> {
  const ballast = join(dir, "ballast");
  const f = await Deno.open(ballast, { write: true, create: true, append: true });
  try {
    const chunk = new Uint8Array(64 * 1024);
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      try {
        while (true) await f.write(chunk.subarray(0, size));
      } catch { /* full at this size: try smaller pieces */ }
    }
  } finally {
    f.close();
  }
  return ballast;
}

Deno.test("a full disk in download, sample, encode and shard: one line naming the step, the file and the device, exit 2, never retried; after freeing space each rerun resumes and the shards are identical", async (t) => {
  const { dir, cleanup } = await tempDir();
  const mnt = join(dir, "mnt");
  await Deno.mkdir(mnt);
  if (!(await canMount(mnt))) {
    await t.step({ name: "tmpfs mount not permitted here", ignore: true, fn: () => {} });
    await cleanup();
    return;
  }
  const { startFaultServer } = await import("./support/fault_server.ts");
  const src = join(dir, "src");
  await Deno.mkdir(src);
  for (const [name, color] of [["a1", "red"], ["b2", "blue"], ["c3", "green"]]) {
    await lavfiVideo(join(src, `${name}.mp4`), `color=c=${color}:s=64x48:r=5:d=2`);
  }
  const server = startFaultServer(src);
  const list = join(dir, "videos.csv");
  await Deno.writeTextFile(
    list,
    "path,label,split\n" +
      ["a1", "b2", "c3"].map((n, i) =>
        `${server.url}/${n}.mp4,abseiling,${i === 2 ? "val" : "train"}`
      )
        .join("\n") +
      "\n",
  );
  const { vision } = await ensureFixtureModels(MODELS, "tiny");
  const steps: [string, string[]][] = [
    ["download", ["--videos", list, "--retry-delay", "0.01"]],
    ["sample", ["--jobs", "1"]],
    ["encode", ["--model", vision, "--providers", "cpu"]],
    ["shard", ["--per-shard", "2"]],
  ];
  try {
    // the same dataset on a roomy disk, for comparison
    const clean = join(dir, "clean");
    for (const [step, args] of steps) {
      const r = await task(step, ["--work", clean, "--quiet", ...args]);
      assertEquals(r.code, 0, `${step}: ${r.stderr}${r.stdout}`);
    }
    await mount(mnt, "size=4m");
    try {
      const work = join(mnt, "work");
      for (const [step, args] of steps) {
        await t.step(step, async () => {
          const before = server.requests.length;
          const ballast = await fillUp(mnt);
          const full = await task(step, ["--work", work, "--quiet", ...args]);
          assertEquals(full.code, 2, full.stderr + full.stdout);
          const lines = full.stderr.trim().split("\n");
          assertEquals(lines.length, 1, full.stderr);
          // the task may read only its work dir: the device is named by number and that folder
          assert(
            new RegExp(
              `^kinembed ${step}: no space left on device \\d+:\\d+ \\(holding ${work}\\) ` +
                `writing ${work}/\\S+(; the \\d+ shards before it are kept)?; free space and run ` +
                "again \\(finished work is kept\\)$",
            ).test(lines[0]),
            lines[0],
          );
          assert(!full.stderr.includes("retry"), full.stderr);
          if (step === "download") {
            assert(server.requests.length - before <= 3, "one request per video at most");
          }
          await Deno.remove(ballast);
          const again = await task(step, ["--work", work, "--quiet", ...args]);
          assertEquals(again.code, 0, again.stderr + again.stdout);
        });
      }
      for await (const e of Deno.readDir(join(clean, "shards"))) {
        if (!e.name.endsWith(".tar") && e.name !== "splits.csv") continue;
        assertEquals(
          await Deno.readFile(join(work, "shards", e.name)),
          await Deno.readFile(join(clean, "shards", e.name)),
          e.name,
        );
      }
    } finally {
      await umount(mnt);
    }
  } finally {
    await server.close();
    await cleanup();
  }
});

Deno.test("run names its failed downloads as download does: the count per reason or each one, and the complete list under reports/", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const src = join(dir, "src");
    await Deno.mkdir(src);
    await lavfiVideo(join(src, "good.mp4"), "color=c=red:s=64x48:r=5:d=2");
    const list = join(dir, "list.csv");
    await Deno.writeTextFile(
      list,
      "path,label,split\ngood.mp4,abseiling,train\ngone.mp4,abseiling,train\n".replace(
        /^(good|gone)/gm,
        (m) => join(src, m),
      ),
    );
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const work = join(dir, "work");
    const r = await task("run", [
      "--work",
      work,
      "--videos",
      list,
      "--model",
      vision,
      "--providers",
      "cpu",
      "--quiet",
    ]);
    assertEquals(r.code, 1, r.stderr + r.stdout);
    assert(r.stderr.includes("1 failed in download:"), r.stderr);
    assert(r.stderr.includes(`  gone: no such file ${join(src, "gone.mp4")}`), r.stderr);
    const listPath = join(work, "reports", "download_failures.csv");
    assert(r.stderr.includes(`complete list: ${listPath}`), r.stderr);
    assertEquals(
      await Deno.readTextFile(listPath),
      `id,split,step,reason\ngone,train,download,no such file ${join(src, "gone.mp4")}\n`,
    );
  } finally {
    await cleanup();
  }
});
