/** `kinembed download`: not built yet. */
import { notImplemented, WORK_FLAG } from "../lib/cli.ts";

await notImplemented({
  name: "download",
  summary: "download (not implemented yet)",
  flags: { work: WORK_FLAG },
});
