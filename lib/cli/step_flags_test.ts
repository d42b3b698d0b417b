import {
  DOWNLOAD_INPUT_FLAGS,
  downloadInputOptions,
  ENCODE_FLAGS,
  encodeFlagOptions,
  SAMPLE_FLAGS,
  sampleFlagOptions,
  SUBSET_FLAGS,
  TEXT_MODEL_FLAG,
} from "./step_flags.ts";
import { parseFlags } from "./flags.ts";
import { UsageError } from "../base/mod.ts";
import { RUN_SETTINGS } from "../core/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

const GROUPS = { DOWNLOAD_INPUT_FLAGS, SUBSET_FLAGS, SAMPLE_FLAGS, ENCODE_FLAGS };
const SPEC = {
  name: "run",
  summary: "all step flags",
  flags: { ...DOWNLOAD_INPUT_FLAGS, ...SUBSET_FLAGS, ...SAMPLE_FLAGS, ...ENCODE_FLAGS },
};

/** The flag values a user's command line gives, defaults filled in as the tasks see them. */
function typed(...args: string[]) {
  return parseFlags(SPEC, args).values;
}

Deno.test("step_flags: the groups share no flag name; string flags show an argument and every flag has help", () => {
  const names = Object.values(GROUPS).flatMap((g) => Object.keys(g));
  assertEquals(new Set(names).size, names.length);
  for (
    const [name, f] of [
      ...Object.values(GROUPS).flatMap((g) => Object.entries(g)),
      ["text-model", TEXT_MODEL_FLAG] as const,
    ]
  ) {
    assert(f.help.trim().length > 10, `--${name} has help`);
    if (f.type === "string") {
      assert(f.arg && /^[A-Z]+$/.test(f.arg), `--${name} shows its argument`);
    }
  }
});

Deno.test("step_flags: the defaults shown in --help are the run settings' defaults", () => {
  assertEquals(SAMPLE_FLAGS.fps.default, String(RUN_SETTINGS.fps.default));
  assertEquals(SAMPLE_FLAGS.preset.default, RUN_SETTINGS.preset.default);
  assertEquals(ENCODE_FLAGS.batch.default, String(RUN_SETTINGS.batch.default));
  assertEquals(ENCODE_FLAGS.dtype.default, RUN_SETTINGS.dtype.default);
  const sample = sampleFlagOptions(typed());
  assertEquals([sample.fps, sample.preset, sample.jobs, sample.thumbnails], [
    1,
    "clip",
    undefined,
    false,
  ]);
});

Deno.test("step_flags: download inputs and the subset come from the flags as typed", () => {
  const o = downloadInputOptions(typed(
    "--annotations=a.csv",
    "--annotations",
    "b.json",
    "--videos",
    "dir",
    "--allow-host",
    "169.254.169.254",
    "--splits",
    "validate,train",
    "--per-class",
    "3",
    "--limit",
    "10",
  ));
  assertEquals(o, {
    annotations: ["a.csv", "b.json"],
    archives: [],
    videos: ["dir"],
    baseUrl: undefined,
    allowHosts: ["169.254.169.254"],
    splits: ["train", "val"],
    perClass: 3,
    limit: 10,
    seed: 0,
  });
});

Deno.test("step_flags: encode options from flags, with their checks", async () => {
  const o = encodeFlagOptions(
    typed("--model", "m.onnx", "--providers", "cpu", "--batch", "8", "--keep-frames"),
  );
  assertEquals(
    [
      o.model,
      o.modelVariant,
      o.providers,
      o.batch,
      o.dtype,
      o.inputName,
      o.outputName,
      o.keepFrames,
      o.threads,
    ],
    ["m.onnx", "auto", ["cpu"], 8, "float16", "pixel_values", "image_embeds", true, undefined],
  );
  for (
    const [args, message] of [
      [[], "--model is required"],
      [["--model", "m", "--dtype", "int8"], "--dtype must be float16 or float32"],
      [["--model", "m", "--model-variant", "int4"], "--model-variant must be auto, "],
      [["--model", "m", "--batch", "0"], '--batch takes a whole number ≥ 1, got "0"'],
    ] as const
  ) {
    const e = await assertRejects(() => encodeFlagOptions(typed(...args)), message);
    assert(e instanceof UsageError, String(e));
  }
});

Deno.test("step_flags: bad sample and subset values are usage errors naming the flag", async () => {
  for (
    const [fn, message] of [
      [() => sampleFlagOptions(typed("--preset", "bicubic")), "--preset must be one of clip, "],
      [() => sampleFlagOptions(typed("--fps=-1")), "--fps takes a positive number"],
      [() => sampleFlagOptions(typed("--jobs", "1.5")), "--jobs takes a whole number ≥ 1"],
      [
        () => downloadInputOptions(typed("--per-class", "0")),
        "--per-class takes a whole number ≥ 1",
      ],
      [() => downloadInputOptions(typed("--seed=-3")), "--seed takes a whole number ≥ 0"],
      [() => downloadInputOptions(typed("--splits", "dev")), '--splits: unknown split "dev"'],
    ] as const
  ) {
    const e = await assertRejects(fn, message);
    assert(e instanceof UsageError, String(e));
  }
});
