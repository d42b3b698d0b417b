/** `kinembed demo`: the whole pipeline on the embedded fixture dataset with tiny random-weight models. */
import { DEMO_TASK, intFlag, runTask, stringFlag } from "../lib/cli/mod.ts";
import { parseProviders } from "../lib/onnx/mod.ts";
import { demoOutputs, runDemo } from "../fixtures/demo.ts";

await runTask(DEMO_TASK, async (v) => {
  const work = stringFlag(v, "work")!;
  const { run } = await runDemo({
    work,
    seed: intFlag(v, "seed", 0),
    providers: parseProviders(stringFlag(v, "providers")!),
    quiet: v.quiet === true,
  });
  const out = demoOutputs(work);
  const probe = run.eval?.report.linearProbe;
  const zs = run.eval?.report.zeroShot;
  console.log(`demo: shards in ${out.shards}`);
  console.log(
    `demo: verify ${
      run.verify?.ok ? "passed" : "FAILED"
    }; reports in ${out.reports} (eval.md, eval.html, eval.json)`,
  );
  const acc = (a: { top1: number; top5: number; split: string; count: number }) =>
    `top-1 ${a.top1.toFixed(3)}, top-5 ${a.top5.toFixed(3)} on ${a.count} ${a.split} videos`;
  if (probe) console.log(`demo: linear probe ${acc(probe)}`);
  if (zs) {
    console.log(`demo: zero-shot ${acc(zs)} (random-weight text model: chance level expected)`);
  }
  return {
    code: run.exitCode,
    summary: {
      shardsDir: out.shards,
      reportsDir: out.reports,
      verifyOk: run.verify?.ok,
      linearProbe: probe && { top1: probe.top1, top5: probe.top5, count: probe.count },
      zeroShot: zs && { top1: zs.top1, top5: zs.top5, count: zs.count },
    },
  };
});
