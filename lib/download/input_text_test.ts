import { join } from "node:path";
import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { binaryKind, firstInvalidUtf8, readInputText, readTextIfText } from "./input_text.ts";

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );

Deno.test("binaryKind: gzip by its magic number, other binary files by a NUL byte; text is none", () => {
  assertEquals(binaryKind(bytes([0x1f, 0x8b, 8, 0])), "a gzip archive");
  assertEquals(binaryKind(bytes("abc", [0], "def")), "a binary file");
  assertEquals(binaryKind(bytes("https://x/a.tar.gz\n", [0xe9])), null);
  assertEquals(binaryKind(bytes("")), null);
});

Deno.test("firstInvalidUtf8: the line and byte of the first bad sequence; valid UTF-8 of every length passes", () => {
  assertEquals(firstInvalidUtf8(bytes("a,b\nü日本😀\r\n")), null);
  assertEquals(firstInvalidUtf8(bytes("a\nb\ncaf", [0xe9], "\n")), { line: 3, byte: 0xe9 });
  // a lead byte whose sequence is cut short by the line's end, an overlong "/", a surrogate
  assertEquals(firstInvalidUtf8(bytes("ok", [0xe6, 0x97], "\nx")), { line: 1, byte: 0xe6 });
  assertEquals(firstInvalidUtf8(bytes("x\n", [0xc0, 0xaf])), { line: 2, byte: 0xc0 });
  assertEquals(firstInvalidUtf8(bytes("x\ny\n", [0xed, 0xa0, 0x80])), { line: 3, byte: 0xed });
  assertEquals(firstInvalidUtf8(bytes("ü", [0x80])), { line: 1, byte: 0x80 });
});

Deno.test("readInputText: text (BOM kept) back; a binary file or bad bytes refused naming flag, file and line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "list.txt");
    await Deno.writeFile(file, bytes([0xef, 0xbb, 0xbf], "a.tar.gz\n"));
    assertEquals(
      await readInputText(file, "--archives", "a list of archive URLs"),
      "\uFEFFa.tar.gz\n",
    );
    assertEquals(await readTextIfText(file), "\uFEFFa.tar.gz\n");
    await Deno.writeFile(file, bytes([0x1f, 0x8b, 8, 0, 0, 0]));
    await assertRejects(
      () => readInputText(file, "--archives", "a list of archive URLs"),
      `--archives ${file}: a gzip archive, not a list of archive URLs; give the list of archive URLs itself`,
    );
    assertEquals(await readTextIfText(file), null);
    await Deno.writeFile(file, bytes("label\nyoga\ncaf", [0xe9], "\n"));
    const e = await assertRejects(() => readInputText(file, "--annotations", "an annotation file"));
    assertEquals(e.name, "ConfigError");
    assertEquals(
      e.message,
      `--annotations ${file}:3: not UTF-8 text (byte 0xE9); save the file as UTF-8`,
    );
    assertEquals(await readTextIfText(join(dir, "missing.txt")), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
