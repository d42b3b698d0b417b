/**
 * The run configuration's contract, through `deno task <step>` as a user types it: a step run
 * before the one it continues is refused (exit 2, one line naming the step to run first) and
 * records nothing, so the settings of the correct sequence that follows are accepted; a rerun with
 * everything done still says "nothing to do"; the stored configuration has the keys and hash of
 * before, and a mismatch is told in flags.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { Manifest } from "../lib/core/manifest.ts";
import { ensureWorkDir } from "../lib/core/work_dir.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "./support/media.ts";
import { denoTask as task, type TaskRun } from "./support/tasks.ts";
import { snapshotTree } from "./support/tree.ts";

const MODELS = repoPath("fixtures", "models");

/** The one line a refused step prints, and its exit code 2. */
function assertRefused(r: TaskRun, line: string): void {
  assertEquals(r.code, 2, r.stdout + r.stderr);
  assertEquals(r.stderr.trim(), line);
}

/**
 * The work dir's files and its stored config; the manifest and the lock file aside: every run
 * opens the one and takes the other.
 */
async function workState(work: string): Promise<{ files: string[]; config: unknown }> {
  const files = (await snapshotTree(work)).filter((l) =>
    !l.startsWith("/manifest.db") && !l.startsWith("/lock ")
  );
  const m = Manifest.open(join(work, "manifest.db"), { readOnly: true });
  try {
    return { files, config: m.config() };
  } finally {
    m.close();
  }
}

/** Three short videos in two splits and the plain list naming them. */
async function videoList(dir: string): Promise<string> {
  const rows = ["a,abseiling,train", "b,abseiling,train", "c,zumba,val"];
  for (const [i, r] of rows.entries()) {
    await lavfiVideo(join(dir, `${r.split(",")[0]}.mp4`), `testsrc=s=160x120:r=10:d=${i + 2}`);
  }
  const list = join(dir, "videos.csv");
  await Deno.writeTextFile(
    list,
    "path,label,split\n" + rows.map((r) => `${join(dir, r.split(",")[0])}.mp4,${r.slice(2)}`)
      .join("\n") +
      "\n",
  );
  return list;
}

Deno.test("steps out of order: encode before sample and shard before encode exit 2, record nothing; the correct sequence then takes its own settings", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const list = await videoList(dir);
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const work = join(dir, "work");
    const dl = await task("download", ["--work", work, "--videos", list, "--quiet"]);
    assertEquals(dl.code, 0, dl.stdout + dl.stderr);
    const downloaded = await workState(work);
    assertEquals(downloaded.config, {});

    // with the defaults (--batch 32, --per-shard 10000): none of it may stick
    const encode = ["encode", "--work", work, "--model", vision, "--providers", "cpu", "--quiet"];
    assertRefused(
      await task(encode[0], encode.slice(1)),
      "kinembed encode: nothing is sampled yet; run sample (or run)",
    );
    assertRefused(
      await task("shard", ["--work", work, "--quiet"]),
      "kinembed shard: nothing is encoded yet; run sample, then encode (or run)",
    );
    assertEquals(await workState(work), downloaded);

    const sampled = await task("sample", ["--work", work, "--jobs", "1", "--quiet", "--fps", "2"]);
    assertEquals(sampled.code, 0, sampled.stdout + sampled.stderr);
    const afterSample = await workState(work);
    assertRefused(
      await task("shard", ["--work", work, "--quiet"]),
      "kinembed shard: nothing is encoded yet; run encode (or run)",
    );
    assertEquals(await workState(work), afterSample);

    // the settings actually wanted: accepted, and recorded
    const enc = await task(encode[0], [...encode.slice(1), "--batch", "8"]);
    assertEquals(enc.code, 0, enc.stdout + enc.stderr);
    assert(enc.stdout.includes("encode: 3 videos"), enc.stdout);
    const sh = await task("shard", ["--work", work, "--per-shard", "1", "--quiet"]);
    assertEquals(sh.code, 0, sh.stdout + sh.stderr);
    assert(sh.stdout.includes("3 written, 0 kept"), sh.stdout);
    const { config } = await workState(work);
    const stored = config as Record<string, unknown>;
    assertEquals([stored.fps, stored.batch, stored.per_shard, stored.shard_seed], [2, 8, 1, 0]);

    // a rerun with everything done is no error
    const again = await task(encode[0], [...encode.slice(1), "--batch", "8"]);
    assertEquals(again.code, 0, again.stdout + again.stderr);
    assert(again.stdout.includes("encode: nothing to do (3 videos already encoded)"), again.stdout);
    const shAgain = await task("shard", ["--work", work, "--per-shard", "1", "--quiet"]);
    assertEquals(shAgain.code, 0, shAgain.stdout + shAgain.stderr);
    assert(shAgain.stdout.includes("nothing to do: all 3 shards are up to date"), shAgain.stdout);

    // the stored keys are those of before, and manifest.json's hash is their sorted JSON's
    const exported = JSON.parse(await Deno.readTextFile(join(work, "shards", "manifest.json")));
    assertEquals(Object.keys(exported.config), [
      "batch",
      "dtype",
      "embed_dim",
      "ffmpeg_sha256",
      "ffmpeg_version",
      "fps",
      "frame_size",
      "model_input",
      "model_output",
      "model_sha256",
      "onnxruntime",
      "per_shard",
      "preset",
      "provider",
      "shard_seed",
    ]);
    assertEquals(exported.config, config);
    assertEquals(
      [exported.config.preset, exported.config.frame_size, exported.config.dtype],
      ["clip", 224, "float16"],
    );
    assertEquals(
      exported.configHash,
      createHash("sha256").update(JSON.stringify(exported.config)).digest("hex"),
    );

    // another setting now: refused, naming the flag
    const other = await task(encode[0], [...encode.slice(1), "--batch", "16"]);
    assertEquals(other.code, 2, other.stdout + other.stderr);
    assertEquals(other.stderr.trim().split("\n").length, 1, other.stderr);
    assert(
      other.stderr.includes(
        `kinembed encode: work dir ${work} holds outputs of another configuration: it was made ` +
          "with --batch 8, this run asks for --batch 16. Use the same settings, or a new --work dir.",
      ),
      other.stderr,
    );
    const otherShard = await task("shard", ["--work", work, "--quiet"]);
    assertEquals(otherShard.code, 2, otherShard.stdout + otherShard.stderr);
    assert(
      otherShard.stderr.includes(
        "it was made with --per-shard 1, this run asks for --per-shard 10000",
      ),
      otherShard.stderr,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("sample with no videos, or none downloaded: exit 2 naming download; nothing recorded", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const layout = await ensureWorkDir(work);
    Manifest.open(layout.manifest).close();
    const before = await workState(work);
    assertRefused(
      await task("sample", ["--work", work, "--quiet", "--fps", "3"]),
      "kinembed sample: no videos in the work dir; run download (or run)",
    );
    // a model that is not there is named first: every input is checked before the order
    assertRefused(
      await task("encode", ["--work", work, "--model", "x.onnx", "--quiet"]),
      "kinembed encode: --model x.onnx: not found",
    );
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    assertRefused(
      await task("encode", ["--work", work, "--model", vision, "--providers", "cpu", "--quiet"]),
      "kinembed encode: nothing is sampled yet; run download, then sample (or run)",
    );
    assertEquals(await workState(work), before);

    // videos listed, none downloaded yet (a download stopped before its first file)
    const m = Manifest.open(layout.manifest);
    m.videos.add([{
      id: "v",
      split: "train",
      label: "abseiling",
      youtubeId: "v",
      timeStart: 0,
      timeEnd: 10,
      source: join(dir, "v.mp4"),
    }]);
    m.close();
    assertRefused(
      await task("sample", ["--work", work, "--quiet"]),
      "kinembed sample: nothing is downloaded yet; run download (or run)",
    );
    assertEquals((await workState(work)).config, {});
  } finally {
    await cleanup();
  }
});

Deno.test("every video failed an earlier step: encode and shard report it as before, not as out of order", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const broken = join(dir, "broken.mp4");
    await Deno.writeTextFile(broken, "not a video\n");
    const work = join(dir, "work");
    await workWithVideos(work, [{ id: "broken", path: broken }]);
    const sampled = await task("sample", ["--work", work, "--jobs", "1", "--quiet"]);
    assertEquals(sampled.code, 1, sampled.stdout + sampled.stderr);
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const enc = await task("encode", [
      "--work",
      work,
      "--model",
      vision,
      "--providers",
      "cpu",
      "--quiet",
    ]);
    assertEquals(enc.code, 0, enc.stdout + enc.stderr);
    assert(enc.stdout.includes("encode: nothing to do (0 videos already encoded)"), enc.stdout);
    const sh = await task("shard", ["--work", work, "--quiet"]);
    assert(sh.code !== 2, sh.stdout + sh.stderr);
    assert(!sh.stderr.includes("nothing is"), sh.stderr);
    assert(/train\s+0\s+0\s+1 \/ 0/.test(sh.stdout), sh.stdout);
  } finally {
    await cleanup();
  }
});
