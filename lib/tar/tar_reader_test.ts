import { join } from "node:path";
import { FormatError } from "../base/mod.ts";
import { parsePaxRecords, readTarMembers, type TarReadOptions } from "./tar_reader.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { pythonJson } from "../../tests/support/python.ts";

interface Listed {
  name: string;
  size: number;
  offset: number;
  sha: string;
}

// Python's tarfile writes one archive per format holding what a tar meets in the wild: a
// directory, a symlink and a hard link (not regular files: skipped), empty and block-edge sizes,
// a long name, a long link target, a non-ASCII name. It prints its own view of the regular members.
const PY_FORMATS = `
import hashlib, io, json, sys, tarfile
out = sys.argv[1]
def data(size, salt):
    return bytes((i * 13 + salt) & 0xff for i in range(size))
long = "l" * 70 + "/" + "m" * 60 + "/vid_000000001.npy"
entries = [("dir", tarfile.DIRTYPE, 0, None), ("dir/a.txt", tarfile.REGTYPE, 5, None),
    ("dir/link", tarfile.SYMTYPE, 0, "a.txt"), ("empty.txt", tarfile.REGTYPE, 0, None),
    ("hard", tarfile.LNKTYPE, 0, "dir/a.txt"), ("b511", tarfile.REGTYPE, 511, None),
    ("b512", tarfile.REGTYPE, 512, None), ("b513", tarfile.REGTYPE, 513, None),
    (long, tarfile.REGTYPE, 3000, None), ("far_link", tarfile.SYMTYPE, 0, "t" * 150),
    ("dir_\\u00e9/vid.txt", tarfile.REGTYPE, 7, None), ("last.txt", tarfile.REGTYPE, 1, None)]
listed = {}
for fmt, fname in ((tarfile.USTAR_FORMAT, "ustar.tar"), (tarfile.GNU_FORMAT, "gnu.tar"),
                   (tarfile.PAX_FORMAT, "pax.tar")):
    path = f"{out}/{fname}"
    with tarfile.open(path, "w", format=fmt) as tf:
        for salt, (name, kind, size, target) in enumerate(entries):
            if fmt == tarfile.USTAR_FORMAT and (name.startswith("dir_") or name == "far_link"):
                continue  # ustar holds neither non-ASCII names nor 150-byte link targets
            ti = tarfile.TarInfo(name)
            ti.type, ti.size, ti.mtime, ti.uname = kind, size, 1700000000, "someone"
            if target is not None:
                ti.linkname = target
            tf.addfile(ti, io.BytesIO(data(size, salt)) if size else None)
    with tarfile.open(path) as tf:
        listed[fname] = [{"name": m.name, "size": m.size, "offset": m.offset,
            "sha": hashlib.sha256(tf.extractfile(m).read()).hexdigest()}
            for m in tf.getmembers() if m.isreg()]
print(json.dumps(listed))
`;

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function list(path: string, opts: TarReadOptions = {}): Promise<Listed[]> {
  const out: Listed[] = [];
  for await (const m of readTarMembers(path, opts)) {
    assertEquals(m.data.length, m.size);
    out.push({ name: m.name, size: m.size, offset: m.offset, sha: await sha256Hex(m.data) });
  }
  return out;
}

/** Recomputes a header block's checksum after a test edits it (as tar writes it: 6 digits, NUL, space). */
function fixChecksum(bytes: Uint8Array, headerAt: number): void {
  const h = bytes.subarray(headerAt, headerAt + 512);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, x) => a + x, 0);
  h.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

Deno.test("tar reader: ustar, GNU and PAX tars from Python read as Python reads them, in any chunk size", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const want = await pythonJson<Record<string, Listed[]>>(PY_FORMATS, [dir]);
    for (const file of ["ustar.tar", "gnu.tar", "pax.tar"]) {
      assert(want[file].length >= 7, `${file}: Python lists its regular members`);
      // a chunk smaller than a header, one just over a block, the default
      for (const chunkSize of [7, 513, 1 << 20]) {
        assertEquals(
          await list(join(dir, file), { chunkSize }),
          want[file],
          `${file} / ${chunkSize}`,
        );
      }
    }
    // the offset of a member with a PAX or GNU long-name header is where its first header starts
    const gnuLong = want["gnu.tar"].find((m) => m.name.length > 100)!;
    const raw = await Deno.readFile(join(dir, "gnu.tar"));
    assertEquals(String.fromCharCode(raw[gnuLong.offset + 156]), "L");
  } finally {
    await cleanup();
  }
});

Deno.test("tar reader: onBytes sees every byte once, in order, and readToEnd reads past the end block", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const want = await pythonJson<Record<string, Listed[]>>(PY_FORMATS, [dir]);
    const path = join(dir, "pax.tar");
    // bytes after the end-of-archive blocks: never parsed, still seen with readToEnd
    const file = await Deno.readFile(path);
    const tail = new TextEncoder().encode("not a tar header".repeat(40));
    const withTail = new Uint8Array(file.length + tail.length);
    withTail.set(file);
    withTail.set(tail, file.length);
    await Deno.writeFile(path, withTail);
    for (const chunkSize of [100, 4096]) {
      const seen: Uint8Array<ArrayBuffer>[] = [];
      const onBytes = (c: Uint8Array) => seen.push(c.slice());
      assertEquals(await list(path, { chunkSize, onBytes, readToEnd: true }), want["pax.tar"]);
      assertEquals(new Uint8Array(await new Blob(seen).arrayBuffer()), withTail);
      const prefix: Uint8Array<ArrayBuffer>[] = [];
      await list(path, { chunkSize, onBytes: (c) => prefix.push(c.slice()) });
      const got = new Uint8Array(await new Blob(prefix).arrayBuffer());
      assert(got.length < withTail.length, "without readToEnd the tail is not read");
      assertEquals(got, withTail.subarray(0, got.length));
    }
  } finally {
    await cleanup();
  }
});

Deno.test("tar reader: a GNU base-256 size field and a signed checksum read as Python reads them", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await pythonJson(PY_FORMATS, [dir]);
    const bytes = await Deno.readFile(join(dir, "ustar.tar"));
    // the first regular member, dir/a.txt, is the second header (after the directory's)
    assertEquals(new TextDecoder().decode(bytes.subarray(512, 521)), "dir/a.txt");
    // its size 5 in base-256: a 0x80 marker byte, then the value big-endian
    bytes.fill(0, 512 + 124, 512 + 136);
    bytes[512 + 124] = 0x80;
    bytes[512 + 135] = 5;
    // a high byte in the unused uname field makes signed and unsigned sums differ; write the
    // signed one, as old tars did (both are accepted by Python and GNU tar)
    bytes[512 + 265 + 20] = 0xe9;
    bytes.fill(0x20, 512 + 148, 512 + 156);
    const signed = bytes.subarray(512, 1024).reduce((a, x) => a + (x > 127 ? x - 256 : x), 0);
    bytes.set(new TextEncoder().encode(signed.toString(8).padStart(6, "0") + "\0 "), 512 + 148);
    const path = join(dir, "patched.tar");
    await Deno.writeFile(path, bytes);
    const py = await pythonJson<Listed[]>(
      `import hashlib, json, sys, tarfile
with tarfile.open(sys.argv[1]) as tf:
    print(json.dumps([{"name": m.name, "size": m.size, "offset": m.offset,
        "sha": hashlib.sha256(tf.extractfile(m).read()).hexdigest()}
        for m in tf.getmembers() if m.isreg()]))`,
      [path],
    );
    assertEquals(py[0].size, 5);
    assertEquals(await list(path), py);
  } finally {
    await cleanup();
  }
});

Deno.test("tar reader: damaged tars are refused with the file, the byte and what is wrong", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await pythonJson(PY_FORMATS, [dir]);
    const good = await Deno.readFile(join(dir, "pax.tar"));
    const write = async (name: string, bytes: Uint8Array) => {
      const path = join(dir, name);
      await Deno.writeFile(path, bytes);
      return path;
    };
    const refuse = async (path: string, pattern: RegExp) => {
      const e = await assertRejects(() => list(path), pattern);
      assert(e instanceof FormatError, `${e.name} is a FormatError`);
      assert(!e.message.includes("\n") && e.message.length < 300, e.message);
    };

    const empty = await write("empty.tar", new Uint8Array(0));
    await refuse(empty, /empty\.tar: truncated tar: no end-of-archive block at byte 0$/);

    // a size field that is not octal
    const badSize = good.slice();
    const at = findHeader(badSize, "dir/a.txt");
    badSize.set(new TextEncoder().encode("00000000x09\0"), at + 124);
    fixChecksum(badSize, at);
    await refuse(
      await write("size.tar", badSize),
      new RegExp(`size\\.tar: bad tar size field at byte ${at}$`),
    );

    // a PAX record whose length points past its data
    const badPax = good.slice();
    const pax = findPaxRecord(badPax, "path=");
    badPax.set(new TextEncoder().encode("9"), pax); // "NN path=..." -> "9N path=..."
    await refuse(
      await write("pax_len.tar", badPax),
      /pax_len\.tar: bad PAX record length at byte \d+$/,
    );

    // cut inside an extended header's data
    const cut = await write("cut.tar", good.subarray(0, pax + 4));
    await refuse(cut, /cut\.tar: truncated tar: ends inside an extended header at byte \d+/);

    // a flipped bit in a header, after a good member
    const flipped = good.slice();
    const b512 = findHeader(flipped, "b512");
    flipped[b512 + 10] ^= 0x01;
    await refuse(
      await write("flip.tar", flipped),
      new RegExp(`flip\\.tar: bad tar header checksum at byte ${b512} \\(after member b511\\)$`),
    );
  } finally {
    await cleanup();
  }
});

Deno.test("tar reader: PAX records parse by their own length, values may hold spaces, = and newlines", () => {
  const rec = (key: string, value: string) => {
    const body = ` ${key}=${value}\n`;
    const n = new TextEncoder().encode(body).length;
    const len = n + String(n + String(n).length).length;
    return `${len}${body}`;
  };
  const text = rec("path", "a b=c\nd") + rec("comment", "é") + rec("size", "12");
  const data = new TextEncoder().encode(text + "\0\0\0");
  assertEquals(parsePaxRecords(data), { path: "a b=c\nd", comment: "é", size: "12" });
  for (
    const [bad, why] of [["50 path=x\n", "bad PAX record length"], ["path=x\n", "no length"], [
      "8 pathx\n",
      "no '='",
    ]]
  ) {
    let msg = "";
    try {
      parsePaxRecords(new TextEncoder().encode(bad));
    } catch (e) {
      msg = (e as Error).message;
    }
    assert(msg.includes(why), `${JSON.stringify(bad)}: ${msg}`);
  }
});

/** The offset of the header block whose name field starts with `name`. */
function findHeader(bytes: Uint8Array, name: string): number {
  const want = new TextEncoder().encode(name + "\0");
  for (let at = 0; at + 512 <= bytes.length; at += 512) {
    if (want.every((b, i) => bytes[at + i] === b) && bytes[at + 257] === 0x75) return at;
  }
  throw new Error(`no header named ${name}`);
}

/** The offset of the first PAX record whose key=value starts with `prefix` (its length digits). */
function findPaxRecord(bytes: Uint8Array, prefix: string): number {
  const text = new TextDecoder("latin1").decode(bytes);
  const at = text.search(new RegExp(`\\d+ ${prefix}`));
  assert(at > 0, `no PAX record ${prefix}`);
  return at;
}
