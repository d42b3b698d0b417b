/**
 * The bare baseline of `bench cores`: onnxruntime-node's `session.run` over a work dir's frame
 * packs at a given intra-op thread count, with nothing of kinembed's but the CLIP normalisation.
 * Prints `frames seconds` of the loop (the session is built and the frames read before it).
 *
 *   deno run -A bench/ort_loop.ts MODEL FRAMES_DIR THREADS BATCH
 */
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { normalizeFrames } from "../lib/encode/clip_normalize.ts";
import { readNpy } from "../lib/base/npy.ts";

const [model, framesDir, threadArg, batchArg] = Deno.args;
const threads = Number(threadArg), batch = Number(batchArg);
const packs: Uint8Array[] = [];
for await (const e of Deno.readDir(framesDir)) {
  if (e.name.endsWith(".npy")) {
    packs.push(readNpy(await Deno.readFile(join(framesDir, e.name))).data as Uint8Array);
  }
}
const all = new Uint8Array(packs.reduce((s, p) => s + p.length, 0));
let o = 0;
for (const p of packs) {
  all.set(p, o);
  o += p.length;
}
const frames = all.length / (224 * 224 * 3);
const session = await ort.InferenceSession.create(model, {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
});
const t0 = performance.now();
const x = new Float32Array(batch * 3 * 224 * 224);
for (let b = 0; b * batch < frames; b++) {
  const n = Math.min(batch, frames - b * batch);
  x.fill(0);
  normalizeFrames(all, b * batch, n, 224, x, 0);
  await session.run({ pixel_values: new ort.Tensor("float32", x, [batch, 3, 224, 224]) });
}
console.log(`${frames} ${(performance.now() - t0) / 1000}`);
await session.release();
