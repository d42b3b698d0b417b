/** `kinembed sample`: decode videos at 1 FPS into CLIP-sized frames (`frames/<id>.npy`). */
import { intFlag, numberFlag, reportFailures, runTask, stringFlag, WORK_FLAG } from "../lib/cli.ts";
import { UsageError } from "../lib/errors.ts";
import { sample } from "../lib/sample.ts";
import { type Preset, PRESETS } from "../lib/video.ts";

await runTask({
  name: "sample",
  summary:
    "Decode every downloaded video at --fps with CLIP's geometry (short side 224, bicubic, centre crop) into frames/<id>.npy, uint8 (n,224,224,3).",
  flags: {
    work: WORK_FLAG,
    fps: { type: "string", arg: "N", default: "1", help: "frames per second" },
    preset: {
      type: "string",
      arg: "NAME",
      default: "clip",
      help: `preprocessing: ${PRESETS.join(" | ")}`,
    },
    jobs: {
      type: "string",
      arg: "N",
      default: String(navigator.hardwareConcurrency),
      help: "videos decoded in parallel",
    },
    ffmpeg: { type: "string", arg: "PATH", help: "ffmpeg binary (default $FFMPEG_PATH or PATH)" },
    ffprobe: {
      type: "string",
      arg: "PATH",
      help: "ffprobe binary (default $FFPROBE_PATH or PATH)",
    },
    "retry-failed": { type: "boolean", help: "try videos that failed before again" },
    quiet: { type: "boolean", help: "no progress output" },
  },
}, async (v) => {
  const preset = stringFlag(v, "preset") as Preset;
  if (!PRESETS.includes(preset)) {
    throw new UsageError(`--preset must be one of ${PRESETS.join(", ")}`);
  }
  const s = await sample({
    work: stringFlag(v, "work")!,
    fps: numberFlag(v, "fps"),
    preset,
    jobs: intFlag(v, "jobs", 1),
    ffmpeg: stringFlag(v, "ffmpeg"),
    ffprobe: stringFlag(v, "ffprobe"),
    retryFailed: v["retry-failed"] === true,
    quiet: v.quiet === true,
  });
  console.log(
    s.done === 0 && s.failed.length === 0
      ? `sample: nothing to do (${s.alreadyDone} videos already sampled)`
      : `sample: ${s.done} videos, ${s.frames} frames in ${s.seconds.toFixed(1)}s` +
        ` (${s.alreadyDone} already done, ${s.failed.length} failed)`,
  );
  return reportFailures(s.failed);
});
