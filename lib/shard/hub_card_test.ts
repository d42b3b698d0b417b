import { CARD_KINEMBED_IMPORT, formatHubCard, writeHubCard } from "./hub_card.ts";
import { planShards } from "./plan.ts";
import {
  CARD_EVAL_END,
  CARD_EVAL_START,
  cardDataFiles,
  type CardProvenance,
} from "../webdataset/mod.ts";
import type { Split } from "../base/mod.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

const PROVENANCE: CardProvenance = {
  model: "openai/clip-vit-base-patch32",
  revision: "abc123",
  modelSha256: "f".repeat(64),
  preset: "clip",
  fps: "1",
  dtype: "float16",
  dim: 512,
  kinembedVersion: "0.1.0",
  configHash: "c".repeat(64),
};

function videos(counts: Partial<Record<Split, number>>): { id: string; split: Split }[] {
  return Object.entries(counts).flatMap(([split, n]) =>
    Array.from({ length: n! }, (_, i) => ({ id: `${split}${i}`, split: split as Split }))
  );
}

/** The card's front matter as PyYAML reads it. */
async function pythonYaml(card: string): Promise<Record<string, unknown>> {
  const script = "import sys, json, yaml\n" +
    "text = sys.stdin.read()\n" +
    "print(json.dumps(yaml.safe_load(text.split('\\n---\\n')[0][4:])))";
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", script],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(card));
  await w.close();
  const out = await child.output();
  assert(out.success, "python could not read the front matter");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("hub_card: PyYAML reads the front matter's splits, files, counts, features and source", async () => {
  const plan = planShards(videos({ train: 7, val: 3 }), { seed: 5, perShard: 3 });
  const card = formatHubCard(plan, { ...PROVENANCE, thumbnails: true }, undefined, {
    licenses: ["cc-by-4.0", "other"],
    sourceDatasets: ["kinetics700", "yes"],
    citations: [],
  });
  const y = await pythonYaml(card) as {
    license: string[];
    source_datasets: string[];
    size_categories: string[];
    configs: { config_name: string; data_files: { split: string; path: string[] }[] }[];
    dataset_info: {
      features: { name: string; dtype?: unknown }[];
      splits: { name: string; num_examples: number }[];
    };
  };
  assertEquals(y.license, ["cc-by-4.0", "other"]);
  // "yes" is quoted, or YAML 1.1 readers would take it for true
  assertEquals(y.source_datasets, ["kinetics700", "yes"]);
  assertEquals(y.size_categories, ["n<1K"]);
  const files = cardDataFiles(plan.shards);
  assertEquals(y.configs, [{
    config_name: "default",
    data_files: [{ split: "train", path: files.train }, { split: "validation", path: files.val }],
  }]);
  assertEquals(files.train.length + files.val.length, plan.shards.length);
  assertEquals(y.dataset_info.splits, [{ name: "train", num_examples: 7 }, {
    name: "validation",
    num_examples: 3,
  }]);
  const names = y.dataset_info.features.map((f) => f.name);
  assertEquals(names, ["__key__", "__url__", "jpg", "json", "npy", "txt"]);
  assertEquals(y.dataset_info.features[4].dtype, {
    array2_d: { shape: [null, 512], dtype: "float16" },
  });
});

Deno.test("hub_card: the body words the totals as the published card does and names the provenance", () => {
  const plan = planShards(videos({ train: 1000, test: 2 }), { seed: 0, perShard: 400 });
  const card = formatHubCard(plan, PROVENANCE);
  assert(card.includes("* Train - 1000 samples | 3 tar's\n* Test - 2 samples | 1 tar's\n"), card);
  assert(!card.includes("Validation -"), "an empty split is left out");
  assert(card.includes(`- "1K<n<10K"\n`), "1002 samples");
  assert(
    !card.includes("license:") && !card.includes("source_datasets:"),
    "none given, none written",
  );
  assert(card.includes(`| Model sha256 | \`${"f".repeat(64)}\` |`), card);
  assert(card.includes("| Shuffle seed | 0 |"), card);
  assert(card.includes(`import { ShardReader } from ${JSON.stringify(CARD_KINEMBED_IMPORT)};`));
  assert(card.includes(`${CARD_EVAL_START}\nNot evaluated yet`), card);
  assert(!card.includes("  - name: jpg"), "no thumbnails, no jpg feature");
});

Deno.test("hub_card: a rewrite keeps eval's numbers and the earlier license, and leaves an unchanged card alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hub_card_test_" });
  try {
    const plan = planShards(videos({ val: 4 }), { perShard: 2 });
    const config = { fps: 2, embed_dim: 768 };
    await writeHubCard(dir, plan, config, "h".repeat(64), {
      licenses: ["mit"],
      sourceDatasets: [],
      citations: [],
    });
    const path = `${dir}/README.md`;
    const first = await Deno.readTextFile(path);
    assert(
      first.includes("license:\n- mit\n") && first.includes("| FPS | 2 |") &&
        first.includes("- 768\n"),
      first,
    );
    const evalText = "| top-1 | 0.5 |";
    await Deno.writeTextFile(
      path,
      first.replace(
        /<!-- kinembed eval: start -->[\s\S]*<!-- kinembed eval: end -->/,
        `${CARD_EVAL_START}\n${evalText}\n${CARD_EVAL_END}`,
      ),
    );
    await writeHubCard(dir, plan, config, "h".repeat(64));
    const second = await Deno.readTextFile(path);
    assert(second.includes(`${CARD_EVAL_START}\n${evalText}\n${CARD_EVAL_END}`), second);
    assert(second.includes("license:\n- mit\n"), "the license given once is kept");
    const before = (await Deno.stat(path)).ino;
    await writeHubCard(dir, plan, config, "h".repeat(64));
    assertEquals((await Deno.stat(path)).ino, before, "an unchanged card is not rewritten");
    assertEquals(await Deno.readTextFile(path), second);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
