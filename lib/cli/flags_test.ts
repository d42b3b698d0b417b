import { taskFile } from "../../tests/support/tasks.ts";
import { parseFlags, usage } from "./flags.ts";
import { LAUNCHED_TASKS } from "./task_permissions.ts";
import { UsageError } from "../base/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

Deno.test("every task: --help exits 0 with usage; an unknown flag exits 2 with usage", async () => {
  for (const t of Object.keys(LAUNCHED_TASKS)) {
    const help = await taskFile(t, ["--help"]);
    assertEquals(help.code, 0, `${t} --help`);
    assert(help.stdout.includes(`usage: kinembed ${t}`), t);
    // gpu-setup installs libraries and model manages caches: neither works on a work dir
    if (t !== "gpu-setup" && t !== "model") {
      assert(help.stdout.includes("--work"), `${t} takes --work`);
    }
    const bad = await taskFile(t, ["--no-such-flag"]);
    assertEquals(bad.code, 2, `${t} --no-such-flag`);
    assert(
      bad.stderr.includes("no-such-flag") && bad.stderr.includes("usage:"),
      `${t}: ${bad.stderr}`,
    );
  }
});

Deno.test("parseFlags: defaults, strictness, number checks", async () => {
  const spec = {
    name: "x",
    summary: "test",
    flags: {
      work: { type: "string" as const, default: "work", help: "w" },
      fast: { type: "boolean" as const, help: "f" },
    },
  };
  const p = parseFlags(spec, ["--fast"]);
  assertEquals([p.values.work, p.values.fast, p.help], ["work", true, false]);
  await assertRejects(() => parseFlags(spec, ["--work"]), "argument missing");
  const e = await assertRejects(() => parseFlags(spec, ["positional"]));
  assert(e instanceof UsageError);
  assert(usage(spec).includes("--work VALUE") && usage(spec).includes("(default work)"));
});

Deno.test("parseFlags: a value flag given twice is refused, a multiple flag and a switch repeat", async () => {
  const spec = {
    name: "x",
    summary: "test",
    flags: {
      seed: { type: "string" as const, default: "0", help: "s" },
      list: { type: "string" as const, multiple: true, help: "l" },
      quiet: { type: "boolean" as const, help: "q" },
    },
  };
  for (const args of [["--seed", "1", "--seed", "2"], ["--seed=1", "--seed", "1"]]) {
    const e = await assertRejects(() => parseFlags(spec, args), "--seed given twice");
    assert(e instanceof UsageError);
  }
  const p = parseFlags(spec, ["--list", "a", "--list=b", "--quiet", "--quiet", "--seed", "3"]);
  assertEquals([p.values.list, p.values.quiet, p.values.seed], [["a", "b"], true, "3"]);
});

Deno.test("parseFlags: a value that starts with '-' after a space is named in one line with the way to give it", () => {
  const spec = {
    name: "sample",
    summary: "",
    flags: { fps: { type: "string" as const, help: "" } },
  };
  let message = "";
  try {
    parseFlags(spec, ["--fps", "-1"]);
  } catch (e) {
    assert(e instanceof UsageError, String(e));
    message = e.message;
  }
  assertEquals(message, '--fps takes a value that starts with "-": write --fps=VALUE');
  assertEquals(parseFlags(spec, ["--fps=-1"]).values.fps, "-1");
});
