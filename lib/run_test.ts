import { assert, assertEquals } from "../tests/support/assert.ts";
import { join } from "node:path";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "../tests/support/media.ts";
import { runPipeline } from "./run.ts";

const MODELS = repoPath("fixtures", "models");

Deno.test("runPipeline without download inputs encodes and shards what the manifest lists; a failed video makes exit code 1", async () => {
  const { dir, cleanup } = await tempDir("kinembed-run-");
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const good = await lavfiVideo(join(dir, "good.mp4"), "testsrc2=s=320x240:r=10:d=2");
    const bad = join(dir, "bad.mp4");
    await Deno.writeTextFile(bad, "not a video\n");
    const work = join(dir, "work");
    await workWithVideos(work, [{ id: "good", path: good }, { id: "bad", path: bad }]);
    const lines: string[] = [];
    const r = await runPipeline({
      work,
      sampleEncode: { model: vision, providers: ["cpu"], batch: 4, quiet: true },
      shard: { quiet: true },
      log: (l) => lines.push(l),
    });
    assertEquals(r.exitCode, 1);
    assertEquals([r.download, r.verify, r.eval], [undefined, undefined, undefined]);
    assertEquals(r.sampleEncode.sample.failed.map((f) => f.id), ["bad"]);
    assertEquals(lines.filter((l) => l.startsWith("== ")), ["== sample → encode", "== shard"]);
    assert(
      lines.some((l) =>
        /^sample → encode: 1 videos, \d+ frames in .* on cpu \(0 already done, 1 failed\)$/.test(l)
      ),
      lines.join("\n"),
    );
    assert(
      lines.some((l) => l.startsWith(`shard: 1 tars in ${join(work, "shards")}`)),
      lines.join("\n"),
    );
    assertEquals(r.shard.splits.train?.tars, 1);
  } finally {
    await cleanup();
  }
});

Deno.test("runPipeline verifies against a card: exit code 0 when the shards match it, 1 when not", async () => {
  const { dir, cleanup } = await tempDir("kinembed-run-");
  try {
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const clip = await lavfiVideo(join(dir, "clip.mp4"), "testsrc2=s=320x240:r=10:d=2");
    const work = join(dir, "work");
    await workWithVideos(work, [{ id: "clip", path: clip }]);
    const card = join(dir, "card.md");
    await Deno.writeTextFile(card, "### Data Splits\n* Train - 1 samples | 1 tar's\n");
    const lines: string[] = [];
    const opts = {
      work,
      sampleEncode: { model: vision, providers: ["cpu" as const], batch: 4, quiet: true },
      shard: { quiet: true },
      verify: { card },
      log: (l: string) => lines.push(l),
    };
    const ok = await runPipeline(opts);
    assertEquals([ok.exitCode, ok.verify?.ok], [0, true]);
    assert(lines.includes("verify: all splits match the card"), lines.join("\n"));
    // The rerun resumes (nothing encoded again) and a card the shards do not match fails it.
    await Deno.writeTextFile(card, "### Data Splits\n* Train - 2 samples | 1 tar's\n");
    lines.length = 0;
    const bad = await runPipeline(opts);
    assertEquals([bad.exitCode, bad.verify?.ok], [1, false]);
    assertEquals([bad.sampleEncode.encode.done, bad.sampleEncode.encode.alreadyDone], [0, 1]);
    assert(lines.some((l) => /^verify: \d+ problems$/.test(l)), lines.join("\n"));
  } finally {
    await cleanup();
  }
});
