import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../base/mod.ts";
import {
  DATA_DIR,
  defaultCardPath,
  defaultClassesPath,
  defaultTemplatesPath,
  defaultVocabPath,
  fillTemplate,
  loadClassNames,
  loadPromptTemplates,
  parseClassNames,
  parsePromptTemplates,
} from "./reference_data.ts";

/** Asserts that `fn` throws a FormatError whose message includes `text`. */
function assertFormatError(fn: () => unknown, text: string): void {
  try {
    fn();
  } catch (e) {
    assert(e instanceof FormatError, `expected FormatError, got ${e}`);
    assert(e.message.includes(text), `"${e.message}" lacks "${text}"`);
    return;
  }
  throw new Error("expected FormatError, nothing was thrown");
}

Deno.test("the shipped files are where the paths say", () => {
  assert(DATA_DIR.endsWith("/data/"), DATA_DIR);
  for (
    const path of [defaultCardPath, defaultClassesPath, defaultTemplatesPath, defaultVocabPath]
  ) {
    assert(existsSync(path), path);
  }
  assert(existsSync(join(DATA_DIR, "README.md")));
  assert(Deno.readTextFileSync(defaultCardPath).includes("Validation - 33966 samples | 4 tar's"));
});

Deno.test("the shipped class names and templates load", async () => {
  const classes = await loadClassNames();
  assertEquals(classes.length, 700);
  assertEquals(classes[0], "abseiling");
  assertEquals(classes[699], "zumba");
  assertEquals(new Set(classes).size, 700);
  const templates = await loadPromptTemplates();
  assertEquals(templates.length, 28);
  assertEquals(templates[0], "a photo of {}.");
  assert(templates.every((t) => t.includes("{}")));
  assertEquals(fillTemplate(templates[0], classes[0]), "a photo of abseiling.");
  assertEquals(fillTemplate("a video of {}.", "$& person's $1"), "a video of $& person's $1.");
});

Deno.test("class name files: BOM and CRLF accepted, bad lines named", () => {
  assertEquals(parseClassNames("\uFEFFa\r\nb c\r\n", "x.txt"), ["a", "b c"]);
  assertEquals(parseClassNames("a\nb"), ["a", "b"]);
  assertFormatError(() => parseClassNames("a\n\nb\n", "x.txt"), "x.txt:2: empty class name");
  assertFormatError(
    () => parseClassNames("a\nb\na\n", "x.txt"),
    'x.txt:3: duplicate class name "a" (first on line 1)',
  );
  assertFormatError(() => parseClassNames("a\nb \n", "x.txt"), "x.txt:2: class name");
  assertFormatError(() => parseClassNames("", "x.txt"), "x.txt: no class names");
});

Deno.test("template files: each line holds {} exactly once", () => {
  assertEquals(parsePromptTemplates("a {}.\r\n{} b\n"), ["a {}.", "{} b"]);
  assertFormatError(
    () => parsePromptTemplates("a {}.\na photo.\n", "t.txt"),
    't.txt:2: prompt template "a photo." must contain "{}" exactly once (found 0)',
  );
  assertFormatError(() => parsePromptTemplates("{} and {}\n", "t.txt"), "t.txt:1:");
  assertFormatError(
    () => parsePromptTemplates("a {}\n\n", "t.txt"),
    "t.txt:2: empty prompt template",
  );
  assertFormatError(() => parsePromptTemplates("", "t.txt"), "t.txt: no prompt templates");
});

Deno.test("loaders name the file they read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reference_data_" });
  try {
    const classes = join(dir, "classes.txt");
    await Deno.writeTextFile(classes, "a\na\n");
    await rejects(
      loadClassNames(classes),
      (e: Error) => e instanceof FormatError && e.message.startsWith(`${classes}:2:`),
    );
    const templates = join(dir, "templates.txt");
    await Deno.writeTextFile(templates, "a {}\nno hole\n");
    await rejects(
      loadPromptTemplates(templates),
      (e: Error) => e instanceof FormatError && e.message.startsWith(`${templates}:2:`),
    );
    await rejects(loadClassNames(join(dir, "missing.txt")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
