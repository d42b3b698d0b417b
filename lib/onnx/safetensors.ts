/**
 * Safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's
 * dtype, shape and byte range, then the raw little-endian tensors. The reader checks the header
 * against the file (ranges inside the data, sizes equal to shape × dtype, no overlap or gap) before
 * any tensor is used, and reads one tensor at a time, so a multi-GB checkpoint is never held whole.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { encodeSafetensors, SafetensorsFile } from "./safetensors.ts";
 * const dir = await Deno.makeTempDir();
 * const path = join(dir, "w.safetensors");
 * await Deno.writeFile(path, encodeSafetensors([
 *   { name: "a", dtype: "F32", shape: [2], data: Float32Array.of(1, 2) },
 * ]));
 * const f = await SafetensorsFile.open(path);
 * deepStrictEqual(await f.float32("a"), Float32Array.of(1, 2));
 * f.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { FormatError } from "../base/mod.ts";

/** The safetensors dtypes kinembed reads as floating point. */
export type SafetensorsFloatDtype = "F32" | "F16" | "BF16";

/** Bytes per element of every dtype the format names (used to check sizes). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor's entry in the header. */
export interface SafetensorsEntry {
  /** The tensor's name. */
  name: string;
  /** Its dtype as the format spells it (`F32`, `F16`, `BF16`, `I64`, ...). */
  dtype: string;
  /** Its shape. */
  shape: number[];
  /** Its byte range in the data section, `[begin, end)`. */
  begin: number;
  /** End of its byte range. */
  end: number;
}

/** Largest header the reader accepts (the format's own limit is 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

/** An open safetensors file: the checked header, and tensors read on demand. */
export class SafetensorsFile {
  #file: Deno.FsFile;
  #dataStart: number;

  private constructor(
    readonly path: string,
    file: Deno.FsFile,
    dataStart: number,
    /** Tensors by name, in header order. */
    readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    /** The header's `__metadata__` (string to string). */
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.#file = file;
    this.#dataStart = dataStart;
  }

  /**
   * Opens a file and checks its header against its size.
   * @param path the `.safetensors` file
   * @returns the open file
   * @throws FormatError naming the file when the header is unreadable or does not fit the file
   */
  static async open(path: string): Promise<SafetensorsFile> {
    const file = await Deno.open(path, { read: true });
    try {
      const size = (await file.stat()).size;
      const bad = (why: string) => new FormatError(`${path}: not a valid safetensors file: ${why}`);
      if (size < 8) throw bad(`${size} bytes, shorter than the 8-byte header length`);
      const lenBytes = await readAt(file, 0, 8);
      const headerLen = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
      if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
        throw bad(`header length ${headerLen} does not fit a ${size}-byte file (truncated?)`);
      }
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
          await readAt(file, 8, headerLen),
        ));
      } catch (e) {
        throw bad(`header is not JSON (${(e as Error).message})`);
      }
      if (header === null || typeof header !== "object" || Array.isArray(header)) {
        throw bad("header is not a JSON object");
      }
      const dataLen = size - 8 - headerLen;
      const entries = parseEntries(header, dataLen, bad);
      const meta = header["__metadata__"];
      const metadata: Record<string, string> = {};
      if (meta !== undefined) {
        if (meta === null || typeof meta !== "object") throw bad("__metadata__ is not an object");
        for (const [k, v] of Object.entries(meta)) metadata[k] = String(v);
      }
      return new SafetensorsFile(path, file, 8 + headerLen, entries, metadata);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /**
   * Reads a floating-point tensor widened to float32 (F32, F16 and BF16). Reads share the file's
   * position: await one before starting the next.
   * @param name the tensor's name
   * @returns its values, row-major
   * @throws FormatError when the tensor is absent or not floating point
   */
  async float32(name: string): Promise<Float32Array> {
    const e = this.entries.get(name);
    if (!e) throw new FormatError(`${this.path}: no tensor ${name}`);
    const raw = await readAt(this.#file, this.#dataStart + e.begin, e.end - e.begin);
    const n = e.shape.reduce((a, b) => a * b, 1);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(n);
    switch (e.dtype) {
      case "F32":
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
        return out;
      case "F16":
        for (let i = 0; i < n; i++) out[i] = view.getFloat16(2 * i, true);
        return out;
      case "BF16": {
        // bfloat16 is the top half of a float32
        const bits = new Uint32Array(n);
        for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
        return new Float32Array(bits.buffer);
      }
      default:
        throw new FormatError(
          `${this.path}: tensor ${name} is ${e.dtype}; only F32, F16 and BF16 weights are read`,
        );
    }
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }
}

/** Checks the header's tensor entries: known dtypes, sizes, ranges inside the data, no overlap. */
function parseEntries(
  header: Record<string, unknown>,
  dataLen: number,
  bad: (why: string) => FormatError,
): Map<string, SafetensorsEntry> {
  const entries = new Map<string, SafetensorsEntry>();
  for (const [name, v] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t === null || typeof t !== "object") throw bad(`entry ${name} is not an object`);
    if (typeof t.dtype !== "string" || DTYPE_BYTES[t.dtype] === undefined) {
      throw bad(`tensor ${name} has unknown dtype ${JSON.stringify(t.dtype)}`);
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`tensor ${name} has shape ${JSON.stringify(shape)}`);
    }
    const off = t.data_offsets;
    if (
      !Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o)) ||
      off[0] < 0 || off[1] < off[0] || off[1] > dataLen
    ) {
      throw bad(
        `tensor ${name} has data_offsets ${JSON.stringify(off)} outside the ${dataLen}-byte data`,
      );
    }
    const want = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (off[1] - off[0] !== want) {
      throw bad(
        `tensor ${name} (${t.dtype} ${JSON.stringify(shape)}) needs ${want} bytes, ` +
          `its range holds ${off[1] - off[0]}`,
      );
    }
    entries.set(name, { name, dtype: t.dtype, shape, begin: off[0], end: off[1] });
  }
  // the ranges must tile the data section exactly: anything else is a damaged file
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      throw bad(`tensor ${e.name} starts at byte ${e.begin}, expected ${at} (overlap or gap)`);
    }
    at = e.end;
  }
  if (at !== dataLen) throw bad(`tensors end at byte ${at} of a ${dataLen}-byte data section`);
  return entries;
}

async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = await file.read(out.subarray(got));
    if (n === null) throw new FormatError(`unexpected end of file at byte ${offset + got}`);
    got += n;
  }
  return out;
}

/** A tensor to write with {@linkcode encodeSafetensors}. */
export interface SafetensorsTensor {
  /** The tensor's name. */
  name: string;
  /** Stored dtype; float32 values are rounded to it. */
  dtype: SafetensorsFloatDtype;
  /** Its shape. */
  shape: number[];
  /** Its values, row-major. */
  data: Float32Array;
}

/**
 * Encodes tensors as a safetensors file (tensors in the given order, header padded with spaces
 * to a multiple of 8 bytes as the reference writer does).
 * @param tensors the tensors
 * @param metadata the header's `__metadata__`
 * @returns the file's bytes
 */
export function encodeSafetensors(
  tensors: readonly SafetensorsTensor[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header["__metadata__"] = metadata;
  let at = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RangeError(
        `tensor ${t.name}: shape ${t.shape} holds ${n} values, not ${t.data.length}`,
      );
    }
    const bytes = n * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes] };
    at += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + new TextEncoder().encode(json).length) % 8 !== 0) json += " ";
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + at);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const t of tensors) {
    for (let i = 0; i < t.data.length; i++) {
      if (t.dtype === "F32") view.setFloat32(p + 4 * i, t.data[i], true);
      else if (t.dtype === "F16") view.setFloat16(p + 2 * i, t.data[i], true);
      else view.setUint16(p + 2 * i, bfloat16Bits(t.data[i]), true);
    }
    p += t.data.length * DTYPE_BYTES[t.dtype];
  }
  return out;
}

/** float32 → bfloat16 bits, round to nearest even (NaN stays NaN). */
function bfloat16Bits(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0];
  if (Number.isNaN(v)) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
