import { parseQueryLines, tokenizeQueries } from "./query_text.ts";
import { ClipTokenizer, CONTEXT_LENGTH } from "../text/mod.ts";
import { UsageError } from "../core/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

const tokenizer = await ClipTokenizer.load();

Deno.test("query_text: one query a line, spaces trimmed, blank lines dropped, CRLF read", () => {
  assertEquals(parseQueryLines("  a dog\r\n\r\n   \nplaying guitar \n"), [
    "a dog",
    "playing guitar",
  ]);
  assertEquals(parseQueryLines(""), []);
});

Deno.test("query_text: short queries tokenize as the tokenizer does, with no warning", () => {
  const warnings: string[] = [];
  const ids = tokenizeQueries(tokenizer, ["a dog", "juggling"], (l) => warnings.push(l));
  assertEquals(ids, tokenizer.tokenize(["a dog", "juggling"]));
  assertEquals(ids.length, 2 * CONTEXT_LENGTH);
  assertEquals(warnings, []);
});

Deno.test("query_text: a long query is cut like clip.tokenize(truncate=True), with a one-line warning", () => {
  const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(" ");
  const warnings: string[] = [];
  const ids = tokenizeQueries(tokenizer, ["short", long], (l) => warnings.push(l));
  assertEquals(warnings.length, 1);
  assert(warnings[0].startsWith('warning: query 2 ("word0 word1'), warnings[0]);
  assert(warnings[0].includes(`more than CLIP's ${CONTEXT_LENGTH}`), warnings[0]);
  assert(warnings[0].length < 300 && !warnings[0].includes("\n"), warnings[0]);
  const row = ids.slice(CONTEXT_LENGTH);
  const full = [49406, ...tokenizer.encode(long), 49407];
  assertEquals(
    [...row.slice(0, CONTEXT_LENGTH - 1)].map(Number),
    full.slice(0, CONTEXT_LENGTH - 1),
  );
  assertEquals(Number(row[CONTEXT_LENGTH - 1]), 49407);
});

Deno.test("query_text: an empty query is a UsageError naming its number", async () => {
  const e = await assertRejects(
    () => tokenizeQueries(tokenizer, ["ok", "  "], () => {}),
    "query 2 is empty",
  );
  assert(e instanceof UsageError);
});
