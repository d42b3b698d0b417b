import { CARD_SOURCE_FLAGS, cardSourceFlagOptions } from "./card_flags.ts";
import { parseFlags } from "./flags.ts";
import { UsageError } from "../base/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

const SPEC = { name: "shard", summary: "test spec", flags: CARD_SOURCE_FLAGS };

Deno.test("card_flags: both flags are repeatable strings with an argument and help text", () => {
  assertEquals(Object.keys(CARD_SOURCE_FLAGS).sort(), ["license", "source-dataset"]);
  for (const [name, f] of Object.entries(CARD_SOURCE_FLAGS)) {
    assert(f.type === "string" && f.multiple === true && f.arg && f.help.length > 10, name);
    assertEquals(f.access, undefined, `${name} names no path`);
  }
});

Deno.test("card_flags: repeated and comma-separated values, parsed as typed, give one deduplicated source", () => {
  const { values } = parseFlags(SPEC, [
    "--license",
    "mit,cc-by-4.0",
    "--license=mit",
    "--source-dataset",
    "kinetics700",
  ]);
  assertEquals(cardSourceFlagOptions(values), {
    licenses: ["mit", "cc-by-4.0"],
    sourceDatasets: ["kinetics700"],
    citations: [],
  });
});

Deno.test("card_flags: no flag gives no source; a bad value is a UsageError naming the flag", async () => {
  assertEquals(cardSourceFlagOptions(parseFlags(SPEC, []).values), undefined);
  const e = await assertRejects(
    () => cardSourceFlagOptions(parseFlags(SPEC, ["--license", "MIT License"]).values),
    '--license "MIT License": not a Hub license id',
  );
  assert(e instanceof UsageError);
  await assertRejects(
    () => cardSourceFlagOptions(parseFlags(SPEC, ["--source-dataset", "a b"]).values),
    '--source-dataset "a b": not a dataset name',
  );
});
