// A shards' card a Hub page can use, through `deno task shard`, `merge` and `run` as a user types
// them: its YAML front matter (parsed by Python's yaml) has license, source_datasets and
// data_files; the `datasets` snippet's data_files resolve (Python glob) to the tars, each in its
// split; the kinembed snippet, cut out of README.md, runs with --allow-read only and prints every
// sample; the BibTeX entries are well-formed; and no tar, splits.csv or manifest.json changes.
import { join } from "node:path";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { parseSplitsCsv, ShardReader } from "../lib/webdataset/mod.ts";
import { readCardSource } from "../lib/shard/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { lavfiVideo, repoPath, tempDir } from "./support/media.ts";
import { denoTask as task } from "./support/tasks.ts";

// What a reader of the card checks in Python: the front matter, the snippets' paths, the BibTeX.
const CARD_CHECK = `
import ast, glob, json, os, re, sys, yaml
root = sys.argv[1]
text = open(os.path.join(root, "README.md"), encoding="utf-8").read()
meta = yaml.safe_load(text.split("---\\n")[1])
blocks = re.findall(r"^\`\`\`(\\w+)\\n(.*?)^\`\`\`$", text, re.S | re.M)
py = [b for lang, b in blocks if lang == "python"]
wds_urls = ast.literal_eval(re.search(r"^urls = (\\[.*?\\])", py[0], re.M).group(1))
data_files = ast.literal_eval(re.search(r"^data_files = (\\{.*?^\\})", py[1], re.M | re.S).group(1))
resolved = {}
for split, paths in data_files.items():
    for p in paths:
        hits = glob.glob(os.path.join(glob.escape(root), p))
        assert len(hits) == 1, p
        resolved[os.path.relpath(hits[0], root)] = split
bibtex = []
for lang, b in blocks:
    if lang != "bibtex":
        continue
    depth = 0
    for ch in b:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, b
    assert depth == 0, b
    m = re.match(r"@(\\w+)\\{([\\w:-]+),\\n", b)
    fields = dict(re.findall(r"^  (\\w+) = \\{(.*)\\},?$", b, re.M))
    bibtex.append({"type": m.group(1), "key": m.group(2), "fields": fields})
print(json.dumps({"license": meta.get("license"), "source_datasets": meta.get("source_datasets"),
                  "configs": meta["configs"][0]["data_files"], "wds_urls": wds_urls,
                  "data_files": data_files, "resolved": resolved, "bibtex": bibtex}))
`;

interface CardCheck {
  license: string[] | null;
  source_datasets: string[] | null;
  configs: { split: string; path: string[] }[];
  wds_urls: string[];
  data_files: Record<string, string[]>;
  resolved: Record<string, string>;
  bibtex: { type: string; key: string; fields: Record<string, string> }[];
}

async function checkCard(shards: string): Promise<CardCheck> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", CARD_CHECK, shards],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, err);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The bytes of every file in the shards folder but the card. */
async function setFiles(shards: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const e of [...Deno.readDirSync(shards)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.isFile || e.name === "README.md") continue;
    const bytes = await Deno.readFile(join(shards, e.name));
    const hash = await crypto.subtle.digest("SHA-256", bytes);
    files[e.name] = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  }
  return files;
}

Deno.test("shard --license --source-dataset: a card whose front matter, snippets and BibTeX work", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "w"),
      counts: { train: 5, val: 2, test: 3 },
      frames: (i) => 1 + (i % 3),
    });
    const plain = await task("shard", ["--work", layout.root, "--per-shard", "2", "--quiet"]);
    assertEquals(plain.code, 0, plain.stderr);
    const before = await setFiles(layout.shards);
    // no flags: nothing invented, and only CLIP is cited
    const bare = await checkCard(layout.shards);
    assertEquals([bare.license, bare.source_datasets], [null, null]);
    assertEquals(bare.bibtex.map((b) => b.key), ["radford2021learning"]);

    const r = await task("shard", [
      "--work",
      layout.root,
      "--per-shard",
      "2",
      "--license",
      "cc-by-4.0",
      "--source-dataset",
      "kinetics700,original",
      "--quiet",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.includes("nothing to do"), r.stdout);
    assertEquals(await setFiles(layout.shards), before, "tars, splits.csv, manifest.json kept");

    const c = await checkCard(layout.shards);
    assertEquals(c.license, ["cc-by-4.0"]);
    assertEquals(c.source_datasets, ["kinetics700", "original"]);
    // the snippets' paths are the card's own data_files, and resolve to every tar in its split
    assertEquals(c.data_files, Object.fromEntries(c.configs.map((e) => [e.split, e.path])));
    assertEquals(c.wds_urls, c.data_files.train);
    const hub = { train: "train", val: "validation", test: "test" } as const;
    const csv = parseSplitsCsv(await Deno.readTextFile(join(layout.shards, "splits.csv")));
    assertEquals(c.resolved, Object.fromEntries(csv.map((row) => [row.tarFile, hub[row.split]])));
    // Kinetics-700 (the source) and CLIP (the embeddings), with the fields each type needs
    assertEquals(c.bibtex.map((b) => [b.type, b.key]), [
      ["article", "carreira2019short"],
      ["inproceedings", "radford2021learning"],
    ]);
    const [k700, clip] = c.bibtex.map((b) => b.fields);
    assertEquals(k700.title, "A Short Note on the Kinetics-700 Human Action Dataset");
    assertEquals([k700.year, k700.eprint], ["2019", "1907.06987"]);
    assert(k700.author.startsWith("Carreira, Jo") && k700.journal.includes("1907.06987"));
    assertEquals(
      clip.title,
      "Learning Transferable Visual Models From Natural Language Supervision",
    );
    assertEquals([clip.year, clip.eprint, clip.volume], ["2021", "2103.00020", "139"]);
    assertEquals(clip.author.split(" and ").length, 12);
    assert(clip.author.startsWith("Radford, Alec and Kim, Jong Wook"), clip.author);

    // the kinembed snippet, cut out of the card, runs beside a checkout with --allow-read only
    const card = await Deno.readTextFile(join(layout.shards, "README.md"));
    const script = /```ts\n([\s\S]*?)```/.exec(card)?.[1];
    assert(script && script.includes("deno run --allow-read"), "the card shows a Deno snippet");
    await Deno.symlink(repoPath(), join(layout.shards, "..", "kinembed"));
    await Deno.writeTextFile(join(layout.shards, "read_card_shards.ts"), script);
    const out = await new Deno.Command(Deno.execPath(), {
      // --cached-only and an empty DENO_DIR: nothing is fetched, no npm package is needed
      args: ["run", "--no-prompt", "--no-config", "--no-lock", "--cached-only", "--allow-read"]
        .concat("read_card_shards.ts"),
      cwd: layout.shards,
      env: { NO_COLOR: "1", DENO_DIR: join(dir, "deno_dir") },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assertEquals(out.code, 0, dec.decode(out.stderr));
    const expected: string[] = [];
    for (const [split, files] of Object.entries(c.data_files)) {
      for await (const s of new ShardReader(files.map((f) => join(layout.shards, f)))) {
        expected.push(`${split} ${s.key} ${s.label} ${s.embeddings.shape.join("x")}`);
      }
    }
    assertEquals(expected.length, 10);
    assertEquals(dec.decode(out.stdout).trim().split("\n"), expected);
    await Deno.remove(join(layout.shards, "read_card_shards.ts"));

    // a rerun without the flags keeps what they said; the card stays the same bytes
    const again = await task("shard", ["--work", layout.root, "--per-shard", "2", "--quiet"]);
    assertEquals(again.code, 0, again.stderr);
    assertEquals(await Deno.readTextFile(join(layout.shards, "README.md")), card);
    assertEquals(readCardSource(card).licenses, ["cc-by-4.0"]);
  } finally {
    await cleanup();
  }
});

Deno.test("a bad --license or --source-dataset is refused in one line (and usage), exit 2, before any work", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "w"), counts: { train: 2 } });
    for (
      const [flag, value, message] of [
        ["--license", "MIT License", '--license "MIT License": not a Hub license id'],
        ["--source-dataset", "kinetics 700", '--source-dataset "kinetics 700": not a dataset name'],
      ]
    ) {
      for (const step of ["shard", "merge"]) {
        const r = await task(step, ["--work", layout.root, flag, value]);
        assertEquals(r.code, 2, r.stderr);
        // the message, then the task's usage, as every usage error prints it
        const first = r.stderr.split("\n")[0];
        assert(first.startsWith(`kinembed ${step}: ${message} (`), r.stderr);
        assert(first.length < 300 && r.stderr.includes(`usage: kinembed ${step}`), r.stderr);
        assert(!r.stderr.includes("    at "), r.stderr);
      }
    }
    await Deno.stat(join(layout.shards, "README.md")).then(
      () => assert(false, "shard wrote nothing"),
      (e) => assert(e instanceof Deno.errors.NotFound),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("run --card: the source card's source_datasets and BibTeX go into the shards' card, --license wins", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = join(dir, "clip.mp4");
    await lavfiVideo(video, "color=c=blue:s=64x48:r=5:d=2");
    const list = join(dir, "list.csv");
    await Deno.writeTextFile(list, `path,label,split\n${video},abseiling,train\n`);
    const own = "@misc{source2024,\n  title = {A Source Card's Own Entry},\n  year = {2024}\n}";
    const source = join(dir, "source_card.md");
    await Deno.writeTextFile(
      source,
      "---\nlicense:\n- mit\nsource_datasets:\n- kinetics700\n---\n# Source\n\n" +
        "### Data Splits\n\n* Train - 1 samples | 1 tar's\n\n" +
        "```bibtex\n" + own + "\n```\n",
    );
    const { vision } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
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
      "--card",
      source,
      "--license",
      "cc-by-4.0",
      "--quiet",
    ]);
    assertEquals(r.code, 0, r.stderr + r.stdout);
    const shards = join(work, "shards");
    const c = await checkCard(shards);
    assertEquals(c.license, ["cc-by-4.0"]);
    assertEquals(c.source_datasets, ["kinetics700"]);
    assertEquals(c.bibtex.map((b) => b.key), [
      "source2024",
      "carreira2019short",
      "radford2021learning",
    ]);
    assertEquals(Object.values(c.resolved), ["train"]);
  } finally {
    await cleanup();
  }
});

Deno.test("merge --license --source-dataset: the merged set's card says them", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = join(dir, "clip.mp4");
    await lavfiVideo(video, "color=c=green:s=64x48:r=5:d=2");
    const list = join(dir, "list.csv");
    await Deno.writeTextFile(list, `path,label,split\n${video},abseiling,train\n`);
    const { vision } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const work = join(dir, "work");
    const w = await task("run", [
      "--work",
      work,
      "--worker",
      "0/1",
      "--videos",
      list,
      "--model",
      vision,
      "--providers",
      "cpu",
      "--quiet",
    ]);
    assertEquals(w.code, 0, w.stderr + w.stdout);
    const m = await task("merge", [
      "--work",
      work,
      "--license",
      "mit",
      "--source-dataset",
      "kinetics700",
      "--quiet",
    ]);
    assertEquals(m.code, 0, m.stderr + m.stdout);
    const c = await checkCard(join(work, "shards"));
    assertEquals([c.license, c.source_datasets], [["mit"], ["kinetics700"]]);
    assertEquals(c.bibtex.map((b) => b.key), ["carreira2019short", "radford2021learning"]);
    assertEquals(Object.values(c.resolved), ["train"]);
  } finally {
    await cleanup();
  }
});
