import { join } from "node:path";
import { readNpyHeader, writeNpy } from "../base/mod.ts";
import { shard } from "../shard/mod.ts";
import { verify, type VerifyReport } from "./verify.ts";
import { makeSyntheticWorkDir, syntheticCard } from "../../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { copyDir, editShard, type Members } from "../../tests/support/shard_edit.ts";
import { snapshotTree } from "../../tests/support/tree.ts";

const CLASSES = ["abseiling", "acting in play", "adjusting glasses"];
// 7 train samples in 3 tars (keys 0-6), 3 val in 1 (7-9), 4 test in 2 (10-13)
const TOTALS = {
  train: { samples: 7, tars: 3 },
  val: { samples: 3, tars: 1 },
  test: { samples: 4, tars: 2 },
};
const enc = new TextEncoder();

function messages(r: VerifyReport): string[] {
  return r.problems.map((p) => {
    const where = [p.shard, p.key].filter(Boolean).join(" ");
    return where ? `${where}: ${p.message}` : p.message;
  });
}

/** The report fails and holds exactly these problems (each a pattern for one message). */
function exactly(r: VerifyReport, want: RegExp[]): void {
  const got = messages(r);
  assert(!r.ok, "verify passed");
  for (const re of want) assert(got.some((m) => re.test(m)), `no ${re} in:\n${got.join("\n")}`);
  assertEquals(got.length, want.length, `extra problems:\n${got.join("\n")}`);
}

/** Replaces one member's bytes. */
function setMember(name: string, bytes: Uint8Array): (m: Members) => Members {
  return (m) => m.map(([k, v]) => [k, k === name ? bytes : v]);
}

/** Sets float16 element `i` of a `.npy` member to the given bits. */
function setHalf(name: string, i: number, bits: number): (m: Members) => Members {
  return (m) =>
    m.map(([k, v]) => {
      if (k !== name) return [k, v];
      const b = v.slice();
      new DataView(b.buffer, readNpyHeader(b).dataOffset).setUint16(2 * i, bits, true);
      return [k, b];
    });
}

Deno.test("verify: each check fails on the fault it names", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "w"),
      counts: { train: 7, val: 3, test: 4 },
      frames: (i) => 1 + (i % 3),
      classes: CLASSES,
    });
    await shard({ work: layout.root, perShard: 3, quiet: true });
    const card = join(dir, "card.md");
    await Deno.writeTextFile(card, syntheticCard(TOTALS));
    const classes = join(dir, "classes.txt");
    await Deno.writeTextFile(classes, CLASSES.join("\n") + "\n");
    let n = 0;
    /** A copy of the shards with one tar edited, verified without the manifest. */
    const damaged = async (tar: string, edit: (m: Members) => Members) => {
      const d = await copyDir(layout.shards, join(dir, `v${n++}`));
      // without manifest.json, whose sha256 would name every edit: the per-sample checks alone
      await Deno.remove(join(d, "manifest.json"));
      await editShard(join(d, tar), edit);
      return await verify({ shards: d, card, classes, quiet: true });
    };

    await t.step("the untouched set passes", async () => {
      const r = await verify({ work: layout.root, card, classes, quiet: true });
      assertEquals(messages(r), []);
    });

    await t.step("a sample missing its .npy, another its .txt", async () => {
      const r = await damaged(
        "ds_000000.tar",
        (m) => m.filter(([k]) => k !== "vid_000000000.npy" && k !== "vid_000000002.txt"),
      );
      exactly(r, [
        /^ds_000000\.tar vid_000000000: sample has no \.npy member$/,
        /^ds_000000\.tar vid_000000002: sample has no \.txt or \.cap member$/,
      ]);
    });

    await t.step("a non-float dtype: uint8 and int32", async () => {
      const r = await damaged(
        "ds_000000.tar",
        (m) =>
          setMember(
            "vid_000000001.npy",
            writeNpy({ dtype: "<u1", shape: [1, 512], data: new Uint8Array(512) }),
          )(m).map(([k, v]): [string, Uint8Array] => {
            if (k !== "vid_000000002.npy") return [k, v];
            // numpy's int32 layout, which this project never writes: the header's descr edited
            const b = writeNpy({ dtype: "<f4", shape: [1, 512], data: new Float32Array(512) });
            const at = new TextDecoder("latin1").decode(b).indexOf("'<f4'");
            b.set(enc.encode("'<i4'"), at);
            return [k, b];
          }),
      );
      exactly(r, [
        /^ds_000000\.tar vid_000000001: \.npy dtype <u1 is not a float dtype$/,
        /^ds_000000\.tar vid_000000002: \.npy: .*dtype <i4/,
      ]);
    });

    await t.step("a .jpg member: a JPEG passes, other bytes are named", async () => {
      // a thumbnail (shard --thumbnails) is checked for JPEG's start-of-image marker
      const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0xff, 0xd9]);
      const r = await damaged(
        "ds_000000.tar",
        (m) =>
          m.flatMap(([k, v]): [string, Uint8Array][] => {
            if (k === "vid_000000000.json") return [["vid_000000000.jpg", jpeg], [k, v]];
            if (k === "vid_000000001.json") {
              return [["vid_000000001.jpg", enc.encode("not a jpeg")], [k, v]];
            }
            return [[k, v]];
          }),
      );
      exactly(r, [/^ds_000000\.tar vid_000000001: \.jpg is not a JPEG image$/]);
    });

    await t.step("+Inf and -Inf", async () => {
      const r = await damaged("ds_000001.tar", (m) =>
        setHalf("vid_000000005.npy", 3, 0xfc00)(
          setHalf("vid_000000004.npy", 9, 0x7c00)(m),
        ));
      exactly(r, [
        /^ds_000001\.tar vid_000000004: \.npy has \+Inf at frame 0, dim 9$/,
        /^ds_000001\.tar vid_000000005: \.npy has -Inf at frame 0, dim 3$/,
      ]);
    });

    await t.step("a .json that is not JSON, not an object, or lacks a field", async () => {
      const r = await damaged(
        "ds_000001.tar",
        (m) =>
          setMember("vid_000000003.json", enc.encode("{videoID: 1"))(
            setMember("vid_000000004.json", enc.encode("[1, 2]"))(
              setMember(
                "vid_000000005.json",
                enc.encode(JSON.stringify({ videoID: "x", start_time: "000001" })),
              )(m),
            ),
          ),
      );
      exactly(r, [
        /^ds_000001\.tar vid_000000003: \.json is not valid JSON: /,
        /^ds_000001\.tar vid_000000004: \.json is not an object$/,
        /^ds_000001\.tar vid_000000005: \.json has no end_time$/,
      ]);
      const nul = await damaged(
        "ds_000001.tar",
        setMember("vid_000000003.json", enc.encode("null")),
      );
      exactly(nul, [/^ds_000001\.tar vid_000000003: \.json is not an object$/]);
    });

    await t.step(
      "an empty label, a label that is not UTF-8; an empty test label is fine",
      async () => {
        const r = await damaged(
          "ds_000000.tar",
          (m) =>
            setMember("vid_000000000.txt", new Uint8Array())(
              setMember("vid_000000001.txt", Uint8Array.of(0x61, 0xff, 0x62))(m),
            ),
        );
        exactly(r, [
          /^ds_000000\.tar vid_000000000: empty label$/,
          /^ds_000000\.tar vid_000000001: label is not UTF-8$/,
        ]);
        const test = await damaged(
          "ds_000004.tar",
          setMember("vid_000000010.txt", new Uint8Array()),
        );
        assertEquals(messages(test), []);
      },
    );

    await t.step("a key not of the form vid_<number>", async () => {
      const r = await damaged(
        "ds_000002.tar",
        (m) => m.map(([k, v]) => [k.replace("vid_000000006.", "vid_0000x0006."), v]),
      );
      const got = messages(r);
      assert(
        got.includes("ds_000002.tar vid_0000x0006: key is not of the form vid_<number>"),
        got.join("\n"),
      );
    });

    await t.step("a split the card does not list", async () => {
      const noTest = join(dir, "card-no-test.md");
      await Deno.writeTextFile(noTest, syntheticCard({ train: TOTALS.train, val: TOTALS.val }));
      const r = await verify({ work: layout.root, card: noTest, classes, quiet: true });
      exactly(r, [/^split test: 2 tars found, the card lists no such split$/]);
    });

    await t.step("a tar listed twice in splits.csv", async () => {
      const d = await copyDir(layout.shards, join(dir, `v${n++}`));
      await Deno.writeTextFile(join(d, "splits.csv"), "ds_000003.tar,val\n", { append: true });
      const r = await verify({ shards: d, card, classes, quiet: true });
      const got = messages(r);
      assert(got.includes("ds_000003.tar: listed twice"), got.join("\n"));
      assert(!r.ok);
    });

    // the faults below sit in the work dir itself: each is put right again
    const csvPath = join(layout.shards, "splits.csv");
    const csv = await Deno.readTextFile(csvPath);

    await t.step("splits.csv disagreeing with the manifest", async () => {
      try {
        const rows = csv.split("\n");
        const edited = rows
          .map((l) => l.replace(/^ds_000003\.tar,val$/, "ds_000003.tar,train"))
          .filter((l) => !l.startsWith("ds_000005.tar"));
        edited.splice(edited.length - 1, 0, "ds_000099.tar,test");
        await Deno.writeTextFile(csvPath, edited.join("\n"));
        const r = await verify({ work: layout.root, card, classes, quiet: true });
        exactly(r, [
          /^ds_000003\.tar: splits\.csv says split train, the manifest val$/,
          /^ds_000005\.tar: in the manifest but not in splits\.csv$/,
          /^ds_000099\.tar: in splits\.csv but not in the manifest$/,
        ]);
      } finally {
        await Deno.writeTextFile(csvPath, csv);
      }
    });

    await t.step("a shard holding other than the manifest's sample count", async () => {
      const p = join(layout.shards, "ds_000001.tar");
      const orig = await Deno.readFile(p);
      try {
        await editShard(p, (m) => m.filter(([k]) => !k.startsWith("vid_000000005.")));
        const r = await verify({ work: layout.root, card, classes, quiet: true });
        const got = messages(r);
        assert(got.includes("ds_000001.tar: 2 samples, the manifest says 3"), got.join("\n"));
      } finally {
        await Deno.writeFile(p, orig);
      }
    });

    await t.step("verify writes nothing: no -wal or -shm, every file as it was", async () => {
      const before = await snapshotTree(layout.root);
      const r = await verify({ work: layout.root, card, classes, quiet: true });
      assert(r.ok, messages(r).join("\n"));
      const after = await snapshotTree(layout.root);
      assertEquals(after, before);
      assert(!after.some((l) => /-(wal|shm) /.test(l)), after.join("\n"));
    });
  } finally {
    await cleanup();
  }
});
