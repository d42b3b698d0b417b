/** `kinembed verify`: check shards against a dataset card (read-only). */
import { intFlag, runTask, stringFlag, VERIFY_TASK } from "../lib/cli/mod.ts";
import { requireWorkDir, UsageError } from "../lib/core/mod.ts";
import { formatVerifyReport, verify } from "../lib/verify/mod.ts";

await runTask(VERIFY_TASK, async (values) => {
  const work = stringFlag(values, "work");
  const shards = stringFlag(values, "shards");
  const card = stringFlag(values, "card");
  if ((work === undefined) === (shards === undefined)) {
    throw new UsageError("give one of --work DIR or --shards DIR");
  }
  if (card === undefined) throw new UsageError("--card FILE is required");
  const json = values.json === true;
  if (work !== undefined) await requireWorkDir(work, "verify");
  const report = await verify({
    work,
    shards,
    card,
    classes: stringFlag(values, "classes"),
    dim: intFlag(values, "dim", 1),
    quiet: values.quiet === true || json,
  });
  if (!json) console.log(formatVerifyReport(report));
  return { code: report.ok ? 0 : 1, summary: { ...report } };
});
