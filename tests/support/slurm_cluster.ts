/**
 * A one-node Slurm cluster for tests: munged, slurmctld and slurmd from Debian's packages, started
 * as children of the test with their configuration, state, spool, sockets and logs in one temp dir,
 * on ports free at start, and stopped by their own pids. Clients reach it through `SLURM_CONF`.
 */
import { join } from "node:path";

const decoder = new TextDecoder();

/** The programs the cluster needs (Debian: munge, slurmctld, slurmd, slurm-client). */
const PROGRAMS = [
  "munged",
  "slurmctld",
  "slurmd",
  "sbatch",
  "scontrol",
  "scancel",
  "squeue",
  "sinfo",
];

/** Job states after which a job does not run again by itself. */
const FINAL_STATES = new Set([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
  "NODE_FAIL",
  "OUT_OF_MEMORY",
  "BOOT_FAIL",
  "DEADLINE",
  "PREEMPTED",
]);

async function onPath(program: string): Promise<boolean> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat("/usr/sbin", "/sbin")) {
    try {
      if ((await Deno.stat(join(dir, program))).isFile) return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

/**
 * Why a Slurm cluster cannot be started here, or null when it can.
 * @returns the reason (not root, a program missing), or null
 */
export async function slurmUnavailable(): Promise<string | null> {
  if (Deno.uid() !== 0) return "slurmd must run as root to start jobs, and this is not root";
  const missing = [];
  for (const p of PROGRAMS) if (!(await onPath(p))) missing.push(p);
  if (missing.length > 0) {
    return `${missing.join(", ")} not found (./kinembed test installs munge, slurmctld, slurmd ` +
      "and slurm-client)";
  }
  return null;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One job, or one task of an array job, as `scontrol show job` reports it. */
export interface SlurmJobRecord {
  /** `123` or `123_4` (an array task), `123_[5-7%2]` for tasks not started yet. */
  id: string;
  /** `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`, ... */
  state: string;
  /** Why it is pending, when it is. */
  reason: string;
  /** `code:signal`. */
  exitCode: string;
  /** The whole `key=value` line. */
  line: string;
}

/** A running test cluster. */
export interface SlurmCluster {
  /** The temp dir holding its configuration, state and logs. */
  dir: string;
  /** The environment that points Slurm's clients at it (`SLURM_CONF`). */
  env: Record<string, string>;
  /**
   * Runs a Slurm client (or any program) against the cluster.
   * @param program e.g. `sbatch`
   * @param args its arguments
   * @param env more environment
   * @returns exit code and output
   */
  run(
    program: string,
    args: string[],
    env?: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * The records of a job (one per array task, plus one for the tasks not started yet).
   * @param id a job id, or `id_task`
   */
  job(id: string): Promise<SlurmJobRecord[]>;
  /**
   * Waits until every record of a job is in a final state.
   * @param id a job id, or `id_task`
   * @param timeoutMs how long at most
   * @returns the final records
   */
  waitDone(id: string, timeoutMs: number): Promise<SlurmJobRecord[]>;
  /** The daemons' log tails, for failure messages. */
  logs(): Promise<string>;
  /** Cancels every job, waits for them to end, and stops the daemons by their pids. */
  stop(): Promise<void>;
}

function parseRecords(text: string): SlurmJobRecord[] {
  return text.split("\n").filter((l) => l.includes("JobId=")).map((line) => {
    const field = (k: string) => new RegExp(`(?:^| )${k}=(\\S*)`).exec(line)?.[1] ?? "";
    const jobId = field("JobId");
    const arrayJob = field("ArrayJobId");
    const task = field("ArrayTaskId");
    return {
      id: arrayJob && task ? `${arrayJob}_${task}` : jobId,
      state: field("JobState"),
      reason: field("Reason"),
      exitCode: field("ExitCode"),
      line,
    };
  });
}

async function tail(path: string, lines = 40): Promise<string> {
  try {
    return (await Deno.readTextFile(path)).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(none)";
  }
}

/**
 * Starts munged, slurmctld and slurmd in `dir` and waits until the node takes jobs.
 *
 * The node declares the CPUs and memory this machine has, as a small cluster's node would be
 * declared, and the partition shares each CPU among up to 4 jobs (so a 4-task array and its merge
 * run at once on 2 CPUs). Jobs run as root, with the submitting environment.
 * @param dir an empty temp dir
 * @returns the cluster; call `stop()` in a finally block
 */
export async function startSlurmCluster(dir: string): Promise<SlurmCluster> {
  const host = Deno.hostname().split(".")[0];
  for (const d of ["munge", "state", "spool", "log"]) {
    await Deno.mkdir(join(dir, d), { recursive: true, mode: 0o700 });
  }
  const key = join(dir, "munge", "munge.key");
  await Deno.writeFile(key, crypto.getRandomValues(new Uint8Array(1024)), { mode: 0o400 });
  const socket = join(dir, "munge", "munge.socket");
  const conf = join(dir, "slurm.conf");
  await Deno.writeTextFile(join(dir, "plugstack.conf"), "");
  await Deno.writeTextFile(
    conf,
    [
      "ClusterName=kinembedtest",
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${freePort()}`,
      `SlurmdPort=${freePort()}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, "state")}`,
      `SlurmdSpoolDir=${join(dir, "spool")}`,
      `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
      `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
      `SlurmctldLogFile=${join(dir, "log", "slurmctld.log")}`,
      `SlurmdLogFile=${join(dir, "log", "slurmd.log")}`,
      `PlugStackConfig=${join(dir, "plugstack.conf")}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core",
      "MpiDefault=none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      "JobCompType=jobcomp/none",
      "ReturnToService=2",
      "SlurmdParameters=config_overrides",
      // a cancelled task's processes get SIGKILL 2 s after SIGTERM; finished jobs stay visible
      "KillWait=2",
      "MinJobAge=3600",
      // dependent jobs start within seconds of the jobs they wait for
      "SchedulerParameters=sched_interval=2,bf_interval=1",
      "MailProg=/bin/true",
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${navigator.hardwareConcurrency} ` +
      `RealMemory=${Math.floor(Deno.systemMemoryInfo().total / 2 ** 20)} State=UNKNOWN`,
      "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4",
      "",
    ].join("\n"),
  );
  const env = { SLURM_CONF: conf };
  const daemons: Deno.ChildProcess[] = [];
  const start = (program: string, args: string[]) => {
    const child = new Deno.Command(program, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    daemons.push(child);
    return child;
  };
  const run: SlurmCluster["run"] = async (program, args, more = {}) => {
    const out = await new Deno.Command(program, {
      args,
      env: { ...env, ...more },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  };
  const logs = async () =>
    [
      `munged:\n${await tail(join(dir, "munge", "munged.log"))}`,
      `slurmctld:\n${await tail(join(dir, "log", "slurmctld.log"))}`,
      `slurmd:\n${await tail(join(dir, "log", "slurmd.log"))}`,
    ].join("\n");
  const job = async (id: string) => {
    const r = await run("scontrol", ["--oneliner", "show", "job", id]);
    if (r.code !== 0) throw new Error(`scontrol show job ${id}: ${r.stderr.trim()}`);
    return parseRecords(r.stdout);
  };
  const stop = async () => {
    if (daemons.length === 3) {
      // jobs' processes belong to slurmstepd, not to the daemons: end them first
      await run("scancel", ["--user=root"]);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const q = await run("squeue", ["--noheader", "--states=all", "--format=%i %T"]);
        if (q.code !== 0 || !/RUNNING|COMPLETING|PENDING|CONFIGURING/.test(q.stdout)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    for (const child of daemons.reverse()) {
      try {
        child.kill("SIGTERM");
      } catch {
        continue; // it has exited
      }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // exited meanwhile
        }
      }, 10_000);
      await child.status;
      clearTimeout(timer);
    }
  };
  const cluster: SlurmCluster = {
    dir,
    env,
    run,
    job,
    async waitDone(id, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const records = await job(id);
        if (records.length > 0 && records.every((r) => FINAL_STATES.has(r.state))) return records;
        if (Date.now() > deadline) {
          throw new Error(
            `job ${id} not done after ${timeoutMs / 1000} s: ` +
              records.map((r) => `${r.id} ${r.state} (${r.reason})`).join(", ") +
              `\n${await logs()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    logs,
    stop,
  };
  try {
    start("munged", [
      "--foreground",
      "--force",
      `--socket=${socket}`,
      `--key-file=${key}`,
      `--pid-file=${join(dir, "munge", "munged.pid")}`,
      `--log-file=${join(dir, "munge", "munged.log")}`,
      `--seed-file=${join(dir, "munge", "munged.seed")}`,
    ]);
    await waitFor(() => exists(socket), 10_000, "munged's socket", logs);
    start("slurmctld", ["-D", "-i"]);
    start("slurmd", ["-D"]);
    await waitFor(
      async () => {
        const r = await run("sinfo", ["--noheader", "--format=%T"]);
        return r.code === 0 && r.stdout.trim() === "idle";
      },
      30_000,
      "the node to be idle",
      logs,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return cluster;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function waitFor(
  ready: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  logs: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) {
      throw new Error(
        `Slurm test cluster: waited for ${what} for ${timeoutMs / 1000} s\n${await logs()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
