/**
 * `deno task bench preset`: what the `clip` preset (decode to RGB at the source size, then
 * Pillow's bicubic in TypeScript) costs per clip against `clip-swscale` (ffmpeg's swscale resizes
 * and crops in one pass), at 340×256 (the real Kinetics clip) and 1280×720, and how far apart
 * their pixels are. Runs interleaved, one decode at a time; reports medians.
 *
 *   deno task bench preset [--reps 5] [--record]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { clipGeometry, decodeFrames, decodeSourceFrames, probeVideo } from "../lib/video/mod.ts";
import { resizeBicubicPillow } from "../lib/video/pillow_resize.ts";
import { lavfiVideo, repoPath, tempDir } from "../tests/support/media.ts";
import { recordTable } from "./results.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "5" },
    record: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("deno task bench preset [--reps N] [--record]");
  Deno.exit(0);
}
const reps = Number(values.reps);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const { dir, cleanup } = await tempDir("kinembed-bench-preset-");
try {
  const clips: [string, string][] = [
    ["340×256, 28 fps, 10 s (the real clip)", repoPath("fixtures", "kinetics_demo_clip.mp4")],
    [
      "1280×720, 25 fps, 10 s (testsrc2, h264)",
      await lavfiVideo(join(dir, "hd.mp4"), "testsrc2=s=1280x720:r=25:d=10"),
    ],
  ];
  const rows: string[] = [];
  for (const [name, path] of clips) {
    const probe = await probeVideo(path, "b");
    const t = { clip: [] as number[], swscale: [] as number[], resize: [] as number[] };
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      await decodeFrames(path, "b", { preset: "clip-swscale" });
      t.swscale.push(performance.now() - t0);
      t0 = performance.now();
      await decodeFrames(path, "b", { preset: "clip" });
      t.clip.push(performance.now() - t0);
      // the TypeScript resize alone, on the same frames
      const src = await decodeSourceFrames(path, "b", { probe });
      const g = clipGeometry(src.width, src.height);
      const bytes = src.width * src.height * 3;
      t0 = performance.now();
      for (let f = 0; f < src.count; f++) {
        resizeBicubicPillow(
          src.data.subarray(f * bytes, (f + 1) * bytes),
          src.width,
          src.height,
          3,
          g.scaleWidth,
          g.scaleHeight,
          { x: g.cropX, y: g.cropY, width: g.size, height: g.size },
        );
      }
      t.resize.push(performance.now() - t0);
    }
    const a = await decodeFrames(path, "b", { preset: "clip" });
    const b = await decodeFrames(path, "b", { preset: "clip-swscale" });
    const diffs = new Uint32Array(256);
    let sum = 0;
    for (let i = 0; i < a.data.length; i++) {
      const d = Math.abs(a.data[i] - b.data[i]);
      diffs[d]++;
      sum += d;
    }
    let acc = 0, p99 = 0, max = 0;
    for (let d = 0; d < 256; d++) {
      if (diffs[d]) max = d;
      acc += diffs[d];
      if (acc < a.data.length * 0.99) p99 = d + 1;
    }
    const [mc, ms, mr] = [median(t.clip), median(t.swscale), median(t.resize)];
    rows.push(
      `| ${name} | ${a.count} | ${ms.toFixed(0)} | ${mc.toFixed(0)} | ${(mc / ms).toFixed(2)} | ${
        mr.toFixed(0)
      } (${(mr / a.count).toFixed(1)} per frame) | ${
        (sum / a.data.length).toFixed(2)
      } / ${p99} / ${max} |`,
    );
  }
  const table = [
    "| clip | frames | clip-swscale ms | clip ms | clip / clip-swscale | of which the TypeScript resize, ms | clip vs clip-swscale: mean / p99 / max levels |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows,
  ].join("\n");
  console.log(table);
  if (values.record) {
    await recordTable(
      "Preprocessing presets: clip (Pillow-exact) vs clip-swscale",
      `deno task bench preset --reps ${reps} --record`,
      table,
      `Per clip, decode at 1 fps with ffmpeg's -threads 1, median of ${reps} interleaved runs. ` +
        "clip: ffmpeg samples and converts to RGB at the source size, then Pillow's bicubic runs " +
        "in TypeScript on the 224×224 window only. clip-swscale: ffmpeg's swscale resizes and " +
        "crops in the same pass.",
    );
  }
} finally {
  await cleanup();
}
