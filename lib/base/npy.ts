/**
 * NumPy `.npy` files: read versions 1–3, write version 1 (version 2 when the header is too long),
 * little-endian `u1`, `f2`, `f4`, `f8`, C order. Float16 data is held as raw bits (`Uint16Array`);
 * `float16ToFloat32` / `float32ToFloat16` convert with round-to-nearest-even, as NumPy does.
 * @module
 */
import { FormatError } from "./errors.ts";

/** The dtypes this module reads and writes. */
export type NpyDtype = "<u1" | "<f2" | "<f4" | "<f8";

/** Typed storage per dtype (`<f2` as raw float16 bits). */
export type NpyData = Uint8Array | Uint16Array | Float32Array | Float64Array;

/** An n-dimensional array as stored in a `.npy` file. */
export interface NpyArray {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions, outermost first. */
  shape: number[];
  /** Elements in C order. */
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ITEM_SIZE: Record<NpyDtype, number> = { "<u1": 1, "<f2": 2, "<f4": 4, "<f8": 8 };
const DTYPE_ALIASES: Record<string, NpyDtype> = {
  "<u1": "<u1",
  "|u1": "<u1",
  "u1": "<u1",
  "<f2": "<f2",
  "<f4": "<f4",
  "<f8": "<f8",
};

/**
 * Encodes an array as a `.npy` file.
 * @param arr the array; `data.length` must equal the product of `shape`
 * @returns the file's bytes
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { readNpy, writeNpy } from "./npy.ts";
 * const bytes = writeNpy({ dtype: "<f4", shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) });
 * const back = readNpy(bytes);
 * deepStrictEqual([back.dtype, back.shape, back.data[5]], ["<f4", [2, 3], 6]);
 * ```
 */
export function writeNpy(arr: NpyArray): Uint8Array {
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) {
    throw new FormatError(
      `npy: shape (${arr.shape}) needs ${count} elements, got ${arr.data.length}`,
    );
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(", ")})`;
  const descr = arr.dtype === "<u1" ? "|u1" : arr.dtype;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  let version = 1;
  let pre = 10;
  if (dict.length + pre + 1 > 65535) {
    version = 2;
    pre = 12;
  }
  // pad with spaces so data starts on a 64-byte boundary, newline last (NumPy's layout)
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, " ") + "\n";
  const headerLen = dict.length;
  const dataBytes = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(pre + headerLen + dataBytes.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  out.set(new TextEncoder().encode(dict), pre);
  out.set(dataBytes, pre + headerLen);
  return out;
}

/** A parsed `.npy` header. */
export interface NpyHeader {
  /** Element type. */
  dtype: NpyDtype;
  /** Dimensions. */
  shape: number[];
  /** Byte offset of the data. */
  dataOffset: number;
}

/**
 * Parses a `.npy` header and checks it against the file's length.
 * @param bytes the whole file (or at least its header, when `totalLength` is given)
 * @param totalLength the file's length, when `bytes` holds only the start
 * @returns the dtype, shape and where the data starts
 */
export function readNpyHeader(bytes: Uint8Array, totalLength = bytes.length): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FormatError("npy: not a .npy file (bad magic)");
  }
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, pre: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    pre = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new FormatError("npy: truncated header");
    headerLen = dv.getUint32(8, true);
    pre = 12;
  } else {
    throw new FormatError(`npy: unsupported version ${major}.${bytes[7]}`);
  }
  if (pre + headerLen > bytes.length) throw new FormatError("npy: truncated header");
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(pre, pre + headerLen),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new FormatError(
      `npy: header is not a dict with descr, fortran_order, shape: ${text.trim()}`,
    );
  }
  const dtype = DTYPE_ALIASES[descr];
  if (!dtype) throw new FormatError(`npy: unsupported dtype ${descr} (want <u1, <f2, <f4, <f8)`);
  if (fortran === "True") throw new FormatError("npy: Fortran order is not supported");
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+L?$/.test(s)) throw new FormatError(`npy: bad shape entry ${s}`);
    return parseInt(s, 10);
  });
  const dataOffset = pre + headerLen;
  const want = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
  if (totalLength - dataOffset !== want) {
    throw new FormatError(
      `npy: header says ${dtype} (${shape}) = ${want} bytes, file holds ${
        totalLength - dataOffset
      }`,
    );
  }
  return { dtype, shape, dataOffset };
}

/**
 * Decodes a `.npy` file.
 * @param bytes the file's bytes
 * @returns the array (its data copied into aligned storage)
 */
export function readNpy(bytes: Uint8Array): NpyArray {
  const h = readNpyHeader(bytes);
  const raw = bytes.slice(h.dataOffset); // copy: aligned, owned
  const count = h.shape.reduce((a, b) => a * b, 1);
  const buf = raw.buffer;
  const data: NpyData = h.dtype === "<u1"
    ? raw
    : h.dtype === "<f2"
    ? new Uint16Array(buf, 0, count)
    : h.dtype === "<f4"
    ? new Float32Array(buf, 0, count)
    : new Float64Array(buf, 0, count);
  return { dtype: h.dtype, shape: h.shape, data };
}

/**
 * Converts float16 bits to float32 values.
 * @param bits raw float16 values
 * @returns the same numbers as float32
 */
export function float16ToFloat32(bits: Uint16Array): Float32Array {
  return Float32Array.from(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
}

/**
 * Converts numbers to float16 bits, rounding to nearest even (NumPy's `astype(float16)`).
 * @param values float32 (or float64) numbers
 * @returns raw float16 values
 */
export function float32ToFloat16(values: Float32Array | Float64Array | number[]): Uint16Array {
  const h = Float16Array.from(values as ArrayLike<number>);
  return new Uint16Array(h.buffer, h.byteOffset, h.length);
}

/**
 * Any float array's values as float32 (float16 bits decoded, float64 narrowed).
 * @param arr a float array
 * @returns its values as float32
 */
export function toFloat32(arr: NpyArray): Float32Array {
  switch (arr.dtype) {
    case "<f2":
      return float16ToFloat32(arr.data as Uint16Array);
    case "<f4":
      return arr.data as Float32Array;
    case "<f8":
      return Float32Array.from(arr.data as Float64Array);
    default:
      throw new FormatError(`npy: expected a float array, got ${arr.dtype}`);
  }
}
