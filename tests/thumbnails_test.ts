/**
 * `sample --thumbnails`, `shard --thumbnails` and `run --thumbnails` as a user types them: the
 * middle sampled frame kept as a 128 px JPEG by the same ffmpeg process that decodes the video,
 * recorded in the manifest, packed as `<key>.jpg` only when shard is asked to, and nothing else
 * changed (frames, default tars).
 */
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { assert, assertEquals } from "./support/assert.ts";
import { ffmpegRun, repoPath, tempDir, workWithVideos } from "./support/media.ts";
import { denoTask } from "./support/tasks.ts";
import { pythonJson } from "./support/python.ts";
import { shardSetBytes } from "./support/shard_bytes.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { defaultFfmpegBinary } from "../lib/video/mod.ts";
import { Manifest } from "../lib/core/manifest.ts";

const MODELS = repoPath("fixtures", "models");

/** One solid colour per second, so the frame a thumbnail shows can be told by its colour. */
const COLOURS: Record<string, [number, number, number]> = {
  red: [255, 0, 0],
  green: [0, 128, 0], // lavfi's (HTML) green
  blue: [0, 0, 255],
  yellow: [255, 255, 0],
  magenta: [255, 0, 255],
};

/** An h264 clip of `colours.length` seconds at 10 fps, second i filled with colours[i]. */
async function colourClip(path: string, size: string, colours: string[]): Promise<string> {
  const inputs = colours.flatMap((c) => ["-f", "lavfi", "-i", `color=c=${c}:s=${size}:r=10:d=1`]);
  const ins = colours.map((_, i) => `[${i}:v]`).join("");
  await ffmpegRun([
    ...inputs,
    "-filter_complex",
    `${ins}concat=n=${colours.length}:v=1[v]`,
    "-map",
    "[v]",
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    path,
  ]);
  return path;
}

/** A JPEG's codec and size (ffprobe) and its mean RGB (decoded by ffmpeg). */
async function jpegInfo(
  path: string,
): Promise<{ codec: string; width: number; height: number; mean: number[] }> {
  const probe = await new Deno.Command("ffprobe", {
    args: ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "json", path],
    stdout: "piped",
  }).output();
  assert(probe.success, `ffprobe cannot read ${path}`);
  const s = JSON.parse(new TextDecoder().decode(probe.stdout)).streams[0];
  const raw = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    stdout: "piped",
  }).output();
  assert(raw.success, `ffmpeg cannot decode ${path}`);
  return { codec: s.codec_name, width: s.width, height: s.height, mean: meanRgb(raw.stdout) };
}

function meanRgb(pixels: Uint8Array): number[] {
  const sum = [0, 0, 0];
  for (let i = 0; i < pixels.length; i++) sum[i % 3] += pixels[i];
  return sum.map((x) => x / (pixels.length / 3));
}

/** The mean RGB of frame `k` of a `frames/<id>.npy` (uint8 (n, 224, 224, 3)). */
async function npyFrameMean(path: string, k: number): Promise<{ count: number; mean: number[] }> {
  return await pythonJson(
    "import json,sys,numpy as np; a=np.load(sys.argv[1]); " +
      "print(json.dumps({'count': int(a.shape[0]), " +
      "'mean': a[int(sys.argv[2])].reshape(-1,3).mean(0).tolist()}))",
    [path, String(k)],
  );
}

function near(a: number[], b: number[], tol: number): boolean {
  return a.every((x, i) => Math.abs(x - b[i]) <= tol);
}

/** Every tar member's name and size, and the sha256 of each `.jpg`, read by Python's tarfile. */
async function tarMembers(work: string): Promise<Record<string, string>> {
  return await pythonJson(
    "import glob,hashlib,json,os,sys,tarfile\n" +
      "out={}\n" +
      "for p in sorted(glob.glob(os.path.join(sys.argv[1],'shards','*.tar'))):\n" +
      "  with tarfile.open(p) as t:\n" +
      "    for m in t.getmembers():\n" +
      "      b=t.extractfile(m).read()\n" +
      "      out[m.name]=hashlib.sha256(b).hexdigest() if m.name.endswith('.jpg') else str(len(b))\n" +
      "print(json.dumps(out))",
    [work],
  );
}

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A wrapper around the real ffmpeg that logs each invocation into the work dir (writable). */
async function loggingFfmpeg(dir: string, log: string): Promise<string> {
  const path = join(dir, "ffmpeg-logged");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${defaultFfmpegBinary("ffmpeg")}' "$@"\n`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

function ok(r: { code: number; stdout: string; stderr: string }, what: string): void {
  assertEquals(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
}

Deno.test("sample/shard --thumbnails: one decode, the middle frame, default outputs unchanged", async () => {
  const { dir, cleanup } = await tempDir("kinembed-thumbs-");
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const land = await colourClip(join(dir, "land.mp4"), "320x240", [
      "red",
      "green",
      "blue",
      "yellow",
      "magenta",
    ]);
    const port = await colourClip(join(dir, "port.mp4"), "120x200", ["red", "green", "blue"]);
    const late = await colourClip(join(dir, "late.mp4"), "160x160", ["yellow", "blue"]);
    const videos = [
      { id: "land", path: land },
      { id: "port", path: port },
      { id: "late", path: late },
    ];
    const plain = join(dir, "plain"), thumbs = join(dir, "thumbs");
    await workWithVideos(plain, videos);
    // the thumbnails work dir gets `late` only after its thumbnail sample: it has none
    await workWithVideos(thumbs, videos.slice(0, 2));
    const log = join(thumbs, "ffmpeg-calls.log");
    const ffmpeg = await loggingFfmpeg(dir, log);
    const common = ["--ffmpeg", ffmpeg, "--jobs", "1", "--quiet"];

    ok(await denoTask("sample", ["--work", plain, ...common]), "sample (plain)");
    ok(
      await denoTask("sample", ["--work", thumbs, "--thumbnails", ...common]),
      "sample --thumbnails",
    );
    // one ffmpeg process decoded each video (the identity check runs `-version`, no input)
    const calls = (await Deno.readTextFile(log)).split("\n").filter((l) => l.includes(" -i "));
    assertEquals(calls.length, 2, `ffmpeg decodes:\n${calls.join("\n")}`);
    for (const v of videos.slice(0, 2)) {
      assertEquals(calls.filter((l) => l.includes(v.path)).length, 1, `decodes of ${v.id}`);
    }
    await workWithVideos(thumbs, videos);
    ok(await denoTask("sample", ["--work", thumbs, ...common]), "sample of the late video");

    // the JPEG: a real 128 px JPEG of the middle sampled frame, floor(n/2), recorded per video
    const m = Manifest.open(join(thumbs, "manifest.db"), { readOnly: true });
    const recorded = Object.fromEntries(videos.map((v) => [v.id, m.videos.thumbnail(v.id)]));
    m.close();
    assertEquals(recorded.late, null);
    const want = {
      land: { frames: 5, colour: "blue", size: [170, 128] },
      port: { frames: 3, colour: "green", size: [128, 214] },
    };
    for (const [id, w] of Object.entries(want)) {
      const jpg = join(thumbs, "thumbs", `${id}.jpg`);
      assertEquals(recorded[id], jpg);
      const info = await jpegInfo(jpg);
      assertEquals(info.codec, "mjpeg");
      assertEquals(Math.min(info.width, info.height), 128, `${id}: ${info.width}x${info.height}`);
      assert(
        Math.abs(Math.max(info.width, info.height) - Math.max(...w.size)) <= 2,
        `${id}: ${info.width}x${info.height}, want about ${w.size.join("x")}`,
      );
      assertEquals(info.width >= info.height, w.size[0] >= w.size[1], `${id}: orientation`);
      const frame = await npyFrameMean(join(thumbs, "frames", `${id}.npy`), w.frames >> 1);
      assertEquals(frame.count, w.frames);
      assert(near(info.mean, COLOURS[w.colour], 12), `${id}: thumbnail mean ${info.mean}`);
      assert(near(info.mean, frame.mean, 12), `${id}: ${info.mean} vs frame ${frame.mean}`);
    }
    assertEquals([...Deno.readDirSync(join(thumbs, "thumbs"))].map((e) => e.name).sort(), [
      "land.jpg",
      "port.jpg",
    ]);
    assert(!(await Deno.stat(join(plain, "thumbs")).catch(() => null)), "plain has no thumbs/");
    // the frames are the same bytes with and without thumbnails
    for (const v of videos) {
      assertEquals(
        await sha256(join(thumbs, "frames", `${v.id}.npy`)),
        await sha256(join(plain, "frames", `${v.id}.npy`)),
        `frames/${v.id}.npy`,
      );
    }

    for (const work of [plain, thumbs]) {
      ok(
        await denoTask("encode", [
          "--work",
          work,
          "--model",
          vision,
          "--providers",
          "cpu",
          "--quiet",
        ]),
        `encode ${work}`,
      );
      ok(await denoTask("shard", ["--work", work, "--quiet"]), `shard ${work}`);
    }
    // shard without the flag: the tars a run without thumbnails makes, byte for byte
    const reference = await shardSetBytes(plain, { splitsCsv: true });
    const sameAsPlain = async (what: string) => {
      const got = await shardSetBytes(thumbs, { splitsCsv: true });
      assertEquals([...got.keys()].sort(), [...reference.keys()].sort());
      for (const [name, bytes] of reference) {
        assert(Buffer.compare(got.get(name)!, bytes) === 0, `${what}: ${name} differs`);
      }
    };
    await sameAsPlain("shard without --thumbnails");

    const r = await denoTask("shard", ["--work", thumbs, "--thumbnails", "--quiet"]);
    ok(r, "shard --thumbnails");
    assert(/1 written/.test(r.stdout), r.stdout);
    const members = await tarMembers(thumbs);
    const jpgs = Object.keys(members).filter((n) => n.endsWith(".jpg"));
    assertEquals(jpgs.length, 2, Object.keys(members).join(" "));
    // each .jpg is its sample's thumbnail: the key's .json names the video; `late` has none
    const shaOf = { land: await sha256(join(thumbs, "thumbs", "land.jpg")), port: "" };
    shaOf.port = await sha256(join(thumbs, "thumbs", "port.jpg"));
    assertEquals(jpgs.map((n) => members[n]).sort(), Object.values(shaOf).sort());
    const keys = Object.keys(members).filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5));
    assertEquals(keys.length, 3);
    const cfg = JSON.parse(await Deno.readTextFile(join(thumbs, "shards", "manifest.json")));
    assert(JSON.stringify(cfg).includes('"shard_thumbnails":true'), "config records the setting");
    // the Hub card declares the member, so the Hub's WebDataset loader expects it
    const card = await Deno.readTextFile(join(thumbs, "shards", "README.md"));
    assert(card.includes("  - name: jpg\n    dtype: image\n"), card.slice(0, 1500));
    const plainCard = await Deno.readTextFile(join(plain, "shards", "README.md"));
    assert(!plainCard.includes("name: jpg"), "the plain card declares no .jpg");

    const v = await denoTask("verify", [
      "--work",
      thumbs,
      "--card",
      join(thumbs, "shards", "README.md"),
    ]);
    ok(v, "verify of tars with .jpg members");

    // and back: without the flag the tars are the plain ones again
    ok(await denoTask("shard", ["--work", thumbs, "--quiet"]), "shard again without --thumbnails");
    const tars = await shardSetBytes(thumbs);
    for (const [name, bytes] of tars) {
      assert(Buffer.compare(reference.get(name)!, bytes) === 0, `back to plain: ${name} differs`);
    }

    // asking for thumbnails once every video is sampled makes none, and says so
    const after = await denoTask("sample", ["--work", plain, "--thumbnails", "--ffmpeg", ffmpeg]);
    ok(after, "sample --thumbnails after sample");
    assert(
      after.stderr.includes(
        "sample: 3 videos sampled without --thumbnails have no thumbnail (their samples in the " +
          "tars get no .jpg); a new --work dir makes one for every video",
      ),
      after.stderr,
    );

    // a recorded thumbnail gone from disk: that shard fails naming it, the tars are left alone
    await Deno.remove(join(thumbs, "thumbs", "port.jpg"));
    const gone = await denoTask("shard", ["--work", thumbs, "--thumbnails", "--quiet"]);
    assertEquals(gone.code, 1, gone.stdout + gone.stderr);
    const line = (gone.stdout + gone.stderr).split("\n").find((l) => l.includes("thumbnail"));
    assert(
      line !== undefined &&
        /ds_000000\.tar: vid_\d{9} \(video port\): cannot read its thumbnail .*port\.jpg: .*leave out --thumbnails/
          .test(line),
      gone.stdout + gone.stderr,
    );
    assert(line.length <= 300, line);
  } finally {
    await cleanup();
  }
});

Deno.test("run --thumbnails: the tars hold each video's thumbnail as <key>.jpg", async () => {
  const { dir, cleanup } = await tempDir("kinembed-thumbs-run-");
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const clip = await colourClip(join(dir, "a.mp4"), "320x240", ["red", "green", "blue"]);
    const work = join(dir, "work");
    await workWithVideos(work, [{ id: "a", path: clip }]);
    const r = await denoTask("run", [
      "--work",
      work,
      "--model",
      vision,
      "--providers",
      "cpu",
      "--thumbnails",
      "--jobs",
      "1",
      "--quiet",
    ]);
    ok(r, "run --thumbnails");
    const members = await tarMembers(work);
    const jpg = Object.keys(members).filter((n) => n.endsWith(".jpg"));
    assertEquals(jpg.length, 1, Object.keys(members).join(" "));
    assertEquals(members[jpg[0]], await sha256(join(work, "thumbs", "a.jpg")));
    const info = await jpegInfo(join(work, "thumbs", "a.jpg"));
    assertEquals([info.width, info.height], [170, 128]);
    assert(near(info.mean, COLOURS.green, 12), `thumbnail mean ${info.mean}`);
  } finally {
    await cleanup();
  }
});
