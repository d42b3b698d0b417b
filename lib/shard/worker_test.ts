import { join } from "node:path";
import { ConfigMismatchError, UsageError, WorkDirBusyError } from "../base/mod.ts";
import { lockWorkDir, Manifest } from "../core/mod.ts";
import { planShards, shardsOfWorker } from "./plan.ts";
import {
  claimWorker,
  isWorkerShardTemp,
  parseWorker,
  resolveWorker,
  workerDir,
  type WorkerId,
  workerVideoIds,
} from "./worker.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

function rejects(fn: () => unknown, pattern: string | RegExp): Promise<Error> {
  return assertRejects(async () => {
    try {
      await fn();
    } catch (e) {
      assert(e instanceof UsageError, `want a UsageError, got ${e}`);
      throw e;
    }
  }, pattern);
}

Deno.test("--worker K/N: parsed; k ≥ n, n = 0 and malformed values are clear usage errors", async () => {
  assertEquals(parseWorker("3/16"), { index: 3, count: 16 });
  assertEquals(parseWorker(" 0 / 1 "), { index: 0, count: 1 });
  await rejects(() => parseWorker("4/4"), "worker 4 does not exist among 4 workers");
  await rejects(() => parseWorker("7/4"), "want 0 ≤ k < 4");
  await rejects(() => parseWorker("0/0"), "worker count must be ≥ 1");
  for (const bad of ["3", "a/b", "-1/4", "1/4/2", "1.5/4", ""]) {
    await rejects(() => parseWorker(bad), "--worker takes K/N");
  }
});

Deno.test("worker from the environment: Slurm array (with SLURM_ARRAY_TASK_MIN offset), Kubernetes Indexed Job, flags", async () => {
  const none = env({});
  assertEquals(resolveWorker({ env: none }), null);
  assertEquals(resolveWorker({ worker: "2/5", env: none }), { index: 2, count: 5 });
  assertEquals(resolveWorker({ worker: "2/5", workers: 5, env: none }), { index: 2, count: 5 });
  await rejects(() => resolveWorker({ worker: "2/5", workers: 4, env: none }), "contradicts");
  await rejects(() => resolveWorker({ workers: 4, env: none }), "--workers needs a worker index");

  // --array=0-7
  assertEquals(
    resolveWorker({
      env: env({
        SLURM_ARRAY_TASK_ID: "3",
        SLURM_ARRAY_TASK_COUNT: "8",
        SLURM_ARRAY_TASK_MIN: "0",
        SLURM_ARRAY_TASK_MAX: "7",
      }),
    }),
    { index: 3, count: 8 },
  );
  // --array=1-8: ids start at 1, workers at 0
  const oneBased = {
    SLURM_ARRAY_TASK_COUNT: "8",
    SLURM_ARRAY_TASK_MIN: "1",
    SLURM_ARRAY_TASK_MAX: "8",
  };
  assertEquals(resolveWorker({ env: env({ ...oneBased, SLURM_ARRAY_TASK_ID: "1" }) }), {
    index: 0,
    count: 8,
  });
  assertEquals(resolveWorker({ env: env({ ...oneBased, SLURM_ARRAY_TASK_ID: "8" }) }), {
    index: 7,
    count: 8,
  });
  // no MIN/MAX (older Slurm): ids are taken as 0-based
  assertEquals(
    resolveWorker({ env: env({ SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_COUNT: "6" }) }),
    { index: 5, count: 6 },
  );
  // --workers stands in for a missing count and must agree with a present one
  assertEquals(resolveWorker({ workers: 6, env: env({ SLURM_ARRAY_TASK_ID: "5" }) }), {
    index: 5,
    count: 6,
  });
  await rejects(
    () => resolveWorker({ env: env({ SLURM_ARRAY_TASK_ID: "5" }) }),
    "SLURM_ARRAY_TASK_COUNT is not",
  );
  await rejects(
    () =>
      resolveWorker({
        workers: 4,
        env: env({ SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "8" }),
      }),
    "--workers 4 contradicts SLURM_ARRAY_TASK_COUNT=8",
  );
  // --array=0-15:2 (8 tasks with ids 0, 2, ..., 14) and --array=1,3,5 cannot map to 0..n-1
  await rejects(
    () =>
      resolveWorker({
        env: env({
          SLURM_ARRAY_TASK_ID: "2",
          SLURM_ARRAY_TASK_COUNT: "8",
          SLURM_ARRAY_TASK_MIN: "0",
          SLURM_ARRAY_TASK_MAX: "14",
          SLURM_ARRAY_TASK_STEP: "2",
        }),
      }),
    "not one contiguous range",
  );
  await rejects(
    () =>
      resolveWorker({
        env: env({
          SLURM_ARRAY_TASK_ID: "3",
          SLURM_ARRAY_TASK_COUNT: "3",
          SLURM_ARRAY_TASK_MIN: "1",
          SLURM_ARRAY_TASK_MAX: "5",
        }),
      }),
    "--array=0-2",
  );
  await rejects(
    () => resolveWorker({ env: env({ SLURM_ARRAY_TASK_ID: "x", SLURM_ARRAY_TASK_COUNT: "2" }) }),
    "SLURM_ARRAY_TASK_ID must be a whole number",
  );
  // the flag wins over the environment
  assertEquals(
    resolveWorker({
      worker: "0/1",
      env: env({ SLURM_ARRAY_TASK_ID: "3", SLURM_ARRAY_TASK_COUNT: "8" }),
    }),
    { index: 0, count: 1 },
  );

  // Kubernetes: JOB_COMPLETION_INDEX with --workers (the Job's completions)
  assertEquals(resolveWorker({ workers: 4, env: env({ JOB_COMPLETION_INDEX: "2" }) }), {
    index: 2,
    count: 4,
  });
  await rejects(
    () => resolveWorker({ env: env({ JOB_COMPLETION_INDEX: "2" }) }),
    "give --workers N",
  );
  await rejects(
    () => resolveWorker({ workers: 4, env: env({ JOB_COMPLETION_INDEX: "4" }) }),
    "worker 4 does not exist among 4 workers",
  );
  await rejects(() => resolveWorker({ workers: 0, env: none }), "--workers must be");
});

Deno.test("workers own disjoint videos that together cover the plan; temp files are told apart by shard", () => {
  const videos = Array.from({ length: 47 }, (_, i) => ({
    id: `v${String(i).padStart(3, "0")}`,
    split: (["train", "val", "test"] as const)[i % 3],
  }));
  const plan = { seed: 5, perShard: 4 };
  const n = 4;
  const seen = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const w: WorkerId = { index: k, count: n };
    const ids = workerVideoIds(videos, w, plan);
    const viaPlan = shardsOfWorker(planShards(videos, plan), k, n).flatMap((s) =>
      s.samples.map((x) => x.videoId)
    );
    assertEquals([...ids].sort(), viaPlan.sort());
    for (const id of ids) {
      assert(!seen.has(id), `${id} owned by workers ${seen.get(id)} and ${k}`);
      seen.set(id, k);
    }
  }
  assertEquals(seen.size, videos.length);
  const w1: WorkerId = { index: 1, count: 4 };
  assert(isWorkerShardTemp(".ds_000005.tar.1234.partial", w1));
  assert(!isWorkerShardTemp(".ds_000006.tar.1234.partial", w1));
  assert(!isWorkerShardTemp("ds_000005.tar", w1));
  assert(!isWorkerShardTemp(".splits.csv.1234.partial", w1));
});

Deno.test("a worker's work dir refuses to be reused as another worker or with another count; a worker busy elsewhere is refused", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const claim = await claimWorker(dir, { index: 1, count: 4 }, { perShard: 3 });
    assertEquals(claim.workDir, workerDir(dir, 1));
    assertEquals(claim.workDir, join(dir, "workers", "1"));
    claim.release();
    const m = Manifest.open(join(dir, "workers", "1", "manifest.db"));
    assertEquals(m.config(), {
      per_shard: 3,
      shard_plan: "inputs",
      shard_seed: 0,
      worker: 1,
      workers: 4,
    });
    m.close();
    // the same worker again is fine
    (await claimWorker(dir, { index: 1, count: 4 }, { perShard: 3 })).release();
    const e = await assertRejects(
      () => claimWorker(dir, { index: 1, count: 3 }, { perShard: 3 }),
      "workers is 4 there, 3 now",
    );
    assert(e instanceof ConfigMismatchError);
    await assertRejects(
      () => claimWorker(dir, { index: 1, count: 4 }, { perShard: 5 }),
      "per_shard is 3 there, 5 now",
    );

    // a worker with a local work dir holds its slot under the shared dir while it runs
    const local = join(dir, "local");
    const c2 = await claimWorker(dir, { index: 2, count: 4 }, { perShard: 3, workDir: local });
    assertEquals(c2.slotDir, workerDir(dir, 2));
    await assertRejects(
      () => claimWorker(dir, { index: 2, count: 4 }, { perShard: 3, workDir: local }),
      "in use",
    );
    await c2.publish();
    const copy = Manifest.open(join(dir, "workers", "2", "manifest.db"), { readOnly: true });
    assertEquals(copy.config().worker, 2);
    copy.close();
    c2.release();
    const held = await lockWorkDir(workerDir(dir, 2), { wait: false });
    held.release();

    // in its slot, a worker holds worker.lock for the whole run: a second process of the same
    // worker is refused at once, naming the first one's pid, until the first one ends
    const c3 = await claimWorker(dir, { index: 3, count: 4 }, { perShard: 3 });
    const twin = await assertRejects(
      () => claimWorker(dir, { index: 3, count: 4 }, { perShard: 3 }),
      `worker 3/4 is already running in ${workerDir(dir, 3)} (pid ${Deno.pid}`,
    );
    assert(twin instanceof WorkDirBusyError);
    c3.release();
    (await claimWorker(dir, { index: 3, count: 4 }, { perShard: 3 })).release();
  } finally {
    await cleanup();
  }
});
