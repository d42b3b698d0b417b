/** `kinembed encode`: not built yet. */
import { notImplemented, WORK_FLAG } from "../lib/cli.ts";

await notImplemented({
  name: "encode",
  summary: "encode (not implemented yet)",
  flags: { work: WORK_FLAG },
});
