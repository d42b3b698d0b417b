// The shard set's Hub dataset card (shards/README.md): verify reads its totals back, an
// independent Python reader applies its data_files patterns as `datasets` does and maps every tar
// to its split, a no-op rerun keeps it, and eval's numbers survive a rerun of shard.
import { join } from "node:path";
import { shard } from "../lib/shard/mod.ts";
import {
  CARD_EVAL_END,
  CARD_EVAL_START,
  parseSplitsCsv,
  updateHubCardEval,
} from "../lib/webdataset/mod.ts";
import { readCardSplits } from "../lib/dataset/mod.ts";
import { readShardSplits } from "../lib/webdataset/mod.ts";
import { verify } from "../lib/verify/mod.ts";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { tempDir } from "./support/media.ts";
import { readHubDataFiles } from "./support/hub_data_files.ts";

Deno.test("hub card: verify --card shards/README.md passes; data_files map every tar to its split", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "w"),
      counts: { train: 7, val: 3, test: 4 },
      frames: (i, split) => (split === "val" && i === 0 ? 0 : 1 + (i % 3)),
    });
    await shard({ work: layout.root, perShard: 3, quiet: true });
    const card = join(layout.shards, "README.md");
    assertEquals(await readCardSplits(card), {
      train: { samples: 7, tars: 3 },
      val: { samples: 3, tars: 1 },
      test: { samples: 4, tars: 2 },
    });
    const report = await verify({ work: layout.root, card, quiet: true });
    assert(report.ok, JSON.stringify(report.problems));

    const got = await readHubDataFiles(layout.shards);
    const hub = { train: "train", val: "validation", test: "test" } as const;
    const csv = parseSplitsCsv(await Deno.readTextFile(join(layout.shards, "splits.csv")));
    assertEquals(got.mapping, Object.fromEntries(csv.map((r) => [r.tarFile, hub[r.split]])));
    const tars = [...Deno.readDirSync(layout.shards)].filter((e) => e.name.endsWith(".tar"));
    assertEquals(Object.keys(got.mapping).length, tars.length);
    assertEquals(got.counts, { train: 7, validation: 3, test: 4 });
    assertEquals(got.declared, got.counts);
    assertEquals(got.npy, { shape: [null, 512], dtype: "float16" });
    assertEquals(got.features, ["__key__", "__url__", "json", "npy", "txt"]);
    const text = await Deno.readTextFile(card);
    const mj = JSON.parse(await Deno.readTextFile(join(layout.shards, "manifest.json")));
    assert(text.includes(mj.configHash), "card names the config hash");
    assert(text.includes("| kinembed | 0.1.0 |") || /\| kinembed \| \d/.test(text));
    assertEquals(Object.keys(await readShardSplits(layout.shards)).sort(), [
      "test",
      "train",
      "val",
    ]);

    // eval's numbers go between the markers and survive a rerun of shard; tars stay as they were
    const before = Deno.statSync(join(layout.shards, "ds_000000.tar")).mtime;
    assertEquals(await updateHubCardEval(layout.shards, "| Top-1 | 0.5 |"), card);
    await shard({ work: layout.root, perShard: 3, quiet: true });
    const after = await Deno.readTextFile(card);
    assert(after.includes(`${CARD_EVAL_START}\n| Top-1 | 0.5 |\n${CARD_EVAL_END}`), after);
    assertEquals(Deno.statSync(join(layout.shards, "ds_000000.tar")).mtime, before);
  } finally {
    await cleanup();
  }
});
