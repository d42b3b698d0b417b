import { EXISTING_WORK_FLAG, type TaskSpec, WORK_FLAG } from "./flag_spec.ts";
import { parseFlags, usage } from "./flags.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

Deno.test("flag_spec: --work defaults to work and makes the dir; the continuing steps' --work must exist, and says nothing else differently", () => {
  assertEquals([WORK_FLAG.type, WORK_FLAG.default, WORK_FLAG.access], ["string", "work", "work"]);
  assertEquals({ ...EXISTING_WORK_FLAG, access: WORK_FLAG.access }, WORK_FLAG);
  assertEquals(EXISTING_WORK_FLAG.access, "existing-work");
  const spec: TaskSpec = { name: "t", summary: "a task", flags: { work: EXISTING_WORK_FLAG } };
  assertEquals(parseFlags(spec, []).values.work, "work");
  assertEquals(parseFlags(spec, ["--work", "runs/a"]).values.work, "runs/a");
  assert(usage(spec).includes("--work DIR"), usage(spec));
});
