/** `kinembed run`: not built yet. */
import { notImplemented, WORK_FLAG } from "../lib/cli.ts";

await notImplemented({
  name: "run",
  summary: "run (not implemented yet)",
  flags: { work: WORK_FLAG },
});
