import { join } from "node:path";
import { Manifest, type VideoRow } from "./manifest.ts";
import {
  dropFrames,
  forgetDroppedFrames,
  type FramePack,
  pendingFilter,
  readFramePack,
  readFramePacks,
  storeFramePack,
} from "./frame_packs.ts";
import { readNpy, sha256Bytes, writeNpy } from "../base/mod.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

function video(id: string): VideoRow {
  return {
    id,
    split: "train",
    label: "abseiling",
    youtubeId: id,
    timeStart: 0,
    timeEnd: 10,
    source: null,
  };
}

/** Two frames of 2×2 RGB, every byte distinct. */
function pack(videoId: string): FramePack {
  return { videoId, count: 2, size: 2, data: Uint8Array.from({ length: 24 }, (_, i) => i * 10) };
}

Deno.test("frame packs: stored as uint8 (n, S, S, 3) .npy, recorded with its sha256, and read back whole", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.videos.add([video("a")]);
    m.steps.markFailed("encode", "a", "frames missing");
    await storeFramePack(m, dir, pack("a"));
    const file = join(dir, "a.npy");
    const arr = readNpy(await Deno.readFile(file));
    assertEquals([arr.dtype, arr.shape], ["<u1", [2, 2, 2, 3]]);
    const a = m.videos.get("a")!;
    assertEquals(a.steps.sample?.path, file);
    assertEquals(a.steps.sample?.sha256, await sha256Bytes(await Deno.readFile(file)));
    assertEquals(a.steps.encode, undefined, "new frames void an earlier encode failure");
    const back = await readFramePack(m, a);
    assertEquals(back, { ...pack("a") });
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("frame packs: a missing or damaged file fails that video's encode, sends it back to sample, and the stream goes on", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.videos.add([video("gone"), video("bad"), video("wide"), video("ok")]);
    for (const id of ["gone", "bad", "wide", "ok"]) await storeFramePack(m, dir, pack(id));
    await Deno.remove(join(dir, "gone.npy"));
    await Deno.writeTextFile(join(dir, "bad.npy"), "not an npy file");
    await Deno.writeFile(
      join(dir, "wide.npy"),
      writeNpy({ dtype: "<u1", shape: [1, 2, 3, 3], data: new Uint8Array(18) }),
    );
    const todo = pendingFilter("encode", false);
    const read: string[] = [];
    for await (const p of readFramePacks(m, m.videos.each(todo))) read.push(p.videoId);
    assertEquals(read, ["ok"]);
    const failures = new Map(m.steps.failures("encode").map((f) => [f.id, f.error]));
    assertEquals(failures.get("gone"), `frames ${join(dir, "gone.npy")} missing; run sample again`);
    assert(
      failures.get("bad")?.startsWith(`frames ${join(dir, "bad.npy")}: `),
      failures.get("bad"),
    );
    assertEquals(
      failures.get("wide"),
      `frames ${
        join(dir, "wide.npy")
      }: <u1 (1, 2, 3, 3), want uint8 (n, S, S, 3); run sample again`,
    );
    for (const id of ["gone", "bad", "wide"]) {
      assertEquals(m.videos.get(id)!.steps.sample, undefined, `${id} is sampled again`);
    }
    m.close();
  } finally {
    await cleanup();
  }
});

Deno.test("frame packs: which videos a step still has to do, with and without retrying failures", () => {
  assertEquals(pendingFilter("sample", false), {
    step: "sample",
    states: ["pending"],
    after: "download",
  });
  assertEquals(pendingFilter("encode", true), {
    step: "encode",
    states: ["pending", "failed"],
    after: "sample",
  });
});

Deno.test("frame packs: dropped after encoding, and a drop killed halfway or a removed embedding is put right", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    m.videos.add([video("a"), video("b"), video("c")]);
    for (const id of ["a", "b", "c"]) {
      await storeFramePack(m, dir, pack(id));
      const emb = join(dir, `${id}.emb.npy`);
      await Deno.writeTextFile(emb, "x");
      m.steps.markDone("encode", id, { path: emb, frames: 2 });
    }
    await dropFrames(m, dir, "a");
    assertEquals(m.videos.get("a")!.steps.sample?.path, null);
    await Deno.remove(join(dir, "b.npy")); // killed between the remove and the record
    await Deno.remove(join(dir, "c.emb.npy")); // removed by hand
    forgetDroppedFrames(m);
    assertEquals(m.videos.get("b")!.steps.sample?.path, null);
    assertEquals(m.videos.get("b")!.steps.encode?.state, "done");
    assertEquals(m.videos.get("c")!.steps.encode, undefined, "c is encoded again");
    assertEquals(m.videos.get("c")!.steps.sample?.path, join(dir, "c.npy"));
    m.close();
  } finally {
    await cleanup();
  }
});
