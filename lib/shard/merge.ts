/**
 * Merge: joins the manifests of a scale-out run's workers (`<work>/workers/<k>/manifest.db`) into
 * `<work>/manifest.db`, after checking that every shard of the plan is in `<work>/shards/` exactly
 * once, written by the worker that owns it and matching that worker's record; then writes
 * `splits.csv` and `manifest.json`, so that `verify --work <work>` checks the set as it would a
 * single run's. Nothing is merged when any check fails: the refusal names each shard at fault.
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  ConfigError,
  fileSize,
  pathExists,
  ProblemListError,
  Progress,
  removeStaleTemps,
  sha256File,
  type Split,
  SPLITS,
  TEMP_SUFFIX,
  WorkDirBusyError,
} from "../base/mod.ts";
import {
  type ArchiveRow,
  type ConfigValue,
  ensureWorkDir,
  lockWorkDir,
  Manifest,
  readSetting,
  RUN_SETTINGS,
  type RunConfig,
  settingOrDefault,
  type ShardRow,
  STEPS,
  type VideoRow,
  type WorkDirLock,
} from "../core/mod.ts";
import { planShards, type ShardPlan } from "./plan.ts";
import type { SplitShardSummary } from "./shard.ts";
import { removeUnplannedShards, writeSetFiles } from "./shard_set_files.ts";
import { holdWorkerRun, workerDir } from "./worker.ts";
import type { CardSource } from "./card_source.ts";

/** Options of `merge()`. */
export interface MergeOptions {
  /** The shared work dir: `workers/<k>/` inside it, shards in `shards/`. */
  work: string;
  /** How many workers the run had (default: what their manifests say). */
  workers?: number;
  /** Print no progress lines. */
  quiet?: boolean;
  /** The card's license, source datasets and citations (absent: what the card said before). */
  cardSource?: CardSource;
  /** Only check (the same checks, the same refusals) and write none of the outputs. */
  check?: boolean;
}

/** What a merge did. */
export interface MergeSummary {
  /** The merged manifest. */
  manifest: string;
  /** The shards folder. */
  shardsDir: string;
  /** How many workers were merged. */
  workers: number;
  /** Per split: samples and tars, and failed videos packed with 0 frames (`empty`). */
  splits: Record<Split, Required<SplitShardSummary>>;
  /** Videos in the merged manifest. */
  videos: number;
  /** Shard files not in the plan (of an earlier, larger plan) that were removed. */
  removed: string[];
  /** Stale temp files removed from the shards folder. */
  staleTemps: number;
  /** The videos that failed a step (packed with 0 frames), with why. */
  failures: { id: string; error: string }[];
}

/** A merge was refused; `problems` says why, one line each, naming the shard or worker. */
export class MergeError extends ProblemListError {
  /** The error class name, shown in messages. */
  override name = "MergeError";

  /**
   * Builds the message: a summary line, then one problem a line (at most 50).
   * @param work the work dir
   * @param problems what is wrong
   */
  constructor(work: string, problems: string[]) {
    super(
      `cannot merge ${work}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`,
      problems,
      MAX_LISTED,
    );
  }
}

const MAX_LISTED = 50;

/** One worker's side of the merge. */
interface WorkerPart {
  index: number;
  dir: string;
  manifest: Manifest;
  config: RunConfig;
  lock: WorkDirLock;
}

/** Config keys that differ between workers by design. */
const PER_WORKER_KEYS = new Set([RUN_SETTINGS.worker.key]);

function sameValue(a: ConfigValue | undefined, b: ConfigValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The worker slots present: numeric folder names under `<work>/workers`. */
async function workerSlots(work: string): Promise<number[]> {
  const out: number[] = [];
  try {
    for await (const e of Deno.readDir(join(work, "workers"))) {
      if (e.isDirectory && /^\d+$/.test(e.name)) out.push(Number(e.name));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort((a, b) => a - b);
}

/**
 * Merges the worker manifests of a work dir and writes the set's `splits.csv` and
 * `manifest.json`. Every worker must have finished (a worker still running is refused), and the
 * result replaces `<work>/manifest.db` as a whole, so a merge can be run again after a worker was
 * rerun.
 * @param opts the work dir and, optionally, the worker count
 * @returns what was merged
 * @throws MergeError naming each shard (or worker) at fault; WorkDirBusyError when a worker is
 *   still running
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { buildVisionModel } from "../onnx/mod.ts";
 * import { runPipeline } from "../run.ts";
 * import { merge } from "./merge.ts";
 * const dir = await Deno.makeTempDir();
 * // a 3-second test video, and a video list naming it (path,label,split)
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-f", "lavfi", "-i", "testsrc2=duration=3:size=320x240:rate=10", join(dir, "clip.mp4")],
 * }).output();
 * await Deno.writeTextFile(join(dir, "videos.csv"), "path,label,split\nclip.mp4,abseiling,train\n");
 * const model = join(dir, "vision.onnx");
 * await Deno.writeFile(model, (await buildVisionModel({ size: "tiny" })).bytes);
 * const work = join(dir, "work"); // on a cluster: a shared folder, one job array step each
 * for (const index of [0, 1]) {
 *   await runPipeline({
 *     work,
 *     worker: { index, count: 2 },
 *     download: { videos: [join(dir, "videos.csv")], quiet: true },
 *     sampleEncode: { model, providers: ["cpu"], quiet: true },
 *     shard: { quiet: true },
 *     log: () => {},
 *   });
 * }
 * const m = await merge({ work, quiet: true });
 * strictEqual(m.workers, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function merge(opts: MergeOptions): Promise<MergeSummary> {
  const layout = await ensureWorkDir(opts.work);
  const work = layout.root;
  const lock = await lockWorkDir(work, {
    onWait: (h) => console.error(`waiting for ${h} to finish ...`),
  });
  const parts: WorkerPart[] = [];
  try {
    // hold every worker's lock, so none starts (or is still running) while it is merged
    for (const k of await workerSlots(work)) {
      const dir = workerDir(work, k);
      const path = join(dir, "manifest.db");
      if (!(await pathExists(path))) continue;
      const busy = (e: unknown): never => {
        if (!(e instanceof WorkDirBusyError)) throw e;
        throw new WorkDirBusyError(
          `worker ${k} is still running (${dir} is locked): merge when every worker is done`,
        );
      };
      // a worker holds worker.lock for its whole run, the work dir's lock only within a step
      const run = await holdWorkerRun(dir, `worker ${k}`).catch(busy);
      const wl = await lockWorkDir(dir, { wait: false }).then((l) => ({
        release() {
          l.release();
          run.release();
        },
      }), (e) => {
        run.release();
        return busy(e);
      });
      let m: Manifest;
      try {
        m = Manifest.open(path);
      } catch (e) {
        wl.release();
        throw e;
      }
      parts.push({ index: k, dir, manifest: m, config: m.config(), lock: wl });
    }
    await refuseSingleRun(layout.manifest);
    return await mergeLocked(work, layout.manifest, layout.shards, parts, opts);
  } finally {
    for (const p of parts) {
      p.manifest.close();
      p.lock.release();
    }
    lock.release();
  }
}

/** Each split's planned counts, with nothing failed, unencoded or empty yet. */
function planSplits(plan: ShardPlan): Record<Split, Required<SplitShardSummary>> {
  return Object.fromEntries(
    SPLITS.map((s) => [s, { ...plan.totals[s], failed: 0, notEncoded: 0, empty: 0 }]),
  ) as Record<Split, Required<SplitShardSummary>>;
}

async function mergeLocked(
  work: string,
  manifestPath: string,
  shardsDir: string,
  parts: WorkerPart[],
  opts: MergeOptions,
): Promise<MergeSummary> {
  if (parts.length === 0) {
    throw new MergeError(work, [
      `no worker manifests under ${join(work, "workers")}: run the workers first ` +
      "(run --worker K/N)",
    ]);
  }
  const n = checkWorkers(work, parts, opts.workers);
  const { rows, plan, seed, perShard } = commonPlan(work, parts);
  const shardRows = await checkShards(work, shardsDir, parts, plan, n, opts.quiet ?? false);
  if (opts.check) {
    // what merge would merge, no output written: how `submit.sh --resume` knows nothing is missing
    const splits = planSplits(plan);
    return {
      manifest: manifestPath,
      shardsDir,
      workers: n,
      splits,
      videos: rows.length,
      removed: [],
      staleTemps: 0,
      failures: [],
    };
  }
  await writeMergedManifest(work, manifestPath, parts, rows, plan, n, shardRows);

  // the shared folder: files of another plan and temps of killed workers go
  const staleTemps = await removeStaleTemps(shardsDir);
  const removed = await removeUnplannedShards(shardsDir, new Set(plan.shards.map((s) => s.file)));

  const m = Manifest.open(manifestPath);
  try {
    const splits = planSplits(plan);
    for (const v of m.steps.videoSteps("encode")) {
      if (v.state !== "done") splits[v.split].empty++;
    }
    const failures = STEPS.flatMap((step) =>
      m.steps.failures(step).map((f) => ({ id: f.id, error: `${step}: ${f.error}` }))
    );
    await writeSetFiles(shardsDir, plan, {
      ...m.export(),
      plan: { seed, perShard, workers: n, splits },
    }, opts.cardSource);
    return {
      manifest: manifestPath,
      shardsDir,
      workers: n,
      splits,
      videos: rows.length,
      removed,
      staleTemps,
      failures,
    };
  } finally {
    m.close();
  }
}

/**
 * The workers agree on their count (and the flag, when given), each sits in its own slot, and
 * all ran with one configuration (model, fps, preset, dtype, seed, shard size...).
 * @returns the worker count
 */
function checkWorkers(work: string, parts: WorkerPart[], flag: number | undefined): number {
  const counts = new Set<unknown>(parts.map((p) => readSetting(p.config, "workers")));
  if (flag !== undefined) counts.add(flag);
  if (counts.size !== 1 || typeof [...counts][0] !== "number") {
    throw new MergeError(
      work,
      parts.map((p) =>
        `worker ${p.index}: made as worker ${readSetting(p.config, "worker")}/` +
        `${readSetting(p.config, "workers")}`
      )
        .concat(flag !== undefined ? [`--workers ${flag}`] : [])
        .concat(["the workers disagree on the worker count: rerun them with the same N"]),
    );
  }
  const n = [...counts][0] as number;
  const problems: string[] = [];
  for (const p of parts) {
    if (p.index >= n) {
      problems.push(`${p.dir}: worker ${p.index} does not exist among ${n} workers`);
    } else if (readSetting(p.config, "worker") !== p.index) {
      problems.push(
        `${p.dir}: its manifest was made by worker ${readSetting(p.config, "worker")}, ` +
          `not ${p.index}`,
      );
    }
  }
  const ref = parts[0];
  for (const p of parts.slice(1)) {
    const keys = new Set([...Object.keys(ref.config), ...Object.keys(p.config)]);
    const diffs = [...keys].filter((k) =>
      !PER_WORKER_KEYS.has(k) && !sameValue(ref.config[k], p.config[k])
    );
    if (diffs.length > 0) {
      problems.push(
        `worker ${p.index} ran with another configuration than worker ${ref.index}: ` +
          diffs.map((k) =>
            `${k} is ${JSON.stringify(p.config[k])} there, ${JSON.stringify(ref.config[k])}`
          ).join("; "),
      );
    }
  }
  if (problems.length > 0) throw new MergeError(work, problems);
  return n;
}

/** The plan every worker made: all must have planned over the same selection of videos. */
function commonPlan(
  work: string,
  parts: WorkerPart[],
): { rows: VideoRow[]; plan: ShardPlan; seed: number; perShard: number } {
  const ref = parts[0];
  const rows: VideoRow[] = [];
  for (const v of ref.manifest.steps.videoSteps("download")) {
    rows.push({
      id: v.id,
      split: v.split,
      label: v.label,
      youtubeId: v.youtubeId,
      timeStart: v.timeStart,
      timeEnd: v.timeEnd,
      source: v.source,
    });
  }
  const selection = selectionKey(rows);
  const problems: string[] = [];
  for (const p of parts.slice(1)) {
    const theirs: { id: string; split: Split }[] = [];
    for (const v of p.manifest.steps.videoSteps("download")) {
      theirs.push({ id: v.id, split: v.split });
    }
    if (selectionKey(theirs) !== selection) {
      problems.push(
        `worker ${p.index} planned over another selection of videos (${theirs.length}) than ` +
          `worker ${ref.index} (${rows.length}): rerun it with the same inputs, --splits, ` +
          "--per-class, --limit and --seed",
      );
    }
  }
  if (problems.length > 0) throw new MergeError(work, problems);
  const seed = settingOrDefault(ref.config, "shardSeed");
  const perShard = settingOrDefault(ref.config, "perShard");
  const plan: ShardPlan = planShards(rows, { seed, perShard });
  if (plan.shards.length === 0) throw new MergeError(work, ["the plan has no shards: no videos"]);
  return { rows, plan, seed, perShard };
}

/**
 * Every planned shard is recorded by its owner only, and its file is present and as recorded.
 * @returns the shard rows of the merged manifest
 */
async function checkShards(
  work: string,
  shardsDir: string,
  parts: WorkerPart[],
  plan: ShardPlan,
  n: number,
  quiet: boolean,
): Promise<ShardRow[]> {
  const present = new Set(parts.map((p) => p.index));
  const recorded = new Map<string, { worker: number; row: ShardRow }[]>();
  for (const p of parts) {
    for (const row of p.manifest.shards.all()) {
      const list = recorded.get(row.file) ?? [];
      list.push({ worker: p.index, row });
      recorded.set(row.file, list);
    }
  }
  const problems: string[] = [];
  const shardRows: ShardRow[] = [];
  const progress = new Progress("merge", plan.shards.length, { extraUnit: "MB", quiet });
  for (const s of plan.shards) {
    const owner = s.index % n;
    const by = recorded.get(s.file) ?? [];
    const rerun = `run --worker ${owner}/${n} again`;
    if (by.length !== 1) {
      problems.push(
        by.length > 1
          ? `${s.file}: produced by workers ${by.map((b) => b.worker).join(" and ")}; only ` +
            `worker ${owner}/${n} owns it (shard index ${s.index} mod ${n})`
          : present.has(owner)
          ? `${s.file}: missing: worker ${owner}/${n} has not written it (${rerun})`
          : `${s.file}: missing: worker ${owner}/${n} has not run (no ` +
            `${join(workerDir(work, owner), "manifest.db")}; ${rerun})`,
      );
      progress.tick(1, 0);
      continue;
    }
    const { worker, row } = by[0];
    const mismatch = worker !== owner
      ? `${s.file}: written by worker ${worker}, but worker ${owner}/${n} owns it`
      : row.index !== s.index || row.split !== s.split || row.samples !== s.size
      ? `${s.file}: worker ${worker} recorded shard ${row.index} (${row.split}, ${row.samples} ` +
        `samples), the plan has shard ${s.index} (${s.split}, ${s.size}) (${rerun})`
      : null;
    if (mismatch !== null) {
      problems.push(mismatch);
      progress.tick(1, 0);
      continue;
    }
    const problem = await fileProblem(
      join(shardsDir, s.file),
      row,
      shardsDir,
      worker,
      rerun,
      progress,
    );
    if (problem === null) shardRows.push(row);
    else problems.push(problem);
  }
  progress.finish();
  const planned = new Set(plan.shards.map((s) => s.file));
  for (const [file, by] of recorded) {
    if (!planned.has(file)) {
      problems.push(
        `${file}: recorded by worker ${by.map((b) => b.worker).join(", ")} but not in the plan ` +
          "(of another selection or shard size)",
      );
    }
  }
  if (problems.length > 0) throw new MergeError(work, problems);
  return shardRows;
}

/** Whether a shard file is the one its worker recorded; ticks the progress by its size. */
async function fileProblem(
  path: string,
  row: ShardRow,
  shardsDir: string,
  worker: number,
  rerun: string,
  progress: Progress,
): Promise<string | null> {
  const size = await fileSize(path);
  progress.tick(1, (size ?? 0) / 1e6);
  if (size === null) {
    return `${row.file}: recorded by worker ${worker} but not in ${shardsDir} (${rerun})`;
  }
  const sha = size === row.bytes ? await sha256File(path) : null;
  if (sha === row.sha256) return null;
  return `${row.file}: the file (${size} bytes` + (sha ? `, sha256 ${sha}` : "") +
    `) is not the one worker ${worker} recorded (${row.bytes} bytes, sha256 ` +
    `${row.sha256}): another run wrote it (${rerun})`;
}

/** The merged manifest: built beside the old one and renamed over it. */
async function writeMergedManifest(
  work: string,
  manifestPath: string,
  parts: WorkerPart[],
  rows: VideoRow[],
  plan: ShardPlan,
  n: number,
  shardRows: ShardRow[],
): Promise<void> {
  const owner = new Map<string, number>();
  for (const s of plan.shards) for (const id of s.videoIds) owner.set(id, s.index % n);
  const tmp = join(work, `.manifest.db.${Deno.pid}${TEMP_SUFFIX}`);
  await removeManifestTemps(work);
  const merged = Manifest.open(tmp);
  try {
    const config: RunConfig = { ...parts[0].config };
    for (const k of PER_WORKER_KEYS) delete config[k];
    merged.applyConfig(config, work);
    merged.videos.add(rows);
    const archives = new Map<string, ArchiveRow>();
    for (const p of parts) {
      merged.steps.putRecords(
        filterIter(p.manifest.steps.records(), (r) => owner.get(r.videoId) === p.index),
      );
      // an archive several workers fetched counts as done when one of them extracted it
      for (const a of p.manifest.archives.all()) {
        if (archives.get(a.url)?.state !== "done") archives.set(a.url, a);
      }
    }
    for (const a of archives.values()) merged.archives.put(a);
    merged.shards.replace(shardRows);
  } finally {
    merged.close();
  }
  for (const suffix of ["-wal", "-shm"]) await Deno.remove(manifestPath + suffix).catch(() => {});
  await Deno.rename(tmp, manifestPath);
}

/** A work dir whose own manifest holds a single (non-worker) run is not overwritten. */
async function refuseSingleRun(path: string): Promise<void> {
  if (!(await pathExists(path))) return;
  const m = Manifest.open(path);
  try {
    const c = m.steps.counts("download");
    if (readSetting(m.config(), "workers") === undefined && c.pending + c.done + c.failed > 0) {
      throw new ConfigError(
        `${path} holds a single run's manifest, not a merge's: merge into a work dir of its own`,
      );
    }
  } finally {
    m.close();
  }
}

/** Removes what a killed merge left: `.manifest.db.<pid>.partial` and its `-wal`/`-shm`. */
async function removeManifestTemps(work: string): Promise<void> {
  for await (const e of Deno.readDir(work)) {
    if (e.isFile && /^\.manifest\.db\.\d+\.partial(-wal|-shm|-journal)?$/.test(e.name)) {
      await Deno.remove(join(work, e.name)).catch(() => {});
    }
  }
}

/** A stand-in for the whole selection: a hash of its ids and splits in id order. */
function selectionKey(videos: readonly { id: string; split: Split }[]): string {
  const h = createHash("sha256");
  for (const v of videos) h.update(`${v.id}\t${v.split}\n`);
  return h.digest("hex");
}

function* filterIter<T>(items: Iterable<T>, keep: (item: T) => boolean): IterableIterator<T> {
  for (const x of items) if (keep(x)) yield x;
}
