import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { ffmpegRun, tempDir } from "../../tests/support/media.ts";
import { decodeFrames } from "./ffmpeg.ts";
import type { Preset } from "./presets.ts";

// Each source frame carries its own index N as 16 black/white blocks (4×4 of 60×60 px, bit b at
// column b % 4, row b / 4) on a 240×240 picture, which CLIP's geometry scales to 224×224 without
// a crop: block centres land at 28 + 56·i.
const INDEX_PATTERN = "geq=lum='if(mod(floor(N/pow(2,floor(X/60)+4*floor(Y/60))),2),235,16)'" +
  ":cb=128:cr=128";

function frameIndex(data: Uint8Array, frame: number): number {
  let n = 0;
  for (let b = 0; b < 16; b++) {
    const x = 28 + 56 * (b % 4), y = 28 + 56 * Math.floor(b / 4);
    const v = data[((frame * 224 + y) * 224 + x) * 3];
    assert(v < 60 || v > 190, `frame ${frame}: block ${b} is ${v}, neither black nor white`);
    if (v > 128) n |= 1 << b;
  }
  return n;
}

/** Presentation timestamps of every frame, in display order, as integers over the time base. */
async function frameTimes(path: string): Promise<{ pts: bigint[]; num: bigint; den: bigint }> {
  const out = await new Deno.Command("ffprobe", {
    args: [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=time_base:frame=best_effort_timestamp",
      "-of",
      "json",
      path,
    ],
    stdout: "piped",
  }).output();
  const j = JSON.parse(new TextDecoder().decode(out.stdout));
  const [num, den] = String(j.streams[0].time_base).split("/").map(BigInt);
  const pts = j.frames.map((f: { best_effort_timestamp: number }) =>
    BigInt(f.best_effort_timestamp)
  );
  return { pts, num, den };
}

/** The rule: output frame k is the last source frame whose time since the first is ≤ k/F. */
function expectedIndices(
  t: { pts: bigint[]; num: bigint; den: bigint },
  fps: [bigint, bigint],
  count: number,
): number[] {
  const [fNum, fDen] = fps;
  const want: number[] = [];
  for (let k = 0n; k < BigInt(count); k++) {
    // (pts_i − pts_0)·num/den ≤ k·fDen/fNum, in integers
    let last = 0;
    for (let i = 0; i < t.pts.length; i++) {
      if ((t.pts[i] - t.pts[0]) * t.num * fNum <= k * fDen * t.den) last = i;
    }
    want.push(last);
  }
  return want;
}

Deno.test("the frame at k/F, by content: 25, 29.97 and 30 fps with and without B-frames, and a variable-rate clip", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const bframes = ["-x264-params", "bframes=3:b-adapt=0"];
    const noBframes = ["-bf", "0"];
    const videos: { name: string; rate: string; extra: string[]; vf?: string; b: boolean }[] = [
      { name: "25 fps, B-frames", rate: "25", extra: bframes, b: true },
      { name: "25 fps, no B-frames", rate: "25", extra: noBframes, b: false },
      { name: "29.97 fps, B-frames", rate: "30000/1001", extra: bframes, b: true },
      { name: "29.97 fps, no B-frames", rate: "30000/1001", extra: noBframes, b: false },
      { name: "30 fps, B-frames", rate: "30", extra: bframes, b: true },
      { name: "30 fps, no B-frames", rate: "30", extra: noBframes, b: false },
      {
        // frame durations 20, 20, 80 ms, repeating
        name: "variable rate, B-frames",
        rate: "50",
        extra: [...bframes, "-fps_mode", "passthrough"],
        vf: "setpts='(N+3*floor(N/3))/(50*TB)'",
        b: true,
      },
    ];
    const rates: [bigint, bigint][] = [[1n, 1n], [3n, 1n]];
    // the clips are independent: made and checked side by side
    await Promise.all(videos.map(async (v, i) => {
      const path = join(dir, `${i}.mp4`);
      const graph = `nullsrc=s=240x240:r=${v.rate}:d=3.3,${INDEX_PATTERN}` +
        (v.vf ? `,${v.vf}` : "");
      await ffmpegRun([
        "-f",
        "lavfi",
        "-i",
        graph,
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-qp",
        "10",
        ...v.extra,
        path,
      ]);
      const t = await frameTimes(path);
      // the source frames themselves carry 0, 1, 2, ... in display order
      assert(t.pts.length > 40, `${v.name}: ${t.pts.length} frames`);
      const vfr = v.vf !== undefined;
      if (vfr) {
        const steps = new Set(t.pts.slice(1).map((p, j) => String(p - t.pts[j])));
        assert(steps.size > 1, `${v.name}: one frame duration only`);
      }
      for (const [fNum, fDen] of vfr ? [...rates, [1n, 2n] as [bigint, bigint]] : rates) {
        const fps = Number(fNum) / Number(fDen);
        const presets: Preset[] = vfr
          ? ["clip", "clip-swscale", "clip-video-encode-1.0"]
          : ["clip"];
        for (const preset of presets) {
          const got = await decodeFrames(path, `v${i}`, { fps, preset });
          const what = `${v.name} at ${fps} fps (${preset})`;
          // BGR for the 1.0 preset: the pattern is grey, so the first channel reads the same
          const indices = Array.from({ length: got.count }, (_, k) => frameIndex(got.data, k));
          assertEquals(indices, expectedIndices(t, [fNum, fDen], got.count), what);
          // ceil(d·F) frames, d = last timestamp + one frame
          const last = Number(t.pts[t.pts.length - 1] - t.pts[0]) * Number(t.num) /
            Number(t.den);
          const span = Math.ceil(last * fps + 1e-9);
          assert(got.count === span || got.count === span + 1, `${what}: ${got.count} frames`);
        }
      }
      if (v.b) {
        // the B-frame clips do reorder frames: some decode order differs from display order
        const probe = await new Deno.Command("ffprobe", {
          args: ["-v", "error", "-show_entries", "stream=has_b_frames", "-of", "csv=p=0", path],
          stdout: "piped",
        }).output();
        assert(Number(new TextDecoder().decode(probe.stdout).trim()) > 0, `${v.name} has B-frames`);
      }
    }));
  } finally {
    await cleanup();
  }
});
