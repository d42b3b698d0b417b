/**
 * The package's face as `deno doc` shows it to a user: a narrow root (the steps, their options and
 * results, the shard reader, the errors, each step with a runnable example) and one subpath per
 * folder of `lib/`, every entry point clean under `deno doc --lint` (no undocumented export, no
 * public API naming a type the entry point does not export).
 */
import { dirname, join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath } from "./support/media.ts";

/** The root face's size today is 100 symbols (29 of them values); the old `export *` of every stage was 523. */
const ROOT_SYMBOL_BOUND = 100;

/** What a script needs from the root: each step, the whole pipeline, the reader and the errors. */
const ROOT_ENTRIES = [
  "download",
  "sample",
  "encode",
  "sampleAndEncode",
  "shard",
  "merge",
  "verify",
  "evaluate",
  "runPipeline",
  "ShardReader",
];
const ROOT_ERRORS = ["UsageError", "ConfigError", "FormatError", "DecodeError", "WorkDirBusyError"];

/** One symbol of `deno doc --json`, with what this test reads of it. */
interface DocSymbol {
  name: string;
  declarations: { kind: string; jsDoc?: { tags?: { kind: string }[] } }[];
}

async function deno(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: repoPath(),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function exportsMap(): Promise<Record<string, string>> {
  const config = JSON.parse(await Deno.readTextFile(repoPath("deno.json")));
  assert(typeof config.exports === "object", "deno.json's exports is a map of subpaths");
  return config.exports;
}

Deno.test("the root face is narrow, and each step it offers has a runnable example", async () => {
  const r = await deno(["doc", "--json", "mod.ts"]);
  assertEquals(r.code, 0, r.stderr);
  const nodes = Object.values(JSON.parse(r.stdout).nodes) as { symbols: DocSymbol[] }[];
  const symbols = nodes[0].symbols;
  assert(
    symbols.length <= ROOT_SYMBOL_BOUND,
    `mod.ts exports ${symbols.length} symbols, more than ${ROOT_SYMBOL_BOUND}: ` +
      "put what only one stage's users need behind its subpath",
  );
  const byName = new Map(symbols.map((s) => [s.name, s]));
  for (const name of [...ROOT_ENTRIES, ...ROOT_ERRORS]) {
    assert(byName.has(name), `mod.ts exports ${name}`);
  }
  const withoutExample = ROOT_ENTRIES.filter((name) =>
    !byName.get(name)!.declarations.some((d) => d.jsDoc?.tags?.some((t) => t.kind === "example"))
  );
  assertEquals(withoutExample, [], "every step in mod.ts has an @example");
});

Deno.test("deno.json exports the root and one subpath per lib folder, each clean under deno doc --lint", async () => {
  const exports = await exportsMap();
  assertEquals(exports["."], "./mod.ts");
  const folders: string[] = [];
  for await (const e of Deno.readDir(repoPath("lib"))) {
    if (e.isDirectory) folders.push(e.name);
  }
  assert(folders.length > 10, "lib/ has its stage folders");
  for (const folder of folders) {
    assertEquals(
      exports[`./${folder}`],
      `./lib/${folder}/mod.ts`,
      `deno.json exports lib/${folder}/ as @kinembed/kinembed/${folder}`,
    );
  }
  const failing: string[] = [];
  for (const [subpath, file] of Object.entries(exports)) {
    await Deno.stat(repoPath(file)); // every target exists
    const r = await deno(["doc", "--lint", file]);
    if (r.code !== 0) {
      const first = r.stderr.split("\n").find((l) => l.startsWith("error")) ?? r.stderr;
      failing.push(`${subpath} (${file}): ${first}`);
    }
  }
  assertEquals(failing, [], "deno doc --lint is clean for every export");
});

Deno.test("deno publish --dry-run passes on the files git keeps; the license alone is left to the owners", async () => {
  const listed = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: repoPath(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(listed.code, 0, "the tracked files are listed by git");
  const files = new TextDecoder().decode(listed.stdout).split("\0").filter((f) => f !== "");
  const scratch = await Deno.makeTempDir({ prefix: "kinembed-publish-" });
  try {
    for (const file of files) {
      await Deno.mkdir(join(scratch, dirname(file)), { recursive: true });
      // a file removed from the working tree but not yet from git's index is not copied
      await Deno.copyFile(repoPath(file), join(scratch, file)).catch((e) => {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      });
    }
    // choosing the package's license is its owners' call; with one chosen, nothing else is missing
    const config = JSON.parse(await Deno.readTextFile(join(scratch, "deno.json")));
    config.license ??= "LicenseRef-chosen-by-the-owners";
    await Deno.writeTextFile(join(scratch, "deno.json"), JSON.stringify(config, null, 2));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["publish", "--dry-run", "--allow-dirty"],
      cwd: scratch,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    const problems = log.split("\n").filter((l) => l.startsWith("error"));
    assertEquals([out.code, problems], [0, []], log.slice(-2000));
    assert(log.includes("Dry run complete"), log.slice(-2000));
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});

Deno.test("every entry point imports with no config and nothing fetched: no npm package loads until a function needs it", async () => {
  const scratch = await Deno.makeTempDir({ prefix: "kinembed-faces-" });
  try {
    const failing: string[] = [];
    for (const [subpath, file] of Object.entries(await exportsMap())) {
      const url = new URL(file, `file://${repoPath()}/`).href;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          "--no-config",
          "--no-lock",
          "--cached-only",
          `await import(${JSON.stringify(url)});`,
        ],
        cwd: scratch, // outside the repository: its deno.json and node_modules are not found
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (out.code !== 0) {
        const err = new TextDecoder().decode(out.stderr).split("\n").find((l) =>
          l.includes("rror")
        );
        failing.push(`${subpath}: ${err}`);
      }
    }
    assertEquals(failing, []);
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
});
