/**
 * Fault injection: for each of download, sample, encode, shard and run, start the task the way a
 * user does (`deno task <step>`, through the permission launcher) on the fixture dataset, SIGKILL
 * its whole process group after a seeded random delay, run it again to completion, finish the
 * pipeline, and compare with a clean run: shards byte-identical, the manifest consistent with the
 * files (no `done` row without its file, no file the manifest does not count, none counted twice),
 * no temp files left. Prints a table (step, trials, identical, problems, kills that landed
 * mid-work); `--record` puts it at the top of `bench/RESULTS.md`.
 *
 * ```sh
 * deno run -A bench/faults.ts                       # 20 trials per step (about 45 min on 2 cores)
 * deno run -A bench/faults.ts --trials 3 --steps encode,shard
 * deno run -A bench/faults.ts --record
 * ```
 *
 * 15% of the kills land at a random moment before the step's first output (start-up, lock,
 * manifest, config); the rest at a random moment after the first output appeared in this very run,
 * spread over the time a clean run's outputs kept changing. The table says how many landed
 * mid-work (some but not all outputs written, or a temp file open) and how many came after the
 * step had already finished.
 * @module
 */
import { mulberry32, SPLITS } from "../lib/core/mod.ts";
import { createHash } from "node:crypto";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import {
  buildFixtureDataset,
  type FixtureDataset,
  type FixtureDatasetOptions,
  writeListsWithBase,
} from "../fixtures/dataset_builder.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { Manifest, STEPS } from "../lib/core/manifest.ts";
import { workDirLayout } from "../lib/core/work_dir.ts";
import { type FaultServer, startFaultServer } from "../tests/support/fault_server.ts";
import { recordTable } from "./results.ts";

/** The steps the harness kills. */
export const FAULT_STEPS = ["download", "sample", "encode", "shard", "run"] as const;
/** One of them. */
export type FaultStep = typeof FAULT_STEPS[number];

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The separate steps in pipeline order, and what each leaves for the next. */
const STAGES = ["download", "sample", "encode", "shard"] as const;
/** One of the separate steps. */
export type Stage = typeof STAGES[number];

/** Where each step writes its outputs (watched to time the kill and to judge where it landed). */
const OUTPUT_DIRS: Record<FaultStep, string[]> = {
  download: ["downloads", "videos"],
  sample: ["frames"],
  encode: ["emb"],
  shard: ["shards"],
  run: ["downloads", "videos", "emb", "shards"],
};

/** The share of kills sent before the step's first output (the rest land during its work). */
const EARLY_KILLS = 0.15;

/** Names of files a killed run may leave and a finished one must not. */
const TEMP_FILE = /\.partial$|\.part$|\.part\.json$/;

/** Options of the bench. */
export interface FaultBenchOptions {
  /** Folder for the dataset, the work dir and the snapshots (created; default a temp dir). */
  dir?: string;
  /** Videos per class: default train 2, val 1, test 1 (33 videos with the real clip). */
  perClass?: { train: number; val: number; test: number };
  /** Samples per shard (default 2: many shards, many commit points). */
  perShard?: number;
  /** Frames per encoder batch (default 8). */
  batch?: number;
  /** Download throttle per transfer: bytes per 50 ms (default 8192, about 160 kB/s). */
  throttleBytes?: number;
  /** Other fixture dataset options (classes, durations, the real clip). */
  dataset?: Omit<FixtureDatasetOptions, "quiet">;
  /** Also time and keep a clean `run` (default true; needed for `run` trials). */
  withRun?: boolean;
  /** Progress lines go here (default stderr). */
  log?: (line: string) => void;
}

/** What a clean run produced, to compare with. */
interface Reference {
  /** sha256 of every file in shards/ (tars, splits.csv). */
  shards: Map<string, string>;
  /** Per video: download sha256, frame count, encode sha256. */
  videos: Map<string, string>;
}

/** A prepared bench: dataset, models, HTTP server, snapshots and references. */
export interface FaultBench {
  /** Its folder. */
  dir: string;
  /** The work dir every trial uses (manifest rows hold absolute paths, so it never moves). */
  work: string;
  /** The fixture dataset. */
  dataset: FixtureDataset;
  /** The server the archives come from (throttled). */
  server: FaultServer;
  /** Task arguments per step. */
  args: Record<FaultStep, string[]>;
  /** Work dir snapshots: the state before sample, encode and shard. */
  snapshots: Partial<Record<Stage, string>>;
  /** The clean separate-step run and the clean `run`. */
  reference: { steps: Reference; run: Reference };
  /** Calibration: when its outputs first and last changed, its end, the outputs it leaves. */
  timing: Partial<Record<FaultStep, StepTiming>>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** When a clean step writes: its first output, its end, and the output files it leaves. */
export interface StepTiming {
  /** Seconds from start to the first new file in its output folders. */
  first: number;
  /** Seconds from start to the last change in its output folders. */
  last: number;
  /** Seconds from start to its end. */
  end: number;
  /** Output files in its folders at the end (temp files and splits.csv/manifest.json aside). */
  outputs: number;
}

/** What one trial found. */
export interface TrialResult {
  /** The step killed. */
  step: FaultStep;
  /** Seconds after start the kill was sent. */
  delay: number;
  /** The step had finished before the kill. */
  finishedFirst: boolean;
  /** The kill landed with some but not all outputs written, or a temp file open. */
  midWork: boolean;
  /** Shards byte-identical to the clean run's. */
  identical: boolean;
  /** Everything found wrong (empty: a clean trial). */
  problems: string[];
}

/** Runs a task as a user does, in its own process group (so a kill reaches every process). */
function startTask(
  step: FaultStep | Stage,
  args: string[],
  output: "piped" | "null" = "piped",
): Deno.ChildProcess {
  return new Deno.Command("setsid", {
    args: ["deno", "task", "--quiet", step, ...args],
    cwd: REPO,
    stdin: "null",
    stdout: output,
    stderr: output,
  }).spawn();
}

/**
 * Runs a task to completion as a user does (`deno task <step> ...`), failing on a non-zero exit.
 * @param step the task
 * @param args its arguments
 */
export async function runTask(step: FaultStep | Stage, args: string[]): Promise<void> {
  const out = await startTask(step, args).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`deno task ${step} exited ${out.code}:\n${text.slice(-3000)}`);
  }
}

async function sh(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Makes `dest` a copy of `source` (absent `source`: no `dest` at all). */
async function restore(source: string | null, dest: string): Promise<void> {
  await Deno.remove(dest, { recursive: true }).catch(() => {});
  if (source !== null) await sh("cp", ["-a", source, dest]);
}

/**
 * Puts the bench's work dir back to the state before a step (`download`: no work dir at all).
 * @param bench the prepared bench
 * @param step the step about to run
 */
export async function resetWorkDir(bench: FaultBench, step: Stage): Promise<void> {
  await restore(bench.snapshots[step] ?? null, bench.work);
}

/** Every file under a folder, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

async function captureReference(work: string): Promise<Reference> {
  const shardsDir = workDirLayout(work).shards;
  const shards = new Map<string, string>();
  for (const f of await filesUnder(shardsDir)) {
    if (f.endsWith(".tar") || f === "splits.csv") shards.set(f, await sha256(join(shardsDir, f)));
  }
  const videos = new Map<string, string>();
  const m = Manifest.open(workDirLayout(work).manifest, { readOnly: true });
  try {
    for (const v of m.videos.list()) {
      const s = v.steps;
      videos.set(
        v.id,
        [s.download?.sha256, s.sample?.frames, s.encode?.sha256].map((x) => x ?? "-").join(" "),
      );
    }
  } finally {
    m.close();
  }
  return { shards, videos };
}

/** Runs `fn` while watching the step's output folders: seconds to the first new file and to end. */
async function timed(
  work: string,
  step: FaultStep,
  fn: () => Promise<void>,
): Promise<StepTiming> {
  const dirs = OUTPUT_DIRS[step].map((d) => join(work, d));
  const listing = async () => (await Promise.all(dirs.map(filesUnder))).flat().join("\n");
  const before = await listing();
  const t0 = performance.now();
  let first = -1, last = -1;
  let done = false;
  const watch = (async () => {
    let previous = before;
    while (!done) {
      const now = await listing();
      if (now !== previous) {
        last = (performance.now() - t0) / 1000;
        if (first < 0) first = last;
        previous = now;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await fn();
  const end = (performance.now() - t0) / 1000;
  done = true;
  await watch;
  const outputs = (await outputsNow(work, step)).done;
  first = first < 0 ? 0 : Math.min(first, end);
  return { first, last: last < 0 ? end : Math.max(first, Math.min(last, end)), end, outputs };
}

/**
 * Builds the dataset and the models, serves the archives, makes the snapshots and the clean
 * references, and times each step.
 * @param opts sizes and folders
 * @returns the prepared bench; `close()` it at the end
 */
export async function prepareFaultBench(opts: FaultBenchOptions = {}): Promise<FaultBench> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "kinembed-faults-" });
  await Deno.mkdir(dir, { recursive: true });
  log(`faults: dataset and models in ${dir}`);
  const dataset = await buildFixtureDataset(join(dir, "dataset"), {
    perClass: opts.perClass ?? { train: 2, val: 1, test: 1 },
    ...opts.dataset,
    quiet: true,
  });
  const models = await ensureFixtureModels(join(REPO, "fixtures", "models"), "tiny");
  const server = startFaultServer(dataset.root);
  for (const a of dataset.archives) {
    server.fault(`/${a.path}`, {
      kind: "throttle",
      chunkBytes: opts.throttleBytes ?? 8192,
      intervalMs: 50,
    });
  }
  const lists = await writeListsWithBase(dataset, server.url + "/", join(dir, "lists"));
  const work = join(dir, "work");
  const perShard = String(opts.perShard ?? 2);
  const batch = String(opts.batch ?? 8);
  const inputs = [
    ...SPLITS.flatMap((s) => ["--annotations", join(dataset.root, dataset.annotations[s])]),
    ...SPLITS.flatMap((s) => ["--archives", lists[s]]),
  ];
  const model = ["--model", models.vision, "--providers", "cpu", "--batch", batch];
  const w = ["--work", work, "--quiet"];
  const args: Record<FaultStep, string[]> = {
    download: [...w, ...inputs, "--retry-delay", "0.2"],
    sample: [...w],
    encode: [...w, ...model],
    shard: [...w, "--per-shard", perShard],
    run: [...w, ...inputs, ...model, "--per-shard", perShard],
  };
  const snapshots: Partial<Record<Stage, string>> = {};
  const timing: Partial<Record<FaultStep, StepTiming>> = {};
  await restore(null, work);
  for (const stage of STAGES) {
    // the state before download is a work dir that does not exist yet
    if (stage !== "download") {
      snapshots[stage] = join(dir, `before-${stage}`);
      await restore(work, snapshots[stage]!);
    }
    timing[stage] = await timed(work, stage, () => runTask(stage, args[stage]));
    log(`faults: clean ${stage}: ${timing[stage]!.end.toFixed(2)} s`);
  }
  const steps = await captureReference(work);
  let run = steps;
  if (opts.withRun ?? true) {
    await restore(null, work);
    timing.run = await timed(work, "run", () => runTask("run", args.run));
    log(`faults: clean run: ${timing.run.end.toFixed(2)} s`);
    run = await captureReference(work);
  }
  return {
    dir,
    work,
    dataset,
    server,
    args,
    snapshots,
    reference: { steps, run },
    timing,
    close: () => server.close(),
  };
}

/**
 * Checks a finished work dir against a reference: shards identical, manifest and files agreeing,
 * no temp files.
 * @param work the work dir
 * @param ref the clean run's outputs
 * @returns whether the shards are identical, and every problem found
 */
export async function checkWorkDir(
  work: string,
  ref: Reference,
): Promise<{ identical: boolean; problems: string[] }> {
  const problems: string[] = [];
  const l = workDirLayout(work);
  // shards byte-identical
  const got = await captureReference(work);
  let identical = got.shards.size === ref.shards.size;
  for (const [f, h] of ref.shards) {
    if (got.shards.get(f) !== h) {
      identical = false;
      problems.push(
        `shards/${f} ${got.shards.has(f) ? "differs from" : "missing, present in"} the clean run`,
      );
    }
  }
  for (const f of got.shards.keys()) {
    if (!ref.shards.has(f)) {
      identical = false;
      problems.push(`shards/${f} is not in the clean run`);
    }
  }
  for (const [id, want] of ref.videos) {
    const have = got.videos.get(id);
    if (have !== want) {
      problems.push(
        `${id}: download sha, frames, encode sha ${have ?? "(no row)"}; clean run ${want}`,
      );
    }
  }
  // every done row's file is there; every file is counted once
  const m = Manifest.open(l.manifest, { readOnly: true });
  const counted = new Map<string, string>();
  const count = (path: string, what: string) => {
    const prev = counted.get(path);
    if (prev !== undefined) problems.push(`${path} counted twice: ${prev} and ${what}`);
    counted.set(path, what);
  };
  try {
    for (const v of m.videos.list()) {
      for (const step of STEPS) {
        const r = v.steps[step];
        if (r?.state !== "done") {
          problems.push(`${v.id}: ${step} is ${r?.state ?? "pending"} after a completed rerun`);
          continue;
        }
        if (r.path === null) {
          if (step !== "sample") problems.push(`${v.id}: ${step} done without a path`);
          continue;
        }
        if (!(await Deno.stat(r.path).then((s) => s.isFile, () => false))) {
          problems.push(`${v.id}: ${step} done but ${r.path} is missing`);
        }
        count(r.path, `${v.id} ${step}`);
      }
    }
    for (const s of m.shards.all()) {
      const path = join(l.shards, s.file);
      const st = await Deno.stat(path).catch(() => null);
      if (!st) problems.push(`shard row ${s.file}: file missing`);
      else if (st.size !== s.bytes || (await sha256(path)) !== s.sha256) {
        problems.push(`shard row ${s.file}: size or sha256 differ from the file`);
      }
      count(path, `shard ${s.file}`);
    }
  } finally {
    m.close();
  }
  for (
    const [sub, allowed] of [
      [l.videos, null],
      [l.frames, null],
      [l.emb, null],
      [l.shards, /^(splits\.csv|manifest\.json|README\.md)$/],
      [l.downloads, null],
    ] as [string, RegExp | null][]
  ) {
    for (const f of await filesUnder(sub)) {
      const path = join(sub, f);
      if (TEMP_FILE.test(f)) problems.push(`temp file left: ${relative(work, path)}`);
      else if (!counted.has(path) && !(allowed?.test(f) ?? false)) {
        problems.push(`${relative(work, path)} is not counted by the manifest`);
      }
    }
  }
  for (const f of await filesUnder(work)) {
    if (TEMP_FILE.test(f) && !/^(videos|frames|emb|shards|downloads)\//.test(f)) {
      problems.push(`temp file left: ${f}`);
    }
  }
  return { identical, problems };
}

/** How far the killed step had got: its outputs and open temp files. */
async function outputsNow(
  work: string,
  step: FaultStep,
): Promise<{ done: number; temps: number; files: number }> {
  const files = (await Promise.all(OUTPUT_DIRS[step].map((d) => filesUnder(join(work, d))))).flat();
  const temps = files.filter((f) => TEMP_FILE.test(f)).length;
  const done = files.filter((f) => !TEMP_FILE.test(f) && !/(splits\.csv|manifest\.json)$/.test(f))
    .length;
  return { done, temps, files: files.length };
}

/**
 * One trial: restore the state before the step, start it, SIGKILL it after a random delay, run it
 * again to completion, finish the pipeline, check.
 * @param bench the prepared bench
 * @param step the step to kill
 * @param random a seeded source of delays in [0, 1)
 * @param opts `afterOutputs`: kill as soon as that many new files are in the step's output
 *   folders, instead of at a random moment (a test that needs the kill to land mid-work)
 * @returns what the trial found
 */
export async function runTrial(
  bench: FaultBench,
  step: FaultStep,
  random: () => number,
  opts: { afterOutputs?: number } = {},
): Promise<TrialResult> {
  const stage: Stage = step === "run" ? "download" : step;
  const t = bench.timing[step];
  if (t === undefined) throw new Error(`the bench was prepared without ${step}`);
  await restore(bench.snapshots[stage] ?? null, bench.work);
  const before = await outputsNow(bench.work, step);
  const u = random();
  // no pipes: a task must not die of a closed pipe before the kill
  const t0 = performance.now();
  const child = startTask(step, bench.args[step], "null");
  let ended = false;
  let finishedFirst = false;
  const status = child.status.then((s) => {
    ended = true;
    finishedFirst = !s.signal;
    return s;
  });
  const sleep = (s: number) =>
    Promise.race([status, new Promise((r) => setTimeout(r, Math.max(0, s) * 1000))]);
  if (opts.afterOutputs !== undefined) {
    const dirs = OUTPUT_DIRS[step].map((d) => join(bench.work, d));
    while (!ended) {
      const files = (await Promise.all(dirs.map(filesUnder))).flat();
      if (files.length >= before.files + opts.afterOutputs) break;
      await new Promise((r) => setTimeout(r, 2));
    }
  } else if (u < EARLY_KILLS) {
    // some kills land before any output: start-up, manifest migration, config checks
    await sleep((u / EARLY_KILLS) * t.first);
  } else {
    // the rest land after the step's first output, spread over the time its outputs changed
    const dirs = OUTPUT_DIRS[step].map((d) => join(bench.work, d));
    while (!ended) {
      const files = (await Promise.all(dirs.map(filesUnder))).flat();
      if (files.length > before.files) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    await sleep(((u - EARLY_KILLS) / (1 - EARLY_KILLS)) * (t.last - t.first));
  }
  const delay = (performance.now() - t0) / 1000;
  if (!ended) {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* ended just now */ }
  }
  await status;
  const at = await outputsNow(bench.work, step);
  const midWork = !finishedFirst &&
    (at.temps > 0 || (at.done > before.done && at.done < t.outputs));
  const problems: string[] = [];
  try {
    await runTask(step, bench.args[step]);
    if (step !== "run") {
      for (const next of STAGES.slice(STAGES.indexOf(stage) + 1)) {
        await runTask(next, bench.args[next]);
      }
    }
  } catch (e) {
    problems.push(`rerun failed: ${(e as Error).message.split("\n").slice(0, 6).join(" | ")}`);
    return { step, delay, finishedFirst, midWork, identical: false, problems };
  }
  const check = await checkWorkDir(
    bench.work,
    step === "run" ? bench.reference.run : bench.reference.steps,
  );
  return {
    step,
    delay,
    finishedFirst,
    midWork,
    identical: check.identical,
    problems: check.problems,
  };
}

/** The summary of one step's trials. */
export interface StepSummary {
  /** The step. */
  step: FaultStep;
  /** Trials run. */
  trials: number;
  /** Trials whose shards were byte-identical to the clean run's. */
  identical: number;
  /** Trials with at least one problem. */
  withProblems: number;
  /** Trials whose kill landed mid-work. */
  midWork: number;
  /** Trials where the step finished before the kill. */
  finishedFirst: number;
  /** Clean duration of the step in seconds (calibration). */
  seconds: number;
  /** The problems, prefixed with the trial number. */
  problems: string[];
}

/**
 * The results as a Markdown table.
 * @param rows one summary per step
 * @returns the table
 */
export function formatFaultTable(rows: StepSummary[]): string {
  const lines = [
    "| step | trials | identical | problems | kill mid-work | finished before kill | clean run (s) |",
    "|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.step} | ${r.trials} | ${r.identical}/${r.trials} | ${r.withProblems} | ${r.midWork} | ` +
        `${r.finishedFirst} | ${r.seconds.toFixed(2)} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      trials: { type: "string", default: "20" },
      steps: { type: "string", default: FAULT_STEPS.join(",") },
      seed: { type: "string", default: "1" },
      dir: { type: "string" },
      record: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "usage: deno run -A bench/faults.ts [--trials 20] [--steps " + FAULT_STEPS.join(",") +
        "] [--seed 1] [--dir DIR] [--keep] [--record]\n\n" +
        "SIGKILL each step at seeded random moments on the fixture dataset, rerun to completion, " +
        "compare with a clean run (shards byte-identical, manifest consistent with the files, no " +
        "temp files). --dir keeps the dataset and work dirs there (reused by the next run); " +
        "--keep keeps the temp dir; --record puts the table at the top of bench/RESULTS.md.",
    );
    Deno.exit(0);
  }
  const trials = Number(values.trials);
  const steps = values.steps!.split(",").map((s) => s.trim()) as FaultStep[];
  for (const s of steps) {
    if (!FAULT_STEPS.includes(s)) throw new Error(`unknown step ${s}; known: ${FAULT_STEPS}`);
  }
  const random = mulberry32(Number(values.seed));
  const bench = await prepareFaultBench({ dir: values.dir, withRun: steps.includes("run") });
  const rows: StepSummary[] = [];
  try {
    for (const step of steps) {
      const row: StepSummary = {
        step,
        trials: 0,
        identical: 0,
        withProblems: 0,
        midWork: 0,
        finishedFirst: 0,
        seconds: bench.timing[step]!.end,
        problems: [],
      };
      for (let i = 1; i <= trials; i++) {
        const r = await runTrial(bench, step, random);
        row.trials++;
        if (r.identical) row.identical++;
        if (r.problems.length > 0) row.withProblems++;
        if (r.midWork) row.midWork++;
        if (r.finishedFirst) row.finishedFirst++;
        row.problems.push(
          ...r.problems.map((p) => `${step} #${i} (kill at ${r.delay.toFixed(2)} s): ${p}`),
        );
        console.error(
          `faults: ${step} #${i}: kill at ${r.delay.toFixed(2)} s` +
            `${r.finishedFirst ? " (had finished)" : r.midWork ? " (mid-work)" : ""}, ` +
            `${r.identical ? "identical" : "DIFFERENT"}, ${r.problems.length} problems`,
        );
        for (const p of r.problems.slice(0, 5)) console.error(`  ${p}`);
      }
      rows.push(row);
    }
  } finally {
    await bench.close();
    if (!values.keep && values.dir === undefined) await Deno.remove(bench.dir, { recursive: true });
  }
  const table = formatFaultTable(rows);
  console.log(table);
  const problems = rows.flatMap((r) => r.problems);
  if (problems.length > 0) {
    console.log(`\n${problems.length} problems:`);
    for (const p of problems.slice(0, 50)) console.log(`- ${p}`);
  }
  if (values.record) {
    const note = `Fixture dataset: ${bench.dataset.videos.length} videos ` +
      `(train 2, val 1, test 1 per class, plus the real clip), tiny models, 2 samples per shard, ` +
      `archives over HTTP throttled to about 160 kB/s per transfer. Each kill is a SIGKILL of ` +
      `the task's whole process group: 15% at a seeded random time before the step's first ` +
      `output, the rest at a seeded random time after its first output, spread over the time ` +
      `a clean run's outputs kept changing; the rerun runs to completion, then the rest of the ` +
      `pipeline. "kill mid-work": some but not all outputs were written, or a temp file was open. ` +
      `"identical": shards and splits.csv byte-identical to a clean run; "problems": trials with ` +
      `any done row without its file, file not counted or counted twice, temp file left, or ` +
      `per-video sha256 differing from the clean run.` +
      (problems.length
        ? `\n\nProblems:\n${problems.slice(0, 20).map((p) => `- ${p}`).join("\n")}`
        : "");
    await recordTable(
      "Fault injection: SIGKILL and rerun",
      `deno run -A bench/faults.ts ${Deno.args.join(" ")}`.trim(),
      table,
      note,
    );
  }
  Deno.exit(problems.length > 0 || rows.some((r) => r.identical < r.trials) ? 1 : 0);
}
