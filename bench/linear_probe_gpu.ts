/**
 * Device check of the linear probe: ONNX Runtime's CUDA provider against the CPU provider on the
 * benchmark's synthetic CLIP-like features (700 classes, 512 dims), up to the full train split's
 * size. Run on the GPU machine by `bench/linear_probe_gpu.sh 2` (see there);
 * `GPU_PROVIDER=cpu` makes a dry run anywhere. Writes `$OUT/probe_gpu.md`.
 *
 * ```sh
 * GPU_PROVIDER=cpu deno run -A bench/linear_probe_gpu.ts 3000 1500
 * ```
 * @module
 */
import { ProbeObjective, scoreLinearProbe, trainLinearProbe } from "../lib/eval/linear_probe.ts";
import type { ProviderName } from "../lib/onnx/providers.ts";
import {
  drawFeatures,
  featureModel,
  type SyntheticFeatures,
} from "../fixtures/synthetic_features.ts";
import { CARD_SAMPLES } from "./card_totals.ts";
const FULL = Number(Deno.args[0] ?? CARD_SAMPLES.train), SUB = Number(Deno.args[1] ?? 100000);
const VAL = CARD_SAMPLES.val;
const GPU = (Deno.env.get("GPU_PROVIDER") ?? "cuda") as ProviderName;
const OUT = Deno.env.get("OUT") ?? ".";
const t0 = performance.now();
const say = (s: string) => console.log(`[+${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);

const model = featureModel(700, 512, 0);
const train = drawFeatures(model, FULL, 1);
const val = drawFeatures(model, VAL, 2);
const sub = {
  features: train.features.subarray(0, SUB * 512),
  labels: train.labels.subarray(0, SUB),
  dim: 512,
};
say(`features drawn: ${FULL} train, ${VAL} val`);
const rows: string[] = [];
async function perEval(p: ProviderName, data: SyntheticFeatures, reps: number): Promise<number> {
  const obj = await ProbeObjective.open(data, 700, { providers: [p] });
  const w = new Float64Array(obj.size).map((_, i) => ((i * 7919) % 1000 - 500) * 1e-5);
  const g = new Float64Array(obj.size);
  await obj.evaluate(w, g);
  const t = performance.now();
  for (let i = 0; i < reps; i++) await obj.evaluate(w, g);
  const s = (performance.now() - t) / reps / 1000;
  say(
    `${p}: one evaluation on ${data.labels.length} rows ${
      s.toFixed(3)
    } s (session on ${obj.provider})`,
  );
  await obj.release();
  return s;
}
async function fit(p: ProviderName, data: SyntheticFeatures, label: string) {
  const probe = await trainLinearProbe(data, 700, { providers: [p] });
  const score = await scoreLinearProbe(probe, val, { providers: [p] });
  say(
    `${label} on ${probe.provider}: ${
      probe.seconds.toFixed(1)
    } s, ${probe.iterations} it, ${probe.evaluations} ev, ${probe.stop}, obj ${
      probe.objective.toFixed(3)
    }, top-1 ${score.top1.toFixed(4)}, top-5 ${score.top5.toFixed(4)}`,
  );
  rows.push(
    `| ${label} | ${probe.provider} | ${
      probe.seconds.toFixed(1)
    } | ${probe.iterations} (${probe.evaluations} evaluations), ${probe.stop} | ${
      probe.objective.toFixed(3)
    } | ${score.top1.toFixed(4)} | ${score.top5.toFixed(4)} |`,
  );
  return probe;
}
const gpuEval = await perEval(GPU, train, 3);
const cpuEval = await perEval("cpu", train, 1);
rows.push(
  `| one objective+gradient evaluation, ${FULL} rows | ${GPU} ${
    gpuEval.toFixed(3)
  } s | cpu (${navigator.hardwareConcurrency} threads) ${cpuEval.toFixed(3)} s | | | | |`,
);
await fit(GPU, sub, `fit ${SUB} train`);
await fit("cpu", sub, `fit ${SUB} train`);
await fit(GPU, train, `fit ${FULL} train (the full split's size)`);
const table = [
  "| run | provider | fit s | iterations | objective | val top-1 | val top-5 |",
  "| --- | --- | ---: | --- | ---: | ---: | ---: |",
  ...rows,
].join("\n");
console.log(table);
await Deno.writeTextFile(`${OUT}/probe_gpu.md`, table + "\n");
