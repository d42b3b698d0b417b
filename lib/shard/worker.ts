/**
 * A scale-out worker: who it is (`--worker k/n`, a Slurm array task, a Kubernetes Indexed Job
 * pod), where its own work dir is, and which videos are its own.
 *
 * Worker k of n owns the shards whose index is `k` modulo `n` in a plan made over every selected
 * input row (not only the videos that later succeed), so every worker computes the same plan before
 * any video is processed. It works in `<work>/workers/<k>/` (or a local dir whose manifest it copies
 * there at the end) and writes its shards into the shared `<work>/shards/`; `merge` joins the
 * worker manifests. See docs/cluster.md.
 * @module
 */
import { join, resolve } from "node:path";
import { TEMP_SUFFIX, UsageError, WorkDirBusyError } from "../base/mod.ts";
import {
  ensureWorkDir,
  lockWorkDir,
  Manifest,
  recordSettings,
  RUN_SETTINGS,
  type RunSettings,
  type WorkDirLock,
} from "../core/mod.ts";
import { DEFAULT_PER_SHARD, planShards, type PlanVideo, shardsOfWorker } from "./plan.ts";

/** One worker of a scale-out run: worker `index` of `count`. */
export interface WorkerId {
  /** This worker, 0 ≤ index < count. */
  index: number;
  /** How many workers share the run. */
  count: number;
}

/** Reads an environment variable (`Deno.env.get` by default). */
export type EnvLookup = (name: string) => string | undefined;

/**
 * Holds `<slot>/worker.lock` for a worker's whole run, or refuses naming the process that holds
 * it. The OS drops it when the holder dies, even by SIGKILL.
 * @param slotDir the worker's slot, `<work>/workers/<k>`
 * @param who the worker as the message names it, e.g. `worker 3/4`
 * @returns the held lock
 * @throws WorkDirBusyError when another process of this worker runs
 */
export async function holdWorkerRun(
  slotDir: string,
  who: string,
): Promise<{ release(): void }> {
  const path = join(slotDir, "worker.lock");
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (!(await file.tryLock(true))) {
    file.close();
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim() || "another process";
    throw new WorkDirBusyError(
      `${who} is already running in ${slotDir} (${holder}); ` +
        "wait for it to end or stop it, then run it again",
    );
  }
  await file.truncate(0);
  // the host too where the task may ask for it (a shared file system is locked from many nodes)
  const host = Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted"
    ? ` on ${Deno.hostname()}`
    : "";
  await file.write(new TextEncoder().encode(`pid ${Deno.pid}${host}\n`));
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      file.close(); // closing drops the flock
    },
  };
}

/**
 * The worker as text.
 * @param w the worker
 * @returns `k/n`
 */
export function formatWorker(w: WorkerId): string {
  return `${w.index}/${w.count}`;
}

function wholeNumber(text: string, what: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
    throw new UsageError(`${what} must be a whole number ≥ 0, got ${JSON.stringify(text)}`);
  }
  return Number(t);
}

/**
 * Checks a worker index against the worker count.
 * @param index the worker
 * @param count how many
 * @param where what the numbers came from, for the message
 * @returns the worker
 * @throws UsageError when count < 1 or index ≥ count
 */
function checkWorker(index: number, count: number, where: string): WorkerId {
  if (count < 1) throw new UsageError(`${where}: the worker count must be ≥ 1, got ${count}`);
  if (index >= count) {
    throw new UsageError(
      `${where}: worker ${index} does not exist among ${count} workers (want 0 ≤ k < ${count})`,
    );
  }
  return { index, count };
}

/**
 * Parses `--worker k/n`.
 * @param value e.g. `3/16`
 * @returns the worker
 * @throws UsageError on anything but two whole numbers with k < n
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseWorker } from "./worker.ts";
 * deepStrictEqual(parseWorker("3/16"), { index: 3, count: 16 });
 * ```
 */
export function parseWorker(value: string): WorkerId {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new UsageError(`--worker takes K/N (e.g. 0/4), got ${JSON.stringify(value)}`);
  return checkWorker(
    wholeNumber(m[1], "--worker K"),
    wholeNumber(m[2], "--worker N"),
    `--worker ${value.trim()}`,
  );
}

/**
 * Finds out which worker this process is, from the flags or the scheduler's environment:
 * - `--worker k/n` (wins over the environment; `--workers`, when also given, must equal n);
 * - a Slurm job array task: `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` (0 when unset) of
 *   `SLURM_ARRAY_TASK_COUNT` (or `--workers`); the array must be one contiguous range without a
 *   step (`--array=0-15` or `1-16`, a `%` limit is fine);
 * - a Kubernetes Indexed Job pod: `JOB_COMPLETION_INDEX` of `--workers n` (the Job's
 *   `completions`), since Kubernetes does not put the completion count in the environment.
 * @param opts the `--worker` and `--workers` values and the environment
 * @returns the worker, or null when none of these is set (a single, non-worker run)
 * @throws UsageError when the values are malformed, contradict each other or k ≥ n
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { resolveWorker } from "./worker.ts";
 * // in an Indexed Job with completions: 8 (env defaults to the process environment)
 * const env = (name: string) => (name === "JOB_COMPLETION_INDEX" ? "5" : undefined);
 * deepStrictEqual(resolveWorker({ workers: 8, env }), { index: 5, count: 8 });
 * ```
 */
export function resolveWorker(
  opts: { worker?: string; workers?: number; env?: EnvLookup } = {},
): WorkerId | null {
  const env = opts.env ?? ((name: string) => Deno.env.get(name));
  const workers = opts.workers;
  if (workers !== undefined && (!Number.isSafeInteger(workers) || workers < 1)) {
    throw new UsageError(`--workers must be a whole number ≥ 1, got ${workers}`);
  }
  if (opts.worker !== undefined) {
    const w = parseWorker(opts.worker);
    if (workers !== undefined && workers !== w.count) {
      throw new UsageError(`--worker ${formatWorker(w)} contradicts --workers ${workers}`);
    }
    return w;
  }
  const slurmId = env("SLURM_ARRAY_TASK_ID");
  if (slurmId !== undefined && slurmId !== "") {
    const id = wholeNumber(slurmId, "SLURM_ARRAY_TASK_ID");
    const minText = env("SLURM_ARRAY_TASK_MIN");
    const min = minText ? wholeNumber(minText, "SLURM_ARRAY_TASK_MIN") : 0;
    const countText = env("SLURM_ARRAY_TASK_COUNT");
    const count = countText ? wholeNumber(countText, "SLURM_ARRAY_TASK_COUNT") : workers;
    if (count === undefined) {
      throw new UsageError(
        "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: give --workers N",
      );
    }
    if (workers !== undefined && workers !== count) {
      throw new UsageError(
        `--workers ${workers} contradicts SLURM_ARRAY_TASK_COUNT=${count}`,
      );
    }
    const maxText = env("SLURM_ARRAY_TASK_MAX");
    const step = env("SLURM_ARRAY_TASK_STEP");
    if (
      (maxText && wholeNumber(maxText, "SLURM_ARRAY_TASK_MAX") - min + 1 !== count) ||
      (step && step !== "1")
    ) {
      throw new UsageError(
        `the Slurm array is not one contiguous range (ids ${min}..${maxText ?? "?"}, ` +
          `${count} tasks${step && step !== "1" ? `, step ${step}` : ""}): ` +
          `submit with --array=0-${count - 1}, or give --worker K/N`,
      );
    }
    if (id < min) {
      throw new UsageError(`SLURM_ARRAY_TASK_ID=${id} is below SLURM_ARRAY_TASK_MIN=${min}`);
    }
    return checkWorker(
      id - min,
      count,
      `SLURM_ARRAY_TASK_ID=${id} (array ${min}..${min + count - 1})`,
    );
  }
  const jobIndex = env("JOB_COMPLETION_INDEX");
  if (jobIndex !== undefined && jobIndex !== "") {
    const index = wholeNumber(jobIndex, "JOB_COMPLETION_INDEX");
    if (workers === undefined) {
      throw new UsageError(
        `JOB_COMPLETION_INDEX=${index} is set (a Kubernetes Indexed Job): give --workers N, ` +
          "the Job's completions",
      );
    }
    return checkWorker(index, workers, `JOB_COMPLETION_INDEX=${index} with --workers ${workers}`);
  }
  if (workers !== undefined) {
    throw new UsageError(
      "--workers needs a worker index: --worker K/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX",
    );
  }
  return null;
}

/**
 * Where merge looks for worker k's manifest, and worker k's work dir unless it is given another.
 * @param work the shared work dir
 * @param index the worker
 * @returns `<work>/workers/<k>` (absolute)
 */
export function workerDir(work: string, index: number): string {
  return join(resolve(work), "workers", String(index));
}

/**
 * The run settings of a worker's work dir, so that a dir made as one worker is never reused as
 * another (or with another worker count).
 * @param w the worker
 * @returns the plan over every input, the worker's index and the worker count
 */
export function workerSettings(w: WorkerId): Pick<RunSettings, "shardPlan" | "worker" | "workers"> {
  return { shardPlan: "inputs", worker: w.index, workers: w.count };
}

/**
 * The videos of a worker's shards, in a plan made over every given video.
 * @param videos every video of the selection (id and split)
 * @param w the worker
 * @param plan the shard seed and size
 * @returns the ids of the videos worker k must process
 */
export function workerVideoIds(
  videos: readonly PlanVideo[],
  w: WorkerId,
  plan: { seed?: number; perShard?: number },
): Set<string> {
  const shards = shardsOfWorker(planShards(videos, plan), w.index, w.count);
  return new Set(shards.flatMap((s) => s.videoIds));
}

/**
 * Shard file names of a worker's temp files: `.ds_NNNNNN.tar.<pid>.partial` with NNNNNN ≡ k mod n.
 * @param name a file name in the shards folder
 * @param w the worker
 * @returns whether it is a temp file of one of the worker's shards
 */
export function isWorkerShardTemp(name: string, w: WorkerId): boolean {
  const m = /^\.ds_(\d+)\.tar\.\d+/.exec(name);
  return m !== null && name.endsWith(TEMP_SUFFIX) && Number(m[1]) % w.count === w.index;
}

/** A worker's claim on its work dir and, when that dir is elsewhere, on its place under `<work>`. */
export interface WorkerClaim {
  /** The worker's work dir (manifest, videos, emb). */
  workDir: string;
  /** `<work>/workers/<k>`: where merge reads its manifest. */
  slotDir: string;
  /**
   * Copies the worker's manifest to `<slot>/manifest.db` when its work dir is elsewhere (a
   * consistent snapshot, renamed into place); nothing otherwise.
   */
  publish(): Promise<void>;
  /** Releases the slot's lock. */
  release(): void;
}

/**
 * Claims a worker's work dir before it does anything: records the worker and the shard plan
 * settings in its run config (refusing a dir made as another worker, with another worker count,
 * seed or shard size), and, when the work dir is not `<work>/workers/<k>`, holds that slot's lock
 * for the whole run (so merge cannot read a manifest copy that is being replaced) and removes the
 * copy an earlier run left.
 * @param work the shared work dir (its `shards/` is the output)
 * @param w the worker
 * @param opts the shard seed and size, and a work dir other than the slot
 * @returns the claim; call `publish()` at the end and `release()` always
 */
export async function claimWorker(
  work: string,
  w: WorkerId,
  opts: { seed?: number; perShard?: number; workDir?: string },
): Promise<WorkerClaim> {
  const slotDir = workerDir(work, w.index);
  const workDir = opts.workDir ? resolve(opts.workDir) : slotDir;
  const separate = workDir !== slotDir;
  let slotLock: WorkDirLock | null = null;
  if (separate) {
    await Deno.mkdir(slotDir, { recursive: true });
    slotLock = await lockWorkDir(slotDir, { wait: false });
  } else {
    // the steps take the work dir's lock one at a time; this one is held for the whole run, so a
    // second process of the same worker (a requeued task beside the old one) never runs between them
    await Deno.mkdir(slotDir, { recursive: true });
    slotLock = await holdWorkerRun(slotDir, `worker ${formatWorker(w)}`);
  }
  try {
    const layout = await ensureWorkDir(workDir);
    const lock = await lockWorkDir(layout.root, { wait: false });
    try {
      const m = Manifest.open(layout.manifest);
      try {
        recordSettings(m, {
          shardSeed: opts.seed ?? RUN_SETTINGS.shardSeed.default,
          perShard: opts.perShard ?? DEFAULT_PER_SHARD,
          ...workerSettings(w),
        }, layout.root);
      } finally {
        m.close();
      }
    } finally {
      lock.release();
    }
    if (separate) {
      for (const suffix of ["", "-wal", "-shm"]) {
        await Deno.remove(join(slotDir, "manifest.db" + suffix)).catch(() => {});
      }
    }
  } catch (e) {
    slotLock?.release();
    throw e;
  }
  return {
    workDir,
    slotDir,
    async publish() {
      if (!separate) return;
      const lock = await lockWorkDir(workDir, { wait: true });
      try {
        const tmp = join(slotDir, `.manifest.db.${Deno.pid}${TEMP_SUFFIX}`);
        await Deno.remove(tmp).catch(() => {});
        const m = Manifest.open(join(workDir, "manifest.db"));
        try {
          m.copyTo(tmp);
        } finally {
          m.close();
        }
        const f = await Deno.open(tmp, { read: true, write: true });
        try {
          await f.sync();
        } finally {
          f.close();
        }
        await Deno.rename(tmp, join(slotDir, "manifest.db"));
      } finally {
        lock.release();
      }
    },
    release() {
      slotLock?.release();
    },
  };
}
