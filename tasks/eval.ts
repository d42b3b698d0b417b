/** `kinembed eval`: zero-shot and linear-probe accuracy of shards, next to the card's numbers. */
import { requireWorkDir } from "../lib/core/mod.ts";
import {
  EVAL_TASK,
  intFlag,
  numberFlag,
  reportFailures,
  runTask,
  stringFlag,
} from "../lib/cli/mod.ts";
import { type EvalPooling, evaluate, formatEvalMarkdown } from "../lib/eval/mod.ts";
import { parseProviders } from "../lib/onnx/mod.ts";

await runTask(EVAL_TASK, async (values) => {
  const shards = stringFlag(values, "shards");
  const work = stringFlag(values, "work");
  if (work !== undefined) await requireWorkDir(work, "eval");
  const { report, files, problems, card } = await evaluate({
    work: stringFlag(values, "work") ?? (shards === undefined ? "work" : undefined),
    shards,
    out: stringFlag(values, "out"),
    zeroShot: values["zero-shot"] === true ? true : undefined,
    linearProbe: values["linear-probe"] === true ? true : undefined,
    textModel: stringFlag(values, "text-model"),
    classes: stringFlag(values, "classes"),
    templates: stringFlag(values, "templates"),
    split: stringFlag(values, "split"),
    C: numberFlag(values, "C"),
    maxIter: intFlag(values, "max-iter", 1),
    providers: parseProviders(stringFlag(values, "providers") ?? "cuda,cpu"),
    card: stringFlag(values, "card"),
    pool: stringFlag(values, "pool") as EvalPooling,
    force: values.force === true,
    updateCard: values["update-card"] === true,
    log: values.quiet === true ? () => {} : undefined,
  });
  // the per-class and frames tables are in the reports
  console.log(formatEvalMarkdown(report, { brief: true }));
  console.log(`reports: ${files.json}, ${files.markdown}, ${files.html}`);
  if (card?.updated) console.log(`card: ${card.path} updated`);
  else if (
    card && values["update-card"] !== true &&
    (report.zeroShot || report.linearProbe || report.pooled)
  ) {
    console.log(`card: ${card.path} not changed (add --update-card to put these numbers in it)`);
  }
  const acc = (s?: { top1: number; top5: number; count: number; split: string }) =>
    s && { top1: s.top1, top5: s.top5, count: s.count, split: s.split };
  return {
    code: await reportFailures(problems.map((p) => ({ id: p.id, error: p.error }))),
    summary: {
      zeroShot: acc(report.zeroShot),
      linearProbe: acc(report.linearProbe),
      pooled: report.pooled && {
        zeroShot: acc(report.pooled.zeroShot),
        linearProbe: acc(report.pooled.linearProbe),
      },
      notRun: report.notRun,
      files,
      artefacts: report.artefacts,
      cardUpdated: card?.updated ?? false,
    },
  };
});
