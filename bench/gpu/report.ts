/**
 * The GPU bench's Markdown table from the results of the two device calls: PyTorch's
 * (`torch_results.json`), bare ONNX Runtime's (`ort.jsonl`) and the end-to-end run's (`e2e.jsonl`),
 * with the targets checked: ORT fp16 ≥ 1.0× PyTorch fp16 eager; end to end ≥ 0.8× the slower of
 * decode alone and encode alone.
 *
 * ```sh
 * deno run -A bench/gpu/report.ts --torch torch_results.json --ort ort.jsonl --e2e e2e.jsonl \
 *   --model fixture-vision_vit-b-32_uint8_fp16 --batch 256 --device "NVIDIA H100" --out gpu_table.md
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { ONNXRUNTIME_VERSION } from "../../lib/onnx/mod.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    torch: { type: "string" },
    ort: { type: "string" },
    e2e: { type: "string" },
    model: { type: "string", default: "fixture-vision_vit-b-32_uint8_fp16" },
    batch: { type: "string", default: "256" },
    device: { type: "string", default: "?" },
    out: { type: "string" },
  },
  strict: true,
});

type Row = Record<string, unknown>;
async function jsonl(path?: string): Promise<Row[]> {
  if (!path) return [];
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Row);
}
const torch = flags.torch
  ? JSON.parse(await Deno.readTextFile(flags.torch).catch(() => '{"results":[]}')) as {
    info?: Record<string, unknown>;
    results: { what: string; batch: number; img_s: number; ms: number }[];
  }
  : { results: [] };
const ort = await jsonl(flags.ort);
const e2e = await jsonl(flags.e2e);

const n0 = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(0);
const r2 = (x: number | undefined) => x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(2);
const torchAt = (what: string, b: number) =>
  torch.results.find((r) => r.what === what && r.batch === b)?.img_s;
const ortAt = (model: string, b: number) =>
  ort.find((r) => r.what === "ort" && r.model === model && r.batch === b && r.img_s)?.img_s as
    | number
    | undefined;
const check = (model: string) => {
  const c = ort.find((r) => r.what === "check" && r.model === model);
  const e = (c?.rel_err_vs_float64 ?? c?.rel_err_vs_cpu) as number | undefined;
  return e === undefined
    ? "–"
    : `${e.toExponential(1)} (vs ${
      c?.rel_err_vs_float64 !== undefined ? "PyTorch fp64" : "ORT CPU"
    })`;
};

const lines: string[] = [];
const date = new Date().toISOString().slice(0, 10);
lines.push(`### GPU encode, ${flags.device}, ${date}`, "");
if (torch.info) {
  const i = torch.info;
  lines.push(
    `PyTorch ${i.torch} (CUDA ${i.cuda}, cuDNN ${i.cudnn}, transformers ${i.transformers}, ` +
      `attention ${i.attn_implementation}); ONNX Runtime ${ONNXRUNTIME_VERSION} CUDA provider (CUDA 13) from ` +
      "onnxruntime-node. Random-weight CLIP ViT-B/32 image tower (87.8 M parameters). " +
      'img/s = batch / median time of one run; ORT and "host in/out" include copying the input ' +
      "to the GPU and the embeddings back.",
    "",
  );
}
const batches = [...new Set(ort.filter((r) => r.what === "ort").map((r) => r.batch as number))]
  .sort((a, b) => a - b);
lines.push(
  "| batch | ORT CUDA fp32 | ORT CUDA fp16 | PyTorch fp16 eager, host in/out | PyTorch fp16 eager, input on GPU | ORT fp16 / PyTorch fp16 (host in/out) | ORT fp16 / PyTorch fp16 (on GPU) |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
);
const verdicts: string[] = [];
for (const b of batches) {
  // the PyTorch-exported models; the project's fixture models (same shapes) where an export failed
  const o32 = ortAt("torch-clip_fp32", b) ?? ortAt("fixture-vision_vit-b-32", b);
  const o16 = ortAt("torch-clip_fp16", b) ?? ortAt("fixture-vision_vit-b-32_fp16", b);
  const th = torchAt("PyTorch fp16 eager, host in/out", b);
  const tg = torchAt("PyTorch fp16 eager, input on the GPU", b);
  lines.push(
    `| ${b} | ${n0(o32)} | ${n0(o16)} | ${n0(th)} | ${n0(tg)} | ${r2(o16! / th!)} | ${
      r2(o16! / tg!)
    } |`,
  );
  if (o16 && th) {
    verdicts.push(
      `ORT fp16 / PyTorch fp16 eager at batch ${b}: ${r2(o16 / th)}× host in/out, ${
        r2(o16 / tg!)
      }× input on the GPU (target ≥ 1.0: ${o16 / th >= 1 ? "met" : "NOT met"} against host in/out)`,
    );
  }
}
lines.push("");
const fixtures = [
  ...new Set(
    ort.filter((r) => String(r.model).startsWith("fixture-")).map((r) => String(r.model)),
  ),
];
if (fixtures.length) {
  lines.push(
    `Project fixture models (lib/onnx/clip_model_builder.ts, same shapes) on ORT ${
      String(ort.find((r) => r.provider)?.provider ?? "?")
    }:`,
    "",
    `| model | input | ${batches.map((b) => `batch ${b} img/s`).join(" | ")} | rel. error |`,
    `| --- | --- | ${batches.map(() => "---:").join(" | ")} | --- |`,
  );
  for (const m of fixtures) {
    const input = ort.find((r) => r.model === m && r.input)?.input ?? "?";
    lines.push(
      `| ${m.replace("fixture-", "")} | ${input} | ${
        batches.map((b) => n0(ortAt(m, b))).join(" | ")
      } | ${check(m)} |`,
    );
  }
  for (const m of ["torch-clip_fp32", "torch-clip_fp16"]) {
    if (ort.some((r) => r.model === m)) {
      lines.push(
        `| ${m} | float32-nchw | ${batches.map((b) => n0(ortAt(m, b))).join(" | ")} | ${
          check(m)
        } |`,
      );
    }
  }
  lines.push("");
}
const dec = e2e.find((r) => r.what === "decode");
const encStep = e2e.find((r) => r.what === "encode");
const run = e2e.find((r) => r.what === "e2e");
const bare = ortAt(flags.model!, Number(flags.batch));
if (dec || run) {
  const f = (r: Row | undefined, k: string) => r?.[k] as number | undefined;
  const both = (r: Row | undefined) => `${n0(f(r, "fps"))} / ${n0(f(r, "steady_fps"))}`;
  const slower = (k: string) => Math.min(f(dec, k) ?? Infinity, bare ?? Infinity);
  const ratio = (f(run, "steady_fps") ?? NaN) / slower("steady_fps");
  const ratioRaw = (f(run, "fps") ?? NaN) / slower("fps");
  lines.push(
    `End to end on the fixture dataset (${run?.videos ?? dec?.videos} videos of 10 s, ` +
      `${run?.frames ?? dec?.frames} frames at 1 FPS; ${run?.jobs ?? dec?.jobs} decode jobs on ` +
      `${run?.cores ?? dec?.cores} cores; model ${flags.model}, batch ${flags.batch}, provider ` +
      `${run?.provider ?? encStep?.provider ?? "?"}). frames/s as whole run / steady state ` +
      "(from the output files' times, start-up left out):",
    "",
    "| decode alone (sample step) | encode alone (bare ORT, ready tensors) | encode step alone (stored frames) | end to end (sample → encode streamed) | GPU busy, end to end | end to end / slower of the two (steady; whole run) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: |",
    `| ${both(dec)} | ${n0(bare)} | ${both(encStep)} | ${both(run)} | ${
      run?.gpu_util == null ? "–" : `${n0(run.gpu_util as number)}%`
    } | ${r2(ratio)}; ${r2(ratioRaw)} |`,
    "",
  );
  verdicts.push(
    `end to end / min(decode alone, encode alone) = ${r2(ratio)} in steady state, ${
      r2(ratioRaw)
    } over the whole runs (target ≥ 0.8: ${ratio >= 0.8 ? "met" : "NOT met"})`,
  );
}
if (verdicts.length) lines.push(...verdicts.map((v) => `- ${v}`), "");
const md = lines.join("\n");
if (flags.out) await Deno.writeTextFile(flags.out, md + "\n");
console.log(md);
