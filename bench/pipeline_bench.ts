/**
 * Pipeline benchmarks (targets: sample ≤ 1.15× the CPU of `ffmpeg -f null`, encode ≥ 0.95× bare
 * `session.run`, run ≤ 1.1× the slower stage alone). Each figure has its baseline measured in the
 * same run on the same inputs.
 *
 *   deno run -A bench/pipeline_bench.ts [--dir DIR] [--videos N] [--encode-frames N] [--size tiny|vit-b-32] [--record]
 */
import { basename, join } from "node:path";
import * as ort from "onnxruntime-node";
import { intFlag, runTask, stringFlag } from "../lib/cli/flags.ts";
import { normalizeFrames } from "../lib/encode/clip_normalize.ts";
import { encode } from "../lib/encode/encode.ts";
import { readNpy } from "../lib/base/npy.ts";
import { sampleAndEncode } from "../lib/sample_and_encode.ts";
import { sample } from "../lib/video/sample.ts";
import { ffmpegBinary } from "../lib/video/ffmpeg.ts";
import type { ModelSize } from "../lib/onnx/clip_model_builder.ts";
import { benchClips, freshWorkDir } from "./bench_clips.ts";
import { recordTable } from "./results.ts";
import { measureCommand } from "./cpu_time.ts";

await runTask({
  name: "bench pipeline",
  summary:
    "Measure sample, encode and run against bare ffmpeg / bare session.run / the slower stage alone.",
  flags: {
    dir: {
      type: "string",
      arg: "DIR",
      default: ".kinembed/bench",
      help: "scratch folder (datasets are reused)",
    },
    videos: { type: "string", arg: "N", default: "48", help: "10 s videos decoded" },
    "encode-frames": {
      type: "string",
      arg: "N",
      default: "192",
      help: "frames encoded (whole videos)",
    },
    size: {
      type: "string",
      arg: "SIZE",
      default: "vit-b-32",
      help: "fixture model size: tiny | vit-b-32",
    },
    jobs: {
      type: "string",
      arg: "N",
      default: String(navigator.hardwareConcurrency),
      help: "decode parallelism",
    },
    batch: { type: "string", arg: "N", default: "32", help: "encode batch" },
    record: { type: "boolean", help: "prepend the table to bench/RESULTS.md" },
  },
}, async (v) => {
  const dir = stringFlag(v, "dir")!;
  const nVideos = intFlag(v, "videos", 1)!;
  const encodeFrames = intFlag(v, "encode-frames", 1)!;
  const jobs = intFlag(v, "jobs", 1)!;
  const batch = intFlag(v, "batch", 1)!;
  const size = stringFlag(v, "size") as ModelSize;
  const bench = await benchClips(dir, nVideos, size);
  const { videos, model } = bench;
  const freshWork = (name: string, vids: typeof videos) =>
    freshWorkDir(join(dir, name), bench, vids);
  const rows: string[][] = [];
  const time = async <T>(fn: () => Promise<T>) => {
    const t0 = performance.now();
    const r = await fn();
    return { r, s: (performance.now() - t0) / 1000 };
  };

  // 1. sample vs a bare decode: CPU per clip of the sample task (as a user runs it, less its fixed
  // start-up, measured by a rerun with nothing to do) against `ffmpeg -i clip -f null -` with the
  // same binary on the same clips. The task runs the clip-swscale preset, whose resize is ffmpeg's;
  // `bench preset` prices the default preset's Pillow-exact resize against it.
  console.error(`sample: ${videos.length} videos × 10 s, ${jobs} jobs`);
  const sw = await freshWork("sample", videos);
  const ffmpeg = ffmpegBinary();
  const task = ["run", "-A", "tasks/sample.ts", "--work", sw, "--jobs", String(jobs), "--quiet"]
    .concat(["--preset", "clip-swscale"]);
  const ours = await measureCommand(Deno.execPath(), task);
  const fixed = await measureCommand(Deno.execPath(), task);
  const frames = Number(/ (\d+) frames/.exec(ours.stdout)?.[1] ?? NaN);
  const bare = await measureCommand("bash", [
    "-c",
    'f=$1; shift; for c; do "$f" -nostdin -v error -i "$c" -f null - || exit; done',
    "bash",
    ffmpeg,
    ...videos.map((x) => join(bench.root, x.path)),
  ]);
  const oursPerClip = (ours.cpu - fixed.cpu) / videos.length;
  const barePerClip = bare.cpu / videos.length;
  rows.push([
    "sample (decode 1 fps, CLIP geometry)",
    `${oursPerClip.toFixed(3)} CPU s/clip, ${
      (frames / (ours.wall - fixed.wall)).toFixed(1)
    } frames/s`,
    `\`ffmpeg -i clip -f null -\` ${barePerClip.toFixed(3)} CPU s/clip (${basename(ffmpeg)})`,
    (oursPerClip / barePerClip).toFixed(2),
    "≤ 1.15",
  ]);

  // 2. encode vs bare session.run on ready tensors (same model, batch, frames)
  const encVideos: typeof videos = [];
  let nf = 0;
  for (const x of videos) {
    if (nf >= encodeFrames) break;
    encVideos.push(x);
    nf += Math.ceil(x.duration);
  }
  console.error(`encode: ${nf} frames, ${size} model, batch ${batch}`);
  const ew = await freshWork("encode", encVideos);
  await sample({ work: ew, jobs, quiet: true });
  const packs: Uint8Array[] = [];
  for (const x of encVideos) {
    packs.push(readNpy(await Deno.readFile(join(ew, "frames", `${x.id}.npy`))).data as Uint8Array);
  }
  const encOurs = await time(() =>
    encode({ work: ew, model, providers: ["cpu"], batch, quiet: true, keepFrames: true })
  );
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
  });
  const all = new Uint8Array(packs.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of packs) {
    all.set(p, o);
    o += p.length;
  }
  const nBatches = Math.ceil(nf / batch);
  const tensors = Array.from({ length: nBatches }, (_, b) => {
    const x = new Float32Array(batch * 3 * 224 * 224);
    const n = Math.min(batch, nf - b * batch);
    normalizeFrames(all, b * batch, n, 224, x, 0);
    return new ort.Tensor("float32", x, [batch, 3, 224, 224]);
  });
  await session.run({ pixel_values: tensors[0] }); // warm-up, as encode's first batch is not excluded either
  const encBare = await time(async () => {
    for (const t of tensors) await session.run({ pixel_values: t });
  });
  await session.release();
  rows.push([
    `encode (${size}, batch ${batch}, cpu)`,
    `${(nf / encOurs.s).toFixed(2)} frames/s`,
    `bare session.run ${(nf / encBare.s).toFixed(2)} frames/s`,
    (encBare.s / encOurs.s).toFixed(2),
    "≥ 0.95",
  ]);

  // 3. run (streamed sample → encode) vs the slower of the two stages alone, same videos
  console.error(`run: ${encVideos.length} videos streamed`);
  const rw = await freshWork("run", encVideos);
  const run = await time(() =>
    sampleAndEncode({ work: rw, model, providers: ["cpu"], batch, jobs, quiet: true })
  );
  const sw2 = await freshWork("sample2", encVideos);
  const sampleAlone = await time(() => sample({ work: sw2, jobs, quiet: true }));
  const slower = Math.max(sampleAlone.s, encOurs.s);
  rows.push([
    "run (sample → encode streamed)",
    `${run.s.toFixed(1)} s wall`,
    `slower stage alone ${slower.toFixed(1)} s (sample ${sampleAlone.s.toFixed(1)} s, encode ${
      encOurs.s.toFixed(1)
    } s)`,
    (run.s / slower).toFixed(2),
    "≤ 1.10",
  ]);

  const table = [
    "| measure | kinembed | baseline (same run) | ratio | target |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  console.log(table);
  if (v.record === true) {
    await recordTable(
      "Pipeline: sample, encode, run",
      `deno run -A bench/pipeline_bench.ts --videos ${nVideos} --encode-frames ${encodeFrames} --size ${size} --jobs ${jobs} --batch ${batch} --record`,
      table,
    );
  }
  return 0;
});
