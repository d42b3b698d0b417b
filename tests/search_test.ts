/**
 * `kinembed search` as a user types it (`deno task search ...`, through the launcher): a shard
 * set whose embeddings are chosen so that the answer is known (a video planted on each query's
 * text embedding must come first with cosine ~1), the demo's work dir, the HTML page in headless
 * Chromium, and the refusals.
 */
import { join } from "node:path";
import { denoTask as task } from "./support/tasks.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { ffmpegRun, repoPath, tempDir } from "./support/media.ts";
import { viewInChromium } from "./support/chromium.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { mulberry32, type Split, writeNpy } from "../lib/core/mod.ts";
import { formatSplitsCsv, sampleKey, ShardWriter } from "../lib/webdataset/mod.ts";
import { encodeQueries } from "../lib/search/mod.ts";

const DIM = 512;
const QUERIES = ["a person playing a guitar", "someone riding a horse on a beach"];

interface PlantedSet {
  work: string;
  textModel: string;
  /** Key of the video planted on each query, and its split. */
  planted: { key: string; split: Split }[];
  /** Every key and its split. */
  splitOf: Map<string, Split>;
}

/**
 * A work dir with three shards (train, val, test) of random videos, plus one video per query
 * whose frames are that query's text embedding (scaled differently per frame, so only the
 * normalised mean matches it exactly). The first planted video has a `.jpg` in its shard.
 */
async function plantedSet(dir: string): Promise<PlantedSet> {
  const { text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
  // the expected text embeddings come from the same encoder the task runs
  const { embeddings } = await encodeQueries(text, QUERIES, { providers: ["cpu"], warn: () => {} });
  const work = join(dir, "work");
  const shards = join(work, "shards");
  await Deno.mkdir(shards, { recursive: true });
  const jpg = join(dir, "thumb.jpg");
  await ffmpegRun(["-f", "lavfi", "-i", "color=c=0xd03020:s=48x48", "-frames:v", "1", jpg]);
  const jpgBytes = await Deno.readFile(jpg);
  const rand = mulberry32(11);
  const enc = new TextEncoder();
  const splits: Split[] = ["train", "val", "test"];
  // query 0's video is in val, query 1's in train
  const plantAt: Record<string, number> = { "val:3": 0, "train:5": 1 };
  const planted: { key: string; split: Split }[] = [];
  const splitOf = new Map<string, Split>();
  let n = 0;
  for (const [si, split] of splits.entries()) {
    const w = await ShardWriter.create(join(shards, `ds_00000${si}.tar`));
    for (let i = 0; i < 8; i++) {
      const key = sampleKey(n++);
      const frames = new Float32Array(3 * DIM);
      const q = plantAt[`${split}:${i}`];
      if (q !== undefined) {
        for (let f = 0; f < 3; f++) {
          for (let j = 0; j < DIM; j++) frames[f * DIM + j] = embeddings[q * DIM + j] * (f + 1);
        }
        planted[q] = { key, split };
      } else {
        for (let j = 0; j < frames.length; j++) frames[j] = rand() * 2 - 1;
      }
      splitOf.set(key, split);
      const members = [
        {
          ext: "json",
          data: enc.encode(JSON.stringify({
            videoID: `vid${String(n).padStart(8, "0")}`,
            start_time: "000012",
            end_time: "000022",
          })),
        },
        { ext: "npy", data: writeNpy({ dtype: "<f4", shape: [3, DIM], data: frames }) },
        { ext: "txt", data: enc.encode(`class ${i % 3}`) },
      ];
      if (q === 0) members.splice(1, 0, { ext: "jpg", data: jpgBytes });
      await w.addSample(key, members);
    }
    await w.commit();
  }
  await Deno.writeTextFile(
    join(shards, "splits.csv"),
    formatSplitsCsv(splits.map((split, i) => ({ tarFile: `ds_00000${i}.tar`, split }))),
  );
  return { work, textModel: text, planted, splitOf };
}

interface JsonHit {
  rank: number;
  score: number;
  key: string;
  videoID: string;
  label: string;
  start: number;
  end: number;
  split: string;
  shard: string;
  url: string | null;
  thumbnail: boolean;
}

Deno.test("search: the video planted on each query's text embedding comes first with score ~1 (--queries, --json, --split, --pool)", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const set = await plantedSet(dir);
    const queries = join(dir, "queries.txt");
    await Deno.writeTextFile(queries, `${QUERIES[0]}\n\n${QUERIES[1]}\n`);
    const base = ["--work", set.work, "--text-model", set.textModel, "--providers", "cpu"];
    const run = await task("search", [...base, "--queries", queries, "--k", "5", "--json"]);
    assertEquals(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assertEquals([out.ok, out.videos, out.tars, out.split, out.pool], [true, 24, 3, null, "mean"]);
    assertEquals(out.results.map((r: { query: string }) => r.query), QUERIES);
    for (const [q, r] of out.results.entries()) {
      const hits = r.hits as JsonHit[];
      assertEquals(hits.length, 5);
      assertEquals(hits.map((h) => h.rank), [1, 2, 3, 4, 5]);
      assertEquals(hits[0].key, set.planted[q].key);
      assert(hits[0].score > 0.999 && hits[0].score < 1.001, `score ${hits[0].score}`);
      // random videos are nearly orthogonal to the query; scores fall
      assert(hits[1].score < 0.5, `second ${hits[1].score}`);
      for (let i = 1; i < hits.length; i++) assert(hits[i - 1].score >= hits[i].score);
      assertEquals(Object.keys(hits[0]).sort(), [
        "end",
        "key",
        "label",
        "rank",
        "score",
        "shard",
        "split",
        "start",
        "thumbnail",
        "url",
        "videoID",
      ]);
      assertEquals([hits[0].start, hits[0].end, hits[0].split], [12, 22, set.planted[q].split]);
      assertEquals(hits[0].url, `https://www.youtube.com/watch?v=${hits[0].videoID}&t=12s`);
      assertEquals(hits[0].thumbnail, q === 0);
    }
    // only val: query 0 still finds its video, query 1's (in train) is not among the hits
    const val = await task("search", [...base, "--queries", queries, "--split", "val", "--json"]);
    assertEquals(val.code, 0, val.stderr);
    const v = JSON.parse(val.stdout);
    assertEquals([v.videos, v.split], [8, "val"]);
    assertEquals(v.results[0].hits[0].key, set.planted[0].key);
    const keys1 = (v.results[1].hits as JsonHit[]).map((h) => h.key);
    assertEquals(keys1.length, 8);
    assert(!keys1.includes(set.planted[1].key), keys1.join(" "));
    for (const r of v.results) {
      for (const h of r.hits as JsonHit[]) {
        assertEquals([h.split, set.splitOf.get(h.key)], ["val", "val"]);
      }
    }
    // the centre frame is the embedding times 2: still first, still ~1
    const centre = await task("search", [...base, QUERIES[1], "--pool", "centre", "--json"]);
    assertEquals(centre.code, 0, centre.stderr);
    const c = JSON.parse(centre.stdout);
    assertEquals([c.pool, c.results[0].hits[0].key], ["centre", set.planted[1].key]);
    assert(c.results[0].hits[0].score > 0.999);
  } finally {
    await cleanup();
  }
});

Deno.test("search: the text table has k rows per query; --html renders each hit in Chromium, thumbnails inline", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const set = await plantedSet(dir);
    const page = join(dir, "hits.html");
    // the second query's thumbnail comes from the work dir's thumbs/<id>.jpg
    const thumbs = join(set.work, "thumbs");
    await Deno.mkdir(thumbs);
    const n = Number(set.planted[1].key.slice(4)) + 1;
    await Deno.copyFile(
      join(dir, "thumb.jpg"),
      join(thumbs, `vid${String(n).padStart(8, "0")}_000012_000022.jpg`),
    );
    const run = await task("search", [
      ...QUERIES,
      "--work",
      set.work,
      "--text-model",
      set.textModel,
      "--providers",
      "cpu",
      "--k",
      "4",
      "--html",
      page,
    ]);
    assertEquals(run.code, 0, run.stderr);
    const rows = run.stdout.split("\n").filter((l) => /^\s+\d+\s+-?\d\.\d{4}\s+vid_/.test(l));
    assertEquals(rows.length, 8, run.stdout);
    assert(
      run.stdout.includes(`query 1: ${QUERIES[0]}`) &&
        run.stdout.includes(`query 2: ${QUERIES[1]}`),
    );
    assert(
      rows[0].includes(set.planted[0].key) && rows[4].includes(set.planted[1].key),
      run.stdout,
    );
    const html = await Deno.readTextFile(page);
    // the two planted videos have thumbnails (each may appear under both queries), no other
    const withThumb = rows.filter((r) => set.planted.some((p) => r.includes(p.key))).length;
    assert(withThumb >= 2, run.stdout);
    assertEquals(html.match(/src="data:image\/jpeg;base64,/g)?.length, withThumb);
    assertEquals(html.match(/no thumbnail/g)?.length, 8 - withThumb);
    assert(!/src="(?!data:)/.test(html), "self-contained");
    const view = await viewInChromium(page, dir, ["208,48,32"]);
    const keys = [...run.stdout.matchAll(/vid_\d{9}/g)].map((m) => m[0]);
    assertEquals(keys.length, 8);
    for (const k of keys) assert(view.dom.includes(k), `${k} not on the page`);
    assert(view.inked > 0.01, `blank page (${view.inked})`);
    // the two red thumbnails are drawn
    assert(view.colours["208,48,32"] > 2 * 40 * 40, JSON.stringify(view.colours));
  } finally {
    await cleanup();
  }
});

Deno.test("search: a query over 77 tokens is searched truncated, with a warning naming it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const set = await plantedSet(dir);
    const long = `${QUERIES[0]} ${"and then a very long description ".repeat(20)}`;
    const run = await task("search", [
      long,
      "--work",
      set.work,
      "--text-model",
      set.textModel,
      "--providers",
      "cpu",
      "--k",
      "2",
      "--quiet",
    ]);
    assertEquals(run.code, 0, run.stderr);
    const warn = run.stderr.split("\n").filter((l) => l.startsWith("warning: query 1 ("));
    assertEquals(warn.length, 1, run.stderr);
    assert(warn[0].includes("more than CLIP's 77") && warn[0].length < 300, warn[0]);
  } finally {
    await cleanup();
  }
});

Deno.test("search refuses, in one line and exit 2: no shards, unknown split, no text model, an empty queries file, a missing --html folder", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const set = await plantedSet(dir);
    const model = ["--text-model", set.textModel, "--providers", "cpu"];
    const empty = join(dir, "empty_work");
    await Deno.mkdir(empty);
    const blank = join(dir, "blank.txt");
    await Deno.writeTextFile(blank, "\n  \n");
    const cases: [string[], string][] = [
      [["q", "--work", empty, ...model], `${join(empty, "shards", "splits.csv")} not found`],
      [
        ["q", "--work", set.work, "--split", "vall", ...model],
        '--split must be train, val or test, got "vall"',
      ],
      [["q", "--work", set.work], "search needs --text-model NAME"],
      [["--work", set.work, "--queries", blank, ...model], `--queries ${blank} holds no query`],
      [["--work", set.work, ...model], "no query: give one"],
      [
        ["q", "--work", set.work, "--html", join(dir, "nope", "p.html"), ...model],
        `folder ${join(dir, "nope")} not found`,
      ],
      [
        ["q", "--work", set.work, "--pool", "max", ...model],
        '--pool must be mean or centre, got "max"',
      ],
    ];
    for (const [args, message] of cases) {
      const run = await task("search", args);
      assertEquals(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      const first = run.stderr.split("\n")[0];
      assert(
        first.startsWith("kinembed search: ") && first.includes(message),
        `${args.join(" ")}: ${run.stderr}`,
      );
      assert(!run.stderr.includes("    at "), run.stderr);
    }
    // a split splits.csv does not list
    await Deno.writeTextFile(
      join(set.work, "shards", "splits.csv"),
      "tar_file,split\nds_000000.tar,train\n",
    );
    const none = await task("search", ["q", "--work", set.work, "--split", "test", ...model]);
    assertEquals(none.code, 2, none.stderr);
    assert(none.stderr.includes("splits.csv lists no test shards (it has train)"), none.stderr);
  } finally {
    await cleanup();
  }
});

Deno.test("search on the demo's work dir: exit 0, k rows, a YouTube link per hit", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const demo = await task("demo", ["--work", work, "--quiet"]);
    assertEquals(demo.code, 0, demo.stderr);
    const { text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const run = await task("search", [
      "a person playing a guitar",
      "--work",
      work,
      "--text-model",
      text,
      "--providers",
      "cpu",
      "--k",
      "7",
    ]);
    assertEquals(run.code, 0, run.stderr);
    const rows = run.stdout.split("\n").filter((l) => /^\s+\d+\s+-?\d\.\d{4}\s+vid_/.test(l));
    assertEquals(rows.length, 7, run.stdout);
    for (const r of rows) {
      assert(/https:\/\/www\.youtube\.com\/watch\?v=[\w-]{11}&t=\d+s$/.test(r), r);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("search's permissions: read of the work dir and data/, write of the --html page only, ONNX Runtime, no network", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = join(dir, "work"), page = join(dir, "out", "hits.html");
    const out = await new Deno.Command("deno", {
      args: ["task", "--quiet", "search", "--help", "--work", w, "--html", page],
      cwd: repoPath(),
      env: { KINEMBED_SHOW_PERMISSIONS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    const shown = stderr.split("\n").find((l) => l.startsWith("kinembed: "));
    assert(shown, stderr);
    const flag = (name: string) =>
      shown.split(" ").find((f) => f.startsWith(`${name}=`))?.slice(name.length + 1).split(",") ??
        [];
    assertEquals(flag("--allow-write"), [page]);
    const read = flag("--allow-read");
    for (const p of [w, join(dir, "out"), repoPath("data")]) assert(read.includes(p), shown);
    assert(flag("--allow-ffi").length === 1 && !shown.includes("--allow-net"), shown);
  } finally {
    await cleanup();
  }
});
