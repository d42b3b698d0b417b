// The shard set's Hub dataset card (shards/README.md): verify reads its totals back, an
// independent Python reader applies its data_files patterns as `datasets` does and maps every tar
// to its split, a no-op rerun keeps it, and eval's numbers survive a rerun of shard.
import { join } from "node:path";
import { CARD_EVAL_END, CARD_EVAL_START, shard, updateHubCardEval } from "../lib/shard/mod.ts";
import { parseSplitsCsv } from "../lib/shard/mod.ts";
import { readCardSplits } from "../lib/dataset/mod.ts";
import { readShardSplits } from "../lib/eval/mod.ts";
import { verify } from "../lib/verify/mod.ts";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { tempDir } from "./support/media.ts";

// What `datasets` does with a card's configs: for each split, each pattern of `path` resolved
// against the dataset's root by glob; the tars' members counted with tarfile.
const DATA_FILES_READER = `
import glob, json, os, sys, tarfile, yaml
root = sys.argv[1]
text = open(os.path.join(root, "README.md"), encoding="utf-8").read()
assert text.startswith("---\\n"), "no YAML front matter"
meta = yaml.safe_load(text.split("---\\n")[1])
config = [c for c in meta["configs"] if c["config_name"] == "default"][0]
mapping, counts = {}, {}
for entry in config["data_files"]:
    patterns = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
    for pattern in patterns:
        hits = sorted(glob.glob(os.path.join(glob.escape(root), pattern)))
        assert hits, "pattern %r matches nothing" % pattern
        for hit in hits:
            name = os.path.relpath(hit, root)
            assert name not in mapping, "%s in two splits" % name
            mapping[name] = entry["split"]
            with tarfile.open(hit) as t:
                n = sum(1 for m in t.getmembers() if m.name.endswith(".npy"))
            counts[entry["split"]] = counts.get(entry["split"], 0) + n
features = {f["name"]: f for f in meta["dataset_info"]["features"]}
declared = {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]}
print(json.dumps({"mapping": mapping, "counts": counts, "declared": declared,
                  "npy": features["npy"]["dtype"]["array2_d"],
                  "features": sorted(features)}))
`;

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

    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", DATA_FILES_READER, layout.shards],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const got = JSON.parse(new TextDecoder().decode(out.stdout));
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
