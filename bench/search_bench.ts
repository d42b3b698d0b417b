/**
 * Query time and peak memory of `search` at Kinetics-700 size, against the exact search a user
 * would otherwise write: NumPy's inner product over the same matrix loaded in memory.
 *
 * 1. Scoring at full size: a unit-row float16 matrix of `--videos` (536 499, the train split)
 *    × 512 on disk; `search`'s scorer (`QueryScorer`, the running top-k per query) streams it in
 *    chunks, NumPy loads it whole (`np.load`, `astype(float32)`) and runs `M @ Q.T` plus
 *    `argpartition`. Each side runs in its own process under `/usr/bin/time` (peak RSS).
 * 2. End to end at `--shard-videos` (default 50 000): the real `deno task search --shards` over a
 *    synthetic shard set (float16, 10 frames a video, mean pooling), text encoder included.
 *
 * ```
 * deno task bench search                                # full size, records in bench/RESULTS.md
 * deno task bench search --videos 20000 --shard-videos 2000 --no-record   # a quick dry run
 * ```
 * @module
 */
import { join } from "node:path";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { mulberry32, toFloat32, writeNpy } from "../lib/core/mod.ts";
import { formatSplitsCsv, sampleKey, shardFileName, ShardWriter } from "../lib/webdataset/mod.ts";
import { QueryScorer } from "../lib/search/mod.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { machineLine, recordTable, timeTask } from "./results.ts";

const REPO = new URL("..", import.meta.url).pathname;
const DIM = 512;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    videos: { type: "string", default: "536499" },
    queries: { type: "string", default: "1,16" },
    k: { type: "string", default: "10" },
    "shard-videos": { type: "string", default: "50000" },
    dir: { type: "string" },
    "no-record": { type: "boolean", default: false },
    // the child mode: score a matrix file with search's scorer, print seconds as JSON
    score: { type: "string" },
  },
  strict: true,
});

/** Child mode: stream `<matrix>.f16` (raw float16, unit rows) against `<queries>.f32`. */
async function scoreMatrix(arg: string): Promise<void> {
  const [matrix, queryFile, kText] = arg.split(",");
  const t0 = performance.now();
  const queries = new Float32Array((await Deno.readFile(queryFile)).buffer);
  const scorer = new QueryScorer<number>(queries, DIM, Number(kText));
  const rowsPerChunk = 8192;
  const buf = new Uint8Array(rowsPerChunk * DIM * 2);
  const file = await Deno.open(matrix);
  let row = 0;
  for (;;) {
    let filled = 0;
    while (filled < buf.length) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled === 0) break;
    const rows = filled / (DIM * 2);
    const f32 = toFloat32({
      data: new Uint16Array(buf.buffer, 0, rows * DIM),
      shape: [rows, DIM],
      dtype: "<f2",
    });
    for (let r = 0; r < rows; r++) scorer.add(f32, r * DIM, row + r);
    row += rows;
    if (filled < buf.length) break;
  }
  file.close();
  const top = scorer.tops.map((t) => t.sorted().map((h) => h.item));
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, rows: row, top }));
}

if (flags.score !== undefined) {
  await scoreMatrix(flags.score);
  Deno.exit(0);
}

const loadAtStart = loadavg()[0].toFixed(1);
const videos = Number(flags.videos);
const queryCounts = flags.queries!.split(",").map(Number);
const k = Number(flags.k);
const dir = flags.dir ?? await Deno.makeTempDir({ prefix: "kinembed-search-bench-" });
await Deno.mkdir(dir, { recursive: true });

async function python(script: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Peak RSS and wall time of a command, with its stdout. */
async function timed(cmd: string, args: string[]) {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "KTIME %e %M", cmd, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const m = /KTIME ([\d.]+) (\d+)/.exec(err);
  if (!out.success || !m) throw new Error(err);
  return {
    wall: Number(m[1]),
    rssMb: Number(m[2]) / 1024,
    stdout: new TextDecoder().decode(out.stdout),
  };
}

// the matrix: unit rows, written in chunks so that making it needs little memory
const matrix = join(dir, `videos_${videos}x${DIM}.f16`);
await python(
  `import sys, numpy as np
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
with open(path, "wb") as f:
    for s in range(0, n, 65536):
        m = rng.standard_normal((min(65536, n - s), ${DIM}), dtype=np.float32)
        m /= np.linalg.norm(m, axis=1, keepdims=True)
        f.write(m.astype("<f2").tobytes())`,
  [String(videos), matrix],
);

const NUMPY = `import sys, json, time, numpy as np
path, qpath, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0 = time.perf_counter()
m = np.fromfile(path, dtype="<f2").reshape(-1, ${DIM}).astype(np.float32)
t1 = time.perf_counter()
q = np.fromfile(qpath, dtype="<f4").reshape(-1, ${DIM})
s = m @ q.T
top = []
for j in range(q.shape[0]):
    idx = np.argpartition(-s[:, j], k)[:k]
    idx = idx[np.lexsort((idx, -s[idx, j]))]
    top.append(idx.tolist())
t2 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "query": t2 - t1, "top": top}))`;

const rows: string[] = [];
for (const q of queryCounts) {
  const rand = mulberry32(100 + q);
  const qs = new Float32Array(q * DIM).map(() => rand() * 2 - 1);
  for (let i = 0; i < q; i++) {
    const row = qs.subarray(i * DIM, (i + 1) * DIM);
    const norm = Math.hypot(...row);
    for (let j = 0; j < DIM; j++) row[j] /= norm;
  }
  const qfile = join(dir, `queries_${q}.f32`);
  await Deno.writeFile(qfile, new Uint8Array(qs.buffer));
  const ours = await timed(Deno.execPath(), [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "--allow-ffi",
    "--allow-sys",
    new URL(import.meta.url).pathname,
    "--score",
    `${matrix},${qfile},${k}`,
  ]);
  const np = await timed("/usr/bin/python3", ["-c", NUMPY, matrix, qfile, String(k)]);
  const o = JSON.parse(ours.stdout), n = JSON.parse(np.stdout);
  // both are exact: the same videos (float16 rounding may swap near ties, so compare as sets)
  const same = o.top.every((t: number[], i: number) =>
    t.filter((x) => n.top[i].includes(x)).length >= k - 1
  );
  rows.push(
    `| ${q} | ${videos} | search scorer (streamed) | — | ${o.seconds.toFixed(2)} | ` +
      `${ours.wall.toFixed(2)} | ${ours.rssMb.toFixed(0)} | ${
        (o.seconds / n.query).toFixed(1)
      }× | ` +
      `${(ours.rssMb / np.rssMb).toFixed(2)}× | ${same ? "yes" : "NO"} |`,
    `| ${q} | ${videos} | NumPy (in memory) | ${n.load.toFixed(2)} | ${n.query.toFixed(2)} | ` +
      `${np.wall.toFixed(2)} | ${np.rssMb.toFixed(0)} | 1× | 1× | — |`,
  );
  console.log(rows.slice(-2).join("\n"));
}

// end to end: the real task over a synthetic shard set
const shardVideos = Number(flags["shard-videos"]);
let e2e = "";
if (shardVideos > 0) {
  const shards = join(dir, `shards_${shardVideos}`);
  await Deno.mkdir(shards, { recursive: true });
  const perShard = 5000, frames = 10;
  const rand = mulberry32(7);
  const pool = new Uint16Array(1 << 20);
  for (let i = 0; i < pool.length; i++) {
    const r = Math.floor(rand() * 2 ** 32);
    pool[i] = (r & 0x8000) | ((11 + (r >>> 16) % 8) << 10) | (r & 0x3ff);
  }
  const enc = new TextEncoder();
  const tars: string[] = [];
  for (let s = 0; s * perShard < shardVideos; s++) {
    const name = shardFileName(s);
    tars.push(name);
    const w = await ShardWriter.create(join(shards, name));
    for (let i = s * perShard; i < Math.min(shardVideos, (s + 1) * perShard); i++) {
      const at = (i * 7919) % (pool.length - frames * DIM);
      await w.addSample(sampleKey(i), [
        {
          ext: "json",
          data: enc.encode(`{"videoID":"v${i}","start_time":"000000","end_time":"000010"}`),
        },
        {
          ext: "npy",
          data: writeNpy({
            dtype: "<f2",
            shape: [frames, DIM],
            data: pool.subarray(at, at + frames * DIM),
          }),
        },
        { ext: "txt", data: enc.encode("class") },
      ]);
    }
    await w.commit();
  }
  await Deno.writeTextFile(
    join(shards, "splits.csv"),
    formatSplitsCsv(tars.map((tarFile) => ({ tarFile, split: "train" as const }))),
  );
  const { text } = await ensureFixtureModels(join(REPO, "fixtures", "models"), "tiny");
  const t = await timeTask(REPO, [
    "search",
    "a person playing a guitar",
    "--shards",
    shards,
    "--text-model",
    text,
    "--providers",
    "cpu",
    "--k",
    String(k),
    "--quiet",
  ]);
  if (t.code !== 0) throw new Error(t.text);
  e2e = `| \`deno task search --shards\` (${frames} frames a video, float16, mean pooling) | ` +
    `${shardVideos} | ${t.wall.toFixed(1)} | ${(shardVideos / t.wall).toFixed(0)} | ` +
    `${t.rssMb.toFixed(0)} | ${(videos / (shardVideos / t.wall)).toFixed(0)} |`;
  console.log(e2e);
}

const table = [
  "| queries | videos | implementation | load (s) | query (s) | wall (s) | peak RSS (MB) | query time vs NumPy | RSS vs NumPy | same top-k |",
  "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
  ...rows,
  ...(e2e
    ? [
      "",
      `| end to end | videos | wall (s) | videos/s | peak RSS (MB) | projected s for ${videos} |`,
      "|---|---:|---:|---:|---:|---:|",
      e2e,
    ]
    : []),
].join("\n");
console.log(table);
if (!flags["no-record"]) {
  const cmd = `deno task bench search ${Deno.args.join(" ")}`.trim();
  await recordTable(
    "search: exact top-k at Kinetics-700 train size vs NumPy",
    cmd,
    table,
    '"query (s)" of the scorer is its whole streamed pass (read, float16 → float32, dot ' +
      "products, top-k); NumPy's is `M @ Q.T` plus `argpartition` after `load`. The end-to-end " +
      "rows add reading tars, decoding `.npy` members and pooling.",
    `${machineLine()}, lscpu: ${await lscpuModel()}, load average at the start ${loadAtStart}` +
      (Number(loadAtStart) >= 1 ? " (other work ran beside this)" : " (otherwise idle)"),
  );
}
if (flags.dir === undefined) await Deno.remove(dir, { recursive: true });

async function lscpuModel(): Promise<string> {
  const out = await new Deno.Command("lscpu", { stdout: "piped" }).output();
  const m = /Model name:\s*(.+)/.exec(new TextDecoder().decode(out.stdout));
  return m ? m[1].trim() : "unknown";
}
