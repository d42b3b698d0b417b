/**
 * Reads a download input (annotation file, video list, archive list) as UTF-8 text, refusing a
 * binary file or invalid UTF-8 with one short line that names the flag, the file and, for bad
 * bytes, the line: a lossy read would store U+FFFD in labels, and a binary file would be printed
 * back line by line as "bad entries".
 * @module
 */
import { ConfigError } from "../base/mod.ts";

/** The gzip magic number: a `.tar.gz` given where a list is expected. */
const GZIP_MAGIC = [0x1f, 0x8b];

/** How much of a file's start is looked at for NUL bytes. */
const SNIFF_BYTES = 8192;

/**
 * What kind of binary file this is, or null when it may be text: gzip archives by their magic
 * number, other binary files by a NUL byte in their first 8 KiB.
 * @param bytes the file's bytes (its start is enough)
 * @returns e.g. `a gzip archive`, or null
 */
export function binaryKind(bytes: Uint8Array): string | null {
  if (bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) {
    return "a gzip archive";
  }
  const head = bytes.subarray(0, SNIFF_BYTES);
  return head.includes(0) ? "a binary file" : null;
}

/**
 * Where the first invalid UTF-8 byte of a file is: its 1-based line and the byte's value. Lines
 * are looked at one by one (a newline byte never occurs inside a UTF-8 sequence).
 * @param bytes the file's bytes
 * @returns the line and byte, or null when all of it is valid UTF-8
 */
export function firstInvalidUtf8(bytes: Uint8Array): { line: number; byte: number } | null {
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  // one pass over the whole file first: a 545k-row CSV is valid, and line by line costs more
  try {
    strict.decode(bytes);
    return null;
  } catch { /* find the line below */ }
  let line = 1;
  for (let start = 0; start <= bytes.length;) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const part = bytes.subarray(start, end);
    try {
      strict.decode(part);
    } catch {
      return { line, byte: part[invalidOffset(part)] };
    }
    line++;
    start = end + 1;
  }
  return null;
}

/** The offset of the first byte that starts no valid UTF-8 sequence (RFC 3629), in a line known to hold one. */
function invalidOffset(part: Uint8Array): number {
  for (let i = 0; i < part.length;) {
    const b = part[i];
    const [n, min, max] = b < 0x80
      ? [0, 0, 0]
      : b >= 0xc2 && b <= 0xdf
      ? [1, 0x80, 0xbf]
      : b === 0xe0
      ? [2, 0xa0, 0xbf]
      : b === 0xed
      ? [2, 0x80, 0x9f]
      : b >= 0xe1 && b <= 0xef
      ? [2, 0x80, 0xbf]
      : b === 0xf0
      ? [3, 0x90, 0xbf]
      : b >= 0xf1 && b <= 0xf3
      ? [3, 0x80, 0xbf]
      : b === 0xf4
      ? [3, 0x80, 0x8f]
      : [-1, 0, 0];
    if (n < 0) return i;
    // the second byte has the narrowed range, the others are plain continuation bytes
    for (let k = 1; k <= n; k++) {
      const c = part[i + k];
      const [lo, hi] = k === 1 ? [min, max] : [0x80, 0xbf];
      if (c === undefined || c < lo || c > hi) return i;
    }
    i += n + 1;
  }
  return part.length - 1;
}

/**
 * Reads an input file as UTF-8 text (a leading BOM is kept, the readers skip it).
 * @param path the file
 * @param flag the flag that named it, e.g. `--annotations`
 * @param what what the file should be, e.g. `a list of archive URLs`
 * @returns the text
 * @throws ConfigError `<flag> <path>: a gzip archive, not <what>; ...` for a binary file, or
 *   `<flag> <path>:<line>: not UTF-8 text (byte 0xE9); ...` for invalid UTF-8
 */
export async function readInputText(path: string, flag: string, what: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  const binary = binaryKind(bytes);
  if (binary !== null) {
    throw new ConfigError(
      `${flag} ${path}: ${binary}, not ${what}; give the ${what.replace(/^an? /, "")} itself`,
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const bad = firstInvalidUtf8(bytes) ?? { line: 1, byte: bytes[0] };
    const hex = bad.byte.toString(16).toUpperCase().padStart(2, "0");
    throw new ConfigError(
      `${flag} ${path}:${bad.line}: not UTF-8 text (byte 0x${hex}); save the file as UTF-8`,
    );
  }
}

/**
 * A list file's text (BOM kept) for a quick look (the launcher reading which paths a list names), or null
 * when it cannot be read or is no UTF-8 text; the task itself then refuses it with its reason.
 * @param path the file
 * @returns the text, or null
 */
export async function readTextIfText(path: string): Promise<string | null> {
  const bytes = await Deno.readFile(path).catch(() => null);
  if (bytes === null || binaryKind(bytes) !== null) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}
