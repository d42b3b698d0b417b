import { join } from "node:path";
import { ensureFixtureModels } from "../../fixtures/make_models.ts";
import { normals } from "../../fixtures/synthetic_features.ts";
import { evaluate } from "./eval.ts";
import { readClipFeatures, readFrameCensus } from "./features.ts";
import { frameBins, worstClassesFirst } from "./report.ts";
import { float32ToFloat16, writeNpy } from "../base/mod.ts";
import { formatSplitsCsv, ShardWriter } from "../webdataset/mod.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { repoPath, tempDir } from "../../tests/support/media.ts";

const CLASSES = ["abseiling", "air drumming", "archery", "bowling", "zumba"];
const DIM = 512;
const enc = new TextEncoder();

/** Clips of 0–5 noisy frames around a class mean: the pooled and centre features differ. */
async function writeNoisyShards(dir: string, counts: { train: number; val: number }) {
  await Deno.mkdir(dir, { recursive: true });
  const rnd = normals(11);
  const means = Float32Array.from({ length: CLASSES.length * DIM }, () => 0.025 * rnd());
  const rows: { tarFile: string; split: "train" | "val" }[] = [];
  let key = 0;
  for (const split of ["train", "val"] as const) {
    const tarFile = `ds_${String(rows.length).padStart(6, "0")}.tar`;
    const w = await ShardWriter.create(join(dir, tarFile));
    for (let i = 0; i < counts[split]; i++) {
      const c = (i * 7) % CLASSES.length;
      const n = split === "val" && i % 25 === 24 ? 0 : 1 + (i % 5);
      const frames = new Float32Array(n * DIM);
      for (let f = 0; f < n; f++) {
        for (let j = 0; j < DIM; j++) frames[f * DIM + j] = 0.3 + means[c * DIM + j] + 0.5 * rnd();
      }
      const id = `vid_${String(key++).padStart(9, "0")}`;
      await w.addSample(id, [
        {
          ext: "json",
          data: enc.encode(`{"videoID":"${id}","start_time":"000000","end_time":"000010"}`),
        },
        {
          ext: "npy",
          data: writeNpy({ dtype: "<f2", shape: [n, DIM], data: float32ToFloat16(frames) }),
        },
        { ext: "txt", data: enc.encode(CLASSES[c]) },
      ]);
    }
    await w.commit();
    rows.push({ tarFile, split });
  }
  await Deno.writeTextFile(join(dir, "splits.csv"), formatSplitsCsv(rows));
}

// Reads the tars with tarfile + NumPy, pools each clip (frames L2-normalised, averaged,
// L2-normalised), fits scikit-learn's LogisticRegression(C=0.316) on train and scores val; also
// applies the written artefacts: the probe's weights and the zero-shot class weights.
const SKLEARN_POOLED = `
import csv, io, json, sys, tarfile
import numpy as np
from sklearn.linear_model import LogisticRegression
shards, reports = sys.argv[1], sys.argv[2]
def clips(split):
    out = []
    for row in csv.DictReader(open(shards + "/splits.csv")):
        if row["split"] != split: continue
        with tarfile.open(shards + "/" + row["tar_file"]) as t:
            cur = {}
            for m in t.getmembers():
                key, ext = m.name.rsplit(".", 1)
                cur.setdefault(key, {})[ext] = t.extractfile(m).read()
            for key in sorted(cur):
                a = np.load(io.BytesIO(cur[key]["npy"])).astype(np.float32)
                out.append((a, cur[key]["txt"].decode()))
    return out
def pooled(a):
    u = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    m = u.mean(axis=0)
    return m / max(np.linalg.norm(m), 1e-12)
train = [(pooled(a), l) for a, l in clips("train") if len(a) > 0]
val_all = clips("val")
val = [(pooled(a), l) for a, l in val_all if len(a) > 0]
X = np.stack([f for f, _ in train]); y = [l for _, l in train]
Xv = np.stack([f for f, _ in val]); yv = np.array([l for _, l in val])
clf = LogisticRegression(C=0.316, max_iter=1000).fit(X, y)
top1 = float((clf.predict(Xv) == yv).mean())
W = np.load(reports + "/probe_mean.npy")
info = json.load(open(reports + "/probe_mean.json"))
scores = Xv.astype(np.float64) @ W[:-1] + W[-1]
top1_artefact = float((np.array(info["classes"])[scores.argmax(axis=1)] == yv).mean())
T = np.load(reports + "/text_embeddings.npy")
names = json.load(open(reports + "/text_embeddings.json"))["classes"]
hits = [len(a) > 0 and names[int(np.argmax(T @ pooled(a)))] == l for a, l in val_all]
print(json.dumps({"top1": top1, "top1_artefact": top1_artefact,
                  "zs_top1": float(np.mean(hits)), "n": len(val), "n_all": len(val_all)}))
`;

Deno.test("eval --pool all: the mean-pooled probe agrees with scikit-learn on pooled features; artefacts apply", async () => {
  const { dir, cleanup } = await tempDir("kinembed-pool-");
  try {
    const { text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const shards = join(dir, "shards");
    const reports = join(dir, "reports");
    await writeNoisyShards(shards, { train: 150, val: 200 });
    const classesFile = join(dir, "classes.txt");
    await Deno.writeTextFile(classesFile, CLASSES.join("\n") + "\n");
    const { report } = await evaluate({
      shards,
      out: reports,
      textModel: text,
      classes: classesFile,
      providers: ["cpu"],
      pool: "all",
      log: () => {},
    });
    const card = report.linearProbe!, pooled = report.pooled!.linearProbe!;
    assertEquals([card.count, pooled.count], [192, 192]);
    assertEquals(report.pooled!.zeroShot!.count, 200);
    assertEquals(report.splits!.val!.zeroFrame, 8);

    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", SKLEARN_POOLED, shards, reports],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const sk = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(sk.n, 192);
    assert(
      Math.abs(pooled.top1 - sk.top1) <= 0.01,
      `pooled probe top-1 ${pooled.top1} vs sklearn ${sk.top1}`,
    );
    assert(sk.top1 > 0.3 && sk.top1 < 1, `a probe worth comparing: top-1 ${sk.top1}`);
    console.log(
      `pooled probe top-1 ${pooled.top1.toFixed(4)} (sklearn ${sk.top1.toFixed(4)}), ` +
        `centre-frame probe ${card.top1.toFixed(4)}, pooled zero-shot ` +
        `${report.pooled!.zeroShot!.top1.toFixed(4)}`,
    );
    assert(Math.abs(sk.top1_artefact - pooled.top1) <= 1e-9, "probe_mean.npy scores as eval did");
    assert(
      Math.abs(sk.zs_top1 - report.pooled!.zeroShot!.top1) <= 1e-9,
      `text_embeddings.npy: ${sk.zs_top1} vs ${report.pooled!.zeroShot!.top1}`,
    );
    // the card method and the pooled one are both in the report, side by side
    const md = await Deno.readTextFile(join(reports, "eval.md"));
    assert(md.includes("| Card method | Card | Difference | Mean-pooled | Difference |"), md);
  } finally {
    await cleanup();
  }
});

Deno.test("frame census and worst-first order", async () => {
  assertEquals(
    frameBins({ "0": 2, "3": 1 }).map((b) => [b.label, b.videos]),
    [["0", 2], ["1", 0], ["2", 0], ["3", 1]],
  );
  assertEquals(
    frameBins({ "0": 1, "1": 1, "40": 3 }).map((b) => b.label),
    ["0", "1", "2–3", "4–7", "8–15", "16–31", "32–63"],
  );
  assertEquals(
    worstClassesFirst([
      { name: "b", count: 2, top1: 0.5, top5: 1 },
      { name: "a", count: 2, top1: 0.5, top5: 0.5 },
      { name: "c", count: 2, top1: 0, top5: 1 },
    ]).map((c) => c.name),
    ["c", "a", "b"],
  );
  const { dir, cleanup } = await tempDir("kinembed-pool-");
  try {
    await writeNoisyShards(dir, { train: 10, val: 25 });
    const census = await readFrameCensus([join(dir, "ds_000001.tar")]);
    assertEquals([census.samples, census.zeroFrame, census.tars], [25, 1, 1]);
    const feats = await readClipFeatures([join(dir, "ds_000001.tar")], "mean");
    assertEquals([feats.keys.length, feats.skipped.length], [24, 1]);
    let sq = 0;
    for (let j = 0; j < DIM; j++) sq += feats.features[j] ** 2;
    assert(Math.abs(sq - 1) < 1e-5, `unit length: ${sq}`);
  } finally {
    await cleanup();
  }
});
