/** `kinembed sample`: decode videos at 1 FPS into CLIP-sized frames (`frames/<id>.npy`). */
import { requireWorkDir } from "../lib/core/mod.ts";
import {
  reportFailures,
  runTask,
  SAMPLE_TASK,
  sampleFlagOptions,
  stringFlag,
} from "../lib/cli/mod.ts";
import { sample } from "../lib/video/mod.ts";

await runTask(SAMPLE_TASK, async (v) => {
  await requireWorkDir(stringFlag(v, "work")!, "sample");
  const s = await sample({
    ...sampleFlagOptions(v),
    work: stringFlag(v, "work")!,
    retryFailed: v["retry-failed"] === true,
    quiet: v.quiet === true,
  });
  console.log(
    s.done === 0 && s.failed.length === 0
      ? `sample: nothing to do (${s.alreadyDone} videos already sampled)`
      : `sample: ${s.done} videos, ${s.frames} frames in ${s.seconds.toFixed(1)}s` +
        ` (${s.alreadyDone} already done, ${s.failed.length} failed)`,
  );
  return {
    code: await reportFailures(s.failed, { work: stringFlag(v, "work")!, step: "sample" }),
    summary: {
      done: s.done,
      alreadyDone: s.alreadyDone,
      failed: s.failed.length,
      frames: s.frames,
      stepSeconds: s.seconds,
    },
  };
});
