/**
 * The shape of `lib/`, read from the code itself with Deno's lint AST: a folder reaches another
 * only through its `mod.ts`, no folder imports the modules above them (`lib/run.ts`), the folder
 * graph has no cycle (nor the module graph), codecs and tools know no run state, a stage imports no other stage, and no
 * function in a module is longer than 120 lines.
 */
import { dirname, join, relative, resolve } from "node:path";
import { assertEquals } from "./support/assert.ts";
import { repoPath } from "./support/media.ts";

/** The longest a function in `lib/` may be, in lines (its signature to its closing brace). */
const MAX_FUNCTION_LINES = 120;

/** What one module says about itself: the files it imports and its functions' lengths. */
interface ModuleFacts {
  /** Import and re-export specifiers, dynamic imports with a literal specifier included. */
  imports: string[];
  /** Each function, method and arrow function with a body: where it starts and how long it is. */
  functions: { line: number; name: string; lines: number }[];
}

/** Reads a module's imports and function lengths with a lint-plugin visitor. */
function moduleFacts(file: string, source: string): ModuleFacts {
  const facts: ModuleFacts = { imports: [], functions: [] };
  const lineOf = (offset: number) => source.slice(0, offset).split("\n").length;
  const plugin: Deno.lint.Plugin = {
    name: "layout",
    rules: {
      facts: {
        create() {
          const specifier = (node: Deno.lint.Node) => {
            const value = (node as unknown as { source?: { value?: unknown } | null }).source
              ?.value;
            if (typeof value === "string") facts.imports.push(value);
          };
          const fn = (node: Deno.lint.Node) => {
            const [start, end] = node.range;
            const lines = lineOf(end) - lineOf(start) + 1;
            const parent = (node as { parent?: { type: string; key?: { name?: string } } }).parent;
            const id = (node as unknown as { id?: { name?: string } | null }).id;
            const name = id?.name ??
              (parent?.type === "MethodDefinition" ? parent.key?.name : undefined) ?? "(anonymous)";
            facts.functions.push({ line: lineOf(start), name, lines });
          };
          return {
            ImportDeclaration: specifier,
            ExportAllDeclaration: specifier,
            ExportNamedDeclaration: specifier,
            ImportExpression: specifier,
            FunctionDeclaration: fn,
            FunctionExpression: fn,
            ArrowFunctionExpression: fn,
          };
        },
      },
    },
  };
  Deno.lint.runPlugin(plugin, file, source);
  return facts;
}

/** The stage folder of a path under `lib/` (`null` for `lib/run.ts` and anything outside). */
function stageOf(lib: string, path: string): string | null {
  const rel = relative(lib, path);
  if (rel.startsWith("..")) return null;
  const parts = rel.split("/");
  return parts.length > 1 ? parts[0] : null;
}

/** Everything wrong with the layout of the given modules (paths absolute, under `lib`). */
function layoutProblems(lib: string, modules: Map<string, ModuleFacts>): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const [file, facts] of modules) {
    const from = stageOf(lib, file);
    const where = relative(lib, file);
    const isTest = file.endsWith("_test.ts");
    for (const spec of facts.imports) {
      if (!spec.startsWith(".")) continue;
      const target = resolve(dirname(file), spec);
      if (relative(lib, target).startsWith("..")) continue; // fixtures/, tests/support/
      const to = stageOf(lib, target);
      if (to === null) {
        if (from !== null) {
          problems.push(`${where} imports ${spec}: a stage never imports lib/run.ts`);
        }
        continue;
      }
      if (to === from) continue;
      if (relative(join(lib, to), target) !== "mod.ts") {
        problems.push(
          `${where} imports ${spec}: another folder is reached only through its mod.ts`,
        );
      }
      if (from !== null && !isTest) {
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
        const never = NEVER_IMPORTS[from];
        if (never?.includes(to)) {
          problems.push(`${where} imports ${spec}: ${from}/ never imports ${to}/ (${never.why})`);
        } else if (STAGES.includes(from) && STAGES.includes(to)) {
          problems.push(
            `${where} imports ${spec}: a stage never imports another stage (what two stages ` +
              "share lives in a library folder; what composes them sits above, beside run.ts)",
          );
        }
      }
    }
    if (isTest) continue;
    for (const f of facts.functions) {
      if (f.lines > MAX_FUNCTION_LINES) {
        problems.push(
          `${where}:${f.line}: ${f.name} is ${f.lines} lines (at most ${MAX_FUNCTION_LINES})`,
        );
      }
    }
  }
  const cycle = findCycle(edges);
  if (cycle) problems.push(`the folders import each other in a circle: ${cycle.join(" → ")}`);
  const fileCycle = findCycle(fileEdges(lib, modules));
  if (fileCycle) {
    problems.push(`the modules import each other in a circle: ${fileCycle.join(" → ")}`);
  }
  return problems;
}

/** Which module imports which (paths under `lib`, tests left out), types-only imports included. */
function fileEdges(lib: string, modules: Map<string, ModuleFacts>): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const [file, facts] of modules) {
    if (file.endsWith("_test.ts")) continue;
    const from = relative(lib, file);
    for (const spec of facts.imports) {
      if (!spec.startsWith(".")) continue;
      const to = relative(lib, resolve(dirname(file), spec));
      if (to.startsWith("..")) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
    }
  }
  return edges;
}

/** Folders a folder never imports, and why (the run's state stays out of codecs and tools). */
const RUN_STATE_FREE = (why: string) => Object.assign(["core", "cli"], { why });
const NEVER_IMPORTS: Record<string, string[] & { why: string }> = {
  base: Object.assign(
    ["core", "cli", "tar", "net", "dataset", "onnx", "webdataset"],
    { why: "base stands on nothing" },
  ),
  tar: RUN_STATE_FREE("a codec knows no run state"),
  net: RUN_STATE_FREE("HTTP knows no run state"),
  dataset: RUN_STATE_FREE("reference data knows no run state"),
  onnx: RUN_STATE_FREE("ONNX Runtime knows no run state"),
};

/**
 * The stage folders: each is one step of the pipeline (or a tool beside it) and reaches the
 * others' data only through the library folders (`webdataset/` and `tar/` for the format, `net/`
 * for HTTP, `core/` for the run's state, `base/`, `dataset/`, `onnx/`, `model/`, `text/`).
 * `cli/` and the modules at the top of `lib/` (`run.ts`, `sample_and_encode.ts`) compose them.
 */
const STAGES = [
  "download",
  "video",
  "encode",
  "shard",
  "verify",
  "eval",
  "export",
  "search",
  "gpu",
];

/** One cycle of the folder graph, as the folders on it (first repeated last), or null. */
function findCycle(edges: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    if (state.get(n) === "done") return null;
    state.set(n, "open");
    path.push(n);
    for (const m of [...(edges.get(n) ?? [])].sort()) {
      const found = visit(m);
      if (found) return found;
    }
    path.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of [...edges.keys()].sort()) {
    const found = visit(n);
    if (found) return found;
  }
  return null;
}

async function readLib(lib: string): Promise<Map<string, ModuleFacts>> {
  const modules = new Map<string, ModuleFacts>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts")) {
        modules.set(path, moduleFacts(path, await Deno.readTextFile(path)));
      }
    }
  };
  await walk(lib);
  return modules;
}

Deno.test("lib/: folders meet only at mod.ts, neither folders nor modules import each other in a circle, functions stay short", async () => {
  const lib = repoPath("lib");
  const modules = await readLib(lib);
  assertEquals(layoutProblems(lib, modules), []);
});

Deno.test("the root face imports no CLI: mod.ts reaches lib/cli/ neither directly nor through a face", async () => {
  const root = await Deno.readTextFile(repoPath("mod.ts"));
  const facts = moduleFacts(repoPath("mod.ts"), root);
  assertEquals(facts.imports.filter((spec) => spec.includes("/cli/")), []);
});

Deno.test("layout check: it sees a reach past mod.ts, a cycle, an upward import, a long function, a codec reaching run state, a stage importing a stage and two modules importing each other", () => {
  const lib = "/repo/lib";
  const long = `export function long() {\n${"  let x = 1;\n".repeat(130)}}\n`;
  const modules = new Map<string, ModuleFacts>([
    [`${lib}/a/one.ts`, moduleFacts("one.ts", `import { b } from "../b/two.ts";\n${long}`)],
    [`${lib}/b/two.ts`, moduleFacts("two.ts", `export { a } from "../a/mod.ts";\n`)],
    [`${lib}/b/three.ts`, moduleFacts("three.ts", `const r = await import("../run.ts");\n`)],
    [`${lib}/b/three_test.ts`, moduleFacts("t.ts", `import "../a/one.ts";\n${long}`)],
    [
      `${lib}/tar/codec.ts`,
      moduleFacts("codec.ts", `import { Manifest } from "../core/mod.ts";\n`),
    ],
    [`${lib}/search/find.ts`, moduleFacts("find.ts", `import "../eval/mod.ts";\n`)],
    [`${lib}/search/find_test.ts`, moduleFacts("find_test.ts", `import "../eval/mod.ts";\n`)],
    [`${lib}/cli/flags.ts`, moduleFacts("flags.ts", `import "../eval/mod.ts";\n`)],
    [`${lib}/cli/spec.ts`, moduleFacts("spec.ts", `import type { X } from "./parse.ts";\n`)],
    [`${lib}/cli/parse.ts`, moduleFacts("parse.ts", `import { Y } from "./spec.ts";\n`)],
  ]);
  assertEquals(layoutProblems(lib, modules), [
    "a/one.ts imports ../b/two.ts: another folder is reached only through its mod.ts",
    "a/one.ts:2: long is 132 lines (at most 120)",
    "b/three.ts imports ../run.ts: a stage never imports lib/run.ts",
    "b/three_test.ts imports ../a/one.ts: another folder is reached only through its mod.ts",
    "tar/codec.ts imports ../core/mod.ts: tar/ never imports core/ (a codec knows no run state)",
    "search/find.ts imports ../eval/mod.ts: a stage never imports another stage (what two stages " +
    "share lives in a library folder; what composes them sits above, beside run.ts)",
    "the folders import each other in a circle: a → b → a",
    "the modules import each other in a circle: cli/parse.ts → cli/spec.ts → cli/parse.ts",
  ]);
});
