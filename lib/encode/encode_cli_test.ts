import { join } from "node:path";
import { taskFile } from "../../tests/support/tasks.ts";
import { ensureFixtureModels } from "../../fixtures/make_models.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "../../tests/support/media.ts";
import { Manifest } from "../core/mod.ts";

const MODELS = repoPath("fixtures", "models");

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

Deno.test("encode CLI: a damaged frames file fails that video alone, naming it, and sends it back to sample; a failed video stays failed on a plain rerun and --retry-failed encodes it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const work = join(dir, "work");
    const a = await lavfiVideo(join(dir, "a.mp4"), "testsrc2=s=320x240:r=25:d=2");
    const b = await lavfiVideo(join(dir, "b.mp4"), "smptebars=s=320x240:r=25:d=3");
    await workWithVideos(work, [{ id: "a", path: a }, { id: "b", path: b }]);
    const model = ["--model", vision, "--providers", "cpu", "--quiet"];
    assertEquals((await task("sample", "--work", work, "--quiet")).code, 0);
    const bFrames = join(work, "frames", "b.npy");
    await Deno.truncate(bFrames, 1000);
    const first = await task("encode", "--work", work, ...model);
    assertEquals(first.code, 1, first.stdout + first.stderr);
    assert(
      first.stderr.includes(`b: frames ${bFrames}: npy: header says <u1 (3,224,224,3)`),
      first.stderr,
    );
    assert(first.stderr.includes("run sample again"), first.stderr);
    assert(await exists(join(work, "emb", "a.npy")) && !(await exists(join(work, "emb", "b.npy"))));
    // sample decodes it again, and the next encode takes it
    const resample = await task("sample", "--work", work, "--quiet");
    assert(resample.stdout.includes("sample: 1 videos, 3 frames"), resample.stdout);
    const again = await task("encode", "--work", work, "--keep-frames", ...model);
    assertEquals(again.code, 0, again.stdout + again.stderr);
    assert(await exists(join(work, "emb", "b.npy")));

    // a failed encode whose frames are in place: a plain rerun leaves it, --retry-failed takes it
    await Deno.remove(join(work, "emb", "b.npy"));
    const m = Manifest.open(join(work, "manifest.db"));
    m.steps.markFailed("encode", "b", "the session ran out of memory");
    m.close();
    const plain = await task("encode", "--work", work, ...model);
    assertEquals(plain.code, 1, plain.stdout + plain.stderr);
    assert(plain.stderr.includes("b: the session ran out of memory"), plain.stderr);
    assert(!(await exists(join(work, "emb", "b.npy"))), "a plain rerun left the failed video");
    const retry = await task("encode", "--work", work, "--retry-failed", ...model);
    assertEquals(retry.code, 0, retry.stdout + retry.stderr);
    assert(retry.stdout.includes("encode: 1 videos, 3 frames"), retry.stdout);
    assert(await exists(join(work, "emb", "b.npy")));
  } finally {
    await cleanup();
  }
});

Deno.test("encode CLI: another model's names are named in the error; --input-name/--output-name are what the check uses", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { text } = await ensureFixtureModels(MODELS, "tiny");
    const work = join(dir, "work");
    const a = await lavfiVideo(join(dir, "a.mp4"), "testsrc2=s=320x240:r=25:d=1");
    await workWithVideos(work, [{ id: "a", path: a }]);
    assertEquals((await task("sample", "--work", work, "--quiet")).code, 0);
    const model = ["--model", text, "--providers", "cpu", "--quiet"];
    const r = await task("encode", "--work", work, ...model);
    assertEquals(r.code, 2, r.stderr);
    assert(
      r.stderr.includes(
        "text_tiny.onnx: no input named pixel_values; expected input pixel_values float32 [N,3,224,224]",
      ),
      r.stderr,
    );
    assert(r.stderr.includes("The model has inputs input_ids int64 [N,77]"), r.stderr);
    const named = await task(
      "encode",
      "--work",
      work,
      "--input-name",
      "input_ids",
      "--output-name",
      "text_embeds",
      ...model,
    );
    assertEquals(named.code, 2, named.stderr);
    // the names are found now; what is refused is the input's type and shape
    assert(!named.stderr.includes("no input named"), named.stderr);
    assert(named.stderr.includes("input input_ids is int64 [N,77]"), named.stderr);
  } finally {
    await cleanup();
  }
});

/** A task file run directly, arguments as a list. */
function task(name: string, ...args: string[]) {
  return taskFile(name, args);
}
