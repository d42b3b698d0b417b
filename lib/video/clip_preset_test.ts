import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { lavfiVideo, repoPath, tempDir } from "../../tests/support/media.ts";
import { byteDiff, pillowResize, pillowVersion } from "../../tests/support/pillow.ts";
import { CLASS_LOOKS } from "../../fixtures/dataset_builder.ts";
import { clipGeometry, decodeFrames, decodeSourceFrames } from "./ffmpeg.ts";
import { resizeCubicOpenCv } from "./opencv_cubic_resize.ts";

const DEMO_CLIP = repoPath("fixtures", "kinetics_demo_clip.mp4");

function look(label: string, w: number, h: number, rate = "25"): string {
  const l = CLASS_LOOKS.find((c) => c.label === label);
  if (!l) throw new Error(`no fixture look ${label}`);
  return `${l.graph({ w, h, rate, seed: 3, u: 0.4 })},trim=duration=2`;
}

Deno.test("preset clip: every frame is Pillow's BICUBIC resize + torchvision's centre crop of the decoded RGB frame, byte for byte", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const lossless = ["-c:v", "libx264rgb", "-qp", "0", "-pix_fmt", "rgb24"];
    const videos: [string, string][] = [
      ["the real Kinetics clip 340x256", DEMO_CLIP],
      [
        "fixture testsrc2 320x240",
        await lavfiVideo(join(dir, "a.mp4"), look("air drumming", 320, 240)),
      ],
      [
        "fixture cellauto 340x256",
        await lavfiVideo(join(dir, "b.mp4"), look("bandaging", 340, 256)),
      ],
      [
        "fixture checkerboard 240x320",
        await lavfiVideo(join(dir, "c.mp4"), look("playing chess", 240, 320)),
      ],
      [
        "fixture mandelbrot 640x360 vp9",
        await lavfiVideo(join(dir, "d.webm"), look("barbequing", 640, 360), [
          "-c:v",
          "libvpx-vp9",
          "-deadline",
          "realtime",
          "-cpu-used",
          "8",
        ]),
      ],
      // lossless RGB with fine texture: no YUV in between, shrinking and enlarging
      [
        "lossless RGB cellauto 480x360",
        await lavfiVideo(join(dir, "e.mkv"), look("bandaging", 480, 360), lossless),
      ],
      [
        "lossless RGB life 160x120 (enlarged)",
        await lavfiVideo(join(dir, "f.mkv"), look("arm wrestling", 160, 120), lossless),
      ],
      [
        "lossless RGB testsrc2 1280x720",
        await lavfiVideo(join(dir, "g.mkv"), "testsrc2=s=1280x720:r=5:d=1", lossless),
      ],
    ];
    const version = await pillowVersion();
    for (const [name, path] of videos) {
      const src = await decodeSourceFrames(path, "v");
      const got = await decodeFrames(path, "v");
      assertEquals(got.count, src.count, name);
      const g = clipGeometry(src.width, src.height);
      const bytes = src.width * src.height * 3;
      const want = await pillowResize(
        Array.from({ length: src.count }, (_, f) => ({
          rgb: src.data.subarray(f * bytes, (f + 1) * bytes),
          width: src.width,
          height: src.height,
          dstWidth: g.scaleWidth,
          dstHeight: g.scaleHeight,
          crop: { x: g.cropX, y: g.cropY, width: g.size, height: g.size },
        })),
      );
      const frame = g.size * g.size * 3;
      for (let f = 0; f < src.count; f++) {
        const d = byteDiff(got.data.subarray(f * frame, (f + 1) * frame), want[f]);
        assertEquals(
          d.differing,
          0,
          `${name}, frame ${f}: ${JSON.stringify(d)} vs Pillow ${version}`,
        );
      }
    }
  } finally {
    await cleanup();
  }
});

/**
 * OpenCV's INTER_CUBIC in plain float64, written from its definition (not from the module under
 * test): source coordinate (d + 0.5)·scale − 0.5, four taps of Keys cubic with parameter a,
 * edge pixels replicated, rounded and saturated once at the end.
 */
function keysCubicReference(
  src: Uint8Array,
  w: number,
  h: number,
  dw: number,
  dh: number,
  a: number,
): Uint8Array {
  const kernel = (x: number) => {
    x = Math.abs(x);
    if (x <= 1) return (a + 2) * x ** 3 - (a + 3) * x ** 2 + 1;
    if (x < 2) return a * x ** 3 - 5 * a * x ** 2 + 8 * a * x - 4 * a;
    return 0;
  };
  const axis = (n: number, dn: number) =>
    Array.from({ length: dn }, (_, d) => {
      const f = (d + 0.5) * (n / dn) - 0.5, s = Math.floor(f), t = f - s;
      return [-1, 0, 1, 2].map((k) => ({
        i: Math.min(n - 1, Math.max(0, s + k)),
        w: kernel(t - k),
      }));
    });
  const ax = axis(w, dw), ay = axis(h, dh);
  const out = new Uint8Array(dw * dh * 3);
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (const ty of ay[y]) {
          for (const tx of ax[x]) v += ty.w * tx.w * src[(ty.i * w + tx.i) * 3 + c];
        }
        out[(y * dw + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
  return out;
}

Deno.test("preset clip-video-encode-1.0: on textured frames the resize is Keys cubic with a = −0.75 (±1 for fixed point), not −0.5", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = await lavfiVideo(join(dir, "t.mkv"), look("bandaging", 340, 256), [
      "-c:v",
      "libx264rgb",
      "-qp",
      "0",
      "-pix_fmt",
      "rgb24",
    ]);
    const src = await decodeSourceFrames(path, "t", { pixFmt: "bgr24" });
    const one = src.data.subarray(0, 340 * 256 * 3);
    const g = clipGeometry(340, 256, "clip-video-encode-1.0");
    const got = resizeCubicOpenCv(one, 340, 256, 3, g.scaleWidth, g.scaleHeight);
    const keys75 = keysCubicReference(one, 340, 256, g.scaleWidth, g.scaleHeight, -0.75);
    const keys50 = keysCubicReference(one, 340, 256, g.scaleWidth, g.scaleHeight, -0.5);
    const d75 = byteDiff(got, keys75), d50 = byteDiff(got, keys50);
    assert(d75.max <= 1 && d75.differing < got.length / 10, `a = -0.75: ${JSON.stringify(d75)}`);
    // the texture tells the kernels apart
    assert(
      d50.max >= 8 && d50.differing > got.length / 4,
      `a = -0.5 should differ: ${JSON.stringify(d50)}`,
    );
    // and the preset's frames are that resize, cropped at the floor offset, in BGR
    const frames = await decodeFrames(path, "t", { preset: "clip-video-encode-1.0" });
    const frame = 224 * 224 * 3;
    for (let y = 0; y < 224; y++) {
      const from = ((y + g.cropY) * g.scaleWidth + g.cropX) * 3;
      assertEquals(
        frames.data.subarray(y * 224 * 3, (y + 1) * 224 * 3),
        got.subarray(from, from + 224 * 3),
        `row ${y}`,
      );
    }
    assertEquals(frames.data.length, src.count * frame);
  } finally {
    await cleanup();
  }
});

/** Raw frames from the ffmpeg CLI with the given filters, for pinning documented filter chains. */
async function ffmpegRaw(path: string, vf: string, pixFmt: string): Promise<Uint8Array> {
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-v",
      "error",
      "-threads",
      "1",
      "-i",
      path,
      "-an",
      "-vf",
      vf,
      "-pix_fmt",
      pixFmt,
      "-f",
      "rawvideo",
      "-",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return out.stdout;
}

Deno.test("decode to RGB: BT.601 limited range for an untagged stream, against the matrix written out (±1)", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // 4:4:4 lossless: no chroma to upsample, so only the matrix and range decide the RGB
    const path = await lavfiVideo(join(dir, "m.mp4"), look("surfing water", 64, 48), [
      "-pix_fmt",
      "yuv444p",
      "-qp",
      "0",
    ]);
    const yuv = (await ffmpegRaw(path, "fps=fps=1:round=up", "yuv444p")).subarray(0, 64 * 48 * 3);
    const rgb = (await decodeSourceFrames(path, "m")).data.subarray(0, 64 * 48 * 3);
    const n = 64 * 48;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const y = (yuv[i] - 16) * 255 / 219;
      const u = (yuv[n + i] - 128) * 255 / 224, v = (yuv[2 * n + i] - 128) * 255 / 224;
      const want = [
        y + 1.402 * v,
        y - (1.772 * 0.114 / 0.587) * u - (1.402 * 0.299 / 0.587) * v,
        y + 1.772 * u,
      ].map((c) => Math.min(255, Math.max(0, Math.round(c))));
      for (let c = 0; c < 3; c++) max = Math.max(max, Math.abs(rgb[i * 3 + c] - want[c]));
    }
    assert(max <= 1, `RGB differs from BT.601 limited range by up to ${max}`);
  } finally {
    await cleanup();
  }
});

Deno.test("filter chains as documented: clip decodes with bicubic chroma (full_chroma_int, accurate_rnd), clip-swscale scales bicubic a = −0.5", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = await lavfiVideo(join(dir, "s.mp4"), look("air drumming", 340, 256));
    const flags = "bicubic+accurate_rnd+full_chroma_int:param0=0:param1=0.5";
    const rgb = await ffmpegRaw(
      path,
      `fps=fps=1:round=up,scale=flags=${flags},format=rgb24`,
      "rgb24",
    );
    const ours = (await decodeSourceFrames(path, "s")).data;
    assertEquals(byteDiff(ours, rgb).differing, 0, "clip's decode to RGB");
    const fast = await ffmpegRaw(
      path,
      `fps=fps=1:round=up,scale=297:224:flags=${flags},crop=224:224:36:0`,
      "rgb24",
    );
    const swscale = (await decodeFrames(path, "s", { preset: "clip-swscale" })).data;
    assertEquals(byteDiff(swscale, fast).differing, 0, "clip-swscale");
    // and the two kernels are told apart on this texture
    const bilinear = await ffmpegRaw(
      path,
      "fps=fps=1:round=up,scale=297:224:flags=bilinear+accurate_rnd+full_chroma_int,crop=224:224:36:0",
      "rgb24",
    );
    assert(byteDiff(fast, bilinear).max > 8, "bicubic and bilinear look alike on this texture");
  } finally {
    await cleanup();
  }
});
