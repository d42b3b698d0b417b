import { notDeepStrictEqual as assertNotEquals } from "node:assert/strict";
import { assert, assertEquals } from "./support/assert.ts";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { snapshotTree } from "./support/tree.ts";
import {
  buildFixtureDataset,
  type FixtureDatasetOptions,
  listsWithBase,
  REAL_CLIP_LABEL,
} from "../fixtures/dataset_builder.ts";

/** A reduced dataset: 8 classes × (1 train, 1 val, 1 test), each class spanning 0.5 s to 12 s. */
const SMALL: FixtureDatasetOptions = {
  seed: 7,
  perClass: { train: 1, val: 1, test: 1 },
  durations: [0.5, 2, 12],
  perShard: 4,
  quiet: true,
};

/** A tiny one (6 short videos) for the seed and rebuild checks. */
const TINY: FixtureDatasetOptions = {
  seed: 8,
  classes: 2,
  perClass: { train: 1, val: 1, test: 1 },
  durations: [1],
  realClip: false,
  quiet: true,
};

const KINETICS_CLASSES = new Set(
  (await Deno.readTextFile(
    new URL("../data/kinetics700_classes.txt", import.meta.url),
  )).split("\n").filter((l) => l.length > 0),
);

async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else {
        out.set(
          relative(root, p),
          createHash("sha256").update(await Deno.readFile(p)).digest("hex"),
        );
      }
    }
  };
  await walk(root);
  return out;
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

interface Probe {
  streams: { codec_name: string; width: number; height: number; nb_read_frames: string }[];
  format: { duration: string };
}

function readCsv(text: string): string[][] {
  return text.trimEnd().split("\n").map((l) => l.split(","));
}

Deno.test("fixture dataset: layout, media, annotations, archives, card, determinism", async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "kinembed_fixture_" });
  try {
    const dirA = join(tmp, "a");
    const ds = await buildFixtureDataset(dirA, SMALL);

    await t.step("videos: Kinetics names, spread of durations, sizes and codecs", () => {
      assertEquals(ds.classes.length, 8);
      for (const c of ds.classes) assert(KINETICS_CLASSES.has(c), `${c} is a Kinetics-700 class`);
      assertEquals(ds.videos.length, 8 * 3 + 1);
      const ids = new Set(ds.videos.map((v) => v.id));
      assertEquals(ids.size, ds.videos.length);
      for (const v of ds.videos) {
        assert(/^[A-Za-z0-9_-]{11}_\d{6}_\d{6}$/.test(v.id), v.id);
        assertEquals(
          v.id,
          `${v.youtubeId}_${String(v.timeStart).padStart(6, "0")}_${
            String(v.timeEnd).padStart(6, "0")
          }`,
        );
        assert(v.timeEnd - v.timeStart >= v.duration, `${v.id} segment covers the clip`);
        const dir = v.split === "test" ? "test" : `${v.split}/${v.label}`;
        assertEquals(v.path, `videos/${dir}/${v.id}.${v.container}`);
        assertEquals(v.codec, v.container === "mp4" ? "h264" : "vp9");
      }
      const durations = ds.videos.map((v) => v.duration);
      assert(Math.min(...durations) <= 0.55 && Math.max(...durations) >= 12);
      assert(ds.videos.some((v) => v.height > v.width), "a portrait video");
      assert(ds.videos.some((v) => v.width > v.height), "a landscape video");
      assert(ds.videos.some((v) => v.codec === "vp9"), "a VP9 video");
      const real = ds.videos.filter((v) => v.look === "real");
      assertEquals(real.length, 1);
      assertEquals(real[0].label, REAL_CLIP_LABEL);
      assertEquals(real[0].split, "train");
    });

    await t.step("ffprobe agrees with dataset.json", async () => {
      const shortest = ds.videos.reduce((a, b) => a.duration <= b.duration ? a : b);
      const picks = [
        shortest,
        ds.videos.find((v) => v.duration >= 12)!,
        ds.videos.find((v) => v.codec === "vp9")!,
        ds.videos.find((v) => v.height > v.width)!,
        ds.videos.find((v) => v.look === "real")!,
      ];
      for (const v of picks) {
        const p = JSON.parse(
          await run("ffprobe", [
            ...["-v", "error", "-count_frames", "-select_streams", "v:0", "-of", "json"],
            ...["-show_entries", "stream=codec_name,width,height,nb_read_frames:format=duration"],
            join(dirA, v.path),
          ]),
        ) as Probe;
        const s = p.streams[0];
        assertEquals(
          [s.codec_name, s.width, s.height, Number(s.nb_read_frames)],
          [v.codec, v.width, v.height, v.frames],
          v.path,
        );
        assert(Math.abs(Number(p.format.duration) - v.duration) < 0.05, `${v.path} duration`);
      }
    });

    await t.step("annotation CSVs: Kinetics headers, split names, row counts", async () => {
      const train = readCsv(await Deno.readTextFile(join(dirA, ds.annotations.train)));
      const val = readCsv(await Deno.readTextFile(join(dirA, ds.annotations.val)));
      const test = readCsv(await Deno.readTextFile(join(dirA, ds.annotations.test)));
      const hidden = readCsv(await Deno.readTextFile(join(dirA, ds.testLabels)));
      assertEquals(train[0], ["label", "youtube_id", "time_start", "time_end", "split"]);
      assertEquals(val[0], train[0]);
      assertEquals(hidden[0], train[0]);
      assertEquals(test[0], ["youtube_id", "time_start", "time_end", "split"]);
      assertEquals([train.length, val.length, test.length, hidden.length], [10, 9, 9, 9]);
      assert(train.slice(1).every((r) => r[4] === "train"));
      assert(val.slice(1).every((r) => r[4] === "validate"));
      assert(test.slice(1).every((r) => r[3] === "test"));
      const byYoutubeId = new Map(ds.videos.map((v) => [v.youtubeId, v]));
      for (const r of [...train.slice(1), ...val.slice(1), ...hidden.slice(1)]) {
        const v = byYoutubeId.get(r[1])!;
        assertEquals([r[0], Number(r[2]), Number(r[3])], [v.label, v.timeStart, v.timeEnd]);
      }
      const json = JSON.parse(await Deno.readTextFile(join(dirA, ds.annotationsJson.val)));
      const some = ds.videos.find((v) => v.split === "val")!;
      assertEquals(json[some.youtubeId].annotations, {
        label: some.label,
        segment: [some.timeStart, some.timeEnd],
      });
    });

    await t.step(
      "archives: per-class tar.gz for train/val, test parts, fixed headers",
      async () => {
        const script = `
import gzip, hashlib, json, sys, tarfile
out = {}
for path in sys.argv[2:]:
    raw = open(sys.argv[1] + "/" + path, "rb").read(10)
    with tarfile.open(sys.argv[1] + "/" + path, "r:gz") as tf:
        members = []
        for m in tf.getmembers():
            digest = hashlib.sha256(tf.extractfile(m).read()).hexdigest() if m.isfile() else None
            members.append([m.name, m.isdir(), m.mode, m.mtime, m.uid, m.gid, digest])
    out[path] = {"gzip_mtime": int.from_bytes(raw[4:8], "little"), "members": members}
print(json.dumps(out))
`;
        const listed = JSON.parse(
          await run("/usr/bin/python3", ["-c", script, dirA, ...ds.archives.map((a) => a.path)]),
        ) as Record<
          string,
          {
            gzip_mtime: number;
            members: [string, boolean, number, number, number, number, string | null][];
          }
        >;
        const byMember = new Map(ds.videos.map((v) => [v.member, v]));
        assertEquals(ds.archives.filter((a) => a.split === "train").length, 8);
        assertEquals(ds.archives.filter((a) => a.split === "val").length, 8);
        assertEquals(ds.archives.filter((a) => a.split === "test").map((a) => a.path), [
          "archives/test/part_0.tar.gz",
        ]);
        for (const a of ds.archives) {
          const got = listed[a.path];
          assertEquals(got.gzip_mtime, 0);
          const files = got.members.filter((m) => !m[1]);
          assertEquals(files.map((m) => m[0]), a.members);
          for (const [name, isDir, mode, mtime, uid, gid, digest] of got.members) {
            assertEquals([mode, mtime, uid, gid], [isDir ? 0o755 : 0o644, 0, 0, 0], name);
            if (isDir) continue;
            const v = byMember.get(name)!;
            assertEquals(digest, v.sha256, name);
            assertEquals(v.archive, a.path);
            assert(name.startsWith(a.split === "test" ? "test/" : `${a.split}/${a.label}/`));
          }
          if (a.label !== null) {
            assertEquals(a.path, `archives/${a.split}/${a.label.replaceAll(" ", "_")}.tar.gz`);
          }
        }
        const inArchives = ds.archives.flatMap((a) => a.members).sort();
        assertEquals(inArchives, ds.videos.map((v) => v.member).sort());
      },
    );

    await t.step("path lists, absolute lists", async () => {
      for (const split of ["train", "val", "test"] as const) {
        const lines = (await Deno.readTextFile(join(dirA, ds.lists[split]))).trimEnd().split("\n");
        assertEquals(lines, ds.archives.filter((a) => a.split === split).map((a) => a.path));
        assertEquals(ds.lists[split], `lists/k700_2020_${split}_path.txt`);
      }
      const abs = listsWithBase(ds, "http://127.0.0.1:8000");
      assertEquals(
        abs.val[0],
        `http://127.0.0.1:8000/${ds.archives.find((a) => a.split === "val")!.path}`,
      );
    });

    await t.step("card: Data Splits totals match the videos", async () => {
      const card = await Deno.readTextFile(join(dirA, ds.card));
      assertEquals(ds.splits, {
        train: { samples: 9, tars: 3 },
        val: { samples: 8, tars: 2 },
        test: { samples: 8, tars: 2 },
      });
      assert(card.includes("* Train - 9 samples | 3 tar's\n"));
      assert(card.includes("* Validation - 8 samples | 2 tar's\n"));
      assert(card.includes("* Test - 8 samples | 2 tar's\n"));
      assert(card.includes("each with 4 data samples"));
      const reference = await Deno.readTextFile(
        new URL("../data/clip-kinetics700-card.md", import.meta.url),
      );
      const headings = (s: string) => s.split("\n").filter((l) => l.startsWith("#"));
      assertEquals(
        headings(card).map((h) => h.split(" ")[0]),
        headings(reference).map((h) => h.split(" ")[0]),
      );
    });

    await t.step("same seed: byte-identical; rerun: makes nothing", async () => {
      const dirB = join(tmp, "b");
      await buildFixtureDataset(dirB, SMALL);
      const [a, b] = [await hashTree(dirA), await hashTree(dirB)];
      assertEquals([...b.entries()].sort(), [...a.entries()].sort());
      const before = await snapshotTree(dirA);
      const again = await buildFixtureDataset(dirA, SMALL);
      // the rerun made nothing: every file as it was, sizes and modification times
      assertEquals(await snapshotTree(dirA), before);
      assertEquals(again, ds);

      // A killed build leaves its marker and the videos it finished, and no dataset.json: the
      // next build makes only what is missing and ends with the same bytes.
      const kept = ds.videos[5].path;
      const keptMtime = (await Deno.stat(join(dirB, kept))).mtime;
      await Deno.remove(join(dirB, "dataset.json"));
      await Deno.remove(join(dirB, ds.videos[3].path));
      await Deno.remove(join(dirB, ds.archives[0].path));
      await Deno.writeTextFile(join(dirB, "videos/val/.half-written.mp4.123.partial"), "x");
      await Deno.writeTextFile(
        join(dirB, ".build.json"),
        JSON.stringify({ optionsHash: ds.optionsHash }),
      );
      await buildFixtureDataset(dirB, SMALL);
      assertEquals((await Deno.stat(join(dirB, kept))).mtime, keptMtime, "finished video kept");
      assertEquals([...(await hashTree(dirB)).entries()].sort(), [...a.entries()].sort());

      // A file gone from a finished dataset is made again.
      await Deno.remove(join(dirB, ds.videos[7].path));
      await buildFixtureDataset(dirB, SMALL);
      assertEquals([...(await hashTree(dirB)).entries()].sort(), [...a.entries()].sort());
    });

    await t.step("another seed differs; rebuilding in place replaces the old files", async () => {
      const [dirC, dirD] = [join(tmp, "c"), join(tmp, "d")];
      const c = await buildFixtureDataset(dirC, TINY);
      const d = await buildFixtureDataset(dirD, { ...TINY, seed: 9 });
      const [hc, hd] = [await hashTree(dirC), await hashTree(dirD)];
      assertNotEquals(hd.get("annotations/train.csv"), hc.get("annotations/train.csv"));
      assertNotEquals(hd.get("dataset.json"), hc.get("dataset.json"));
      assert(d.videos.every((v) => !hc.has(v.path)), "other ids");
      const h = (v: { sha256: string }) => v.sha256;
      assertNotEquals(d.videos.map(h), c.videos.map(h));

      const back = await buildFixtureDataset(dirD, TINY);
      assertEquals(back.optionsHash, c.optionsHash);
      assertEquals([...(await hashTree(dirD)).entries()].sort(), [...hc.entries()].sort());
    });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
