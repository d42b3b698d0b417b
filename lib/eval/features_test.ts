import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { FormatError, writeNpy } from "../base/mod.ts";
import { ShardWriter } from "../webdataset/mod.ts";
import {
  readCentreFrames,
  readClipFeatures,
  readFrameCensus,
  readVideoBatches,
  writeClipFeatures,
} from "./features.ts";

const enc = new TextEncoder();
const DIM = 3;

/** A sample's frames: frame f of sample s is [s, f, 10s + f], then ones to the width. */
function framesOf(s: number, n: number, dim = DIM): Float32Array {
  const out = new Float32Array(n * dim).fill(1);
  for (let f = 0; f < n; f++) out.set([s, f, 10 * s + f], f * dim);
  return out;
}

/** Writes a tar of samples with the given frame counts (and labels, "" for none). */
async function writeTar(
  path: string,
  samples: { n: number; label: string; dim?: number }[],
  first = 0,
): Promise<void> {
  const w = await ShardWriter.create(path);
  for (const [i, s] of samples.entries()) {
    const id = `vid_${first + i}`;
    const dim = s.dim ?? DIM;
    await w.addSample(id, [
      { ext: "json", data: enc.encode(`{"videoID":"${id}"}`) },
      {
        ext: "npy",
        data: writeNpy({ dtype: "<f4", shape: [s.n, dim], data: framesOf(first + i, s.n, dim) }),
      },
      { ext: "txt", data: enc.encode(s.label) },
    ]);
  }
  await w.commit();
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kinembed-features-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readCentreFrames takes frame floor(n/2) of each sample and skips empty ones", async () => {
  await withDir(async (dir) => {
    const tar = join(dir, "a.tar");
    await writeTar(tar, [{ n: 1, label: "x" }, { n: 4, label: "y" }, { n: 0, label: "z" }, {
      n: 5,
      label: "x",
    }]);
    const c = await readCentreFrames([tar]);
    assertEquals([c.keys, c.labels, c.skipped, c.dim], [
      ["vid_0", "vid_1", "vid_3"],
      ["x", "y", "x"],
      ["vid_2"],
      DIM,
    ]);
    // centre frames 0, 2 and 2
    assertEquals(Array.from(c.features), [0, 0, 0, 1, 2, 12, 3, 2, 32]);
  });
});

Deno.test("writeClipFeatures writes what readClipFeatures returns, as raw float32 NumPy reads", async () => {
  await withDir(async (dir) => {
    const tars = [join(dir, "a.tar"), join(dir, "b.tar")];
    await writeTar(tars[0], [{ n: 2, label: "x" }, { n: 0, label: "y" }]);
    await writeTar(tars[1], [{ n: 3, label: "z" }], 2);
    for (const pooling of ["centre", "mean"] as const) {
      const held = await readClipFeatures(tars, pooling);
      const path = join(dir, `${pooling}.f32`);
      const written = await writeClipFeatures(tars, pooling, path);
      assertEquals(
        [written.path, written.keys, written.labels, written.dim, written.skipped],
        [path, held.keys, held.labels, held.dim, held.skipped],
      );
      assertEquals([held.keys, held.skipped], [["vid_0", "vid_2"], ["vid_1"]]);
      const py = await new Deno.Command("/usr/bin/python3", {
        args: [
          "-c",
          "import numpy as np,sys; print(np.fromfile(sys.argv[1], '<f4').tolist())",
          path,
        ],
      }).output();
      assert(py.success, new TextDecoder().decode(py.stderr));
      const fromPython: number[] = JSON.parse(new TextDecoder().decode(py.stdout));
      assertEquals(fromPython, Array.from(held.features));
    }
  });
});

Deno.test("readVideoBatches keeps within the frame and video limits, a long video alone", async () => {
  await withDir(async (dir) => {
    const tar = join(dir, "a.tar");
    await writeTar(tar, [
      { n: 2, label: "a" },
      { n: 2, label: "b" },
      { n: 9, label: "c" },
      { n: 0, label: "d" },
      { n: 1, label: "e" },
      {
        n: 1,
        label: "f",
      },
    ]);
    const batches: string[][] = [];
    for await (const b of readVideoBatches([tar], { maxFrames: 4, maxVideos: 2 })) {
      batches.push(b.map((v) => `${v.label}${v.count}`));
      for (const v of b) assertEquals(v.frames.length, v.count * DIM);
    }
    assertEquals(batches, [["a2", "b2"], ["c9"], ["d0", "e1"], ["f1"]]);
  });
});

Deno.test("a sample of another width is refused naming its shard and key", async () => {
  await withDir(async (dir) => {
    const tar = join(dir, "a.tar");
    await writeTar(tar, [{ n: 2, label: "a" }, { n: 1, label: "b", dim: 4 }]);
    const e = await assertRejects(
      () => readCentreFrames([tar]),
      "vid_1: embeddings are 4 wide, earlier samples 3",
    );
    assert(e instanceof FormatError);
  });
});

Deno.test("readFrameCensus counts frames per video from the headers, and labelled samples", async () => {
  await withDir(async (dir) => {
    const tars = [join(dir, "a.tar"), join(dir, "b.tar")];
    await writeTar(tars[0], [{ n: 2, label: "a" }, { n: 0, label: "" }]);
    await writeTar(tars[1], [{ n: 2, label: "b" }, { n: 7, label: "" }], 2);
    assertEquals(await readFrameCensus(tars), {
      samples: 4,
      tars: 2,
      zeroFrame: 1,
      labelled: 2,
      frames: 11,
      perVideo: { "0": 1, "2": 2, "7": 1 },
    });
  });
});
