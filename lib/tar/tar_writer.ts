/**
 * A deterministic tar writer: POSIX ustar headers with fixed metadata (mtime 0, uid/gid 0, empty
 * user and group names, mode 0444), so the same members give byte-identical archives on any
 * machine. Names longer than ustar's 100 bytes get a PAX `x` header carrying `path`. The archive
 * ends with two zero blocks and is padded to a 10240-byte record, as GNU tar and Python write it.
 * @module
 */
import { FormatError } from "../base/mod.ts";

/** Tar block size. */
export const TAR_BLOCK = 512;
/** Tar record size: archives are padded to a multiple of it. */
export const TAR_RECORD = 20 * TAR_BLOCK;

const encoder = new TextEncoder();
const ZEROS = new Uint8Array(TAR_BLOCK);
// the largest size an 11-digit octal field holds (8 GiB - 1)
const MAX_OCTAL_SIZE = 0o77777777777;

function putString(block: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new FormatError(`tar: ${value} does not fit ${length} bytes`);
  block.set(bytes, offset);
}

function putOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  // length-1 zero-padded octal digits then NUL, as Python's tarfile writes
  putString(block, offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
}

// every field that never changes, filled once; a header is this plus name, size, type, checksum
const TEMPLATE = (() => {
  const b = new Uint8Array(TAR_BLOCK);
  putOctal(b, 100, 8, 0o444);
  putOctal(b, 108, 8, 0);
  putOctal(b, 116, 8, 0);
  putOctal(b, 136, 12, 0);
  b.fill(0x20, 148, 156); // checksum counted as spaces
  putString(b, 257, 6, "ustar\0");
  putString(b, 263, 2, "00");
  putOctal(b, 329, 8, 0);
  putOctal(b, 337, 8, 0);
  return b;
})();
const TEMPLATE_SUM = TEMPLATE.reduce((a, x) => a + x, 0);

function putAscii(b: Uint8Array, offset: number, text: string): number {
  let sum = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    b[offset + i] = c;
    sum += c;
  }
  return sum;
}

function ustarBlock(name: string, size: number, type: string): Uint8Array {
  // name is ASCII and at most 100 characters here (tarFileHeader checks)
  const b = TEMPLATE.slice();
  let sum = TEMPLATE_SUM + putAscii(b, 0, name);
  sum += putAscii(b, 124, size.toString(8).padStart(11, "0")); // then the NUL already there
  sum += putAscii(b, 156, type);
  putAscii(b, 148, sum.toString(8).padStart(6, "0") + "\0 ");
  return b;
}

function paxRecord(key: string, value: string): string {
  // the length field counts itself, so grow it until it is stable
  const body = ` ${key}=${value}\n`;
  const bodyLen = encoder.encode(body).length;
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

/**
 * The header block(s) of a regular file member: one ustar block, preceded by a PAX `x` header and
 * its data when the name does not fit ustar's 100 bytes or is not ASCII.
 * @param name the member's path inside the archive
 * @param size its size in bytes
 * @returns the header bytes (a multiple of 512)
 */
export function tarFileHeader(name: string, size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_OCTAL_SIZE) {
    throw new FormatError(`tar: member ${name} size ${size} is out of range`);
  }
  // deno-lint-ignore no-control-regex
  if (name.length <= 100 && /^[\x01-\x7f]*$/.test(name)) return ustarBlock(name, size, "0");
  const pax = encoder.encode(paxRecord("path", name));
  const shortName = `PaxHeader/${name.slice(-80).replace(/[^\x20-\x7e]/g, "_")}`.slice(0, 100);
  const out = new Uint8Array(
    TAR_BLOCK + Math.ceil(pax.length / TAR_BLOCK) * TAR_BLOCK + TAR_BLOCK,
  );
  out.set(ustarBlock(shortName, pax.length, "x"), 0);
  out.set(pax, TAR_BLOCK);
  out.set(ustarBlock(shortName, size, "0"), out.length - TAR_BLOCK);
  return out;
}

/**
 * How many zero bytes follow a member's data to fill its last block.
 * @param size the member's size
 * @returns 0..511
 */
export function tarPaddingLength(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}

/**
 * The end of an archive: two zero blocks, then zeros up to the next full record.
 * @param written bytes written before it (a multiple of 512)
 * @returns the trailer bytes
 */
export function tarTrailer(written: number): Uint8Array {
  const end = written + 2 * TAR_BLOCK;
  return new Uint8Array(Math.ceil(end / TAR_RECORD) * TAR_RECORD - written);
}

/** Where tar bytes go. */
export interface TarSink {
  /** Takes the next bytes; they may be reused by the caller after the promise settles. */
  write(bytes: Uint8Array): Promise<void>;
}

/**
 * Writes a tar archive member by member to a sink.
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { TAR_RECORD, TarWriter } from "./tar_writer.ts";
 * const chunks: Uint8Array[] = [];
 * const tar = new TarWriter({ write: (b) => (chunks.push(b.slice()), Promise.resolve()) });
 * await tar.addFile("hello.txt", new TextEncoder().encode("hi"));
 * await tar.finish();
 * strictEqual(chunks.reduce((n, c) => n + c.length, 0) % TAR_RECORD, 0);
 * ```
 */
export class TarWriter {
  #sink: TarSink;
  #written = 0;
  #finished = false;

  /**
   * A writer appending to a sink.
   * @param sink where the bytes go
   */
  constructor(sink: TarSink) {
    this.#sink = sink;
  }

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  async #put(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    await this.#sink.write(bytes);
    this.#written += bytes.length;
  }

  /**
   * Appends a regular file.
   * @param name its path in the archive
   * @param data its content
   */
  async addFile(name: string, data: Uint8Array): Promise<void> {
    if (this.#finished) throw new Error("tar: addFile after finish");
    await this.#put(tarFileHeader(name, data.length));
    await this.#put(data);
    await this.#put(ZEROS.subarray(0, tarPaddingLength(data.length)));
  }

  /** Writes the end-of-archive blocks and record padding. */
  async finish(): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    await this.#put(tarTrailer(this.#written));
  }
}
