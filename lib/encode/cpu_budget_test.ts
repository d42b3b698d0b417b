import { assertEquals } from "../../tests/support/assert.ts";
import { countCpuList, cpusOfQuota, planThreads, usableCpus } from "./cpu_budget.ts";

Deno.test("countCpuList counts ranges and single CPUs, and refuses what does not parse", () => {
  assertEquals(countCpuList("0-3,8,10-11\n"), 7);
  assertEquals(countCpuList("5"), 1);
  assertEquals(countCpuList("a-b"), null);
});

Deno.test("cpusOfQuota reads cgroup v2 cpu.max, rounding a fraction up", () => {
  assertEquals(cpusOfQuota("200000 100000\n"), 2);
  assertEquals(cpusOfQuota("150000 100000"), 2);
  assertEquals(cpusOfQuota("max 100000"), null);
  assertEquals(cpusOfQuota(""), null);
});

Deno.test("usableCpus takes the smallest limit: SLURM_CPUS_PER_TASK below affinity wins", () => {
  const host = usableCpus(() => undefined);
  const slurm = usableCpus((n) => n === "SLURM_CPUS_PER_TASK" ? "1" : undefined);
  assertEquals(slurm.cpus, 1);
  assertEquals(host.cpus >= 1, true);
});

Deno.test("planThreads: encode alone takes every CPU; beside decode they are shared by cost", () => {
  const two = { cpus: 2, source: "affinity" };
  assertEquals(planThreads(two).intraOp, 2);
  assertEquals(planThreads(two, { threads: 1 }).intraOp, 1);
  const run2 = planThreads(two, { decoding: true });
  assertEquals([run2.intraOp, run2.decodeJobs], [2, 1]);
  const run16 = planThreads({ cpus: 16, source: "cgroup" }, { decoding: true });
  assertEquals([run16.intraOp, run16.decodeJobs], [13, 4]);
  const jobs = planThreads({ cpus: 8, source: "host" }, { decoding: true, jobs: 3 });
  assertEquals([jobs.intraOp, jobs.decodeJobs, jobs.interOp], [5, 3, 1]);
});
