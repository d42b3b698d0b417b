/** `kinembed encode`: CLIP image embeddings of every sampled video (`emb/<id>.npy`). */
import { requireWorkDir } from "../lib/core/mod.ts";
import {
  ENCODE_TASK,
  encodeFlagOptions,
  reportFailures,
  runTask,
  stringFlag,
} from "../lib/cli/mod.ts";
import { encode } from "../lib/encode/mod.ts";

await runTask(ENCODE_TASK, async (v) => {
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
      threads: s.threads,
      stepSeconds: s.seconds,
    },
  };
});
