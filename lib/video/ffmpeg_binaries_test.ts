import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { ffmpegRun, lavfiVideo, repoPath, tempDir } from "../../tests/support/media.ts";
import { buildFixtureDataset } from "../../fixtures/dataset_builder.ts";
import { sha256Bytes } from "../base/mod.ts";
import { clipGeometry, decodeFilterGraph, decodeFrames, probeVideo } from "./ffmpeg.ts";
import { resizeCubicOpenCv } from "./opencv_cubic_resize.ts";
import {
  binaryIdentity,
  defaultFfmpegBinary,
  installedStaticBuild,
  installStaticBuilds,
  STATIC_BUILDS,
} from "./ffmpeg_binaries.ts";
import { ConfigError } from "../base/mod.ts";

/** The static build the bootstrap installed; the test fails (not skips) without it. */
function staticFfmpeg(): string {
  const p = installedStaticBuild("ffmpeg");
  assert(p !== null, "the static ffmpeg is not installed: run ./kinembed bootstrap");
  return p;
}

/**
 * Frames the way `decodeFrames` made them before: ffprobe, numeric geometry, raw RGB24 or BGR24
 * (with the static build; that it equals Debian's is checked on the new path).
 */
async function referenceFrames(
  path: string,
  preset: "clip" | "1.0",
  ffmpeg: string,
): Promise<Uint8Array> {
  const probe = await probeVideo(path, "ref");
  const g = decodeFilterGraph(probe);
  const vf = preset === "clip" ? g.filters : "fps=fps=1:round=up";
  const out = await new Deno.Command(ffmpeg, {
    args: ["-nostdin", "-v", "error", "-threads", "1", "-i", path, "-an", "-sn", "-dn"]
      .concat(["-vf", vf, "-pix_fmt", preset === "clip" ? "rgb24" : "bgr24", "-f", "rawvideo"])
      .concat(["pipe:1"]),
    stdin: "null",
  }).output();
  assert(out.success, `reference decode of ${path}: ${new TextDecoder().decode(out.stderr)}`);
  if (preset === "clip") return out.stdout;
  const swap = probe.rotation === 90 || probe.rotation === 270;
  const w = swap ? probe.height : probe.width, h = swap ? probe.width : probe.height;
  const c = clipGeometry(w, h, "clip-video-encode-1.0");
  const n = out.stdout.length / (w * h * 3);
  const frames = new Uint8Array(n * 224 * 224 * 3);
  for (let f = 0; f < n; f++) {
    const r = resizeCubicOpenCv(
      out.stdout.subarray(f * w * h * 3, (f + 1) * w * h * 3),
      w,
      h,
      3,
      c.scaleWidth,
      c.scaleHeight,
    );
    for (let y = 0; y < 224; y++) {
      const from = ((y + c.cropY) * c.scaleWidth + c.cropX) * 3;
      frames.set(r.subarray(from, from + 224 * 3), (f * 224 + y) * 224 * 3);
    }
  }
  return frames;
}

/** The hard cases: odd size, rotation, 10-bit, MPEG-4 in AVI, VP9, two video streams, 0.4 s. */
async function hardCases(dir: string): Promise<[string, string][]> {
  const at = (n: string) => join(dir, n);
  const src = "testsrc2=s=333x187:r=25:d=1";
  await lavfiVideo(at("odd.mp4"), src, ["-pix_fmt", "yuv444p"]);
  await lavfiVideo(at("upright.mp4"), "testsrc2=s=320x240:r=25:d=1");
  await ffmpegRun(["-i", at("upright.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90"]
    .concat([at("rotated.mp4")]));
  await lavfiVideo(at("tenbit.mp4"), "testsrc2=s=320x240:r=25:d=1", ["-pix_fmt", "yuv420p10le"]);
  await ffmpegRun(["-f", "lavfi", "-i", "testsrc2=s=352x288:r=25:d=1", "-c:v", "mpeg4"]
    .concat(["-q:v", "5", at("mpeg4.avi")]));
  await ffmpegRun(["-f", "lavfi", "-i", "testsrc2=s=320x240:r=24:d=1", "-c:v", "libvpx-vp9"]
    .concat(["-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k", at("vp9.webm")]));
  await ffmpegRun([
    ...["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1"],
    ...["-f", "lavfi", "-i", "smptebars=s=160x120:r=25:d=1"],
    ...["-f", "lavfi", "-i", "sine=d=1", "-map", "0", "-map", "1", "-map", "2"],
    ...["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", at("two.mkv")],
  ]);
  await lavfiVideo(at("short.mp4"), "testsrc2=s=320x240:r=25:d=0.4");
  return [
    ["odd-sized 333x187", at("odd.mp4")],
    ["rotated 90", at("rotated.mp4")],
    ["10-bit H.264", at("tenbit.mp4")],
    ["MPEG-4 in AVI", at("mpeg4.avi")],
    ["VP9 in WebM", at("vp9.webm")],
    ["two video streams + audio in MKV", at("two.mkv")],
    ["0.4 s", at("short.mp4")],
  ];
}

Deno.test("static and Debian ffmpeg decode the corpus to byte-identical frames, equal to the probed decode", async () => {
  const bin = staticFfmpeg();
  const { dir, cleanup } = await tempDir();
  try {
    const ds = await buildFixtureDataset(join(dir, "fixture"), {
      classes: 12,
      perClass: { train: 1, val: 0, test: 0 },
      durations: [0.5, 1.2],
      realClip: false,
      quiet: true,
    });
    const corpus: [string, string][] = [
      ["the real Kinetics clip", repoPath("fixtures", "kinetics_demo_clip.mp4")],
      ...ds.videos.map((v) => [`fixture ${v.look} ${v.width}x${v.height}`, join(ds.root, v.path)]),
      ...await hardCases(dir),
    ] as [string, string][];
    const differing: string[] = [];
    for (const [name, path] of corpus) {
      // the default preset (Pillow's resize after ffmpeg's RGB conversion), and clip-swscale
      // (ffmpeg resizes too) against its probed reference
      const [fromStatic, fromDebian, swStatic, swDebian, reference] = await Promise.all([
        decodeFrames(path, name, { ffmpeg: bin }),
        decodeFrames(path, name, { ffmpeg: "ffmpeg" }),
        decodeFrames(path, name, { ffmpeg: bin, preset: "clip-swscale" }),
        decodeFrames(path, name, { ffmpeg: "ffmpeg", preset: "clip-swscale" }),
        referenceFrames(path, "clip", bin),
      ]);
      assert(fromStatic.count > 0, name);
      const [s, d, ss, sd, r] = await Promise.all(
        [fromStatic.data, fromDebian.data, swStatic.data, swDebian.data, reference].map(
          sha256Bytes,
        ),
      );
      if (s !== d) differing.push(`${name} (clip): static ${s} Debian ${d}`);
      if (ss !== sd || sd !== r) {
        differing.push(`${name} (clip-swscale): static ${ss} Debian ${sd} probed ${r}`);
      }
    }
    assertEquals(differing, []);
    // the 2022 encoder's preset (ffprobe, then a raw BGR decode) is identical too
    const hard = new Map(corpus);
    for (const name of ["the real Kinetics clip", "rotated 90", "10-bit H.264"]) {
      const path = hard.get(name)!;
      const [fromStatic, fromDebian, reference] = await Promise.all([
        decodeFrames(path, name, { ffmpeg: bin, preset: "clip-video-encode-1.0" }),
        decodeFrames(path, name, { ffmpeg: "ffmpeg", preset: "clip-video-encode-1.0" }),
        referenceFrames(path, "1.0", bin),
      ]);
      const [s, d, r] = await Promise.all(
        [fromStatic.data, fromDebian.data, reference].map(sha256Bytes),
      );
      assertEquals([d, r], [s, s], name);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("binaries: the static build is the default and matches its pin; FFMPEG_PATH overrides", async () => {
  const bin = staticFfmpeg();
  assertEquals(defaultFfmpegBinary("ffmpeg", () => undefined), bin);
  assertEquals(
    defaultFfmpegBinary("ffmpeg", (n) => n === "FFMPEG_PATH" ? "/x/ffmpeg" : undefined),
    "/x/ffmpeg",
  );
  const id = await binaryIdentity(bin);
  assertEquals(id.sha256, STATIC_BUILDS.ffmpeg.sha256);
  assert(id.version.startsWith("ffmpeg version N-47683-g0e8eb07980-static"), id.version);
  const debian = await binaryIdentity("ffmpeg");
  assert(debian.sha256 !== id.sha256 && debian.version.startsWith("ffmpeg version"));
});

Deno.test("binaries: the installer copies pinned binaries executable and refuses a wrong sha256", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const modules = join(dir, "node_modules"), dest = join(dir, "bin");
    for (const tool of ["ffmpeg", "ffprobe"] as const) {
      const pkg = join(modules, STATIC_BUILDS[tool].npmPackage);
      await Deno.mkdir(pkg, { recursive: true });
      await Deno.copyFile(installedStaticBuild(tool) ?? staticFfmpeg(), join(pkg, tool));
      await Deno.chmod(join(pkg, tool), 0o644); // as npm unpacks it, postinstall not run
    }
    const lines = await installStaticBuilds(modules, dest);
    assertEquals(lines.map((l) => l.replace(/:.*/, "")), ["ffmpeg", "ffprobe"]);
    assertEquals((await Deno.stat(join(dest, "ffmpeg"))).mode! & 0o777, 0o555);
    await Deno.remove(join(dest, "ffprobe"));
    const pkg = join(modules, STATIC_BUILDS.ffprobe.npmPackage, "ffprobe");
    await Deno.chmod(pkg, 0o644);
    await Deno.writeFile(pkg, new TextEncoder().encode("#!/bin/sh\necho tampered\n"));
    let error: unknown;
    await installStaticBuilds(modules, dest).catch((e) => error = e);
    assert(error instanceof ConfigError, String(error));
    assert(String(error).includes("is not the pinned"), String(error));
    assert(!(await Deno.stat(join(dest, "ffprobe")).then(() => true, () => false)));
  } finally {
    await cleanup();
  }
});
