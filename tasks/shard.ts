/** `kinembed shard`: not built yet. */
import { notImplemented, WORK_FLAG } from "../lib/cli.ts";

await notImplemented({
  name: "shard",
  summary: "shard (not implemented yet)",
  flags: { work: WORK_FLAG },
});
