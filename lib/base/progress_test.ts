import { assertEquals } from "../../tests/support/assert.ts";
import { Progress, ProgressBoard } from "./progress.ts";

/** Replays what was written to a terminal: `\r`, `\n`, erase line, cursor up, erase below. */
function screen(out: string): string[] {
  const rows: string[] = [""];
  let y = 0;
  let x = 0;
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (c === "\x1b") {
      // deno-lint-ignore no-control-regex
      const m = /^\x1b\[(\d*)([A-Z])/.exec(out.slice(i))!;
      if (m[2] === "A") y = Math.max(0, y - Number(m[1] || 1));
      else if (m[2] === "K") rows[y] = rows[y].slice(0, x);
      else if (m[2] === "J") rows.splice(y + 1), rows[y] = rows[y].slice(0, x);
      i += m[0].length - 1;
    } else if (c === "\r") x = 0;
    else if (c === "\n") {
      y++;
      x = 0;
      if (rows.length <= y) rows.push("");
    } else {
      rows[y] = rows[y].slice(0, x) + c + rows[y].slice(x + 1);
      x++;
    }
  }
  return rows;
}

Deno.test("progress: two bars running at once on a terminal draw on separate lines", () => {
  let out = "";
  const dec = new TextDecoder();
  const board = new ProgressBoard((b) => out += dec.decode(b), true);
  const decode = new Progress("decode", 4, { board, intervalMs: 0 });
  const encode = new Progress("encode", 4, { board, intervalMs: 0 });
  decode.tick(1);
  encode.tick(1);
  decode.tick(1);
  let rows = screen(out);
  assertEquals(rows.length, 2, rows.join("|"));
  assertEquals(rows[0].startsWith("decode: [############............] 2/4"), true, rows[0]);
  assertEquals(rows[1].startsWith("encode: [######..................] 1/4"), true, rows[1]);
  decode.tick(2);
  decode.finish();
  encode.tick(3);
  rows = screen(out);
  assertEquals(rows.length, 2, rows.join("|"));
  assertEquals(/^decode: \[#{24}\] 4\/4 .* in /.test(rows[0]), true, rows[0]);
  assertEquals(rows[1].startsWith("encode: [########################] 4/4"), true, rows[1]);
  encode.finish();
  rows = screen(out);
  assertEquals(rows.length, 3, rows.join("|"));
  assertEquals(/^encode: .* in /.test(rows[1]), true, rows[1]);
  assertEquals(rows[2], "");
});

Deno.test("progress: off a terminal every line is appended", () => {
  const lines: string[] = [];
  const dec = new TextDecoder();
  const board = new ProgressBoard((b) => lines.push(dec.decode(b)), false);
  const p = new Progress("sample", 2, { board, intervalMs: 0 });
  p.tick(1);
  p.finish();
  assertEquals(lines.length, 2);
  assertEquals(lines.every((l) => l.endsWith("\n") && !l.includes("\x1b")), true);
});
