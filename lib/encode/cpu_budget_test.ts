import { assertEquals } from "../../tests/support/assert.ts";
import { planThreads, usableCpus } from "./cpu_budget.ts";

Deno.test("usableCpus: SLURM_CPUS_PER_TASK below affinity and quota wins, above it does not", () => {
  const slurm = (v: string) => (n: string) => n === "SLURM_CPUS_PER_TASK" ? v : undefined;
  assertEquals(usableCpus(slurm("2"), 64), { cpus: 2, source: "SLURM_CPUS_PER_TASK" });
  assertEquals(usableCpus(slurm("8"), 4), { cpus: 4, source: "affinity and cgroup quota" });
  assertEquals(usableCpus(slurm("x"), 3).cpus, 3);
  assertEquals(usableCpus(() => undefined, 0).cpus, 1);
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
