import { parseSplitName, SPLITS } from "./split.ts";
import { assertEquals } from "../../tests/support/assert.ts";

Deno.test("split: the splits are train, val, test in that order, each its own canonical name", () => {
  assertEquals([...SPLITS], ["train", "val", "test"]);
  for (const s of SPLITS) assertEquals(parseSplitName(s), s);
});

Deno.test("split: every spelling datasets use maps to its split, case and spaces ignored", () => {
  const cases: [string, string][] = [
    ["training", "train"],
    ["TRAIN", "train"],
    ["valid", "val"],
    ["validate", "val"],
    ["Validation", "val"],
    ["\tval\n", "val"],
    ["testing", "test"],
    [" Test ", "test"],
  ];
  for (const [name, want] of cases) assertEquals(parseSplitName(name), want, name);
});

Deno.test("split: other names, and Object's own property names, are no split", () => {
  for (
    const name of [
      "",
      "dev",
      "eval",
      "tr ain",
      "constructor",
      "toString",
      "__proto__",
      "hasOwnProperty",
    ]
  ) {
    assertEquals(parseSplitName(name), null, JSON.stringify(name));
  }
});
