/**
 * The documented Slurm scripts (docs/cluster/) run unmodified on a real one-node Slurm cluster:
 * a 4-task array and its dependent merge + verify job give the bytes of `run --worker 0/1` +
 * `merge`, also when a task is requeued mid-way; a task cancelled mid-way makes the merge refuse,
 * naming its shards, until `submit.sh --resume` submits it again; a throttled array (`%2`) gives
 * the same bytes; a SIGKILLed batch step leaves no worker running and `--resume` heals it. The
 * node is declared with this machine's CPUs and memory, and the jobs ask for what it has through
 * submit.sh's sbatch options.
 */
import { assertSameShardSet, shardSetBytes } from "./support/shard_bytes.ts";
import { join } from "node:path";
import { buildFixtureDataset, type FixtureDataset } from "../fixtures/dataset_builder.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { Manifest } from "../lib/core/mod.ts";
import { workerDir } from "../lib/shard/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";
import { type SlurmCluster, slurmUnavailable, startSlurmCluster } from "./support/slurm_cluster.ts";

const decoder = new TextDecoder();
const SCRIPTS = repoPath("docs", "cluster");
/** How long one whole array + merge may take on a loaded 2-core machine. */
const JOB_TIMEOUT_MS = 150_000;

/** What a user of a small node asks for, the documented way (submit.sh's sbatch options). */
const RESOURCES = ["--cpus-per-task=1", "--mem=1G"];

const unavailable = await slurmUnavailable();
if (unavailable) console.log(`tests/slurm_test.ts: Slurm cases skipped: ${unavailable}`);

interface Setup {
  dataset: FixtureDataset;
  model: string;
  /** The `run` flags every worker and the reference share, beyond inputs and model. */
  runFlags: string[];
}

/** The environment the documented scripts read, for one output dir. */
function scriptEnv(s: Setup, work: string, more: Record<string, string> = {}) {
  const at = (p: string) => join(s.dataset.root, p);
  return {
    KINEMBED_WORK: work,
    KINEMBED_WORKERS: "4",
    KINEMBED_MODEL: s.model,
    KINEMBED_ANNOTATIONS: [
      s.dataset.annotations.train,
      s.dataset.annotations.val,
      s.dataset.annotations.test,
    ].map(at).join(" "),
    KINEMBED_ARCHIVES: [s.dataset.lists.train, s.dataset.lists.val, s.dataset.lists.test]
      .map(at).join(" "),
    KINEMBED_RUN_FLAGS: s.runFlags.join(" "),
    KINEMBED_CARD: at(s.dataset.card),
    KINEMBED_CLASSES: at(s.dataset.classList),
    ...more,
  };
}

/** `run --worker 0/1` and `merge` outside Slurm, with the workers' inputs and settings. */
async function referenceRun(s: Setup, work: string): Promise<void> {
  const env = scriptEnv(s, work);
  const args = ["run", "-A", repoPath("tasks", "run.ts"), "--work", work, "--worker", "0/1"];
  for (const f of env.KINEMBED_ANNOTATIONS.split(" ")) args.push("--annotations", f);
  for (const f of env.KINEMBED_ARCHIVES.split(" ")) args.push("--archives", f);
  args.push("--model", s.model, "--quiet", ...s.runFlags);
  for (const a of [args, ["run", "-A", repoPath("tasks", "merge.ts"), "--work", work, "--quiet"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: a,
      cwd: repoPath(),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(
      out.code,
      0,
      `${a.join(" ")}:\n${decoder.decode(out.stdout)}${decoder.decode(out.stderr)}`,
    );
  }
}

/** Runs submit.sh; returns the array job id and the merge job id. */
async function submit(
  c: SlurmCluster,
  env: Record<string, string>,
  args: string[] = RESOURCES,
): Promise<{ array: string; merge: string }> {
  const r = await c.run("bash", [join(SCRIPTS, "submit.sh"), ...args], env);
  assertEquals(r.code, 0, `submit.sh: ${r.stdout}${r.stderr}`);
  const m = /^(\d+|-) (\d+)$/.exec(r.stdout.trim());
  assert(m, `submit.sh printed ${JSON.stringify(r.stdout)}`);
  return { array: m[1], merge: m[2] };
}

async function jobLogs(work: string): Promise<string> {
  const parts: string[] = [];
  try {
    for await (const e of Deno.readDir(join(work, "logs"))) {
      parts.push(`--- ${e.name}\n${await Deno.readTextFile(join(work, "logs", e.name))}`);
    }
  } catch {
    // no logs yet
  }
  return parts.sort().join("\n");
}

/** Encoded and downloaded videos in worker k's manifest (0 while it is being created). */
function encodeCounts(work: string, k: number): { done: number; downloaded: number } {
  try {
    const m = Manifest.open(join(workerDir(work, k), "manifest.db"), { readOnly: true });
    try {
      return { done: m.steps.counts("encode").done, downloaded: m.steps.counts("download").done };
    } finally {
      m.close();
    }
  } catch {
    return { done: 0, downloaded: 0 }; // the file may exist before its tables do
  }
}

/** Waits until worker k has encoded 2 videos: some of its videos, not all. */
async function untilEncoded(work: string, k: number): Promise<void> {
  const deadline = Date.now() + JOB_TIMEOUT_MS;
  while (encodeCounts(work, k).done < 2) {
    assert(Date.now() < deadline, `worker ${k} never encoded a video\n${await jobLogs(work)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A container of a Job manifest: its command and environment. */
interface PodSpec {
  command: string[];
  env: Record<string, string>;
}

/** The first container of a Kubernetes Job manifest in docs/cluster/ (read by Python's yaml). */
async function podSpec(file: string): Promise<PodSpec> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import json, sys, yaml; c = yaml.safe_load(open(sys.argv[1]))['spec']['template']['spec']" +
      "['containers'][0]; print(json.dumps({'command': c['command'], " +
      "'env': {e['name']: e['value'] for e in c['env']}}))",
      join(SCRIPTS, file),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, `${file}: ${decoder.decode(out.stderr)}`);
  return JSON.parse(decoder.decode(out.stdout));
}

/**
 * Runs a pod's command as an isolated process: `env -i` with only the manifest's variables (their
 * paths moved to this machine's), the image's PATH and HOME, and `more`.
 */
async function runPod(
  pod: PodSpec,
  paths: Record<string, string>,
  more: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const move = (v: string) =>
    Object.entries(paths).reduce((t, [from, to]) => t.replaceAll(from, to), v);
  const env = Object.entries(pod.env).map(([k, v]) => `${k}=${move(v)}`);
  for (const [k, v] of Object.entries(more)) env.push(`${k}=${v}`);
  const out = await new Deno.Command("env", {
    args: [
      "-i",
      `PATH=${Deno.env.get("PATH")}`,
      `HOME=${Deno.env.get("HOME")}`,
      ...env,
      ...pod.command.map(move),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** A process of a Slurm job: pid, state letter and command line. */
interface JobProcess {
  pid: number;
  state: string;
  cmdline: string;
}

/** The live (not zombie) deno and ffmpeg processes whose environment has `SLURM_JOB_ID=id`. */
async function jobProcesses(id: string): Promise<JobProcess[]> {
  // Python reads /proc: the suite's permissions do not let Deno do it (it wants --allow-all)
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", JOB_PROCESSES, id],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as JobProcess[];
}

/** Lists the live deno and ffmpeg processes whose environment has `SLURM_JOB_ID=<argv[1]>`. */
const JOB_PROCESSES = String.raw`
import json, os, sys
found = []
for name in os.listdir("/proc"):
    if not name.isdigit():
        continue
    try:
        environ = open(f"/proc/{name}/environ", "rb").read().split(b"\0")
        if f"SLURM_JOB_ID={sys.argv[1]}".encode() not in environ:
            continue
        cmdline = " ".join(x.decode(errors="replace") for x in open(f"/proc/{name}/cmdline", "rb").read().split(b"\0"))
        stat = open(f"/proc/{name}/stat").read()
        state = stat[stat.rindex(")") + 2:].split(" ")[0]
        if state == "Z" or not any(w in cmdline for w in ("deno", "ffmpeg")):
            continue
        found.append({"pid": int(name), "state": state, "cmdline": cmdline})
    except OSError:
        pass  # it ended while being looked at
print(json.dumps(found))
`;

/** Every record completed with exit 0; else the job logs. */
async function assertCompleted(
  c: SlurmCluster,
  id: string,
  work: string,
): Promise<void> {
  const records = await c.waitDone(id, JOB_TIMEOUT_MS);
  const bad = records.filter((r) => r.state !== "COMPLETED" || r.exitCode !== "0:0");
  assert(
    bad.length === 0,
    `job ${id}: ${bad.map((r) => `${r.id} ${r.state} ${r.exitCode}`).join(", ")}\n` +
      (await jobLogs(work)) + (await c.logs()),
  );
}

Deno.test({
  name:
    "Cluster scripts: Kubernetes pods, then on a real Slurm cluster the documented scripts: 4 " +
    "tasks + merge give the 1-worker bytes, with a task requeued mid-way, cancelled, or its " +
    "batch step SIGKILLed and --resume'd, under %2",
  sanitizeResources: false,
  async fn(t) {
    const { dir, cleanup } = await tempDir("kinembed-slurm-");
    let starting: Promise<SlurmCluster> | null = null;
    try {
      const clusterDir = join(dir, "slurm");
      await Deno.mkdir(clusterDir);
      // the daemons start while the fixtures and the reference are made
      starting = unavailable === null ? startSlurmCluster(clusterDir) : null;
      // a failed start is reported where it is awaited; this keeps it from being unhandled
      starting?.catch(() => {});
      const dataset = await buildFixtureDataset(join(dir, "ds"), {
        perClass: { train: 2, val: 1, test: 1 },
        durations: [4, 8],
        realClip: false,
        perShard: 3,
        quiet: true,
      });
      const models = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
      const s: Setup = {
        dataset,
        model: models.vision,
        runFlags: [
          "--base-url",
          dataset.root,
          "--per-shard",
          "3",
          "--providers",
          "cpu",
          "--batch",
          "4",
          // one video decoded at a time (the script then gives no --jobs of its own from
          // SLURM_CPUS_PER_TASK), so a task is caught with some of its videos encoded, not all
          "--jobs",
          "1",
        ],
      };
      // 16 train, 8 val, 8 test in threes: 6 + 3 + 3 shards, 3 per worker
      const reference = join(dir, "reference");
      await referenceRun(s, reference);
      const want = await shardSetBytes(reference, { splitsCsv: true });
      assertEquals(want.size, 13);

      await t.step(
        "Kubernetes: the Indexed Job's pod command as 4 isolated processes (env -i, the YAML's " +
          "variables and JOB_COMPLETION_INDEX), then the merge Job's: the 1-worker bytes",
        async () => {
          const work = join(dir, "pods");
          const worker = await podSpec("kinembed-job.yaml");
          const mergePod = await podSpec("kinembed-merge-job.yaml");
          const env = scriptEnv(s, work);
          // the image's and the volume's paths, here; the run flags for the fixture's server
          const paths = { "/opt/kinembed": repoPath(), "/shared/k700": work };
          const fixture = {
            KINEMBED_WORKERS: "4",
            KINEMBED_MODEL: env.KINEMBED_MODEL,
            KINEMBED_ANNOTATIONS: env.KINEMBED_ANNOTATIONS,
            KINEMBED_ARCHIVES: env.KINEMBED_ARCHIVES,
            KINEMBED_RUN_FLAGS: env.KINEMBED_RUN_FLAGS,
          };
          for (const k of Object.keys(fixture)) assert(k in worker.env, `${k} not in the YAML`);
          const pods = await Promise.all(
            [0, 1, 2, 3].map((k) =>
              runPod(
                { ...worker, env: { ...worker.env, ...fixture } },
                paths,
                { JOB_COMPLETION_INDEX: String(k) },
              )
            ),
          );
          pods.forEach((p, k) => assertEquals(p.code, 0, `pod ${k}:\n${p.output}`));
          const merged = await runPod(
            {
              ...mergePod,
              env: { ...mergePod.env, KINEMBED_WORKERS: "4", KINEMBED_CARD: env.KINEMBED_CARD },
            },
            paths,
            {},
          );
          assertEquals(merged.code, 0, merged.output);
          assert(merged.output.includes("OK: everything matches"), merged.output);
          await assertSameShardSet(work, want);
        },
      );

      const cluster = starting ? await starting : null;
      // the Slurm cases, when a cluster can be started here
      const slurmStep = (name: string, fn: (c: SlurmCluster) => Promise<void>) =>
        t.step({ name, ignore: cluster === null, fn: () => fn(cluster!) });

      await slurmStep(
        "submit.sh: 4 array tasks (task 2 killed mid-way by a requeue, run again by Slurm), " +
          "then merge + verify as a dependent job: the same bytes",
        async (c) => {
          const work = join(dir, "four");
          const jobs = await submit(c, scriptEnv(s, work));
          const mergeLine = (await c.job(jobs.merge))[0].line;
          assert(mergeLine.includes(`afterok:${jobs.array}`), mergeLine);
          // submit.sh's sbatch options reach both jobs
          for (const line of [mergeLine, (await c.job(jobs.array))[0].line]) {
            assert(line.includes("MinMemoryNode=1G") && line.includes("NumCPUs=1"), line);
          }
          await untilEncoded(work, 2);
          const requeue = await c.run("scontrol", ["requeue", `${jobs.array}_2`]);
          assertEquals(requeue.code, 0, requeue.stderr);
          // Slurm holds a requeued job for 2 minutes (its begin time); start it sooner, once its
          // first run has ended and a second has passed (slurmd refuses a credential issued in
          // the second it revoked the old one)
          const requeued = Date.now();
          const pending = (line: string) =>
            line.includes("JobState=PENDING") && line.includes("Reason=BeginTime");
          while (!pending((await c.job(`${jobs.array}_2`))[0].line)) {
            assert(Date.now() < requeued + 30_000, "task 2 was not requeued");
            await new Promise((r) => setTimeout(r, 100));
          }
          await new Promise((r) => setTimeout(r, Math.max(0, requeued + 2_000 - Date.now())));
          const now = await c.run("scontrol", ["update", `JobId=${jobs.array}_2`, "StartTime=now"]);
          assertEquals(now.code, 0, now.stderr);
          await assertCompleted(c, jobs.array, work);
          await assertCompleted(c, jobs.merge, work);
          const tasks = await c.job(jobs.array);
          assertEquals(
            tasks.map((r) => r.id).sort(),
            [0, 1, 2, 3].map((k) => `${jobs.array}_${k}`),
          );
          const task2 = tasks.find((r) => r.id === `${jobs.array}_2`)!;
          assert(task2.line.includes("Restarts=1"), task2.line);
          // its second run kept what the first had encoded
          const log2 = await Deno.readTextFile(join(work, "logs", `kinembed_${jobs.array}_2.out`));
          const resumed = /sample → encode: \d+ videos, .*\((\d+) already done/.exec(log2);
          assert(resumed && Number(resumed[1]) >= 2, log2);
          // each task found its worker index in SLURM_ARRAY_TASK_ID/_MIN/_COUNT
          for (let k = 0; k < 4; k++) {
            const m = Manifest.open(join(workerDir(work, k), "manifest.db"), { readOnly: true });
            try {
              assertEquals([m.config().worker, m.config().workers], [k, 4]);
            } finally {
              m.close();
            }
          }
          await assertSameShardSet(work, want);
          const log = await Deno.readTextFile(
            join(work, "logs", `kinembed_merge_${jobs.merge}.out`),
          );
          assert(/merged 4 workers/.test(log) && log.includes("OK: everything matches"), log);
        },
      );

      await slurmStep(
        "%2 throttle, task 1 cancelled mid-way: the merge is cancelled; a merge without it " +
          "refuses naming its shards; submit.sh --resume submits task 1, which resumes, and a " +
          "merge: the same bytes",
        async (c) => {
          const work = join(dir, "throttled");
          // the resources from the environment this time
          const jobs = await submit(
            c,
            scriptEnv(s, work, {
              KINEMBED_ARRAY_LIMIT: "2",
              KINEMBED_SBATCH_ARGS: RESOURCES.join(" "),
            }),
            [],
          );
          for (const id of [jobs.array, jobs.merge]) {
            const line = (await c.job(id))[0].line;
            assert(line.includes("MinMemoryNode=1G") && line.includes("NumCPUs=1"), line);
          }
          assert(
            (await c.job(jobs.array)).some((r) => r.line.includes("ArrayTaskThrottle=2")),
            "the array runs at most 2 tasks at once",
          );
          await untilEncoded(work, 1);
          const cancel = await c.run("scancel", [`${jobs.array}_1`]);
          assertEquals(cancel.code, 0, cancel.stderr);
          const records = await c.waitDone(jobs.array, JOB_TIMEOUT_MS);
          const state = new Map(records.map((r) => [r.id, r.state]));
          assertEquals(state.get(`${jobs.array}_1`), "CANCELLED");
          for (const k of [0, 2, 3]) assertEquals(state.get(`${jobs.array}_${k}`), "COMPLETED");
          const before = encodeCounts(work, 1);
          assert(before.done < before.downloaded, `cancelled mid-way: ${JSON.stringify(before)}`);
          // afterok can no longer be met: the merge job is cancelled, not left pending
          const merge = await c.waitDone(jobs.merge, 30_000);
          assertEquals(merge[0].state, "CANCELLED", merge[0].line);

          // the merge job submitted by hand while task 1 is still failed
          const early = await c.run("sbatch", [
            "--parsable",
            `--output=${join(work, "logs", "early_merge.out")}`,
            join(SCRIPTS, "kinembed-merge.sbatch"),
          ], { ...scriptEnv(s, work), KINEMBED_REPO: repoPath() });
          assertEquals(early.code, 0, early.stderr);
          const refused = await c.waitDone(early.stdout.trim(), JOB_TIMEOUT_MS);
          assertEquals([refused[0].state, refused[0].exitCode], ["FAILED", "2:0"]);
          const text = await Deno.readTextFile(join(work, "logs", "early_merge.out"));
          for (const f of ["ds_000001.tar", "ds_000005.tar", "ds_000009.tar"]) {
            assert(text.includes(`${f}: missing: worker 1/4`), text);
          }
          assert(!(await Deno.stat(join(work, "manifest.db")).then(() => true, () => false)));

          // the documented recovery: --resume finds worker 1 missing and submits it (worker 1/4
          // from --worker, as the array has one task) and a merge after it
          const again = await submit(c, scriptEnv(s, work), ["--resume", ...RESOURCES]);
          const resubmitted = await c.job(again.array);
          assert(resubmitted.every((r) => /ArrayTaskId=1( |$)/.test(r.line)), resubmitted[0].line);
          await assertCompleted(c, again.array, work);
          await assertCompleted(c, again.merge, work);
          const rerun = await Deno.readTextFile(
            join(work, "logs", `kinembed_${again.array}_1.out`),
          );
          const m = /sample → encode: (\d+) videos, .*\((\d+) already done/.exec(rerun);
          assert(m, rerun);
          assertEquals(Number(m[2]), before.done, rerun);
          await assertSameShardSet(work, want);
          const merged = await Deno.readTextFile(
            join(work, "logs", `kinembed_merge_${again.merge}.out`),
          );
          assert(merged.includes("OK: everything matches"), merged);
        },
      );

      await slurmStep(
        "the batch step's process (deno task) SIGKILLed mid-way: the task fails, the worker under " +
          "it stops within a second; submit.sh --resume submits only that worker and the merge: " +
          "the same bytes, no process left",
        async (c) => {
          const work = join(dir, "killed");
          const jobs = await submit(c, scriptEnv(s, work));
          await untilEncoded(work, 3);
          const task = (await c.job(`${jobs.array}_3`))[0];
          const jobId = /(?:^| )JobId=(\d+)/.exec(task.line)![1];
          const procs = await jobProcesses(jobId);
          const step = procs.find((p) => /deno task --quiet run /.test(p.cmdline));
          assert(step, `no batch step process: ${JSON.stringify(procs)}`);
          const worker = procs.find((p) => p.pid !== step.pid && /tasks\/run\.ts/.test(p.cmdline));
          assert(worker, `no worker process: ${JSON.stringify(procs)}`);
          Deno.kill(step.pid, "SIGKILL");
          const killed = Date.now();
          while ((await jobProcesses(jobId)).length > 0) {
            assert(
              Date.now() < killed + 1_500,
              `left running: ${JSON.stringify(await jobProcesses(jobId))}`,
            );
            await new Promise((r) => setTimeout(r, 50));
          }
          const records = await c.waitDone(jobs.array, JOB_TIMEOUT_MS);
          const state = new Map(records.map((r) => [r.id, r.state]));
          assertEquals(state.get(`${jobs.array}_3`), "FAILED");
          const merge = await c.waitDone(jobs.merge, 30_000);
          assertEquals(merge[0].state, "CANCELLED", merge[0].line);

          const again = await submit(c, scriptEnv(s, work), ["--resume", ...RESOURCES]);
          const resubmitted = await c.job(again.array);
          assert(resubmitted.every((r) => /ArrayTaskId=3( |$)/.test(r.line)), resubmitted[0].line);
          await assertCompleted(c, again.array, work);
          await assertCompleted(c, again.merge, work);
          await assertSameShardSet(work, want);
          const merged = await Deno.readTextFile(
            join(work, "logs", `kinembed_merge_${again.merge}.out`),
          );
          assert(merged.includes("OK: everything matches"), merged);
          // nothing left to do: --resume submits only a merge
          const only = await submit(c, scriptEnv(s, work), ["--resume", ...RESOURCES]);
          assertEquals(only.array, "-");
          await assertCompleted(c, only.merge, work);
          for (const id of [jobId, again.array]) assertEquals(await jobProcesses(id), []);
        },
      );
    } finally {
      await starting?.then((c) => c.stop(), () => {});
      await cleanup();
    }
  },
});
