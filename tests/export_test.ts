/**
 * `kinembed export --format embeddings`, run as a user types it: the img_emb rows equal the pooled
 * frames NumPy computes from the tars, the metadata read back by a second Parquet implementation
 * (parquet-wasm, Rust's arrow-rs) equals what Python's tarfile finds, parts split at --part-size,
 * the same input gives the same bytes, faiss's exact inner-product index finds the same top-k as
 * a brute-force NumPy search, and a foreign or mismatched --out is refused.
 */
import { join } from "node:path";
import { readParquet } from "parquet-wasm";
import { tableFromIPC } from "apache-arrow";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { shard } from "../lib/shard/mod.ts";
import { buildZeroShotClassifier } from "../lib/text/mod.ts";
import { readNpy, toFloat32 } from "../lib/core/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";
import { denoTask, type TaskRun } from "./support/tasks.ts";

const LABELS = ["abseiling", "archery", "zumba"];
/** Frames of the i-th video of a split: every 4th has none. */
const framesOf = (i: number) => i % 4 === 3 ? 0 : 1 + (i % 3);

/**
 * NumPy's reading of the tars (splits.csv order, tar order): the rows an export must hold, pooled
 * in float64, and their metadata; then the export's .npy parts compared with them, and faiss's
 * IndexFlatIP against a brute-force search.
 */
const REFERENCE = String.raw`
import csv, io, json, os, sys, tarfile
import numpy as np
shards, out, pool, dtype = sys.argv[1:5]
rows, meta, skipped = [], [], 0
for r in csv.DictReader(open(os.path.join(shards, "splits.csv"))):
    samples = {}
    order = []
    with tarfile.open(os.path.join(shards, r["tar_file"])) as t:
        for m in t.getmembers():
            key, ext = m.name.split(".", 1)
            if key not in samples:
                samples[key] = {}
                order.append(key)
            samples[key][ext] = t.extractfile(m).read()
    for key in order:
        s = samples[key]
        x = np.load(io.BytesIO(s["npy"])).astype(np.float64)
        if x.shape[0] == 0:
            skipped += 1
            continue
        if pool == "mean":
            u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            v = u.mean(axis=0)
        else:
            v = x[x.shape[0] // 2]
        rows.append(v / np.linalg.norm(v))
        j = json.loads(s["json"])
        meta.append({"key": key, "videoID": j["videoID"], "label": s.get("txt", b"").decode(),
                     "split": r["split"], "start": float(j["start_time"]), "end": float(j["end_time"]),
                     "frames": int(x.shape[0]), "tar": r["tar_file"]})
ref = np.array(rows)
parts, got = [], []
i = 0
while os.path.exists(os.path.join(out, "img_emb", f"img_emb_{i}.npy")):
    a = np.load(os.path.join(out, "img_emb", f"img_emb_{i}.npy"))
    assert a.dtype == np.dtype(dtype), a.dtype
    parts.append(a.shape[0])
    got.append(a.astype(np.float32))
    i += 1
emb = np.concatenate(got)
n = 0
for p in parts:
    for k in range(p):
        meta[n]["row"] = k
        n += 1
err = float(np.abs(emb.astype(np.float64) - ref).max())
norms = np.linalg.norm(emb.astype(np.float64), axis=1)
import faiss
index = faiss.IndexFlatIP(emb.shape[1])
index.add(emb)
rng = np.random.default_rng(0)
queries = np.concatenate([emb[:2], rng.standard_normal((3, emb.shape[1])).astype(np.float32)])
k = 5
_, faiss_ids = index.search(queries, k)
brute = np.argsort(-(queries.astype(np.float64) @ emb.astype(np.float64).T), axis=1, kind="stable")[:, :k]
print(json.dumps({"parts": parts, "maxErr": err, "normErr": float(np.abs(norms - 1).max()),
                  "skipped": skipped, "meta": meta, "faiss": faiss_ids.tolist(),
                  "brute": brute.tolist(), "dim": int(emb.shape[1])}))
`;

interface Reference {
  parts: number[];
  maxErr: number;
  normErr: number;
  skipped: number;
  meta: Record<string, unknown>[];
  faiss: number[][];
  brute: number[][];
  dim: number;
}

async function reference(shards: string, out: string, pool: string, dtype: string) {
  const r = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", REFERENCE, shards, out, pool, dtype],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout)) as Reference;
}

/** Every metadata part's rows, read with parquet-wasm (not the writer's own library). */
async function readMetadata(out: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0;; i++) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(out, "metadata", `metadata_${i}.parquet`));
    } catch {
      return rows;
    }
    const table = tableFromIPC(readParquet(bytes).intoIPCStream());
    for (const r of table.toArray()) rows.push({ ...r.toJSON() });
  }
}

/** Every file of a folder (recursively) with its bytes. */
async function filesOf(dir: string, sub = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(join(dir, sub))) {
    const rel = join(sub, e.name);
    if (e.isDirectory) { for (const [k, v] of await filesOf(dir, rel)) out.set(k, v); }
    else out.set(rel, await Deno.readFile(join(dir, rel)));
  }
  return out;
}

function ok(r: TaskRun, what: string): void {
  assertEquals(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
}

function refused(r: TaskRun, pattern: RegExp, what: string): void {
  assertEquals(r.code, 2, `${what}: ${r.stderr}${r.stdout}`);
  // the message is the first line (a usage error prints the usage after it)
  const first = r.stderr.split("\n")[0];
  assert(pattern.test(first) && first.length < 300, `${what}: ${r.stderr}`);
  assert(!/^\s+at /m.test(r.stderr), r.stderr);
}

Deno.test("export --format embeddings: img_emb rows are NumPy's pooled frames, metadata read back by parquet-wasm is the tars' (splits.csv order, tar order, 0-frame videos left out and counted), parts of --part-size, text_emb the zero-shot class weights, faiss IndexFlatIP's top-k is a brute-force search's, and the same input gives the same bytes", async () => {
  const { dir, cleanup } = await tempDir("kinembed-export-");
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "work"),
      counts: { train: 7, val: 6 },
      classes: LABELS,
      frames: framesOf,
      dim: 64,
    });
    await shard({ work: layout.root, perShard: 3, quiet: true });
    const { text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const classes = join(dir, "classes.txt");
    await Deno.writeTextFile(classes, LABELS.join("\n") + "\n");
    const templates = join(dir, "templates.txt");
    await Deno.writeTextFile(templates, "a video of {}.\na photo of {}.\n");
    const out = join(dir, "export");
    const args = [
      "--format",
      "embeddings",
      "--work",
      layout.root,
      "--part-size",
      "4",
      "--text-model",
      text,
      "--classes",
      classes,
      "--templates",
      templates,
      "--providers",
      "cpu",
    ];
    const first = await denoTask("export", [...args, "--out", out]);
    ok(first, "export");
    const ref = await reference(layout.shards, out, "mean", "float16");
    // 7 + 6 videos, 1 + 1 of them without frames: 11 rows in parts of 4
    assertEquals([ref.skipped, ref.parts], [2, [4, 4, 3]]);
    assert(/11 videos in 3 part\(s\).*2 without frames left out/.test(first.stdout), first.stdout);
    assert(ref.maxErr < 2e-3 && ref.normErr < 2e-3, `float16 rows off by ${ref.maxErr}`);
    assertEquals(await readMetadata(out), ref.meta);
    assertEquals(ref.faiss, ref.brute);

    // text_emb: the class weights zero-shot uses, one row per class of --classes
    const clf = await buildZeroShotClassifier(text, LABELS, [
      "a video of {}.",
      "a photo of {}.",
    ], { providers: ["cpu"] });
    const t = readNpy(await Deno.readFile(join(out, "text_emb", "text_emb_0.npy")));
    assertEquals([t.dtype, t.shape], ["<f2", [3, clf.dim]]);
    const tf = toFloat32(t);
    assert(tf.every((v, i) => Math.abs(v - clf.weights[i]) < 2e-3), "text_emb differs");

    // the same input, another folder: the same bytes, file for file
    const again = join(dir, "export-again");
    ok(await denoTask("export", [...args, "--out", again]), "export again");
    const a = await filesOf(out), b = await filesOf(again);
    assertEquals([...b.keys()].sort(), [...a.keys()].sort());
    for (const [name, bytes] of a) assertEquals(b.get(name), bytes, name);

    // rerun: nothing to do; other settings for the same shards: written anew
    const rerun = await denoTask("export", [...args, "--out", out]);
    ok(rerun, "rerun");
    assert(/nothing to do/.test(rerun.stdout), rerun.stdout);
    const centre = await denoTask("export", [
      "--work",
      layout.root,
      "--out",
      out,
      "--dtype",
      "float32",
      "--pool",
      "centre",
      "--part-size",
      "3",
    ]);
    ok(centre, "export --pool centre --dtype float32");
    assert(/text_emb not written/.test(centre.stdout), centre.stdout);
    const c = await reference(layout.shards, out, "centre", "float32");
    assertEquals(c.parts, [3, 3, 3, 2]);
    assert(c.maxErr < 1e-6, `float32 rows off by ${c.maxErr}`);
    assertEquals(await readMetadata(out), c.meta);
    assertEquals(c.faiss, c.brute);
    assert(!(await filesOf(out)).has(join("text_emb", "text_emb_0.npy")), "stale text_emb kept");
  } finally {
    await cleanup();
  }
});

Deno.test("export refuses an --out that holds something else or another shard set's export, and bad --dtype, --pool and --format values, with one line and exit 2, before writing", async () => {
  const { dir, cleanup } = await tempDir("kinembed-export-refuse-");
  try {
    const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "work"), counts: { val: 3 } });
    await shard({ work: layout.root, quiet: true });
    const foreign = join(dir, "foreign");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "notes.txt"), "mine\n");
    refused(
      await denoTask("export", ["--work", layout.root, "--out", foreign]),
      /--out .*foreign is not empty and holds no kinembed export/,
      "foreign --out",
    );
    assertEquals([...(await filesOf(foreign)).keys()], ["notes.txt"]);

    const out = join(dir, "export");
    ok(await denoTask("export", ["--work", layout.root, "--out", out]), "export");
    const other = await makeSyntheticWorkDir({
      dir: join(dir, "other"),
      counts: { val: 2 },
      seed: 7,
    });
    await shard({ work: other.layout.root, quiet: true });
    refused(
      await denoTask("export", ["--work", other.layout.root, "--out", out]),
      /--out .*export holds an export of other shards/,
      "other shards",
    );
    for (
      const [flag, value] of [["--dtype", "float64"], ["--pool", "max"], ["--format", "csv"]]
    ) {
      refused(
        await denoTask("export", ["--work", layout.root, "--out", join(dir, "x"), flag, value]),
        new RegExp(`${flag} ${value}: unknown`),
        flag,
      );
    }
    const help = await denoTask("export", ["--help"]);
    ok(help, "--help");
    assert(/--part-size/.test(help.stdout + help.stderr), help.stdout);
  } finally {
    await cleanup();
  }
});
