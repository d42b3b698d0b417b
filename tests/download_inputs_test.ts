/**
 * What `download` makes of its inputs, run as a user runs it (`deno task download`, through the
 * launcher and its permissions): the `--videos` folder layouts, refusals of inputs it cannot read
 * as meant (exit 2, one line naming the flag and the file, before the work dir is made), and a
 * `--limit`/`--per-class` draw that a rejected row does not shift.
 */
import { join } from "node:path";
import { Manifest } from "../lib/core/manifest.ts";
import { denoTask as task, type TaskRun } from "./support/tasks.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir } from "./support/media.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";

/** Writes files (a copy of `video` each) under `root`, making their folders. */
async function placeVideos(root: string, video: string, paths: string[]): Promise<void> {
  for (const p of paths) {
    await Deno.mkdir(join(root, p, ".."), { recursive: true });
    await Deno.copyFile(video, join(root, p));
  }
}

/** The manifest's videos as `id split label`, sorted. */
function manifestVideos(work: string): string[] {
  const m = Manifest.open(join(work, "manifest.db"), { readOnly: true });
  try {
    return m.videos.list().map((v) => `${v.id} ${v.split} ${v.label ?? "-"}`).sort();
  } finally {
    m.close();
  }
}

/** Asserts a refusal: exit 2, one error line holding `needle`, short and printable, no work dir. */
async function assertRefused(r: TaskRun, needle: string, work: string): Promise<string> {
  assertEquals(r.code, 2, r.stderr + r.stdout);
  const lines = r.stderr.split("\n").filter((l) => l !== "");
  assertEquals(lines.length, 1, r.stderr);
  assert(lines[0].includes(needle), `${JSON.stringify(needle)} not in ${lines[0]}`);
  assert(lines[0].length <= 300, `${lines[0].length} characters: ${lines[0]}`);
  // deno-lint-ignore no-control-regex
  assert(!/[\u0000-\u0008\u000e-\u001f\u007f]/.test(lines[0]), JSON.stringify(lines[0]));
  assert(!/\bat .*\.ts:\d+/.test(r.stderr), `a stack trace: ${r.stderr}`);
  const made = await Deno.stat(work).then(() => true, () => false);
  assert(!made, `the work dir ${work} was made before the input was refused`);
  return lines[0];
}

Deno.test("--videos folder: test/<file> is an unlabelled test video, <split>/<class>/<file> and <class>/<file> keep their class as written", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=64x48:r=5:d=1");
    const src = join(dir, "src");
    // the layout download itself writes under videos/, plus a class folder with underscores
    await placeVideos(src, video, [
      "train/abseiling/a1.mp4",
      "train/air_drumming/a2.mp4",
      "validate/abseiling/b1.mp4",
      "test/c1.mp4",
      "test/yoga/c2.mp4",
    ]);
    const work = join(dir, "work");
    const r = await task("download", ["--work", work, "--videos", src, "--quiet"]);
    assertEquals(r.code, 0, r.stderr + r.stdout);
    assertEquals(manifestVideos(work), [
      "a1 train abseiling",
      "a2 train air_drumming",
      "b1 val abseiling",
      "c1 test -",
      "c2 test yoga",
    ]);
    assert((await Deno.stat(join(work, "videos", "test", "c1.mp4"))).isFile);

    // the work dir's own videos/ read back as a --videos folder gives the same rows
    const again = join(dir, "again");
    const r2 = await task("download", [
      "--work",
      again,
      "--videos",
      join(work, "videos"),
      "--quiet",
    ]);
    assertEquals(r2.code, 0, r2.stderr + r2.stdout);
    assertEquals(manifestVideos(again), manifestVideos(work));

    // <class>/<file> and a flat file keep working: train of that class, unlabelled test
    const flat = join(dir, "flat");
    await placeVideos(flat, video, ["yoga/d1.mp4", "e1.mp4"]);
    const r3 = await task("download", ["--work", join(dir, "w3"), "--videos", flat, "--quiet"]);
    assertEquals(r3.code, 0, r3.stderr + r3.stdout);
    assertEquals(manifestVideos(join(dir, "w3")), ["d1 train yoga", "e1 test -"]);
  } finally {
    await cleanup();
  }
});

Deno.test("--videos folder: a video that fits no layout, a name that is not UTF-8 and a folder without videos are refused with the path (exit 2, nothing made)", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=64x48:r=5:d=1");
    const work = join(dir, "work");
    const cases: { name: string; files: string[]; needle: (src: string) => string }[] = [
      {
        name: "train/<file> without a class folder",
        files: ["train/abseiling/a1.mp4", "train/x1.mp4"],
        needle: (src) => `--videos ${src}: train/x1.mp4: train videos need a class folder`,
      },
      {
        name: "a file three folders down",
        files: ["train/abseiling/a1.mp4", "train/abseiling/extra/y1.mp4", "k/l/m/z.mp4"],
        needle: (src) =>
          `--videos ${src}: k/l/m/z.mp4: fits no layout (<split>/<class>/<file>, test/<file>, ` +
          "<class>/<file> or <file>) (and 1 more)",
      },
      {
        name: "<folder>/<class>/<file> under no split",
        files: ["stuff/abseiling/a1.mp4"],
        needle: (src) => `--videos ${src}: stuff/abseiling/a1.mp4: fits no layout`,
      },
      {
        name: "a folder with no video",
        files: ["notes.txt"],
        needle: (src) => `--videos ${src}: no video files (looked for .mp4`,
      },
    ];
    for (const [i, c] of cases.entries()) {
      await t.step(c.name, async () => {
        const src = join(dir, `src${i}`);
        await Deno.mkdir(src);
        await placeVideos(src, video, c.files);
        const r = await task("download", ["--work", work, "--videos", src, "--quiet"]);
        await assertRefused(r, c.needle(src), work);
      });
    }
    await t.step("an empty folder", async () => {
      const src = join(dir, "empty");
      await Deno.mkdir(src);
      const r = await task("download", ["--work", work, "--videos", src, "--quiet"]);
      await assertRefused(r, `--videos ${src}: no video files`, work);
    });
    await t.step("a class folder whose name is not UTF-8", async () => {
      const src = join(dir, "latin1");
      await placeVideos(src, video, ["train/abseiling/a1.mp4"]);
      // a Latin-1 "é": Deno itself cannot write such a name
      const py = await new Deno.Command("/usr/bin/python3", {
        args: [
          "-c",
          "import os,shutil,sys\nd=os.fsencode(sys.argv[1])+b'/train/caf\\xe9'\n" +
          "os.makedirs(d)\nshutil.copy(sys.argv[2], d+b'/b1.mp4')",
          src,
          video,
        ],
      }).output();
      assert(py.success, "python3 made the Latin-1 folder");
      const r = await task("download", ["--work", work, "--videos", src, "--quiet"]);
      await assertRefused(r, `--videos ${src}: "train/caf\uFFFD" is not a UTF-8 name`, work);
    });
  } finally {
    await cleanup();
  }
});

Deno.test("run --videos DIR --classes FILE: a class folder that is not in the class list is refused with its path before any work", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=64x48:r=5:d=1");
    const src = join(dir, "src");
    await placeVideos(src, video, [
      "train/abseiling/a1.mp4",
      "train/air_drumming/a2.mp4",
      "test/c1.mp4",
    ]);
    const classes = join(dir, "classes.txt");
    // the class list's lines as written: "air drumming" is not the folder "air_drumming"
    await Deno.writeTextFile(classes, "abseiling\nair drumming\n");
    const { vision, text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const work = join(dir, "work");
    const r = await task("run", [
      "--work",
      work,
      "--videos",
      src,
      "--classes",
      classes,
      "--model",
      vision,
      "--text-model",
      text,
      "--providers",
      "cpu",
      "--eval",
      "--quiet",
    ]);
    assertEquals(r.code, 2, r.stderr + r.stdout);
    const refused = r.stderr.split("\n").filter((l) => l.startsWith("kinembed run:"));
    assertEquals(refused, [
      `kinembed run: --videos ${src}: train/air_drumming/a2.mp4: class "air_drumming" is not in ` +
      `--classes ${classes}; rename the folder or add the class`,
    ]);
    assert(!(await Deno.stat(work).then(() => true, () => false)), "the work dir was made");
  } finally {
    await cleanup();
  }
});

Deno.test("--videos folder: a symlink leading out of it is named as such, the other videos download", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=64x48:r=5:d=1");
    const src = join(dir, "src");
    await placeVideos(src, video, ["train/abseiling/a1.mp4"]);
    // the task may read --videos only: today's code could not follow the link and said "nowhere"
    await Deno.symlink(video, join(src, "train/abseiling/out.mp4"));
    const work = join(dir, "work");
    const r = await task("download", ["--work", work, "--videos", src, "--quiet"]);
    assertEquals(r.code, 1, r.stderr + r.stdout);
    const line = r.stderr.split("\n").filter((l) => l.includes("out.mp4"));
    assertEquals(line, [
      `${join(src, "train/abseiling/out.mp4")}: a symlink to ${video}, outside --videos ${src}; ` +
      "copy the file in or point --videos at a folder that holds it",
    ]);
    assertEquals(manifestVideos(work), ["a1 train abseiling"]);
  } finally {
    await cleanup();
  }
});

Deno.test("input files: bytes that are not UTF-8 are refused with file:line, a header-only file with its name, a binary --archives file in one short line (exit 2, nothing made); a long list entry is cut", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=64x48:r=5:d=1");
    const enc = new TextEncoder();
    const latin1 = (text: string) =>
      Uint8Array.from(text, (c) => c.charCodeAt(0) <= 0xff ? c.charCodeAt(0) : 0x3f);
    const list = join(dir, "list.txt");
    await Deno.writeTextFile(list, "abseiling.tar.gz\n");
    const work = join(dir, "work");
    const header = "label,youtube_id,time_start,time_end,split\n";

    await t.step("a Kinetics CSV with a Latin-1 label", async () => {
      const csv = join(dir, "latin1.csv");
      await Deno.writeFile(
        csv,
        latin1(header + "abseiling,aaaaaaaaaa1,0,10,train\ncaf\u00e9,aaaaaaaaaa2,0,10,train\n"),
      );
      const r = await task("download", ["--work", work, "--annotations", csv, "--archives", list]);
      await assertRefused(r, `--annotations ${csv}:3: not UTF-8 text (byte 0xE9)`, work);
    });
    await t.step("a DeepMind JSON file with a Latin-1 label", async () => {
      const json = join(dir, "latin1.json");
      const doc = '{\n "aaaaaaaaaa1": {"annotations": {"label": "caf\u00e9", "segment": [0, 10]},' +
        ' "subset": "train"}\n}\n';
      await Deno.writeFile(json, latin1(doc));
      const r = await task("download", ["--work", work, "--annotations", json, "--archives", list]);
      await assertRefused(r, `--annotations ${json}:2: not UTF-8 text (byte 0xE9)`, work);
    });
    await t.step("a plain video list with a Latin-1 label", async () => {
      const csv = join(dir, "videos.csv");
      await Deno.writeFile(
        csv,
        enc.encode(`path,label,split\n${video},abseiling,train\n`),
      );
      const bad = join(dir, "videos_latin1.csv");
      await Deno.writeFile(
        bad,
        Uint8Array.from([
          ...await Deno.readFile(csv),
          ...latin1(`${video},caf\u00e9,train\n`),
        ]),
      );
      const r = await task("download", ["--work", work, "--videos", bad]);
      await assertRefused(r, `--videos ${bad}:3: not UTF-8 text (byte 0xE9)`, work);
    });
    await t.step("a header-only annotation CSV", async () => {
      const csv = join(dir, "header_only.csv");
      await Deno.writeTextFile(csv, header);
      const r = await task("download", ["--work", work, "--annotations", csv, "--archives", list]);
      await assertRefused(r, `--annotations ${csv}: no rows (header only)`, work);
    });
    await t.step("a header-only video list", async () => {
      const csv = join(dir, "header_only_videos.csv");
      await Deno.writeTextFile(csv, "path,label,split\r\n");
      const r = await task("download", ["--work", work, "--videos", csv]);
      await assertRefused(r, `--videos ${csv}: no rows (header only)`, work);
    });
    await t.step("a .tar.gz given to --archives", async () => {
      const csv = join(dir, "one.csv");
      await Deno.writeTextFile(csv, header + "abseiling,aaaaaaaaaa1,0,10,train\n");
      const tgz = join(dir, "abseiling.tar.gz");
      const tar = await new Deno.Command("tar", {
        args: ["-czf", tgz, "-C", dir, "v.mp4"],
      }).output();
      assert(tar.success, "tar made the archive");
      const r = await task("download", ["--work", work, "--annotations", csv, "--archives", tgz]);
      await assertRefused(
        r,
        `--archives ${tgz}: a gzip archive, not a list of archive URLs; give the list of ` +
          "archive URLs itself",
        work,
      );
    });
    await t.step("a list entry of 400 characters is shown cut, in a short line", async () => {
      const csv = join(dir, "one.csv");
      const long = join(dir, "long.txt");
      await Deno.writeTextFile(long, `${"x".repeat(400)}\n`);
      const r = await task("download", ["--work", work, "--annotations", csv, "--archives", long]);
      assertEquals(r.code, 1, r.stderr + r.stdout);
      const lines = r.stderr.split("\n").filter((l) => l.startsWith(`${long}:1:`));
      assertEquals(lines, [`${long}:1: not a .tar.gz archive: "${"x".repeat(120)}..."`]);
      await Deno.remove(work, { recursive: true });
    });
    await t.step("a video given to --archives", async () => {
      const csv = join(dir, "one.csv");
      const r = await task("download", [
        "--work",
        work,
        "--annotations",
        csv,
        "--archives",
        video,
      ]);
      await assertRefused(
        r,
        `--archives ${video}: a binary file, not a list of archive URLs`,
        work,
      );
    });
  } finally {
    await cleanup();
  }
});

Deno.test("--limit and --per-class draw from every row, rejected ones included: fixing a rejected row adds at most that row, and the draw matches a fresh one on the fixed file", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=64x48:r=5:d=1");
    const rows = Array.from({ length: 24 }, (_, i) => {
      const yt = `vid${String(i).padStart(2, "0")}AAAAAA`;
      return { yt, label: i % 2 === 0 ? "abseiling" : "yoga", start: i, end: i + 10 };
    });
    const listText = (bad: number | null) =>
      "path,label,split,youtube_id,time_start,time_end\n" +
      rows.map((r, i) =>
        `${video},${r.label},train,${r.yt},${i === bad ? "soon" : r.start},${r.end}`
      ).join("\n") + "\n";
    const csv = join(dir, "videos.csv");
    for (
      const [name, subset] of [
        ["--limit 5 --seed 0", ["--limit", "5", "--seed", "0"]],
        ["--per-class 3 --seed 4", ["--per-class", "3", "--seed", "4"]],
      ] as const
    ) {
      await t.step(name, async () => {
        const picks = new Set<number>();
        // rows that this draw picks, rejected or not: the bad row is one of them in one case
        // and left out in another, so both paths are run
        for (const bad of [2, 10, 17]) {
          const work = join(dir, `w_${subset[1]}_${bad}`);
          await Deno.writeTextFile(csv, listText(bad));
          const before = await task("download", [
            "--work",
            work,
            "--videos",
            csv,
            ...subset,
            "--quiet",
          ]);
          assertEquals(before.code, 1, before.stderr + before.stdout);
          assert(
            before.stderr.includes(`${csv}:${bad + 2}: bad time_start "soon"`),
            before.stderr,
          );
          const first = manifestVideos(work);
          await Deno.writeTextFile(csv, listText(null));
          const after = await task("download", [
            "--work",
            work,
            "--videos",
            csv,
            ...subset,
            "--quiet",
          ]);
          assertEquals(after.code, 0, after.stderr + after.stdout);
          const second = manifestVideos(work);
          const fresh = join(dir, `fresh_${subset[1]}_${bad}`);
          const clean = await task("download", [
            "--work",
            fresh,
            "--videos",
            csv,
            ...subset,
            "--quiet",
          ]);
          assertEquals(clean.code, 0, clean.stderr + clean.stdout);
          // the fixed file's draw is the one a fresh work dir makes, and it holds every first pick
          assertEquals(second, manifestVideos(fresh));
          assert(first.every((v) => second.includes(v)), `${first} not all in ${second}`);
          const fixed = `${rows[bad].yt}_${String(rows[bad].start).padStart(6, "0")}_` +
            `${String(rows[bad].end).padStart(6, "0")}`;
          const drawn = second.some((v) => v.startsWith(fixed));
          assertEquals(second.length, first.length + (drawn ? 1 : 0), second.join(" "));
          assertEquals(second.length, subset[0] === "--limit" ? 5 : 6);
          if (drawn) picks.add(bad);
        }
        assert(picks.size > 0 && picks.size < 3, `rejected rows drawn: ${[...picks]}`);
      });
    }
  } finally {
    await cleanup();
  }
});
