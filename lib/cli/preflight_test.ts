import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { checkInputs, PreflightError } from "./preflight.ts";
import type { TaskSpec } from "./flag_spec.ts";

const SPEC: TaskSpec = {
  name: "t",
  summary: "test",
  flags: {
    annotations: {
      type: "string",
      multiple: true,
      help: "",
      access: "read-file",
      content: "annotations",
    },
    archives: { type: "string", help: "", access: "read-file", content: "archive-list" },
    card: { type: "string", help: "", access: "read-file", content: "card" },
    classes: { type: "string", help: "", access: "read-file", content: "class-list" },
    templates: { type: "string", help: "", access: "read-file", content: "templates" },
    shards: { type: "string", help: "", access: "read-folder" },
    work: { type: "string", help: "", access: "work" },
    model: { type: "string", help: "", access: "model" },
  },
};

Deno.test("checkInputs: every problem at once, one line each, named with its flag", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = (name: string, text: string) => {
      const p = join(dir, name);
      Deno.writeTextFileSync(p, text);
      return p;
    };
    const empty = file("empty.csv", "\n\n");
    const json = file("ann.json", '{"a": {"annotations": {"label": "x"}}}');
    const list = file("list.txt", "# only a comment\n");
    const card = file("card.md", "# card\n");
    const classes = file("classes.txt", "a\n b\n");
    const templates = file("templates.txt", "a photo of {}.\nno hole\n");
    const e = await assertRejects(() =>
      checkInputs(SPEC, {
        annotations: [empty, json, join(dir, "missing.csv")],
        archives: list,
        card,
        classes,
        templates,
        shards: card,
        work: card,
        model: join(dir, "none.onnx"),
      })
    );
    assert(e instanceof PreflightError);
    assertEquals(e.problems, [
      `--annotations ${empty}: is empty`,
      `--annotations ${join(dir, "missing.csv")}: not found`,
      `--card ${card}: no "Data Splits" section`,
      `--classes ${classes}:2: class name " b" has leading or trailing whitespace`,
      `--templates ${templates}:2: prompt template "no hole" must contain "{}" exactly once ` +
      "(found 0)",
      `--shards ${card}: not a folder`,
      `--work ${card}: not a folder`,
      `--model ${join(dir, "none.onnx")}: not found`,
    ]);
    // good inputs pass; a work dir that does not exist yet is made later
    file("c.md", "### Data Splits\n* Train - 1 samples | 1 tar's\n");
    await checkInputs(SPEC, {
      annotations: [json],
      card: join(dir, "c.md"),
      shards: dir,
      work: join(dir, "new"),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
