/**
 * Text-to-video retrieval in eval, through `deno task eval` as a user types it: with zero-shot,
 * eval.json holds mAP, recall@K and hit@K over the scored split, equal to an independent
 * reference that reads the shards and `text_embeddings.npy` with Python and scores with
 * scikit-learn; eval.md and eval.html hold the numbers and their definition; a zero-shot report
 * without them is made again; `--pool` does not change them; a probe-only eval has none.
 */
import { join } from "node:path";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { shard } from "../lib/shard/mod.ts";
import { type EvalReport, RETRIEVAL_DEFINITION } from "../lib/eval/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";
import { denoTask, type TaskRun } from "./support/tasks.ts";

/** The labels of the synthetic videos, in turn. */
const LABELS = ["abseiling", "archery", "zumba"];
/** The class list: "yodelling" has no video. */
const CLASS_LIST = ["abseiling", "archery", "yodelling", "zumba"];
/** Videos of the scored split; the 4th, 11th, ... have no frames. */
const VAL = 30;
const framesOf = (i: number) => (i % 7 === 3 ? 0 : 1 + (i % 4));

/**
 * Reads the val shards and the class weights eval wrote, and scores the retrieval as defined:
 * pooled = unit mean of unit frames, cosine scores, no frames ranked last, sklearn's AP, stable
 * argsort for the top K.
 */
const REFERENCE = `
import csv, io, json, os, sys, tarfile
import numpy as np
from sklearn.metrics import average_precision_score
shards, reports = sys.argv[1], sys.argv[2]
W = np.load(os.path.join(reports, "text_embeddings.npy")).astype(np.float64)
classes = json.load(open(os.path.join(reports, "text_embeddings.json")))["classes"]
rows, labels = [], []
for r in csv.DictReader(open(os.path.join(shards, "splits.csv"))):
    if r["split"] != "val":
        continue
    members = {}
    with tarfile.open(os.path.join(shards, r["tar_file"])) as t:
        for m in t.getmembers():
            key, ext = m.name.rsplit(".", 1)
            members.setdefault(key, {})[ext] = t.extractfile(m).read()
    for key in members:
        label = members[key]["txt"].decode().strip()
        if label not in classes:
            continue
        f = np.load(io.BytesIO(members[key]["npy"])).astype(np.float64)
        if len(f) == 0:
            rows.append(None)
        else:
            u = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
            m = u.sum(axis=0)
            rows.append((m / max(np.linalg.norm(m), 1e-12)).astype(np.float32).astype(np.float64))
        labels.append(classes.index(label))
labels = np.array(labels)
aps, rec, hit = [], {1: [], 5: [], 10: []}, {1: [], 5: [], 10: []}
for c in range(len(classes)):
    rel = labels == c
    if not rel.any():
        continue
    s = np.array([-np.inf if r is None else float(r @ W[c]) for r in rows])
    s[~np.isfinite(s)] = s[np.isfinite(s)].min() - 1
    aps.append(average_precision_score(rel, s))
    order = np.argsort(-s, kind="stable")
    for k in (1, 5, 10):
        top = rel[order[:k]].sum()
        rec[k].append(top / rel.sum())
        hit[k].append(1.0 if top > 0 else 0.0)
out = {"videos": len(rows), "zeroFrame": sum(r is None for r in rows), "queries": len(aps),
       "mAP": float(np.mean(aps)), "ap": [float(a) for a in aps]}
for k in (1, 5, 10):
    out[f"recallAt{k}"] = float(np.mean(rec[k]))
    out[f"hitAt{k}"] = float(np.mean(hit[k]))
print(json.dumps(out))
`;

async function reference(shards: string, reports: string): Promise<Record<string, number>> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", REFERENCE, shards, reports],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function readReport(dir: string): Promise<EvalReport> {
  return JSON.parse(await Deno.readTextFile(join(dir, "eval.json")));
}

function ok(r: TaskRun, what: string): void {
  assertEquals(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
}

const NUMBERS = [
  "mAP",
  "recallAt1",
  "recallAt5",
  "recallAt10",
  "hitAt1",
  "hitAt5",
  "hitAt10",
] as const;

Deno.test("eval --zero-shot ranks the val videos for each class prompt: mAP, recall@K and hit@K in eval.json as an sklearn reference computes them, with their definition in eval.md and eval.html; a report without them is made again; the same under --pool all; none without zero-shot", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-retrieval-");
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "work"),
      counts: { train: 8, val: VAL },
      classes: LABELS,
      frames: framesOf,
    });
    await shard({ work: layout.root, quiet: true });
    const { text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const classes = join(dir, "classes.txt");
    await Deno.writeTextFile(classes, CLASS_LIST.join("\n") + "\n");
    const templates = join(dir, "templates.txt");
    await Deno.writeTextFile(templates, "a video of {}.\na photo of {}.\n");
    const out = join(dir, "reports");
    const args = [
      "--shards",
      layout.shards,
      "--zero-shot",
      "--text-model",
      text,
      "--classes",
      classes,
      "--templates",
      templates,
      "--providers",
      "cpu",
    ];
    const run = await denoTask("eval", [...args, "--out", out]);
    ok(run, "eval --zero-shot");
    const report = await readReport(out);
    const r = report.retrieval;
    assert(r, `no retrieval in eval.json: ${JSON.stringify(Object.keys(report))}`);

    // every val video is ranked, those without frames too
    assertEquals(r.split, "val");
    assertEquals(r.videos, VAL);
    assertEquals(r.videos, report.zeroShot?.count);
    assertEquals(
      r.zeroFrame,
      Array.from({ length: VAL }, (_, i) => framesOf(i)).filter((n) => n === 0).length,
    );
    assert(r.zeroFrame > 0, "the split has videos without frames");
    assertEquals([r.queries, r.classesWithoutVideos], [3, 1]);
    assertEquals(r.perClass.map((c) => c.name), ["abseiling", "archery", "zumba"]);
    assertEquals(r.definition, RETRIEVAL_DEFINITION);

    const sk = await reference(layout.shards, out);
    assertEquals([sk.videos, sk.zeroFrame, sk.queries], [r.videos, r.zeroFrame, r.queries]);
    for (const key of NUMBERS) {
      assert(Math.abs(r[key] - sk[key]) <= 1e-6, `${key}: eval ${r[key]}, reference ${sk[key]}`);
    }
    r.perClass.forEach((c, i) => {
      const ap = (sk.ap as unknown as number[])[i];
      assert(Math.abs(c.ap - ap) <= 1e-6, `AP of ${c.name}: eval ${c.ap}, reference ${ap}`);
    });
    assert(run.stdout.includes("### Text-to-video Retrieval"), run.stdout);
    assert(run.stderr.includes(`retrieval: mAP ${r.mAP.toFixed(4)}`), run.stderr);

    const md = await Deno.readTextFile(join(out, "eval.md"));
    assert(md.includes("### Text-to-video Retrieval"), md);
    assert(
      md.includes(
        `| Recall | ${r.recallAt1.toFixed(4)} | ${r.recallAt5.toFixed(4)} | ` +
          `${r.recallAt10.toFixed(4)} |`,
      ),
      md,
    );
    assert(md.includes(`| Hit | ${r.hitAt1.toFixed(4)} |`), md);
    assert(
      md.includes(`mAP ${r.mAP.toFixed(4)} over 3 classes with val videos (1 without, left out)`),
      md,
    );
    assert(md.includes(`Definition: ${RETRIEVAL_DEFINITION}`), md);
    const html = await Deno.readTextFile(join(out, "eval.html"));
    assert(html.includes("<h2>Text-to-video Retrieval</h2>"), html);
    assert(html.includes(`mAP ${r.mAP.toFixed(4)}`), html);

    // a zero-shot report without retrieval (made before it was scored) is not up to date
    const { retrieval: _, ...older } = report;
    await Deno.writeTextFile(join(out, "eval.json"), JSON.stringify(older));
    const rerun = await denoTask("eval", [...args, "--out", out]);
    ok(rerun, "eval again");
    assert(!rerun.stderr.includes("nothing to do"), rerun.stderr);
    assert(rerun.stderr.includes(`retrieval: mAP ${r.mAP.toFixed(4)}`), rerun.stderr);
    assertEquals((await readReport(out)).retrieval?.mAP, r.mAP);
    const same = await denoTask("eval", [...args, "--out", out]);
    assert(same.stderr.includes("eval: nothing to do"), same.stderr);

    // retrieval uses the mean-pooled video whatever --pool says: the same numbers
    const all = join(dir, "reports-all");
    ok(await denoTask("eval", [...args, "--out", all, "--pool", "all", "--quiet"]), "--pool all");
    const pooled = (await readReport(all)).retrieval;
    for (const key of NUMBERS) assertEquals(pooled?.[key], r[key], key);

    // retrieval runs with zero-shot only
    const probe = join(dir, "reports-probe");
    ok(
      await denoTask("eval", [
        "--shards",
        layout.shards,
        "--out",
        probe,
        "--linear-probe",
        "--providers",
        "cpu",
        "--quiet",
      ]),
      "--linear-probe",
    );
    assertEquals((await readReport(probe)).retrieval, undefined);
    assert(!(await Deno.readTextFile(join(probe, "eval.md"))).includes("Retrieval"));
  } finally {
    await cleanup();
  }
});
