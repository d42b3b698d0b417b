import { deepStrictEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { cleanText, fixText } from "./clip_text_clean.ts";
import {
  ClipTokenizer,
  CONTEXT_LENGTH,
  END_OF_TEXT,
  TextTooLongError,
  type TruncatedText,
} from "./clip_tokenizer.ts";

/** One string of the reference file: open_clip's clean text, id count and (truncated) ids. */
interface ReferenceString {
  text: string;
  clean: string;
  tokenCount: number;
  ids: number[];
}

const REFERENCE = fileURLToPath(
  new URL("./testdata/open_clip_tokenizer_reference.json", import.meta.url),
);
const reference: { ftfy: string; strings: ReferenceString[] } = JSON.parse(
  await Deno.readTextFile(REFERENCE),
);
const tokenizer = await ClipTokenizer.load();

/** Ids of row `row` up to and including its end token. */
function usedIds(ids: BigInt64Array, row: number): number[] {
  const ids77 = Array.from(ids.subarray(row * CONTEXT_LENGTH, (row + 1) * CONTEXT_LENGTH), Number);
  return ids77.slice(0, ids77.indexOf(END_OF_TEXT) + 1);
}

Deno.test("every reference string cleans and tokenizes as open_clip with ftfy does", () => {
  const { strings } = reference;
  assert(strings.length >= 36, `only ${strings.length} reference strings`);
  const ids = tokenizer.tokenize(strings.map((s) => s.text), { truncate: true });
  const wrong = strings.filter((s, row) => {
    const same = cleanText(s.text) === s.clean &&
      JSON.stringify(usedIds(ids, row)) === JSON.stringify(s.ids) &&
      tokenizer.encode(s.text).length + 2 === s.tokenCount;
    if (!same) {
      console.error(
        `${JSON.stringify(s.text)}: ${JSON.stringify(cleanText(s.text))} ` +
          `${usedIds(ids, row)} vs open_clip ${JSON.stringify(s.clean)} ${s.ids}`,
      );
    }
    return !same;
  });
  assertEquals(wrong.map((s) => s.text), []);
});

Deno.test("the strings open_clip read differently: quotes, widths, ligatures, entities, controls, mojibake", () => {
  const cases: [string, string][] = [
    ["it\u2019s", "it's"],
    ["\u201cquoted\u201d", '"quoted"'],
    ["\uff21\uff22\uff23\uff11\uff12\uff13", "abc123"],
    ["\ufb01sh \ufb02y", "fish fly"],
    ["&amp;amp;amp;", "&"],
    ["a\x1cb\x1dc\x1ed\x1fe", "abcde"],
    ["don\u00e2\u20ac\u2122t", "don't"],
    ["caf\u00c3\u00a9", "café"],
    ["\x93c1\x94", '"c1"'],
    ["price \u00e2\u201a\u00ac10", "price €10"],
    ["\u6771\u4eac don\u00e2\u20ac\u2122t", "東京 don't"], // mojibake beside text it cannot be
  ];
  for (const [text, clean] of cases) {
    assertEquals(cleanText(text), clean, text);
    const fromReference = reference.strings.find((s) => cleanText(s.text) === clean);
    if (fromReference) assertEquals(tokenizer.encode(text), fromReference.ids.slice(1, -1));
  }
  // The same ids as the plain spelling.
  assertEquals(tokenizer.encode("it\u2019s \uff21\uff22\uff23"), tokenizer.encode("it's ABC"));
});

Deno.test("fixText leaves sound text alone and works line by line", () => {
  for (const text of ["a video of yoga.", "café naïve Straße", "東京タワー", "KÖ’s".normalize()]) {
    assertEquals(fixText(text), text.replace("\u2019", "'"));
  }
  // A `<` turns ftfy's entity unescaping off from its line on; CLIP's own unescaping still runs.
  assertEquals(
    fixText("x &amp;amp;\n<p> &amp;amp;\ny &amp;amp;"),
    "x &\n<p> &amp;amp;\ny &amp;amp;",
  );
  assertEquals(cleanText("x &amp;amp;\n<p> &amp;amp;\ny &amp;amp;"), "x & <p> & y &");
  // All-caps entity names, as ftfy reads them; numeric references that do not decode stay.
  assertEquals(fixText("P&EACUTE;REZ &#xD800;x"), "PÉREZ \uFFFDx");
  assertEquals(fixText("\x1b[1;31mred\x1b[0m"), "red");
  assertEquals(fixText("lone \ud800 surrogate"), "lone \uFFFD surrogate");
  assertEquals(fixText("\u00c3  la"), "à la"); // an A0 byte that became a space
});

Deno.test("truncate cuts as open_clip does and tells the caller which texts it cut", () => {
  const long = reference.strings.filter((s) => s.tokenCount > CONTEXT_LENGTH);
  assert(long.length >= 2);
  const texts = ["a short one", ...long.map((s) => s.text)];
  // By default a text that does not fit is refused, as the eval prompts always fit.
  throws(() => tokenizer.tokenize(texts), TextTooLongError);
  const cut: TruncatedText[] = [];
  const ids = tokenizer.tokenize(texts, { truncate: true, onTruncate: (t) => cut.push(t) });
  assertEquals(cut.map((t) => t.index), long.map((_, i) => i + 1));
  long.forEach((s, i) => {
    assertEquals(usedIds(ids, i + 1), s.ids);
    assertEquals(s.ids.length, CONTEXT_LENGTH);
    assertEquals(cut[i], {
      index: i + 1,
      text: s.text,
      tokenCount: s.tokenCount,
      contextLength: CONTEXT_LENGTH,
    });
  });
  // Without onTruncate, truncation is silent; a text that fits is never reported.
  const none: TruncatedText[] = [];
  tokenizer.tokenize(["a short one"], { truncate: true, onTruncate: (t) => none.push(t) });
  assertEquals(none, []);
});
