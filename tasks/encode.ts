/** `kinembed encode`: CLIP image embeddings of every sampled video (`emb/<id>.npy`). */
import { intFlag, reportFailures, runTask, stringFlag, WORK_FLAG } from "../lib/cli.ts";
import { type EmbeddingOutputDtype, encode } from "../lib/encode.ts";
import { UsageError } from "../lib/errors.ts";
import { parseProviders } from "../lib/image_encoder.ts";

await runTask({
  name: "encode",
  summary:
    "Embed every sampled video's frames with a CLIP image encoder on ONNX Runtime into emb/<id>.npy ((n,512), float16 by default).",
  flags: {
    work: WORK_FLAG,
    model: {
      type: "string",
      arg: "FILE",
      help: "CLIP image encoder .onnx (input pixel_values, output image_embeds)",
    },
    providers: {
      type: "string",
      arg: "LIST",
      default: "cuda,cpu",
      help: "execution providers in order: cuda, webgpu, cpu",
    },
    batch: {
      type: "string",
      arg: "N",
      default: "32",
      help: "frames per run (batches span videos)",
    },
    dtype: {
      type: "string",
      arg: "T",
      default: "float16",
      help: "output dtype: float16 | float32",
    },
    "input-name": {
      type: "string",
      arg: "NAME",
      default: "pixel_values",
      help: "model input name",
    },
    "output-name": {
      type: "string",
      arg: "NAME",
      default: "image_embeds",
      help: "model output name",
    },
    "keep-frames": { type: "boolean", help: "keep frames/<id>.npy after encoding" },
    "retry-failed": { type: "boolean", help: "try videos that failed before again" },
    quiet: { type: "boolean", help: "no progress output" },
  },
}, async (v) => {
  const model = stringFlag(v, "model");
  if (!model) {
    throw new UsageError(
      "--model FILE is required (e.g. a vision model from fixtures/make_models.ts)",
    );
  }
  const dtype = stringFlag(v, "dtype");
  if (dtype !== "float16" && dtype !== "float32") {
    throw new UsageError("--dtype must be float16 or float32");
  }
  const s = await encode({
    work: stringFlag(v, "work")!,
    model,
    providers: parseProviders(stringFlag(v, "providers")!),
    batch: intFlag(v, "batch", 1),
    dtype: dtype as EmbeddingOutputDtype,
    inputName: stringFlag(v, "input-name"),
    outputName: stringFlag(v, "output-name"),
    keepFrames: v["keep-frames"] === true,
    retryFailed: v["retry-failed"] === true,
    quiet: v.quiet === true,
  });
  console.log(
    s.done === 0 && s.failed.length === 0
      ? `encode: nothing to do (${s.alreadyDone} videos already encoded)`
      : `encode: ${s.done} videos, ${s.frames} frames in ${
        s.seconds.toFixed(1)
      }s on ${s.provider}` +
        ` (${
          (s.frames / Math.max(s.seconds, 1e-9)).toFixed(1)
        } frames/s; ${s.alreadyDone} already done, ${s.failed.length} failed)`,
  );
  return reportFailures(s.failed);
});
