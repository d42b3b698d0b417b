/**
 * How many CPUs this task may use, and how encode and decode share them. The count comes from the
 * process's CPU affinity, its cgroup's CPU quota and Slurm's `SLURM_CPUS_PER_TASK`, whichever is
 * smallest, never from the host's core count: on a 64-core node a task given two CPUs gets two
 * ONNX Runtime threads, not 64 that fight over them.
 * @module
 */

/** Measured CPU seconds per 10 s clip at 1 FPS on ViT-B/32 (docs/performance.md). */
export const CLIP_CPU_SECONDS = { sample: 0.17, encode: 0.69 } as const;

/** The CPUs a task may use and what limited them. */
export interface CpuBudget {
  /** CPUs usable, at least 1. */
  cpus: number;
  /** What set the count: `affinity and cgroup quota` or `SLURM_CPUS_PER_TASK`. */
  source: string;
}

/** ONNX Runtime's threads and decode's jobs, as chosen for a step. */
export interface ThreadPlan {
  /** The CPUs the task may use. */
  cpus: number;
  /** What limited `cpus`. */
  source: string;
  /** ONNX Runtime intra-op threads. */
  intraOp: number;
  /** ONNX Runtime inter-op threads (the graph runs sequentially: one). */
  interOp: number;
  /** Videos decoded at once (only where decode runs beside encode). */
  decodeJobs?: number;
}

/**
 * The CPUs this process may use: its CPU affinity and cgroup quota (Deno's
 * `navigator.hardwareConcurrency` is Rust's `available_parallelism`, which reads both; a task's
 * least permissions may not read `/proc/self/status` or `/sys/fs/cgroup` itself), lowered by
 * `SLURM_CPUS_PER_TASK` where set.
 * @param env reads an environment variable (default `Deno.env.get`)
 * @param available the CPUs affinity and quota allow (default `navigator.hardwareConcurrency`)
 * @returns the count and what set it
 */
export function usableCpus(
  env: (name: string) => string | undefined = (n) => {
    try {
      return Deno.env.get(n);
    } catch {
      return undefined; // not granted: no Slurm limit known
    }
  },
  available: number = navigator.hardwareConcurrency,
): CpuBudget {
  const own: CpuBudget = { cpus: Math.max(1, available), source: "affinity and cgroup quota" };
  const slurm = Number(env("SLURM_CPUS_PER_TASK"));
  return Number.isInteger(slurm) && slurm > 0 && slurm < own.cpus
    ? { cpus: slurm, source: "SLURM_CPUS_PER_TASK" }
    : own;
}

/**
 * The threads of a step. Encode alone gets every CPU. Beside decode, the CPUs are shared in
 * proportion to the measured costs ({@linkcode CLIP_CPU_SECONDS}): decode gets the whole CPUs of its
 * share, rounded up, and encode the CPUs left once decode's share (rounded down) is taken, so on two
 * CPUs one decode job runs beside two encode threads rather than leaving a CPU idle.
 * @param budget the CPUs usable
 * @param opts `threads` (`--threads`) fixes encode's; `jobs` (`--jobs`) fixes decode's;
 *   `decoding` when decode runs beside encode
 * @returns the plan
 */
export function planThreads(
  budget: CpuBudget,
  opts: { threads?: number; jobs?: number; decoding?: boolean } = {},
): ThreadPlan {
  const { cpus, source } = budget;
  if (!opts.decoding) {
    return { cpus, source, intraOp: opts.threads ?? cpus, interOp: 1 };
  }
  const share = cpus * CLIP_CPU_SECONDS.sample /
    (CLIP_CPU_SECONDS.sample + CLIP_CPU_SECONDS.encode);
  const decodeJobs = opts.jobs ?? Math.max(1, Math.ceil(share));
  const left = opts.jobs === undefined ? cpus - Math.floor(share) : cpus - opts.jobs;
  return { cpus, source, intraOp: opts.threads ?? Math.max(1, left), interOp: 1, decodeJobs };
}

/**
 * The line that says once what a step chose.
 * @param step the step's name
 * @param plan the plan
 * @returns e.g. `encode: 2 CPUs usable (SLURM_CPUS_PER_TASK); ONNX Runtime threads: 2 intra-op, 1 inter-op`
 */
export function formatThreadPlan(step: string, plan: ThreadPlan): string {
  return `${step}: ${plan.cpus} CPU${plan.cpus === 1 ? "" : "s"} usable (${plan.source}); ` +
    `ONNX Runtime threads: ${plan.intraOp} intra-op, ${plan.interOp} inter-op` +
    (plan.decodeJobs === undefined ? "" : `; ${plan.decodeJobs} decode jobs`);
}
