/**
 * Scale benchmark for shard + verify: the published CLIP-Kinetics700 size (the card's samples per
 * split, 10 frames each, float16: ~6.5 GB of embeddings, 65 tars) made of synthetic embeddings,
 * sharded, then verified against the card, with `sha256sum` over the same tars in the same run as
 * the yardstick. Time and peak RSS of each step come from `/usr/bin/time`.
 *
 * ```
 * deno run -A bench/shard_scale.ts --work /data/kinembed-scale            # full size (~14 GB disk)
 * deno run -A bench/shard_scale.ts --work /tmp/scale --scale 0.05 --clean  # a 5% dry run
 * ```
 * Appends a section to `bench/RESULTS.md` unless `--no-record`.
 * @module
 */
import { mulberry32, type Split, SPLITS } from "../lib/core/mod.ts";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Manifest, type VideoRow } from "../lib/core/manifest.ts";
import { writeNpy } from "../lib/base/npy.ts";
import { ensureWorkDir } from "../lib/core/work_dir.ts";
import { syntheticCard, syntheticVideoRow } from "../fixtures/synthetic_work_dir.ts";
import { CARD_SAMPLES } from "./card_totals.ts";

const REPO = new URL("..", import.meta.url).pathname;

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    work: { type: "string", default: "work-scale" },
    scale: { type: "string", default: "1" },
    frames: { type: "string", default: "10" },
    "per-shard": { type: "string", default: "10000" },
    clean: { type: "boolean", default: false },
    "no-record": { type: "boolean", default: false },
  },
  strict: true,
});
const scale = Number(flags.scale);
const frames = Number(flags.frames);
const perShard = Number(flags["per-shard"]);
const work = flags.work!;
const counts = Object.fromEntries(
  SPLITS.map((s) => [s, Math.max(1, Math.round(CARD_SAMPLES[s] * scale))]),
) as Record<Split, number>;

/** Makes the synthetic work dir quickly: every embedding is a window of one random pool. */
async function makeInputs(): Promise<number> {
  const layout = await ensureWorkDir(work);
  const m = Manifest.open(layout.manifest);
  try {
    const want = SPLITS.reduce((a, s) => a + counts[s], 0);
    if (m.steps.counts("encode").done === want) return 0;
    const rand = mulberry32(12345);
    const pool = new Uint16Array(1 << 20);
    for (let i = 0; i < pool.length; i++) {
      // finite float16 of magnitude ~2^-4..2^3: sign, exponent 11..18, random mantissa
      const r = Math.floor(rand() * 2 ** 32);
      pool[i] = (r & 0x8000) | ((11 + (r >>> 16) % 8) << 10) | (r & 0x3ff);
    }
    const n = frames * 512;
    const header = writeNpy({ dtype: "<f2", shape: [frames, 512], data: new Uint16Array(n) })
      .subarray(0, 128);
    const t0 = performance.now();
    let done = 0;
    for (const split of SPLITS) {
      const rows: VideoRow[] = [];
      for (let i = 0; i < counts[split]; i++) {
        rows.push(syntheticVideoRow(split, i, `class ${i % 700}`));
      }
      m.videos.add(rows);
      for (let i = 0; i < rows.length; i++) {
        const off = ((i * 7919 + split.length * 104729) % (pool.length - n)) & ~1;
        const bytes = new Uint8Array(128 + 2 * n);
        bytes.set(header, 0);
        bytes.set(new Uint8Array(pool.buffer, off * 2, 2 * n), 128);
        const path = join(layout.emb, `${rows[i].id}.npy`);
        await Deno.writeFile(path, bytes);
        m.steps.markDone("encode", rows[i].id, {
          path,
          frames,
          sha256: createHash("sha256").update(bytes).digest("hex"),
        });
        if (++done % 50_000 === 0) {
          console.error(
            `inputs: ${done}/${want} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
          );
        }
      }
    }
    return (performance.now() - t0) / 1000;
  } finally {
    m.close();
  }
}

interface Timed {
  seconds: number;
  maxRssMB: number;
  code: number;
  stdout: string;
}

/** Runs a command under /usr/bin/time, returning wall time and peak RSS. */
async function timed(cmd: string[]): Promise<Timed> {
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "BENCH_TIME %e %M", ...cmd],
    stdout: "piped",
    stderr: "piped",
    cwd: REPO,
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const m = /BENCH_TIME ([\d.]+) (\d+)/.exec(stderr);
  if (!m) throw new Error(`${cmd.join(" ")}: no timing\n${stderr}`);
  if (out.code !== 0) console.error(stderr.split("\n").slice(-20).join("\n"));
  return {
    seconds: Number(m[1]),
    maxRssMB: Number(m[2]) / 1024,
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
  };
}

if (flags.clean) await Deno.remove(work, { recursive: true }).catch(() => {});
console.error(`making inputs in ${work}: ${JSON.stringify(counts)} × ${frames} frames`);
const inputSeconds = await makeInputs();
const deno = Deno.execPath();
const shardCommand = [
  deno,
  "run",
  "-A",
  "tasks/shard.ts",
  "--work",
  work,
  "--per-shard",
  String(perShard),
  "--quiet",
];
const shardRun = await timed(shardCommand);
const rerun = await timed(shardCommand); // everything kept: the cost of checking
const tars = [...Deno.readDirSync(join(work, "shards"))].map((e) => e.name)
  .filter((f) => f.endsWith(".tar")).sort().map((f) => join(work, "shards", f));
const bytes = tars.reduce((a, f) => a + Deno.statSync(f).size, 0);
const card = join(work, "card.md");
const tarsPer = (s: Split) => Math.ceil(counts[s] / perShard);
await Deno.writeTextFile(
  card,
  scale === 1 && perShard === 10000
    ? await Deno.readTextFile(join(REPO, "data", "clip-kinetics700-card.md"))
    : syntheticCard(
      Object.fromEntries(SPLITS.map((s) => [s, { samples: counts[s], tars: tarsPer(s) }])),
    ),
);
const verifyRun = await timed([
  deno,
  "run",
  "-A",
  "tasks/verify.ts",
  "--work",
  work,
  "--card",
  card,
  "--quiet",
]);
const shaRun = await timed(["sha256sum", ...tars]);

const mbps = (t: Timed) => (bytes / 1e6 / t.seconds).toFixed(0);
const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ?? "?";
const lines = [
  `## shard + verify at scale ${scale} (${new Date().toISOString().slice(0, 10)})`,
  "",
  `${SPLITS.map((s) => `${s} ${counts[s]}`).join(", ")} samples × ${frames} frames float16; ` +
  `${tars.length} tars, ${(bytes / 1e9).toFixed(2)} GB. ${navigator.hardwareConcurrency} cores ` +
  `(${cpu}), page cache warm for verify and sha256sum (both read the same files after shard).`,
  "",
  "| step | exit | time (s) | MB/s | peak RSS (MB) |",
  "|---|---|---|---|---|",
  `| make inputs | 0 | ${inputSeconds.toFixed(1)} | | |`,
  `| shard | ${shardRun.code} | ${shardRun.seconds.toFixed(1)} | ${mbps(shardRun)} | ${
    shardRun.maxRssMB.toFixed(0)
  } |`,
  `| shard rerun (all kept) | ${rerun.code} | ${rerun.seconds.toFixed(1)} | ${mbps(rerun)} | ${
    rerun.maxRssMB.toFixed(0)
  } |`,
  `| verify | ${verifyRun.code} | ${verifyRun.seconds.toFixed(1)} | ${mbps(verifyRun)} | ${
    verifyRun.maxRssMB.toFixed(0)
  } |`,
  `| sha256sum | ${shaRun.code} | ${shaRun.seconds.toFixed(1)} | ${mbps(shaRun)} | ${
    shaRun.maxRssMB.toFixed(0)
  } |`,
  "",
  `verify / sha256sum throughput: ${(shaRun.seconds / verifyRun.seconds).toFixed(2)}× ` +
  `(target ≥ 0.5×); verify ${verifyRun.code === 0 ? "passed" : "FAILED"}.`,
  "",
];
console.log(lines.join("\n"));
if (verifyRun.code !== 0) console.log(verifyRun.stdout.split("\n").slice(0, 40).join("\n"));
if (!flags["no-record"]) {
  await Deno.writeTextFile(join(REPO, "bench", "RESULTS.md"), lines.join("\n") + "\n", {
    append: true,
  });
}
