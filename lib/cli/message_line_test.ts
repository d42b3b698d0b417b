import { assert, assertEquals } from "../../tests/support/assert.ts";
import { MAX_LINE, printableLine } from "./message_line.ts";

Deno.test("printableLine: a printable line is returned as it is", () => {
  const line = "kinembed shard: work dir /data/wörk holds outputs of another configuration";
  assertEquals(printableLine(line), line);
});

Deno.test("printableLine: control bytes, DEL, C1 and bidi overrides become escapes", () => {
  assertEquals(
    printableLine("a\u0000b\u001b[31mc\td\r\ne\u007ff\u0085g\u202eh"),
    "a\\x00b\\x1b[31mc\\td\\r\\ne\\x7ff\\x85g\\u202eh",
  );
});

Deno.test("printableLine: a long line keeps its start and its end, joined by …", () => {
  const text = "start " + "x".repeat(1000) + " what to do";
  const line = printableLine(text);
  assertEquals([...line].length, MAX_LINE);
  assert(line.startsWith("start xxx"));
  assert(line.endsWith("xxx what to do"));
  assert(line.includes("…"));
});

Deno.test("printableLine: the bound counts characters after escaping, and never splits a surrogate pair", () => {
  const line = printableLine("\u0000".repeat(200) + "😀".repeat(200), 50);
  assertEquals([...line].length, 50);
  assert(line.endsWith("😀"));
  assert(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(line));
});
