/**
 * End-to-end throughput of the streamed sample → encode (`sampleAndEncode`, the core of `run`) on
 * a fixture dataset, next to its two halves measured alone with the same settings, in this order:
 *
 * - `e2e`: decode and encode overlapped in one stream, frames/s, with the GPU's busy share
 *   (`nvidia-smi` utilisation sampled every 200 ms during the run, averaged); first, so that a run
 *   cut short by a time limit still has it;
 * - `decode`: the sample step alone (`sample`, same `--jobs`), frames/s;
 * - `encode`: the encode step alone on those stored frames (`encode`), frames/s.
 *
 * Each also gets a steady-state rate from its output files' times (start-up left out alike).
 *
 * ```sh
 * deno run -A bench/gpu/e2e.ts --dataset DIR --work-root DIR --model vision.onnx \
 *   --providers cuda --batch 256 [--jobs 16] [--modes decode,encode,e2e] [--jsonl FILE]
 * ```
 * Each mode uses a fresh work dir under `--work-root`; the dataset's videos are registered there
 * as downloaded (no copy).
 * @module
 */
import type { Split } from "../../lib/core/mod.ts";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { encode } from "../../lib/encode/encode.ts";
import { parseProviders } from "../../lib/onnx/providers.ts";
import { Manifest } from "../../lib/core/manifest.ts";
import { sampleAndEncode } from "../../lib/sample_and_encode.ts";
import { sample } from "../../lib/video/sample.ts";
import { ensureWorkDir } from "../../lib/core/work_dir.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    dataset: { type: "string" },
    "work-root": { type: "string" },
    model: { type: "string" },
    providers: { type: "string", default: "cuda" },
    batch: { type: "string", default: "256" },
    jobs: { type: "string", default: String(navigator.hardwareConcurrency) },
    modes: { type: "string", default: "decode,encode,e2e" },
    "max-frames-in-flight": { type: "string", default: "4096" },
    ffmpeg: { type: "string" },
    ffprobe: { type: "string" },
    jsonl: { type: "string" },
  },
  strict: true,
});
for (const k of ["dataset", "work-root", "model"] as const) {
  if (!flags[k]) throw new Error(`--${k} is required`);
}
const dataset = resolve(flags.dataset!);
const root = resolve(flags["work-root"]!);
const providers = parseProviders(flags.providers!);
const batch = Number(flags.batch);
const jobs = Number(flags.jobs);
const modes = flags.modes!.split(",");
const ffmpeg = flags.ffmpeg ?? Deno.env.get("FFMPEG_PATH");
const ffprobe = flags.ffprobe ?? Deno.env.get("FFPROBE_PATH");

interface DatasetVideo {
  id: string;
  split: Split;
  label: string;
  youtubeId: string;
  timeStart: number;
  timeEnd: number;
  path: string;
}
const videos =
  (JSON.parse(await Deno.readTextFile(join(dataset, "dataset.json"))) as { videos: DatasetVideo[] })
    .videos;

/** A fresh work dir whose manifest lists the dataset's videos as downloaded. */
async function freshWork(name: string): Promise<string> {
  const work = join(root, name);
  await Deno.remove(work, { recursive: true }).catch(() => {});
  const layout = await ensureWorkDir(work);
  const m = Manifest.open(layout.manifest);
  m.videos.add(videos.map((v) => ({
    id: v.id,
    split: v.split,
    label: v.split === "test" ? null : v.label,
    youtubeId: v.youtubeId,
    timeStart: v.timeStart,
    timeEnd: v.timeEnd,
    source: join(dataset, v.path),
  })));
  for (const v of videos) m.steps.markDone("download", v.id, { path: join(dataset, v.path) });
  m.close();
  return work;
}

/** Samples `nvidia-smi` GPU utilisation every 200 ms until stopped; null without nvidia-smi. */
function gpuSampler(): { stop: () => Promise<number[] | null> } {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("nvidia-smi", {
      args: ["--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "200"],
      stdout: "piped",
      stderr: "null",
    }).spawn();
  } catch {
    return { stop: () => Promise.resolve(null) };
  }
  const samples: number[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const lines = rest.split("\n");
      rest = lines.pop()!;
      for (const l of lines) if (/^\s*\d+/.test(l)) samples.push(Number(l.trim().split(/\s/)[0]));
    }
  })();
  return {
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone already */ }
      await child.status;
      await reading.catch(() => {});
      return samples;
    },
  };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/**
 * Steady-state frames/s of a step from its output files' modification times: the frames of every
 * file written after the first one, over the time from the first to the last. Start-up (CUDA
 * context, session creation, filling the pipeline) falls before the first file and is left out,
 * the same way for every mode.
 */
async function steadyFps(
  work: string,
  dir: "emb" | "frames",
  step: "encode" | "sample",
): Promise<number | null> {
  const m = Manifest.open(join(work, "manifest.db"));
  const frames = new Map<string, number>();
  for (const v of m.videos.list({ step, state: "done" })) {
    frames.set(v.id, v.steps[step]?.frames ?? 0);
  }
  m.close();
  const times: { t: number; n: number }[] = [];
  for await (const e of Deno.readDir(join(work, dir))) {
    if (!e.isFile || !e.name.endsWith(".npy")) continue;
    const st = await Deno.stat(join(work, dir, e.name));
    times.push({ t: st.mtime!.getTime(), n: frames.get(e.name.slice(0, -4)) ?? 0 });
  }
  if (times.length < 3) return null;
  times.sort((a, b) => a.t - b.t);
  const span = (times[times.length - 1].t - times[0].t) / 1000;
  const n = times.slice(1).reduce((a, x) => a + x.n, 0);
  return span > 0 ? n / span : null;
}

async function record(row: Record<string, unknown>): Promise<void> {
  const line = JSON.stringify({ ...row, jobs, batch, cores: navigator.hardwareConcurrency });
  if (flags.jsonl) await Deno.writeTextFile(flags.jsonl, line + "\n", { append: true });
}

function say(text: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] e2e: ${text}`);
}

say(
  `${videos.length} videos in ${dataset}; model ${flags.model}; providers ${providers}; ` +
    `batch ${batch}; jobs ${jobs}`,
);
if (modes.includes("e2e")) {
  const work = await freshWork("e2e");
  const gpu = gpuSampler();
  const r = await sampleAndEncode({
    work,
    model: flags.model!,
    providers,
    batch,
    jobs,
    ffmpeg,
    ffprobe,
    maxFramesInFlight: Number(flags["max-frames-in-flight"]),
    quiet: true,
  });
  const util = await gpu.stop();
  const fps = r.encode.frames / r.seconds;
  const steady = await steadyFps(work, "emb", "encode");
  say(
    `end to end (sample → encode streamed, ${r.encode.provider}): ${r.encode.done} videos, ` +
      `${r.encode.frames} frames in ${r.seconds.toFixed(1)} s = ${fps.toFixed(0)} frames/s` +
      ` (steady ${steady?.toFixed(0) ?? "?"})` +
      (util ? `, GPU busy ${mean(util).toFixed(0)}% (${util.length} samples)` : "") +
      ` (${r.sample.failed.length} decode failures)`,
  );
  for (const f of [...r.sample.failed, ...r.encode.failed].slice(0, 5)) {
    say(`  failed: ${f.id}: ${f.error}`);
  }
  await record({
    what: "e2e",
    provider: r.encode.provider,
    videos: r.encode.done,
    frames: r.encode.frames,
    seconds: r.seconds,
    fps,
    steady_fps: steady,
    gpu_util: util ? mean(util) : null,
    gpu_samples: util?.length ?? 0,
  });
}
let decodeWork: string | null = null;
if (modes.includes("decode")) {
  decodeWork = await freshWork("decode");
  const s = await sample({ work: decodeWork, jobs, ffmpeg, ffprobe, quiet: true });
  const fps = s.frames / s.seconds;
  const steady = await steadyFps(decodeWork, "frames", "sample");
  say(
    `decode alone (sample step, ${jobs} jobs): ${s.done} videos, ${s.frames} frames in ` +
      `${s.seconds.toFixed(1)} s = ${fps.toFixed(0)} frames/s (steady ${
        steady?.toFixed(0) ?? "?"
      }; ${s.failed.length} failed)`,
  );
  for (const f of s.failed.slice(0, 5)) say(`  failed: ${f.id}: ${f.error}`);
  await record({
    what: "decode",
    videos: s.done,
    frames: s.frames,
    seconds: s.seconds,
    fps,
    steady_fps: steady,
  });
}
if (modes.includes("encode") && decodeWork) {
  const gpu = gpuSampler();
  const s = await encode({
    work: decodeWork,
    model: flags.model!,
    providers,
    batch,
    quiet: true,
  });
  const util = await gpu.stop();
  const fps = s.frames / s.seconds;
  const steady = await steadyFps(decodeWork, "emb", "encode");
  say(
    `encode alone (encode step on stored frames, ${s.provider}): ${s.done} videos, ${s.frames} ` +
      `frames in ${s.seconds.toFixed(1)} s = ${fps.toFixed(0)} frames/s` +
      ` (steady ${steady?.toFixed(0) ?? "?"})` +
      (util ? `, GPU busy ${mean(util).toFixed(0)}% (${util.length} samples)` : ""),
  );
  await record({
    what: "encode",
    provider: s.provider,
    videos: s.done,
    frames: s.frames,
    seconds: s.seconds,
    fps,
    steady_fps: steady,
    gpu_util: util ? mean(util) : null,
  });
}
