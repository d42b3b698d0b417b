/**
 * A streaming tar reader: reads a file in fixed-size chunks and yields its regular-file members
 * one at a time, so memory stays bounded by the largest member, not the archive. Understands
 * POSIX ustar, PAX extended headers (per-member `x` and global `g`, applied as Python's tarfile
 * does), GNU long names (`L`) and GNU base-256 sizes. A file that ends inside a header or a
 * member, or without the end-of-archive block, is a `FormatError` (truncated).
 * @module
 */
import { FormatError } from "../base/mod.ts";

/** One regular file inside a tar. */
export interface TarMember {
  /** Its path inside the archive (after PAX / GNU long-name overrides). */
  name: string;
  /** Size in bytes. */
  size: number;
  /** Byte offset of its (first) header in the archive. */
  offset: number;
  /** Its content (a fresh array the caller may keep). */
  data: Uint8Array;
}

/** Options of `readTarMembers`. */
export interface TarReadOptions {
  /** Bytes read from the file at a time (default 1 MiB). */
  chunkSize?: number;
  /** Sees every byte of the file once, in order (e.g. to hash the file while parsing it). */
  onBytes?: (chunk: Uint8Array) => void;
  /** Read (and show `onBytes`) the rest of the file after the end-of-archive block. */
  readToEnd?: boolean;
}

const decoder = new TextDecoder();

/** A tar file ended early: inside a header, inside a member, or before its end-of-archive block. */
export class TruncatedTarError extends FormatError {
  /** The error class name, shown in messages. */
  override name = "TruncatedTarError";
  /**
   * Builds the error.
   * @param message what ended where
   * @param member the member the file ends inside (null when it ends between members)
   */
  constructor(message: string, readonly member: string | null) {
    super(message);
  }
}

/** Reads a file chunk by chunk, handing out exact byte ranges. */
class ChunkedInput {
  #file: Deno.FsFile;
  #buf: Uint8Array;
  #pos = 0;
  #end = 0;
  #eof = false;
  #onBytes?: (chunk: Uint8Array) => void;
  /** Bytes consumed so far (the archive offset of the next byte handed out). */
  offset = 0;

  constructor(file: Deno.FsFile, chunkSize: number, onBytes?: (chunk: Uint8Array) => void) {
    this.#file = file;
    this.#buf = new Uint8Array(chunkSize);
    this.#onBytes = onBytes;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#pos < this.#end) this.#buf.copyWithin(0, this.#pos, this.#end);
    this.#end -= this.#pos;
    this.#pos = 0;
    const n = await this.#file.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#onBytes?.(this.#buf.subarray(this.#end, this.#end + n));
    this.#end += n;
    return true;
  }

  /**
   * The next `n` bytes as a fresh array, or null when the input ends first (after `got` bytes).
   */
  async take(n: number): Promise<{ bytes: Uint8Array | null; got: number }> {
    if (n <= this.#buf.length) {
      while (this.#end - this.#pos < n) {
        if (!(await this.#fill())) return { bytes: null, got: this.#end - this.#pos };
      }
      const out = this.#buf.slice(this.#pos, this.#pos + n);
      this.#pos += n;
      this.offset += n;
      return { bytes: out, got: n };
    }
    // larger than a chunk: gather into its own array
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (this.#pos === this.#end && !(await this.#fill())) return { bytes: null, got };
      const k = Math.min(n - got, this.#end - this.#pos);
      out.set(this.#buf.subarray(this.#pos, this.#pos + k), got);
      this.#pos += k;
      got += k;
      this.offset += k;
    }
    return { bytes: out, got };
  }

  /** Skips `n` bytes; returns how many could be skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.#pos === this.#end && !(await this.#fill())) break;
      const k = Math.min(left, this.#end - this.#pos);
      this.#pos += k;
      left -= k;
      this.offset += k;
    }
    return n - left;
  }

  /** Reads everything left (so `onBytes` sees the whole file). */
  async drain(): Promise<void> {
    this.#pos = this.#end;
    while (await this.#fill()) this.#pos = this.#end;
  }
}

function cString(b: Uint8Array, offset: number, length: number): string {
  const field = b.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return decoder.decode(nul < 0 ? field : field.subarray(0, nul));
}

function numeric(b: Uint8Array, offset: number, length: number): number {
  if (b[offset] & 0x80) {
    // GNU base-256: big-endian two's complement in the remaining bits
    let v = b[offset] & 0x7f;
    for (let i = 1; i < length; i++) v = v * 256 + b[offset + i];
    return v;
  }
  const s = cString(b, offset, length).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) return NaN;
  return parseInt(s, 8);
}

function checksumOk(b: Uint8Array): boolean {
  const stored = numeric(b, 148, 8);
  let unsigned = 0, signed = 0;
  for (let i = 0; i < 512; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return stored === unsigned || stored === signed;
}

/**
 * Parses PAX extended header records (`<len> <key>=<value>\n`).
 * @param data the `x` or `g` member's content
 * @returns the key/value pairs
 */
export function parsePaxRecords(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // zero padding some writers leave
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) throw new FormatError("tar: bad PAX record (no length)");
    const len = Number(decoder.decode(data.subarray(pos, sp)));
    if (!Number.isInteger(len) || len <= sp - pos || pos + len > data.length) {
      throw new FormatError("tar: bad PAX record length");
    }
    const rec = data.subarray(sp + 1, pos + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new FormatError("tar: bad PAX record (no '=')");
    out[decoder.decode(rec.subarray(0, eq))] = decoder.decode(rec.subarray(eq + 1));
    pos += len;
  }
  return out;
}

/**
 * Yields the regular-file members of a tar file, streaming.
 * @param path the tar file
 * @param opts chunk size, a byte observer (for hashing), whether to read past the end block
 * @returns an async iterator of members in archive order
 */
export async function* readTarMembers(
  path: string,
  opts: TarReadOptions = {},
): AsyncGenerator<TarMember> {
  const file = await Deno.open(path, { read: true });
  try {
    const input = new ChunkedInput(file, opts.chunkSize ?? (1 << 20), opts.onBytes);
    const global: Record<string, string> = {};
    let local: Record<string, string> = {};
    let longName: string | null = null;
    // where the current member's first `x` / `L` / `K` header began (its offset, as Python's)
    let firstHeader: number | null = null;
    let lastName = "";
    const truncated = (what: string, member: string | null = null) =>
      new TruncatedTarError(
        `${path}: truncated tar: ends inside ${what} at byte ${input.offset}` +
          (lastName ? ` (after member ${lastName})` : ""),
        member,
      );
    while (true) {
      const headerOffset = input.offset;
      const { bytes: h, got } = await input.take(512);
      if (!h) {
        throw got === 0
          ? new TruncatedTarError(
            `${path}: truncated tar: no end-of-archive block at byte ${headerOffset}` +
              (lastName ? ` (after member ${lastName})` : ""),
            null,
          )
          : truncated("a header");
      }
      if (h.every((x) => x === 0)) break;
      if (!checksumOk(h)) {
        throw new FormatError(
          `${path}: bad tar header checksum at byte ${headerOffset}` +
            (lastName ? ` (after member ${lastName})` : ""),
        );
      }
      const type = h[156] === 0 ? "0" : String.fromCharCode(h[156]);
      let size = numeric(h, 124, 12);
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new FormatError(`${path}: bad tar size field at byte ${headerOffset}`);
      }
      const pad = (512 - (size % 512)) % 512;
      if (type === "x" || type === "g" || type === "L" || type === "K") {
        const { bytes: data } = await input.take(size);
        if (!data) throw truncated("an extended header");
        if ((await input.skip(pad)) < pad) throw truncated("an extended header");
        if (type !== "g") firstHeader ??= headerOffset;
        const records = () => {
          try {
            return parsePaxRecords(data);
          } catch (e) {
            const why = (e as Error).message.replace(/^tar: /, "");
            throw new FormatError(`${path}: ${why} at byte ${headerOffset}`);
          }
        };
        if (type === "x") local = { ...local, ...records() };
        else if (type === "g") Object.assign(global, records());
        else if (type === "L") longName = cString(data, 0, data.length);
        continue;
      }
      const pax = { ...global, ...local };
      let name = cString(h, 0, 100);
      const magic = cString(h, 257, 6);
      if (magic === "ustar") {
        const prefix = cString(h, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== null) name = longName;
      if (pax.path !== undefined) name = pax.path;
      if (pax.size !== undefined) {
        size = Number(pax.size);
        if (!Number.isSafeInteger(size) || size < 0) {
          throw new FormatError(`${path}: bad PAX size for ${name}`);
        }
      }
      local = {};
      longName = null;
      const offset = firstHeader ?? headerOffset;
      firstHeader = null;
      const fullPad = (512 - (size % 512)) % 512;
      if (type === "0" || type === "7") {
        const { bytes: data } = await input.take(size);
        if (!data) throw truncated(`member ${name}`, name);
        if ((await input.skip(fullPad)) < fullPad) throw truncated(`member ${name}`, name);
        lastName = name;
        yield { name, size, offset, data };
      } else {
        // directories, links, devices: no data of their own (hard links, symlinks) or skipped
        const dataLen = type === "1" || type === "2" || type === "5" ? 0 : size;
        const skip = dataLen + (dataLen === 0 ? 0 : fullPad);
        if ((await input.skip(skip)) < skip) throw truncated(`member ${name}`);
      }
    }
    if (opts.readToEnd) await input.drain();
  } finally {
    file.close();
  }
}
