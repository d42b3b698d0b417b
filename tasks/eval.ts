/** `kinembed eval`: not built yet. */
import { notImplemented, WORK_FLAG } from "../lib/cli.ts";

await notImplemented({
  name: "eval",
  summary: "eval (not implemented yet)",
  flags: { work: WORK_FLAG },
});
