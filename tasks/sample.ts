/** `kinembed sample`: not built yet. */
import { notImplemented, WORK_FLAG } from "../lib/cli.ts";

await notImplemented({
  name: "sample",
  summary: "sample (not implemented yet)",
  flags: { work: WORK_FLAG },
});
