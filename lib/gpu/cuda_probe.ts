/**
 * Opens a tiny CLIP-shaped model with ONNX Runtime's CUDA provider alone and runs one batch;
 * prints `ok ...` or the reason on one line. Run as its own process by `gpu-setup`, because the
 * loader reads `LD_LIBRARY_PATH` only when a process starts.
 * @module
 */
import { CLIP_SIZE } from "../base/mod.ts";
import { buildVisionModel, ImageEncoder } from "../onnx/mod.ts";

if (import.meta.main) {
  const t0 = performance.now();
  try {
    const { bytes } = await buildVisionModel({ size: "tiny" });
    const enc = await ImageEncoder.open(bytes, { providers: ["cuda"] });
    const y = await enc.encode(new Float32Array(2 * 3 * CLIP_SIZE * CLIP_SIZE), 2);
    await enc.release();
    const ms = (performance.now() - t0).toFixed(0);
    console.log(`ok: the cuda provider opened a model and ran it (2 × ${y.length / 2}, ${ms} ms)`);
  } catch (e) {
    console.log(String((e as Error).message ?? e).split("\n")[0].slice(0, 400));
    Deno.exit(1);
  }
}
