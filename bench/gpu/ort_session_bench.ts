/**
 * Bare ONNX Runtime throughput of CLIP image encoders: `session.run` (through `ImageEncoder`, what
 * the pipeline calls) on ready host tensors at fixed batch sizes, the input copied in and the
 * embeddings copied out on every run. Prints one line per model and batch and appends JSON lines.
 *
 * ```sh
 * deno run -A bench/gpu/ort_session_bench.ts --provider cuda --model clip_fp16.onnx \
 *   --batches 256,1024 [--iters 20] [--label torch-fp16] [--compare-cpu] \
 *   [--check-input X.f32 --check-ref Y.f32] [--jsonl results.jsonl]
 * ```
 * `--compare-cpu` runs 2 frames on the CPU provider too and prints the relative error;
 * `--check-input/--check-ref` compare 4 images against a float64 PyTorch reference.
 * @module
 */
import { mulberry32 } from "../../lib/core/mod.ts";
import { parseArgs } from "node:util";
import { ImageEncoder } from "../../lib/onnx/image_encoder.ts";
import { parseProviders } from "../../lib/onnx/providers.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    provider: { type: "string", default: "cuda" }, // a list falls back in order: cuda,cpu
    model: { type: "string" },
    label: { type: "string" },
    batches: { type: "string", default: "256,1024" },
    iters: { type: "string", default: "20" },
    "compare-cpu": { type: "boolean", default: false },
    "check-input": { type: "string" },
    "check-ref": { type: "string" },
    jsonl: { type: "string" },
  },
  strict: true,
});
if (!flags.model) throw new Error("--model FILE is required");
const model = flags.model;
const label = flags.label ?? model.split("/").pop()!;
const providers = parseProviders(flags.provider!);
const t0 = performance.now();
const enc = await ImageEncoder.open(model, {
  providers,
  onFallback: (p, r) => console.error(`ort_session_bench: ${p} did not load: ${r}`),
});
const openMs = performance.now() - t0;
console.log(
  `ort ${enc.provider} ${label}: input ${enc.inputKind}, opened in ${openMs.toFixed(0)} ms`,
);
const rand = mulberry32(7);
const frameElems = 3 * 224 * 224;

function input(n: number): Float32Array | Uint8Array {
  if (enc.inputKind === "uint8-nhwc") {
    return Uint8Array.from({ length: n * frameElems }, () => Math.floor(rand() * 256));
  }
  // roughly CLIP-normalised pixels
  return Float32Array.from({ length: n * frameElems }, () => (rand() - 0.5) * 3.6);
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

async function record(row: Record<string, unknown>): Promise<void> {
  if (flags.jsonl) {
    await Deno.writeTextFile(flags.jsonl, JSON.stringify(row) + "\n", { append: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const b of flags.batches!.split(",").map(Number)) {
  const iters = Math.max(3, Math.round(Number(flags.iters) * (b > 256 ? 0.5 : 1)));
  try {
    const xs = [input(b), input(b)]; // two buffers, alternated
    let t = performance.now();
    let y = await enc.encode(xs[0], b);
    const firstMs = performance.now() - t;
    await enc.encode(xs[1], b);
    const ms: number[] = [];
    for (let i = 0; i < iters; i++) {
      t = performance.now();
      y = await enc.encode(xs[i % 2], b);
      ms.push(performance.now() - t);
    }
    const finite = y.every((v) => Number.isFinite(v));
    const m = median(ms);
    console.log(
      `ort ${enc.provider} ${label} batch ${String(b).padStart(5)}: ${m.toFixed(2)} ms/run ` +
        `(median of ${iters}; first ${firstMs.toFixed(0)} ms)  ${(b * 1000 / m).toFixed(0)} img/s` +
        (finite ? "" : "  NON-FINITE OUTPUT"),
    );
    await record({
      what: "ort",
      provider: enc.provider,
      model: label,
      input: enc.inputKind,
      batch: b,
      ms: m,
      img_s: b * 1000 / m,
      first_ms: firstMs,
      iters,
      finite,
    });
  } catch (e) {
    console.log(`ort ${enc.provider} ${label} batch ${b}: ERROR ${String(e).slice(0, 300)}`);
    await record({ what: "ort", provider: enc.provider, model: label, batch: b, error: String(e) });
  }
}

if (flags["check-input"] && flags["check-ref"] && enc.inputKind === "float32-nchw") {
  const x = new Float32Array((await Deno.readFile(flags["check-input"])).buffer);
  const ref = new Float32Array((await Deno.readFile(flags["check-ref"])).buffer);
  const y = await enc.encode(x, 4);
  const err = relErr(y, ref);
  console.log(
    `ort ${enc.provider} ${label}: vs PyTorch float64 on 4 images, rel. error ${
      err.toExponential(2)
    }`,
  );
  await record({ what: "check", provider: enc.provider, model: label, rel_err_vs_float64: err });
}
if (flags["compare-cpu"] && enc.provider !== "cpu") {
  const x = input(2);
  const y = await enc.encode(x, 2);
  const cpu = await ImageEncoder.open(model, { providers: ["cpu"] });
  const want = await cpu.encode(x, 2);
  await cpu.release();
  const err = relErr(y, want);
  console.log(
    `ort ${enc.provider} ${label}: vs the CPU provider on 2 frames, rel. error ${
      err.toExponential(2)
    }`,
  );
  await record({ what: "check", provider: enc.provider, model: label, rel_err_vs_cpu: err });
}
await enc.release();
