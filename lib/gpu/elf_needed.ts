/**
 * Reads the shared libraries an ELF file names as `NEEDED` in its dynamic section (what `readelf -d`
 * prints), without loading it and without binutils. Only the headers and two small sections are
 * read, so a 230 MB library costs a few kilobytes of I/O.
 * @module
 */
import { FormatError } from "../base/mod.ts";

const SHT_DYNAMIC = 6;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_SONAME = 14n;

/** The dynamic-section names of an ELF shared object or executable. */
export interface ElfDynamicNames {
  /** `DT_NEEDED` entries in file order, e.g. `libcudart.so.13`. */
  needed: string[];
  /** `DT_SONAME`, or null when the file has none. */
  soname: string | null;
}

/**
 * Reads `DT_NEEDED` and `DT_SONAME` of a 64-bit little-endian ELF file.
 * @param path the file
 * @returns the needed libraries and the file's soname
 * @throws FormatError when the file is not a 64-bit little-endian ELF with a dynamic section
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { readElfDynamicNames } from "./elf_needed.ts";
 * // on libonnxruntime_providers_cuda.so this lists the CUDA libraries it needs
 * const { needed } = await readElfDynamicNames(Deno.execPath());
 * ok(needed.some((n) => n.startsWith("libc.so")));
 * ```
 */
export async function readElfDynamicNames(path: string): Promise<ElfDynamicNames> {
  const file = await Deno.open(path, { read: true });
  try {
    const readAt = async (offset: bigint | number, length: number): Promise<DataView> => {
      const buf = new Uint8Array(length);
      await file.seek(Number(offset), Deno.SeekMode.Start);
      let got = 0;
      while (got < length) {
        const n = await file.read(buf.subarray(got));
        if (n === null) throw new FormatError(`${path}: ends inside an ELF header or section`);
        got += n;
      }
      return new DataView(buf.buffer);
    };
    const head = await readAt(0, 64).catch(() => {
      throw new FormatError(`${path}: too short to be an ELF file`);
    });
    const magic = head.getUint32(0, false);
    if (magic !== 0x7f454c46) throw new FormatError(`${path}: not an ELF file`);
    if (head.getUint8(4) !== 2 || head.getUint8(5) !== 1) {
      throw new FormatError(`${path}: not a 64-bit little-endian ELF file`);
    }
    const shoff = head.getBigUint64(0x28, true);
    const shentsize = head.getUint16(0x3a, true);
    const shnum = head.getUint16(0x3c, true);
    if (shoff === 0n || shnum === 0 || shentsize < 64) {
      throw new FormatError(`${path}: has no section headers`);
    }
    const sections = await readAt(shoff, shentsize * shnum);
    const section = (i: number) => {
      const at = i * shentsize;
      return {
        type: sections.getUint32(at + 4, true),
        offset: sections.getBigUint64(at + 24, true),
        size: sections.getBigUint64(at + 32, true),
        link: sections.getUint32(at + 40, true),
      };
    };
    let dynamic: ReturnType<typeof section> | undefined;
    for (let i = 0; i < shnum && !dynamic; i++) {
      if (section(i).type === SHT_DYNAMIC) dynamic = section(i);
    }
    if (!dynamic) throw new FormatError(`${path}: has no dynamic section (a static binary?)`);
    if (dynamic.link >= shnum) throw new FormatError(`${path}: dynamic section links nowhere`);
    const strtab = section(dynamic.link);
    const strings = new Uint8Array((await readAt(strtab.offset, Number(strtab.size))).buffer);
    const entries = await readAt(dynamic.offset, Number(dynamic.size));
    const text = (off: bigint) => {
      const start = Number(off);
      let end = start;
      while (end < strings.length && strings[end] !== 0) end++;
      return new TextDecoder().decode(strings.subarray(start, end));
    };
    const needed: string[] = [];
    let soname: string | null = null;
    for (let at = 0; at + 16 <= entries.byteLength; at += 16) {
      const tag = entries.getBigInt64(at, true);
      const val = entries.getBigUint64(at + 8, true);
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) needed.push(text(val));
      else if (tag === DT_SONAME) soname = text(val);
    }
    return { needed, soname };
  } finally {
    file.close();
  }
}
