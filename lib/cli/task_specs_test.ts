import { TASK_SPECS } from "./task_specs.ts";
import { parseFlags } from "./flags.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("task_specs: the tasks are deno.json's step tasks, each with its tasks/<name>.ts", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  const launched = Object.entries(config.tasks)
    .filter(([, cmd]) => cmd.includes("tasks/launch.ts"))
    .map(([name, cmd]) => {
      assert(cmd.endsWith(`tasks/launch.ts ${name}`), `deno task ${name} launches ${name}: ${cmd}`);
      return name;
    });
  assertEquals(Object.keys(TASK_SPECS).sort(), launched.sort());
  for (const [key, spec] of Object.entries(TASK_SPECS)) {
    assertEquals(spec.name, key);
    const file = new URL(`tasks/${key.replaceAll("-", "_")}.ts`, ROOT);
    assert((await Deno.stat(file)).isFile, `${file.pathname}`);
  }
});

Deno.test("task_specs: every summary is one sentence and every flag has one line of help", () => {
  for (const spec of Object.values(TASK_SPECS)) {
    assert(
      /^[A-Z].*\.$/.test(spec.summary) && !spec.summary.includes("\n"),
      `${spec.name}: ${spec.summary}`,
    );
    for (const [name, f] of Object.entries(spec.flags)) {
      const where = `${spec.name} --${name}`;
      // eval's -C keeps scikit-learn's name for the probe's inverse regularisation
      assert(/^[a-z0-9-]+$/.test(name) || name === "C", `${where}: a lower-case kebab name`);
      assert(
        f.help.trim().length > 5 && !f.help.includes("\n") && f.help.length < 300,
        `${where}: help`,
      );
      if (f.type === "string") {
        assert(f.arg && /^[A-Z][A-Z0-9_/|]*$/.test(f.arg), `${where}: an argument placeholder`);
        assert(
          f.default === undefined || typeof f.default === "string",
          `${where}: a string default`,
        );
      } else {
        assert(f.arg === undefined && f.multiple !== true, `${where}: a switch takes no value`);
        assert(
          f.default === undefined || typeof f.default === "boolean",
          `${where}: a boolean default`,
        );
      }
    }
  }
});

Deno.test("task_specs: every flag naming a file, folder or program declares its access", () => {
  const pathArgs = new Set(["FILE", "DIR", "FILE|DIR", "PATH"]);
  // an output file the launcher grants write to by name (task_permissions.ts), not by access
  const outputFiles = new Set(["search --html"]);
  for (const spec of Object.values(TASK_SPECS)) {
    for (const [name, f] of Object.entries(spec.flags)) {
      const where = `${spec.name} --${name}`;
      if (f.arg !== undefined && pathArgs.has(f.arg) && !outputFiles.has(where)) {
        assert(f.access !== undefined, `${where} takes a ${f.arg}`);
      }
      if (f.access !== undefined) assertEquals(f.type, "string", `${where}: a path is a value`);
      if (f.access === "program") assertEquals(f.arg, "PATH", where);
      if (f.content !== undefined) {
        assert(
          f.access === "read-file" || f.access === "read-file-or-folder",
          `${where}: content is read`,
        );
      }
    }
    if (spec.flags.work !== undefined) {
      const access = spec.flags.work.access;
      assert(
        access === "work" || access === "existing-work" || access === "read-work",
        `${spec.name} --work`,
      );
      assertEquals(spec.flags.work.arg, "DIR");
    }
  }
  // only the steps that start a work dir may make one
  const making = Object.values(TASK_SPECS).filter((s) => s.flags.work?.access === "work").map((s) =>
    s.name
  );
  assertEquals(making.sort(), ["demo", "download", "run"]);
});

Deno.test("task_specs: each task parses its own defaults and --help", () => {
  for (const spec of Object.values(TASK_SPECS)) {
    const parsed = parseFlags(spec, ["--help"]);
    assertEquals(parsed.help, true, spec.name);
    const defaults = Object.entries(spec.flags).filter(([, f]) =>
      f.type === "string" && f.default !== undefined
    );
    const args = defaults.map(([name, f]) => `--${name}=${f.default}`);
    const { values } = parseFlags(spec, args);
    for (const [name, f] of defaults) {
      const got = values[name];
      assertEquals(f.multiple ? (got as string[])[0] : got, f.default, `${spec.name} --${name}`);
    }
  }
});
