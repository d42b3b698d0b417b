import { removeUnplannedShards, writeSetFiles } from "./shard_set_files.ts";
import { planShards } from "./plan.ts";
import type { Split } from "../base/mod.ts";
import { parseSplitsCsv } from "../webdataset/mod.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

Deno.test("shard_set_files: only shard tars the plan does not name are removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shard_set_files_test_" });
  try {
    const names = [
      "ds_000000.tar",
      "ds_000001.tar",
      "ds_000002.tar",
      "ds_000010.tar",
      "notes.tar",
      "ds_1.txt",
    ];
    for (const n of names) await Deno.writeTextFile(`${dir}/${n}`, n);
    await Deno.mkdir(`${dir}/ds_000003.tar`); // a folder, not a shard
    const removed = await removeUnplannedShards(dir, new Set(["ds_000000.tar", "ds_000001.tar"]));
    assertEquals(removed, ["ds_000002.tar", "ds_000010.tar"]);
    const left = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assertEquals(left.sort(), [
      "ds_000000.tar",
      "ds_000001.tar",
      "ds_000003.tar",
      "ds_1.txt",
      "notes.tar",
    ]);
    assertEquals(await removeUnplannedShards(dir, new Set(["ds_000000.tar", "ds_000001.tar"])), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shard_set_files: splits.csv, manifest.json and README.md follow the plan; a rerun rewrites nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shard_set_files_test_" });
  try {
    const videos = ["train", "train", "train", "val", "test"].map((split, i) => ({
      id: `v${i}`,
      split: split as Split,
    }));
    const plan = planShards(videos, { seed: 1, perShard: 2 });
    const exported = { configHash: "9".repeat(64), config: { fps: 3 }, videos: 5 };
    await writeSetFiles(dir, plan, exported, {
      licenses: ["mit"],
      sourceDatasets: [],
      citations: [],
    });
    const csv = parseSplitsCsv(await Deno.readTextFile(`${dir}/splits.csv`));
    assertEquals(csv, plan.shards.map((s) => ({ tarFile: s.file, split: s.split })));
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)), exported);
    const card = await Deno.readTextFile(`${dir}/README.md`);
    assert(
      card.includes(`| Config hash | \`${"9".repeat(64)}\` |`) && card.includes("| FPS | 3 |"),
      card,
    );
    assert(
      card.includes("* Train - 3 samples | 2 tar's") && card.includes("license:\n- mit\n"),
      card,
    );
    const inodes = async () =>
      await Promise.all(
        ["splits.csv", "manifest.json", "README.md"].map(async (f) =>
          (await Deno.stat(`${dir}/${f}`)).ino
        ),
      );
    const before = await inodes();
    await writeSetFiles(dir, plan, exported);
    assertEquals(await inodes(), before, "an unchanged set's files are not replaced");
    await writeSetFiles(dir, plan, { ...exported, videos: 6 });
    const after = await inodes();
    assertEquals([after[0], after[2]], [before[0], before[2]]);
    assert(after[1] !== before[1], "manifest.json changed and was replaced");
    assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)).videos, 6);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
