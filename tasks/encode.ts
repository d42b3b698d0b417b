/** `kinembed encode`: CLIP image embeddings of every sampled video (`emb/<id>.npy`). */
import { requireWorkDir } from "../lib/core/mod.ts";
import {
  ENCODE_FLAGS,
  encodeFlagOptions,
  reportFailures,
  runTask,
  stringFlag,
  WORK_FLAG,
} from "../lib/cli/mod.ts";
import { encode } from "../lib/encode/mod.ts";

await runTask({
  name: "encode",
  summary:
    "Embed every sampled video's frames with a CLIP image encoder on ONNX Runtime into emb/<id>.npy ((n,512), float16 by default).",
  flags: {
    work: WORK_FLAG,
    ...ENCODE_FLAGS,
    "retry-failed": { type: "boolean", help: "try videos that failed before again" },
    quiet: { type: "boolean", help: "no progress output" },
  },
}, async (v) => {
  await requireWorkDir(stringFlag(v, "work")!, "encode");
  const s = await encode({
    ...encodeFlagOptions(v),
    work: stringFlag(v, "work")!,
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
  return {
    code: await reportFailures(s.failed, { work: stringFlag(v, "work")!, step: "encode" }),
    summary: {
      done: s.done,
      alreadyDone: s.alreadyDone,
      failed: s.failed.length,
      frames: s.frames,
      provider: s.provider,
      stepSeconds: s.seconds,
    },
  };
});
