import { DatabaseSync } from "node:sqlite";
import {
  ConfigMismatchError,
  mulberry32,
  readNpy,
  seededShuffle,
  sha256File,
} from "../base/mod.ts";
import { Manifest } from "../core/mod.ts";
import { join } from "node:path";
import { shard } from "./shard.ts";
import { planRanked, planShards, shardsOfWorker } from "./plan.ts";
import { parseSplitsCsv, ShardReader } from "../webdataset/mod.ts";
import { makeSyntheticWorkDir } from "../../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

const COUNTS = { train: 7, val: 3, test: 4 };

async function python(script: string, args: string[] = []): Promise<string> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`python failed: ${err}`);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("shard plan: splits never mix, keys and shards count up across splits", () => {
  const videos = [
    ...Array.from({ length: 25 }, (_, i) => ({ id: `t${i}`, split: "train" as const })),
    ...Array.from({ length: 4 }, (_, i) => ({ id: `v${i}`, split: "val" as const })),
    ...Array.from({ length: 11 }, (_, i) => ({ id: `s${i}`, split: "test" as const })),
  ];
  const plan = planShards(videos.slice().reverse(), { seed: 7, perShard: 10 });
  assertEquals(plan.shards.map((s) => [s.file, s.split, s.samples.length]), [
    ["ds_000000.tar", "train", 10],
    ["ds_000001.tar", "train", 10],
    ["ds_000002.tar", "train", 5],
    ["ds_000003.tar", "val", 4],
    ["ds_000004.tar", "test", 10],
    ["ds_000005.tar", "test", 1],
  ]);
  assertEquals(plan.totals, {
    train: { samples: 25, tars: 3 },
    val: { samples: 4, tars: 1 },
    test: { samples: 11, tars: 2 },
  });
  const keys = plan.shards.flatMap((s) => s.samples.map((x) => x.key));
  assertEquals(keys, Array.from({ length: 40 }, (_, i) => `vid_${String(i).padStart(9, "0")}`));
  for (const s of plan.shards) {
    assert(s.samples.every((x) => x.videoId[0] === { train: "t", val: "v", test: "s" }[s.split]));
  }
  // input order does not matter; the seed does
  assertEquals(planShards(videos, { seed: 7, perShard: 10 }), plan);
  assert(
    JSON.stringify(planShards(videos, { seed: 8, perShard: 10 }).shards) !==
      JSON.stringify(plan.shards),
  );
  assertEquals(shardsOfWorker(plan, 1, 4).map((s) => s.index), [1, 5]);
  assertEquals(planShards([], {}).shards, []);
  // the plan keeps ids; samples are made from them and the first key, the same on each read
  for (const s of plan.shards) {
    assertEquals(s.samples.map((x) => x.videoId), [...s.videoIds]);
    assertEquals(s.samples[0].key, `vid_${String(s.firstKey).padStart(9, "0")}`);
  }
  // streamed input (a generator, as shard reads the manifest) gives the same plan
  function* streamed() {
    yield* videos;
  }
  assertEquals(planShards(streamed(), { seed: 7, perShard: 10 }), plan);
  // an id listed twice is refused, within a split or across two
  for (
    const twice of [{ id: "t3", split: "train" as const }, { id: "t3", split: "test" as const }]
  ) {
    let error = "";
    try {
      planShards([...videos, twice]);
    } catch (e) {
      error = (e as Error).message;
    }
    assertEquals(error, "video t3 is listed twice");
  }
});

Deno.test("shard plan: ids numbered in the manifest give the plan the ids in memory give", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    // every character a safe id may hold (not "." first), in mixed order: SQLite's byte order and JavaScript's
    // code-unit order must agree on them
    const chars = "-._0123456789ABCXYZabcxyz";
    const videos = Array.from({ length: 150 }, (_, i) => ({
      id: `${chars[(i * 7) % chars.length].replace(".", "x")}${chars[(i * 11) % chars.length]}${i}`,
      split: (["train", "val", "test"] as const)[i % 4 === 3 ? 1 : i % 5 === 4 ? 2 : 0],
    }));
    m.videos.add(videos.map((v) => ({
      ...v,
      label: null,
      youtubeId: v.id,
      timeStart: 0,
      timeEnd: 1,
      source: null,
    })));
    videos.forEach((v, i) => {
      if (i % 3 !== 0) m.steps.markDone("encode", v.id, { path: null });
    });
    const encoded = videos.filter((_, i) => i % 3 !== 0);
    for (const [doneIn, expected] of [["encode", encoded], [undefined, videos]] as const) {
      const ids = m.shards.rankIds(doneIn);
      for (const seed of [0, 7]) {
        const ours = planRanked(ids, { seed, perShard: 8 });
        const inMemory = planShards(expected, { seed, perShard: 8 });
        assertEquals(ours.totals, inMemory.totals);
        assertEquals(
          ours.shards.map((s) => [s.file, s.split, s.size, s.firstKey, s.samples]),
          inMemory.shards.map((s) => [s.file, s.split, s.size, s.firstKey, s.samples]),
        );
      }
    }
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("shard plan: mulberry32 + Fisher–Yates match an independent Python port", async () => {
  const ids = Array.from({ length: 50 }, (_, i) => `id${String(i).padStart(3, "0")}`);
  const ours = [0, 1, 123456789, 4294967295].map((seed) => seededShuffle(ids, seed));
  const r = mulberry32(0);
  const firstDraws = [r(), r(), r()];
  const py = await python(
    `
import json, sys
def mulberry32(seed):
    a = seed & 0xFFFFFFFF
    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t = (t ^ (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF))) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return nxt
def shuffle(items, seed):
    out, rand = list(items), mulberry32(seed)
    for i in range(len(out) - 1, 0, -1):
        j = int(rand() * (i + 1))
        out[i], out[j] = out[j], out[i]
    return out
ids = ["id%03d" % i for i in range(50)]
r = mulberry32(0)
print(json.dumps({"draws": [r(), r(), r()],
                  "shuffles": [shuffle(ids, s) for s in (0, 1, 123456789, 4294967295)]}))
`,
  );
  const got = JSON.parse(py);
  assertEquals(got.draws, firstDraws);
  assertEquals(got.shuffles, ours);
});

Deno.test("shard: round trip through ShardReader; failed and pending videos left out", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout, encoded } = await makeSyntheticWorkDir({
      dir: join(dir, "w"),
      counts: COUNTS,
      failed: { train: 2, test: 1 },
      pending: { val: 1 },
      frames: (i, split) => (split === "test" && i === 0 ? 0 : 1 + (i % 4)),
    });
    const s = await shard({ work: layout.root, perShard: 3, quiet: true });
    assertEquals(s.splits, {
      train: { samples: 7, tars: 3, failed: 2, notEncoded: 0 },
      val: { samples: 3, tars: 1, failed: 0, notEncoded: 1 },
      test: { samples: 4, tars: 2, failed: 1, notEncoded: 0 },
    });
    assertEquals(s.written, [0, 1, 2, 3, 4, 5].map((i) => `ds_00000${i}.tar`));
    assertEquals(s.failures, []);
    const csv = parseSplitsCsv(await Deno.readTextFile(join(layout.shards, "splits.csv")));
    assertEquals(csv.map((r) => r.split), ["train", "train", "train", "val", "test", "test"]);
    const mj = JSON.parse(await Deno.readTextFile(join(layout.shards, "manifest.json")));
    assertEquals(mj.shardTotals.train, { samples: 7, tars: 3 });
    assertEquals(mj.plan.splits.train.failed, 2);
    assertEquals(mj.config.shard_seed, 0);

    const byYt = new Map(encoded.map((v) => [v.youtubeId, v]));
    const seen: string[] = [];
    let n = 0;
    for await (const x of new ShardReader(join(layout.shards, "ds_{000000..000005}.tar"))) {
      assertEquals(x.key, `vid_${String(n++).padStart(9, "0")}`);
      const v = byYt.get(String(x.meta.videoID))!;
      assert(v, `unknown video ${x.meta.videoID}`);
      seen.push(v.id);
      assertEquals(Object.keys(x.meta), ["videoID", "start_time", "end_time"]);
      assertEquals(x.meta.start_time, v.id.slice(12, 18));
      assertEquals(x.meta.end_time, v.id.slice(19, 25));
      assertEquals(x.label, v.label ?? "");
      const emb = readNpy(await Deno.readFile(join(layout.emb, `${v.id}.npy`)));
      assertEquals(x.embeddings.dtype, "<f2");
      assertEquals(x.embeddings.shape, emb.shape);
      assertEquals(Array.from(x.embeddings.data), Array.from(emb.data));
    }
    assertEquals(n, 14);
    assertEquals(seen.slice().sort(), encoded.map((v) => v.id).sort());
    // a different seed in the same work dir is refused, naming the key
    const e = await assertRejects(() => shard({ work: layout.root, seed: 5, quiet: true }));
    assert(e instanceof ConfigMismatchError && e.keys.includes("shard_seed"), e.message);
  } finally {
    await cleanup();
  }
});

Deno.test("shard: same inputs and seed give byte-identical tars in two work dirs", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const sums: string[][] = [];
    for (const name of ["a", "b"]) {
      const { layout } = await makeSyntheticWorkDir({ dir: join(dir, name), counts: COUNTS });
      await shard({ work: layout.root, perShard: 4, seed: 3, quiet: true });
      const files = [...Deno.readDirSync(layout.shards)].map((e) => e.name).filter((f) =>
        f.endsWith(".tar")
      ).sort();
      const hashes = await Promise.all(
        files.map(async (f) => `${f} ${await sha256File(join(layout.shards, f))}`),
      );
      const m = Manifest.open(layout.manifest, { readOnly: true });
      assertEquals(hashes, m.shards.all().map((r) => `${r.file} ${r.sha256}`), "manifest rows");
      m.close();
      sums.push([...hashes, await Deno.readTextFile(join(layout.shards, "splits.csv"))]);
    }
    assertEquals(sums[0], sums[1]);
    assertEquals(sums[0].filter((x) => x.startsWith("ds_")).length, 4, "2 train, 1 val, 1 test");
  } finally {
    await cleanup();
  }
});

Deno.test("shard: a rerun keeps good shards and rewrites only a deleted or truncated one", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "w"), counts: COUNTS });
    const first = await shard({ work: layout.root, perShard: 3, quiet: true });
    const stat = (f: string) => Deno.statSync(join(layout.shards, f));
    const before = Object.fromEntries(first.written.map((f) => [f, stat(f).mtime!.getTime()]));
    const sha0 = await Deno.readFile(join(layout.shards, "ds_000002.tar"));

    const again = await shard({ work: layout.root, perShard: 3, quiet: true });
    assertEquals(again.written, []);
    assertEquals(again.kept, first.written);

    await Deno.remove(join(layout.shards, "ds_000002.tar"));
    const t = await Deno.open(join(layout.shards, "ds_000004.tar"), { write: true });
    await t.truncate(1500);
    t.close();
    // a temp file a killed run left behind goes at the start
    await Deno.writeTextFile(join(layout.shards, ".ds_000005.tar.99999.partial"), "junk");
    await new Promise((r) => setTimeout(r, 20));
    const third = await shard({ work: layout.root, perShard: 3, quiet: true });
    assertEquals(third.written, ["ds_000002.tar", "ds_000004.tar"]);
    assertEquals(third.staleTemps, 1);
    for (const f of first.written) {
      if (!third.written.includes(f)) assertEquals(stat(f).mtime!.getTime(), before[f], f);
    }
    assertEquals(await Deno.readFile(join(layout.shards, "ds_000002.tar")), sha0);
    assert(![...Deno.readDirSync(layout.shards)].some((e) => e.name.endsWith(".partial")));

    // a changed plan (another video encoded) rewrites what moved and drops a surplus shard
    const m = Manifest.open(layout.manifest);
    const gone = m.videos.list({ split: "test" })[0].id;
    m.steps.markFailed("encode", gone, "re-encode failed");
    m.close();
    const fourth = await shard({ work: layout.root, perShard: 3, quiet: true });
    assertEquals(fourth.splits.test.samples, 3);
    assertEquals(fourth.removed, ["ds_000005.tar"]);
    assert(fourth.written.includes("ds_000004.tar"));
    assert(fourth.kept.includes("ds_000000.tar"));
    const csv = await Deno.readTextFile(join(layout.shards, "splits.csv"));
    assert(!csv.includes("ds_000005.tar"));
  } finally {
    await cleanup();
  }
});

Deno.test("shard: a no-op rerun trusts its last complete run only while no record changed, whoever wrote it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "w"), counts: COUNTS });
    const first = await shard({ work: layout.root, perShard: 3, quiet: true });
    const again = await shard({ work: layout.root, perShard: 3, quiet: true });
    assertEquals([again.written, again.kept], [[], first.written]);
    // another writer (sqlite3 by hand) changes one embedding's record: the change counter moves,
    // so the next run reads the records again and finds the shard holding that video stale
    const plan = planShards(
      Manifest.open(layout.manifest, { readOnly: true }).videos.list().map((v) => v),
      { perShard: 3 },
    );
    const victim = plan.shards[1].videoIds[0];
    const db = new DatabaseSync(layout.manifest);
    const changes = Number(
      (db.prepare("SELECT value FROM meta WHERE key = 'changes'").get())!.value,
    );
    db.prepare("UPDATE steps SET sha256 = ? WHERE video_id = ? AND step = 'encode'")
      .run("0".repeat(64), victim);
    assertEquals(
      Number((db.prepare("SELECT value FROM meta WHERE key = 'changes'").get())!.value),
      changes + 1,
    );
    db.close();
    const third = await shard({ work: layout.root, perShard: 3, quiet: true });
    assertEquals(third.failures.map((f) => f.id), ["ds_000001.tar"]);
    assert(third.failures[0].error.includes(`video ${victim}`), third.failures[0].error);
    assertEquals(third.kept, first.written.filter((f) => f !== "ds_000001.tar"));
    // a run with failures is not trusted next time either: it checks everything again
    const fourth = await shard({ work: layout.root, perShard: 3, quiet: true });
    assertEquals(fourth.failures.map((f) => f.id), ["ds_000001.tar"]);
  } finally {
    await cleanup();
  }
});

Deno.test("shard: Python's tarfile + numpy read our shards and agree", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "w"),
      counts: COUNTS,
      frames: (i) => i % 3,
    });
    await shard({ work: layout.root, perShard: 5, quiet: true });
    const ours: unknown[] = [];
    const members: string[] = [];
    for await (const x of new ShardReader(join(layout.shards, "ds_*.tar"))) {
      ours.push([x.key, x.embeddings.shape, x.embeddings.dtype, x.label, x.meta]);
      members.push(`${x.key}.json`, `${x.key}.npy`, `${x.key}.txt`);
    }
    const py = await python(
      `
import glob, io, json, sys, tarfile
import numpy as np
out, names = [], []
for path in sorted(glob.glob(sys.argv[1] + "/ds_*.tar")):
    with tarfile.open(path) as tf:
        cur = {}
        for m in tf.getmembers():
            assert m.isfile() and m.mode == 0o444 and m.mtime == 0 and m.uid == 0 and m.gid == 0
            assert m.uname == "" and m.gname == ""
            names.append(m.name)
            key, ext = m.name.split(".", 1)
            cur.setdefault(key, {})[ext] = tf.extractfile(m).read()
        for key, s in cur.items():
            a = np.load(io.BytesIO(s["npy"]))
            assert np.all(np.isfinite(a))
            out.append([key, list(a.shape), a.dtype.str, s["txt"].decode(), json.loads(s["json"])])
print(json.dumps({"samples": out, "names": names}))
`,
      [layout.shards],
    );
    const got = JSON.parse(py);
    assertEquals(got.samples, ours);
    assertEquals(got.names, members);
  } finally {
    await cleanup();
  }
});

Deno.test("shard: a missing or corrupt embedding fails its shard only, naming the sample", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout, encoded } = await makeSyntheticWorkDir({ dir: join(dir, "w"), counts: COUNTS });
    const val = encoded.filter((v) => v.split === "val");
    await Deno.remove(join(layout.emb, `${val[0].id}.npy`));
    const test0 = encoded.find((v) => v.split === "test")!;
    await Deno.writeFile(join(layout.emb, `${test0.id}.npy`), new Uint8Array([1, 2, 3]));
    const s = await shard({ work: layout.root, perShard: 3, quiet: true });
    // val is shard 3 alone; the test videos fill shards 4 and 5
    assertEquals(s.failures.length, 2);
    assertEquals(s.failures[0].id, "ds_000003.tar");
    assert(["ds_000004.tar", "ds_000005.tar"].includes(s.failures[1].id));
    assert(
      /^vid_0000000(07|08|09) \(video V\d+_\d+_\d+\): cannot read .*No such file/.test(
        s.failures.find((f) => f.id === "ds_000003.tar")!.error,
      ),
      JSON.stringify(s.failures),
    );
    assert(s.failures.some((f) => /bad magic/.test(f.error) && f.error.includes(test0.id)));
    assertEquals(s.written.length, 4);
    assert(![...Deno.readDirSync(layout.shards)].some((e) => e.name.endsWith(".partial")));
    const m = Manifest.open(layout.manifest, { readOnly: true });
    assertEquals(m.shards.all().map((r) => r.file), s.written);
    m.close();
  } finally {
    await cleanup();
  }
});
