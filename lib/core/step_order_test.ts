import { throws } from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../base/mod.ts";
import { Manifest } from "./manifest.ts";
import { requireEarlierSteps } from "./step_order.ts";

/** A manifest with two train videos, in a temp dir, for `fn`. */
async function withManifest(fn: (m: Manifest) => void): Promise<void> {
  const dir = await Deno.makeTempDir();
  const m = Manifest.open(join(dir, "manifest.db"));
  try {
    fn(m);
  } finally {
    m.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function addVideos(m: Manifest): void {
  m.videos.add(["a", "b"].map((id) => ({
    id,
    split: "train" as const,
    label: "abseiling",
    youtubeId: id,
    timeStart: 0,
    timeEnd: 10,
    source: `${id}.mp4`,
  })));
}

function refuses(m: Manifest, step: "sample" | "encode" | "shard", message: string): void {
  throws(
    () => requireEarlierSteps(m, step),
    (e) => e instanceof ConfigError && e.message === message,
  );
}

Deno.test("step order: each step names the steps to run first while nothing is done", async () => {
  await withManifest((m) => {
    refuses(m, "sample", "no videos in the work dir; run download (or run)");
    refuses(m, "encode", "nothing is sampled yet; run download, then sample (or run)");
    addVideos(m);
    refuses(m, "sample", "nothing is downloaded yet; run download (or run)");
    refuses(m, "shard", "nothing is encoded yet; run download, then sample, then encode (or run)");
    m.steps.markDone("download", "a", { path: "videos/a.mp4" });
    requireEarlierSteps(m, "sample");
    refuses(m, "encode", "nothing is sampled yet; run sample (or run)");
    refuses(m, "shard", "nothing is encoded yet; run sample, then encode (or run)");
    m.steps.markDone("sample", "a", { path: "frames/a.npy", frames: 3 });
    requireEarlierSteps(m, "encode");
    refuses(m, "shard", "nothing is encoded yet; run encode (or run)");
    m.steps.markDone("encode", "a", { path: "emb/a.npy", frames: 3 });
    requireEarlierSteps(m, "shard");
  });
});

Deno.test("step order: failures in an earlier step, or a later step's records, are no refusal", async () => {
  await withManifest((m) => {
    addVideos(m);
    m.steps.markFailed("download", "a", "HTTP 404");
    m.steps.markFailed("download", "b", "HTTP 404");
    for (const step of ["sample", "encode", "shard"] as const) requireEarlierSteps(m, step);
  });
  await withManifest((m) => {
    addVideos(m);
    // encoded without sample or download records (a work dir built otherwise)
    m.steps.markDone("encode", "a", { path: "emb/a.npy", frames: 3 });
    requireEarlierSteps(m, "sample");
    requireEarlierSteps(m, "encode");
  });
});
