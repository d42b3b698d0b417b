import { join } from "node:path";
import { FormatError } from "../base/mod.ts";
import { readElfDynamicNames } from "./elf_needed.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

/** What binutils' `readelf -d` lists as NEEDED and SONAME. */
async function readelf(path: string): Promise<{ needed: string[]; soname: string | null }> {
  const out = await new Deno.Command("readelf", { args: ["-d", "-W", path], stdout: "piped" })
    .output();
  assert(out.success, `readelf -d ${path}`);
  const text = new TextDecoder().decode(out.stdout);
  const needed = [...text.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const soname = /\(SONAME\)\s+Library soname: \[([^\]]+)\]/.exec(text)?.[1] ?? null;
  return { needed, soname };
}

const REAL_FILES = [
  "/bin/ls", // an executable with NEEDED entries and no SONAME
  "/lib/x86_64-linux-gnu/libc.so.6", // a library with a SONAME
  Deno.execPath(), // a large executable
];

Deno.test("elf needed: real binaries give what readelf -d lists", async () => {
  for (const path of REAL_FILES) {
    const want = await readelf(path);
    assert(want.needed.length > 0, `${path}: readelf lists NEEDED entries`);
    assertEquals(await readElfDynamicNames(path), want, path);
  }
  assertEquals((await readElfDynamicNames("/lib/x86_64-linux-gnu/libc.so.6")).soname, "libc.so.6");
});

Deno.test("elf needed: non-ELF, 32-bit, truncated and static files are refused naming the file", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const ls = await Deno.readFile("/bin/ls");
    const view = new DataView(ls.buffer);
    const shoff = Number(view.getBigUint64(0x28, true));
    const shentsize = view.getUint16(0x3a, true);
    const shnum = view.getUint16(0x3c, true);
    const edit = (f: (b: Uint8Array, v: DataView) => void) => {
      const b = ls.slice();
      f(b, new DataView(b.buffer));
      return b;
    };
    const cases: [string, Uint8Array, string][] = [
      ["short.so", ls.subarray(0, 40), "too short to be an ELF file"],
      ["script.so", new TextEncoder().encode("#!/bin/sh\n".padEnd(200, "#")), "not an ELF file"],
      ["elf32.so", edit((b) => (b[4] = 1)), "not a 64-bit little-endian ELF file"],
      ["bigendian.so", edit((b) => (b[5] = 2)), "not a 64-bit little-endian ELF file"],
      ["nosections.so", edit((_, v) => v.setBigUint64(0x28, 0n, true)), "has no section headers"],
      // cut inside the section header table, which sits at the end of the file
      ["cut.so", ls.subarray(0, shoff + shentsize), "ends inside an ELF header or section"],
      // every SHT_DYNAMIC section retyped as PROGBITS, as a static binary has none
      [
        "static.so",
        edit((b, v) => {
          for (let i = 0; i < shnum; i++) {
            const at = shoff + i * shentsize + 4;
            if (v.getUint32(at, true) === 6) v.setUint32(at, 1, true);
          }
          assert(b.length === ls.length);
        }),
        "has no dynamic section (a static binary?)",
      ],
    ];
    for (const [name, bytes, why] of cases) {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      const e = await assertRejects(() => readElfDynamicNames(path), `${path}: ${why}`);
      assert(e instanceof FormatError, `${name}: ${e}`);
      assert(!e.message.includes("\n"), e.message);
    }
    await assertRejects(() => readElfDynamicNames(join(dir, "missing.so")), "missing.so");
  } finally {
    await cleanup();
  }
});
