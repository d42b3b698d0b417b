/** `kinembed verify`: not built yet. */
import { notImplemented, WORK_FLAG } from "../lib/cli.ts";

await notImplemented({
  name: "verify",
  summary: "verify (not implemented yet)",
  flags: { work: WORK_FLAG },
});
