import { createHash } from "node:crypto";
import { seededShuffle, type Split } from "../base/mod.ts";
import { parseSampleKey, sampleKey, shardFileName } from "../webdataset/mod.ts";
import {
  DEFAULT_PER_SHARD,
  planHash,
  planRanked,
  planShards,
  type PlanVideo,
  shardsOfWorker,
} from "./plan.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

function videos(split: Split, n: number, prefix = split): PlanVideo[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}_${i}`, split }));
}

function layout(plan: ReturnType<typeof planShards>) {
  return plan.shards.map((s) => ({ file: s.file, split: s.split, samples: s.samples }));
}

Deno.test("plan: keys and file names, and keys read back with or without a folder", () => {
  assertEquals([sampleKey(0), sampleKey(42), sampleKey(999_999_999)], [
    "vid_000000000",
    "vid_000000042",
    "vid_999999999",
  ]);
  assertEquals(sampleKey(1_000_000_000), "vid_1000000000", "a tenth digit widens, never wraps");
  assertEquals([shardFileName(0), shardFileName(54), shardFileName(1_234_567)], [
    "ds_000000.tar",
    "ds_000054.tar",
    "ds_1234567.tar",
  ]);
  for (const n of [0, 7, 645_000, 1_000_000_000]) assertEquals(parseSampleKey(sampleKey(n)), n);
  assertEquals(parseSampleKey("set/part.2/vid_000000013"), 13);
  for (const bad of ["vid_", "vid_12a", "xvid_1", "vid_1/", "clip_000000001", "vid_-1"]) {
    assertEquals(parseSampleKey(bad), null, bad);
  }
});

Deno.test("plan: sorted by code units, then shuffled by the seed, per split", () => {
  // code-unit order: "-" < "0" < "B" < "_" < "a" (a locale-aware sort would put these otherwise)
  const ids = ["a", "_", "B", "0", "-x"];
  for (const seed of [0, 1, 4294967295]) {
    const plan = planShards(ids.map((id) => ({ id, split: "val" as const })), { seed });
    assertEquals(plan.shards.length, 1);
    assertEquals([...plan.shards[0].videoIds], seededShuffle(["-x", "0", "B", "_", "a"], seed));
    assertEquals(plan.seed, seed);
    assertEquals(plan.perShard, DEFAULT_PER_SHARD);
  }
});

Deno.test("plan: adding test videos leaves the train and val shards as they were", () => {
  const base = [...videos("train", 23), ...videos("val", 7)];
  const before = planShards(base, { seed: 3, perShard: 5 });
  const after = planShards([...base, ...videos("test", 9)], { seed: 3, perShard: 5 });
  assertEquals(layout(after).slice(0, before.shards.length), layout(before));
  assertEquals(after.shards.slice(before.shards.length).map((s) => [s.file, s.split, s.size]), [
    ["ds_000007.tar", "test", 5],
    ["ds_000008.tar", "test", 4],
  ]);
  assertEquals(after.shards[7].firstKey, 30, "test keys continue after train and val");
  // one more train video reshuffles train (not promised to stay) but never mixes splits
  const more = planShards([...base, { id: "train_99", split: "train" }], { seed: 3, perShard: 5 });
  assertEquals(more.totals.train, { samples: 24, tars: 5 });
  assert(more.shards.every((s) => s.videoIds.every((id) => id.startsWith(s.split))));
});

Deno.test("plan: ids are looked up when a shard is read, not kept by the plan", () => {
  let lookups = 0;
  const plan = planRanked({
    counts: { train: 10, val: 0, test: 3 },
    idsAt: (split, ranks) => {
      lookups++;
      return Array.from(ranks, (r) => `${split}#${r}`);
    },
  }, { seed: 11, perShard: 4 });
  assertEquals(lookups, 0);
  assertEquals(plan.shards.map((s) => [s.file, s.split, s.size, s.firstKey]), [
    ["ds_000000.tar", "train", 4, 0],
    ["ds_000001.tar", "train", 4, 4],
    ["ds_000002.tar", "train", 2, 8],
    ["ds_000003.tar", "test", 3, 10],
  ]);
  assertEquals(plan.totals.val, { samples: 0, tars: 0 });
  const train = plan.shards.filter((s) => s.split === "train").flatMap((s) => [...s.videoIds]);
  assertEquals(lookups, 3);
  assertEquals(train.slice().sort(), Array.from({ length: 10 }, (_, r) => `train#${r}`).sort());
});

Deno.test("plan: workers split the shards by index modulo n, each exactly once", () => {
  const plan = planShards([...videos("train", 30), ...videos("test", 12)], { perShard: 4 });
  for (const n of [1, 2, 3, 5, 20]) {
    const owned = Array.from({ length: n }, (_, k) => shardsOfWorker(plan, k, n));
    assertEquals(
      owned.flat().map((s) => s.index).sort((a, b) => a - b),
      plan.shards.map((s) => s.index),
    );
    owned.forEach((shards, k) => assert(shards.every((s) => s.index % n === k)));
  }
});

Deno.test("plan: bad seeds, shard sizes, splits and workers are refused", async () => {
  const some = videos("train", 3);
  for (const seed of [-1, 4294967296, 1.5, NaN]) {
    const e = await assertRejects(
      () => planShards(some, { seed }),
      `seed must be an integer 0..4294967295, got ${seed}`,
    );
    assert(e instanceof RangeError);
  }
  for (const perShard of [0, -3, 2.5]) {
    await assertRejects(
      () => planShards(some, { perShard }),
      `perShard must be a whole number ≥ 1, got ${perShard}`,
    );
  }
  await assertRejects(
    () => planShards([{ id: "x", split: "holdout" as Split }]),
    'video x: unknown split "holdout"',
  );
  const plan = planShards(some);
  for (const [k, n] of [[4, 4], [-1, 2], [0, 0], [0.5, 2]]) {
    await assertRejects(() => shardsOfWorker(plan, k, n), `worker ${k}/${n}: want 0 ≤ k < n`);
  }
});

Deno.test("plan: a shard's plan hash covers its index, file, split, keys, videos and their inputs", () => {
  const plan = planShards([...videos("train", 3), ...videos("val", 2)], { seed: 5, perShard: 2 });
  const shard = plan.shards[2]; // the val shard: keys 3 and 4
  const inputOf = (id: string) => `label of ${id}`;
  const ids = [...shard.videoIds];
  // the documented layout, hashed independently
  const text = `2\tds_000002.tar\tval\n` +
    ids.map((id, i) => `vid_00000000${3 + i}\t${id}\tlabel of ${id}\n`).join("");
  assertEquals(planHash(shard, inputOf), createHash("sha256").update(text).digest("hex"));
  assertEquals(planHash(shard, inputOf, ids), planHash(shard, inputOf));
  const changed = [
    planHash(shard, (id) => (id === ids[1] ? "another label" : inputOf(id))),
    planHash(shard, inputOf, ids.slice().reverse()),
    planHash(plan.shards[1], inputOf, ids),
  ];
  assertEquals(new Set([planHash(shard, inputOf), ...changed]).size, 4);
});
