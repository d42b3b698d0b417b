/** `kinembed sample`: decode videos at 1 FPS into CLIP-sized frames (`frames/<id>.npy`). */
import { requireWorkDir } from "../lib/core/mod.ts";
import {
  reportFailures,
  runTask,
  SAMPLE_FLAGS,
  sampleFlagOptions,
  stringFlag,
  WORK_FLAG,
} from "../lib/cli/mod.ts";
import { CLIP_SIZE } from "../lib/core/mod.ts";
import { sample } from "../lib/video/mod.ts";

await runTask({
  name: "sample",
  summary:
    `Decode every downloaded video at --fps with CLIP's preprocessing (short side ${CLIP_SIZE} with ` +
    `Pillow's bicubic, centre crop) into frames/<id>.npy, uint8 (n,${CLIP_SIZE},${CLIP_SIZE},3).`,
  flags: {
    work: WORK_FLAG,
    ...SAMPLE_FLAGS,
    "retry-failed": { type: "boolean", help: "try videos that failed before again" },
    quiet: { type: "boolean", help: "no progress output" },
  },
}, async (v) => {
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
