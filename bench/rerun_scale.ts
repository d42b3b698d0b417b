/**
 * The bookkeeping of a finished run at 10k, 100k and Kinetics-700's full size, without decoding
 * anything: a work dir is made as sample and encode leave it (645k videos in per-class download
 * order, sample and encode records in completion order, a tiny `.npy` per encoded video, ~1.5%
 * failed downloads, ~0.5% failed decodes), then `run` (which shards it), `run`'s no-op rerun,
 * `shard` writing every tar again and `shard`'s no-op rerun are timed under `/usr/bin/time`.
 * With `--baseline DIR` (another checkout of kinembed, e.g. an older commit) the same is done with
 * that checkout's code first, on a work dir made by its own manifest code, and then this checkout's
 * `run` opens that work dir (an older manifest is rebuilt on first open: that run is timed too).
 *
 * ```
 * deno task bench rerun --sizes 10000,100000,full --dir /tmp/rerun [--baseline ../kinembed-old] [--record]
 * ```
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { K700_2020_ROWS } from "../fixtures/kinetics_shape.ts";
import { machineLine, recordTable, timeTask } from "./results.ts";

const REPO = resolve(new URL("..", import.meta.url).pathname);
/** Kinetics-700-2020's annotation rows per split. */
const FULL = K700_2020_ROWS;

/** The manifest writes the generator makes. */
interface RunWriter {
  addVideos(rows: VideoRow[]): void;
  markDone(step: Step, id: string, out: StepOutput): void;
  markFailed(step: Step, id: string, error: string): void;
  batch(fn: () => void): void;
  close(): void;
}

/** What the generator needs of a checkout's library (the same names in old and new code). */
interface Lib {
  openManifest(path: string): RunWriter;
  writeNpy: typeof import("../lib/base/npy.ts").writeNpy;
  ensureWorkDir: typeof import("../lib/core/work_dir.ts").ensureWorkDir;
  mulberry32: typeof import("../lib/base/random.ts").mulberry32;
}

/**
 * A checkout's manifest as the generator writes it: older checkouts hold the writes on the
 * manifest itself, newer ones on its `videos` and `steps` query objects.
 */
function runWriter(m: Manifest): RunWriter {
  // an older checkout's manifest, typed as this one's: `videos` is a method there
  const old = m as unknown as RunWriter & { videos: unknown };
  if (typeof old.videos === "function") return old;
  return {
    addVideos: (rows) => m.videos.add(rows),
    markDone: (step, id, out) => m.steps.markDone(step, id, out),
    markFailed: (step, id, error) => m.steps.markFailed(step, id, error),
    batch: (fn) => m.batch(fn),
    close: () => m.close(),
  };
}

async function loadLib(repo: string): Promise<Lib> {
  const at = (p: string) => import(`file://${join(repo, "lib", "core", p)}`);
  const [manifest, npy, workDir, random] = await Promise.all([
    at("manifest.ts"),
    at("npy.ts"),
    at("work_dir.ts"),
    at("random.ts"),
  ]);
  return {
    openManifest: (path) => runWriter(manifest.Manifest.open(path)),
    writeNpy: npy.writeNpy,
    ensureWorkDir: workDir.ensureWorkDir,
    mulberry32: random.mulberry32,
  };
}

type Manifest = import("../lib/core/manifest.ts").Manifest;
type VideoRow = import("../lib/core/manifest.ts").VideoRow;
type Step = import("../lib/core/manifest.ts").Step;
type StepOutput = import("../lib/core/manifest.ts").StepOutput;

/** Kinetics-shaped rows: 11-character YouTube ids, 700 classes, test unlabelled; in id order. */
function makeRows(lib: Lib, total: number, classes: string[]): VideoRow[] {
  const rand = lib.mulberry32(7);
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const scale = total / (FULL.train + FULL.val + FULL.test);
  const rows: VideoRow[] = [];
  for (const [split, full] of Object.entries(FULL)) {
    for (let i = 0; i < Math.round(full * scale); i++) {
      let yt = "";
      for (let k = 0; k < 11; k++) yt += abc[Math.floor(rand() * 64)];
      const s = Math.floor(rand() * 300);
      const id = `${yt}_${String(s).padStart(6, "0")}_${String(s + 10).padStart(6, "0")}`;
      const label = split === "test" ? null : classes[i % classes.length];
      rows.push({
        id,
        split: split as VideoRow["split"],
        label,
        youtubeId: yt,
        timeStart: s,
        timeEnd: s + 10,
        source: `http://127.0.0.1:1/${split}/${label ?? "test"}.tar.gz`,
      });
    }
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** Writes the work dir; returns how many videos are encoded. */
async function makeFinishedRun(lib: Lib, work: string, total: number): Promise<number> {
  const classes = (await Deno.readTextFile(join(REPO, "data", "kinetics700_classes.txt")))
    .trim().split("\n");
  const layout = await lib.ensureWorkDir(work);
  const m = lib.openManifest(layout.manifest);
  try {
    const rows = makeRows(lib, total, classes);
    for (let i = 0; i < rows.length; i += 50_000) m.addVideos(rows.slice(i, i + 50_000));
    const rand = lib.mulberry32(11);
    // download records archive by archive (a class at a time), as extraction writes them
    const byArchive = Map.groupBy(rows, (r) => r.source!);
    const failed = new Set<string>();
    m.batch(() => {
      for (const list of byArchive.values()) {
        for (const r of list) {
          if (rand() < 0.015) {
            failed.add(r.id);
            m.markFailed("download", r.id, "not in any archive");
          } else {
            const path = join(layout.videos, r.split, r.label ?? "test", `${r.id}.mp4`);
            m.markDone("download", r.id, { path, sha256: "0".repeat(64) });
          }
        }
      }
    });
    // sample and encode records interleaved, in id order, as the streamed run writes them
    const npys = [1, 2, 3].map((f) =>
      lib.writeNpy({ dtype: "<f2", shape: [f, 32], data: new Uint16Array(f * 32).fill(0x3c00 + f) })
    );
    const shas = npys.map((b) => createHash("sha256").update(b).digest("hex"));
    let encoded = 0;
    const ok = rows.filter((r) => !failed.has(r.id));
    for (let at = 0; at < ok.length; at += 2000) {
      m.batch(() => {
        for (const r of ok.slice(at, at + 2000)) {
          if (rand() < 0.005) {
            m.markFailed("sample", r.id, "ffmpeg: Invalid data found when processing input");
            continue;
          }
          const v = encoded++ % 3;
          const path = join(layout.emb, `${r.id}.npy`);
          Deno.writeFileSync(path, npys[v]);
          m.markDone("sample", r.id, { path: null, frames: v + 1 });
          m.markDone("encode", r.id, { path, frames: v + 1, sha256: shas[v] });
        }
      });
    }
    return encoded;
  } finally {
    m.close();
  }
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "10000,100000,full" },
    dir: { type: "string", default: "/tmp/kinembed_rerun" },
    baseline: { type: "string" },
    record: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: deno task bench rerun [--sizes 10000,100000,full] [--dir DIR] [--baseline CHECKOUT] [--record]",
  );
  Deno.exit(0);
}
const fullSize = FULL.train + FULL.val + FULL.test;
const sizes = values.sizes.split(",").map((s) => s.trim() === "full" ? fullSize : Number(s));
const checkouts = [
  ...(values.baseline ? [{ name: "baseline", repo: resolve(values.baseline) }] : []),
  { name: "this", repo: REPO },
];
const table = [
  "| videos | encoded | code | step | exit | wall (s) | CPU (s) | peak RSS (MB) |",
  "|---:|---:|---|---|---:|---:|---:|---:|",
];
for (const size of sizes) {
  for (const c of checkouts) {
    const work = join(values.dir!, `${size}_${c.name}`);
    await Deno.remove(work, { recursive: true }).catch(() => {});
    const t0 = performance.now();
    const encoded = await makeFinishedRun(await loadLib(c.repo), work, size);
    console.log(
      `${size} videos (${c.name}): ${encoded} encoded, made in ${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s`,
    );
    const { vision } = await ensureFixtureModels(join(c.repo, "fixtures", "models"), "tiny");
    const run = ["run", "--work", work, "--model", vision, "--providers", "cpu"];
    const steps: [string, string[], (() => Promise<void>)?][] = [
      ["run (writes the shards)", run],
      ["run (no-op rerun)", run],
      ["shard (every tar written again)", ["shard", "--work", work], async () => {
        for await (const e of Deno.readDir(join(work, "shards"))) {
          if (e.name.endsWith(".tar")) await Deno.remove(join(work, "shards", e.name));
        }
      }],
      ["shard (no-op rerun)", ["shard", "--work", work]],
    ];
    if (c.name === "this" && values.baseline) {
      // this code opening the baseline's work dir: an older manifest is rebuilt on first open
      const old = join(values.dir!, `${size}_baseline`);
      const oldRun = ["run", "--work", old, "--model", vision, "--providers", "cpu"];
      steps.push(["run on the baseline's work dir (first open)", oldRun]);
      steps.push(["run on the baseline's work dir (no-op rerun)", oldRun]);
    }
    for (const [label, args, before] of steps) {
      await before?.();
      const r = await timeTask(c.repo, [...args, "--quiet"]);
      console.log(
        `  ${c.name} ${label}: exit ${r.code}, ${r.wall.toFixed(1)} s, ${
          r.cpu.toFixed(1)
        } s CPU, ` +
          `${r.rssMb.toFixed(0)} MB`,
      );
      table.push(
        `| ${size} | ${encoded} | ${c.name} | ${label} | ${r.code} | ${r.wall.toFixed(1)} | ${
          r.cpu.toFixed(1)
        } | ${r.rssMb.toFixed(0)} |`,
      );
    }
  }
}
console.log("\n" + table.join("\n"));
if (values.record) {
  await recordTable(
    "Rerun and shard at 10k, 100k and full size: a finished run's work dir",
    `deno task bench rerun ${Deno.args.join(" ")}`,
    table.join("\n"),
    "",
    machineLine(),
  );
}
