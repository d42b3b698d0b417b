import { join } from "node:path";
import { ensureFixtureModels } from "../../fixtures/make_models.ts";
import { evaluate } from "./eval.ts";
import { readCentreFrames } from "./features.ts";
import type { EvalReport } from "./report.ts";
import { parseCardAccuracies } from "../dataset/mod.ts";
import { float32ToFloat16, writeNpy } from "../base/mod.ts";
import { defaultCardPath, loadPromptTemplates } from "../dataset/mod.ts";
import { formatSplitsCsv, ShardWriter } from "../webdataset/mod.ts";
import { buildZeroShotClassifier, ClipTokenizer } from "../text/mod.ts";
import { loadReferenceModel, referenceTextEmbeds } from "../../tests/support/vit_reference.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath, tempDir } from "../../tests/support/media.ts";

const MODELS = repoPath("fixtures", "models");
const CLASSES = ["abseiling", "air drumming", "archery", "bowling", "zumba"];
const enc = new TextEncoder();

interface FakeVideo {
  label: string;
  frames: Float32Array; // [n, 512]
  float32?: boolean;
}

/** Writes shards as the shard step does (members .json, .npy, .txt) and their splits.csv. */
async function writeShards(
  dir: string,
  splits: { split: "train" | "val" | "test"; videos: FakeVideo[] }[],
  perShard = 16,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const rows: { tarFile: string; split: "train" | "val" | "test" }[] = [];
  let key = 0;
  for (const { split, videos } of splits) {
    for (let s = 0; s < videos.length; s += perShard) {
      const tarFile = `ds_${String(rows.length).padStart(6, "0")}.tar`;
      const w = await ShardWriter.create(join(dir, tarFile));
      for (const v of videos.slice(s, s + perShard)) {
        const n = v.frames.length / 512;
        const npy = v.float32
          ? writeNpy({ dtype: "<f4", shape: [n, 512], data: v.frames })
          : writeNpy({ dtype: "<f2", shape: [n, 512], data: float32ToFloat16(v.frames) });
        const id = `vid_${String(key++).padStart(9, "0")}`;
        await w.addSample(id, [
          {
            ext: "json",
            data: enc.encode(`{"videoID":"${id}","start_time":"000000","end_time":"000010"}`),
          },
          { ext: "npy", data: npy },
          { ext: "txt", data: enc.encode(v.label) },
        ]);
      }
      await w.commit();
      rows.push({ tarFile, split });
    }
  }
  await Deno.writeTextFile(join(dir, "splits.csv"), formatSplitsCsv(rows));
}

/**
 * CLIP's zero-shot class weights computed outside the library's classifier: the text tower's
 * reference forward pass (tests/support/vit_reference.ts) on every "template with the class"
 * prompt, each embedding L2-normalised in float64, averaged over the templates, normalised again.
 */
async function referenceClassWeights(
  textModel: string,
  templates: string[],
): Promise<Float32Array> {
  const model = await loadReferenceModel(await Deno.readFile(textModel));
  const tokenizer = await ClipTokenizer.load();
  const out = new Float32Array(CLASSES.length * 512);
  for (const [c, name] of CLASSES.entries()) {
    const prompts = templates.map((t) => t.replace("{}", name));
    const emb = referenceTextEmbeds(model, tokenizer.tokenize(prompts), prompts.length);
    const mean = new Float64Array(512);
    for (let t = 0; t < prompts.length; t++) {
      const row = emb.subarray(t * 512, (t + 1) * 512);
      const norm = Math.hypot(...row);
      for (let j = 0; j < 512; j++) mean[j] += row[j] / norm / prompts.length;
    }
    const norm = Math.hypot(...mean);
    for (let j = 0; j < 512; j++) out[c * 512 + j] = mean[j] / norm;
  }
  return out;
}

/** Videos whose frames lie near their class's zero-shot text weight (scaled as raw CLIP embeddings are). */
function makeVideos(
  weights: Float32Array,
  count: number,
  seed: number,
  opts: { emptyEvery?: number } = {},
): FakeVideo[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  return Array.from({ length: count }, (_, i) => {
    const c = i % CLASSES.length;
    const n = opts.emptyEvery && i % opts.emptyEvery === opts.emptyEvery - 1 ? 0 : 1 + (i % 4);
    const frames = new Float32Array(n * 512);
    for (let f = 0; f < n; f++) {
      for (let j = 0; j < 512; j++) {
        frames[f * 512 + j] = 10 * weights[c * 512 + j] + 0.6 * rnd() + 0.2;
      }
    }
    return { label: CLASSES[c], frames, float32: i % 7 === 3 };
  });
}

Deno.test("eval task: zero-shot and linear probe on shards in a work dir, three reports", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-");
  try {
    const { text } = await ensureFixtureModels(MODELS, "tiny");
    const classesFile = join(dir, "classes.txt");
    await Deno.writeTextFile(classesFile, CLASSES.join("\n") + "\n");
    const templates = await loadPromptTemplates();
    // the videos are made from weights computed independently of the classifier under test,
    // which must agree with them
    const weights = await referenceClassWeights(text, templates);
    const clf = await buildZeroShotClassifier(text, CLASSES, templates, { providers: ["cpu"] });
    const maxErr = clf.weights.reduce((m, v, i) => Math.max(m, Math.abs(v - weights[i])), 0);
    assert(maxErr < 1e-4, `class weights differ from the reference by ${maxErr}`);
    const work = join(dir, "work");
    await writeShards(join(work, "shards"), [
      { split: "train", videos: makeVideos(weights, 60, 1) },
      { split: "val", videos: makeVideos(weights, 25, 2, { emptyEvery: 10 }) },
    ]);

    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        repoPath("tasks", "eval.ts"),
        "--work",
        work,
        "--text-model",
        text,
        "--classes",
        classesFile,
        "--providers",
        "cpu",
        "--card",
        defaultCardPath,
        "--quiet",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
    assert(stdout.includes("### Linear-probe Evaluation"), stdout);

    const reports = join(work, "reports");
    const report: EvalReport = JSON.parse(await Deno.readTextFile(join(reports, "eval.json")));
    const zs = report.zeroShot!, lp = report.linearProbe!;
    // 25 val videos, 2 without frames: zero-shot counts them wrong, the probe skips them.
    assertEquals(zs.count, 25);
    assertEquals(zs.zeroFrame, 2);
    assertEquals(zs.top1, 23 / 25);
    assertEquals(zs.templates, 28);
    assertEquals(zs.classes, 5);
    assertEquals(lp.count, 23);
    assertEquals(lp.evalSkipped, 2);
    assertEquals(lp.trainCount, 60);
    assertEquals(lp.classes, 5);
    assert(lp.top1 >= 0.9, `probe top-1 ${lp.top1}`);
    assertEquals(lp.top5, 1);
    assertEquals(lp.provider, "cpu");
    assertEquals(report.published?.zeroShot, { top1: 0.31, top5: 0.56, mean: 0.44 });
    assertEquals(report.published?.linearProbe, { top1: 0.41, top5: 0.65, mean: 0.53 });
    assertEquals(zs.perClass.map((c) => c.name), CLASSES);
    assertEquals(report.problems, []);

    const md = await Deno.readTextFile(join(reports, "eval.md"));
    assert(md.includes("### Zero-shot Evaluation"), md);
    assert(md.includes(`| Top-1 | ${(23 / 25).toFixed(4)} | 0.31 |`), md);
    assert(md.includes("| mean(Top1, Top5) |") && md.includes("| 0.53 |"), md);
    const html = await Deno.readTextFile(join(reports, "eval.html"));
    // per evaluation an accuracy histogram and the confusions; a frames histogram per split
    assertEquals((html.match(/<svg /g) ?? []).length, 2 * 2 + 2);
    assert(html.includes("per-class top-1 accuracy"), "histogram");

    // Zero-shot without a text model is a usage error (exit 2).
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", repoPath("tasks", "eval.ts"), "--work", work, "--zero-shot"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(bad.code, 2);
    assert(new TextDecoder().decode(bad.stderr).includes("--zero-shot needs --text-model"));
  } finally {
    await cleanup();
  }
});

Deno.test("eval on a shard dir: unknown labels named, unseen classes wrong, probe only", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-");
  try {
    const { text } = await ensureFixtureModels(MODELS, "tiny");
    // Class weights need not come from the text model for the probe: any separable features.
    const weights = new Float32Array(5 * 512);
    for (let c = 0; c < 5; c++) weights[c * 512 + c * 7] = 1;
    const val = makeVideos(weights, 10, 4);
    val[3].label = "not a kinetics class";
    const shards = join(dir, "published");
    await writeShards(shards, [
      { split: "train", videos: makeVideos(weights, 40, 3) },
      { split: "val", videos: val },
    ], 8);

    const probeOnly = await evaluate({
      shards,
      out: join(dir, "reports"),
      linearProbe: true,
      providers: ["cpu"],
      log: () => {},
    });
    const lp = probeOnly.report.linearProbe!;
    assertEquals(probeOnly.report.zeroShot, undefined);
    assertEquals(lp.unseenClass, 1);
    assertEquals(lp.top1, 9 / 10); // the unseen class counts wrong
    assertEquals(lp.perClass.find((c) => c.name === "not a kinetics class")?.top1, 0);
    assertEquals(probeOnly.files.json, join(dir, "reports", "eval.json"));

    // A rerun with the same shards and settings reads the reports back and says so; a changed
    // setting, a touched tar, a removed artefact or --force evaluates again.
    const lines: string[] = [];
    const probeRun = (more: { C?: number; force?: boolean } = {}) =>
      evaluate({
        shards,
        out: join(dir, "reports"),
        linearProbe: true,
        providers: ["cpu"],
        log: (l) => lines.push(l),
        ...more,
      });
    const again = await probeRun();
    assertEquals(again.upToDate, true);
    assertEquals(again.report.createdAt, probeOnly.report.createdAt);
    assertEquals(again.report.linearProbe, lp);
    assert(lines.some((l) => l.includes("nothing to do")), lines.join("\n"));
    const fresh = async (r: Promise<{ upToDate?: boolean; report: { createdAt: string } }>) => {
      const got = await r;
      assertEquals(got.upToDate, undefined);
      return got.report.createdAt;
    };
    await fresh(probeRun({ force: true }));
    await fresh(probeRun({ C: 1 }));
    assertEquals((await probeRun({ C: 1 })).upToDate, true);
    const tar = join(shards, "ds_000000.tar");
    await Deno.utime(tar, new Date(), new Date(Date.now() + 5000));
    await fresh(probeRun({ C: 1 }));
    await Deno.remove(join(dir, "reports", "probe_centre.npy"));
    await fresh(probeRun({ C: 1 }));
    assertEquals((await probeRun({ C: 1 })).upToDate, true);

    const zeroShot = await evaluate({
      shards,
      out: join(dir, "reports2"),
      zeroShot: true,
      textModel: text,
      providers: ["cpu"],
      log: () => {},
    });
    assertEquals(zeroShot.report.linearProbe, undefined);
    assertEquals(zeroShot.report.zeroShot?.count, 9);
    assertEquals(zeroShot.report.zeroShot?.classes, 700);
    assertEquals(zeroShot.problems.length, 1);
    assert(
      zeroShot.problems[0].id.endsWith("ds_000005.tar vid_000000043"),
      zeroShot.problems[0].id,
    );
    assert(zeroShot.problems[0].error.includes('"not a kinetics class" is not in the class list'));

    // Without train shards the probe cannot run: an error when asked for, a note otherwise.
    const valOnly = join(dir, "val_only");
    await writeShards(valOnly, [{ split: "val", videos: makeVideos(weights, 4, 5) }]);
    await assertRejects(
      () => evaluate({ shards: valOnly, out: join(dir, "r3"), linearProbe: true, log: () => {} }),
      "lists no train shards",
    );
    const none = await evaluate({ shards: valOnly, out: join(dir, "r3"), log: () => {} });
    assert(
      none.report.notRun.linearProbe?.includes("no train"),
      JSON.stringify(none.report.notRun),
    );
    assert(
      none.report.notRun.zeroShot?.includes("--text-model"),
      JSON.stringify(none.report.notRun),
    );
    await assertRejects(() => evaluate({ shards: dir, log: () => {} }), "splits.csv not found");
  } finally {
    await cleanup();
  }
});

Deno.test("centre frame is emb[floor(n/2)], raw; the card's tables parse", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-");
  try {
    const frames = (n: number) =>
      Float32Array.from({ length: n * 512 }, (_, i) => Math.floor(i / 512) + 0.5);
    await writeShards(dir, [{
      split: "train",
      videos: [
        { label: "a", frames: frames(4), float32: true },
        { label: "b", frames: frames(0) },
        { label: "c", frames: frames(3) },
      ],
    }]);
    const c = await readCentreFrames([join(dir, "ds_000000.tar")]);
    assertEquals(c.labels, ["a", "c"]);
    assertEquals(c.skipped, ["vid_000000001"]);
    assertEquals(c.dim, 512);
    assertEquals([c.features[0], c.features[511], c.features[512]], [2.5, 2.5, 1.5]);
  } finally {
    await cleanup();
  }
  const card = parseCardAccuracies(await Deno.readTextFile(defaultCardPath), "card.md");
  assertEquals(card.zeroShot, { top1: 0.31, top5: 0.56, mean: 0.44 });
  assertEquals(card.linearProbe, { top1: 0.41, top5: 0.65, mean: 0.53 });
  assertEquals(parseCardAccuracies("# nothing here\n").zeroShot, undefined);
  // a new dataset's card: the table is there, its numbers not yet
  const pending =
    "## Linear-probe Evaluation\n| | Accuracy |\n|---|---|\n| Top-1 | n/a |\n| Top-5 | – |\n";
  assertEquals(parseCardAccuracies(pending).linearProbe, undefined);
});
