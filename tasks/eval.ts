/** `kinembed eval`: zero-shot and linear-probe accuracy of shards, next to the card's numbers. */
import { requireWorkDir } from "../lib/core/mod.ts";
import { intFlag, numberFlag, reportFailures, runTask, stringFlag } from "../lib/cli/mod.ts";
import { type EvalPooling, evaluate, formatEvalMarkdown } from "../lib/eval/mod.ts";
import { parseProviders } from "../lib/onnx/mod.ts";

await runTask({
  name: "eval",
  summary: "Zero-shot and linear-probe accuracy as the CLIP-Kinetics700 card computed them " +
    "(zero-shot: mean of per-frame softmax(100·x·W) over 28 prompt templates; probe: centre " +
    "frame, multinomial logistic regression, L2, C=0.316, L-BFGS, fit on train). Writes " +
    "eval.json, eval.md and eval.html. Without --zero-shot or --linear-probe, runs both where " +
    "possible (zero-shot needs --text-model).",
  flags: {
    work: {
      type: "string",
      arg: "DIR",
      help: "work dir: shards from DIR/shards, reports into DIR/reports (default work)",
    },
    shards: {
      type: "string",
      arg: "DIR",
      help: "a directory of shards with its splits.csv (e.g. the published set), instead of --work",
    },
    out: { type: "string", arg: "DIR", help: "reports directory (with --shards; default reports)" },
    "zero-shot": { type: "boolean", help: "run zero-shot (needs --text-model)" },
    "linear-probe": { type: "boolean", help: "run the linear probe (needs train shards)" },
    "text-model": {
      type: "string",
      arg: "NAME",
      help: "CLIP text encoder: an .onnx file (input_ids int64 [N,77] → text_embeds [N,D]), a " +
        "checkpoint, or a hub repo id owner/name[@revision]",
    },
    classes: {
      type: "string",
      arg: "FILE",
      help: "zero-shot class list, one per line (default the shipped 700 Kinetics-700 names)",
    },
    templates: {
      type: "string",
      arg: "FILE",
      help: "zero-shot prompt templates with {} (default the shipped 28)",
    },
    split: {
      type: "string",
      arg: "SPLIT",
      default: "val",
      help: "split scored (the probe trains on train)",
    },
    C: {
      type: "string",
      arg: "X",
      default: "0.316",
      help: "probe inverse L2 strength (sklearn's C)",
    },
    "max-iter": { type: "string", arg: "N", default: "1000", help: "probe L-BFGS iteration cap" },
    providers: {
      type: "string",
      arg: "LIST",
      default: "cuda,cpu",
      help: "ONNX Runtime execution providers, tried in order",
    },
    card: {
      type: "string",
      arg: "FILE",
      help:
        "dataset card with the published accuracies (default the shipped CLIP-Kinetics700 card)",
    },
    pool: {
      type: "string",
      arg: "HOW",
      default: "centre",
      help: "clip features: centre (the card's methods: centre frame for the probe, per-frame " +
        "softmax mean for zero-shot) | mean (L2-normalised mean of the frames, both) | all " +
        "(both, side by side)",
    },
    "update-card": {
      type: "boolean",
      help: "also put the numbers into the shards' dataset card (README.md beside them, written " +
        "by shard), keeping its other sections; without it eval writes only the reports",
    },
    force: {
      type: "boolean",
      help: "evaluate again even when the reports were made from these shards and settings",
    },
    quiet: { type: "boolean", help: "no progress lines" },
  },
}, async (values) => {
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
