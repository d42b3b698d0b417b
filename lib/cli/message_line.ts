/**
 * One printable line for a terminal: what a task prints at the top (its fatal error, a failure's
 * reason) may carry bytes from a file or a tool (a damaged video's header, a binary file read as
 * text) and can be as long as a whole stderr. Those reach a terminal or a log as escapes, not as
 * control sequences, and long lines keep their start and end (the end usually says what to do).
 * @module
 */

/** The longest line (in characters) {@linkcode printableLine} returns by default. */
export const MAX_LINE = 300;

// C0 controls (tab, newline included), DEL, C1 controls, the Unicode line and paragraph separators
// and the bidirectional overrides (which reorder what follows them on screen): matching them is
// the point
// deno-lint-ignore no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Makes a message one printable line: control and other unprintable characters become escapes
 * (`\n`, `\t`, `\x1b`, `\u202e`), and a line longer than `max` characters keeps its first and last
 * parts joined by `…`.
 * @param text the message
 * @param max the longest line returned, in characters
 * @returns the line
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { printableLine } from "./message_line.ts";
 * strictEqual(printableLine("bad\u0000byte\nnext"), "bad\\x00byte\\nnext");
 * strictEqual(printableLine("a".repeat(400)).length, 300);
 * ```
 */
export function printableLine(text: string, max = MAX_LINE): string {
  const escaped = text.replace(UNPRINTABLE, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  const chars = [...escaped];
  if (chars.length <= max) return escaped;
  // two thirds from the start (what failed), the rest from the end (what to do)
  const head = Math.ceil((max - 1) * 2 / 3);
  const tail = max - 1 - head;
  return chars.slice(0, head).join("") + "…" + chars.slice(chars.length - tail).join("");
}
