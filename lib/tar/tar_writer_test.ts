import { dirname, join } from "node:path";
import { FormatError } from "../base/mod.ts";
import {
  TAR_BLOCK,
  TAR_RECORD,
  tarFileHeader,
  tarPaddingLength,
  tarTrailer,
  TarWriter,
} from "./tar_writer.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { pythonJson } from "../../tests/support/python.ts";

const enc = new TextEncoder();

/** Writes members with a fresh `TarWriter`, returning the archive and what the writer counted. */
async function tarBytes(
  members: [string, Uint8Array][],
): Promise<{ bytes: Uint8Array; counted: number }> {
  const chunks: Uint8Array[] = [];
  const tar = new TarWriter({ write: (b) => (chunks.push(b.slice()), Promise.resolve()) });
  for (const [name, data] of members) await tar.addFile(name, data);
  await tar.finish();
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, counted: tar.bytesWritten };
}

/** Content of a given size that differs from member to member (so a shifted member shows). */
function content(size: number, salt: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + salt * 7 + 1) & 0xff);
}

/** Has GNU tar (an independent writer) archive files with the writer's fixed metadata. */
async function gnuTar(root: string, out: string, names: string[]): Promise<void> {
  const args = ["--format=ustar", "--numeric-owner", "--owner=0", "--group=0", "--mtime=@0"];
  const res = await new Deno.Command("tar", {
    args: [...args, "--mode=0444", "-C", root, "-cf", out, ...names],
    stderr: "piped",
  }).output();
  assert(res.success, new TextDecoder().decode(res.stderr));
}

// Python's tarfile reading an archive: every member's header fields and content
const PY_LIST = `
import hashlib, json, sys, tarfile
with tarfile.open(sys.argv[1]) as tf:
    print(json.dumps([{"name": m.name, "size": m.size, "type": m.type.decode(), "mode": m.mode,
        "mtime": m.mtime, "uid": m.uid, "gid": m.gid, "uname": m.uname, "gname": m.gname,
        "sha": hashlib.sha256(tf.extractfile(m).read()).hexdigest()} for m in tf.getmembers()]))
`;

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("tar writer: ustar archives equal GNU tar's byte for byte, at every block and record edge", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // sizes around block edges; 17 blocks + header + end blocks fill one record exactly,
    // 18 blocks spill into a second record
    const cases: [string, number][][] = [
      [["empty.txt", 0], ["one.bin", 1], ["b511", 511], ["b512", 512], ["b513", 513]],
      [["fills_a_record.bin", 17 * TAR_BLOCK]],
      [["spills.bin", 18 * TAR_BLOCK], ["after.txt", 3]],
      [[`${"n".repeat(96)}.npy`, 1024], ["dir/sub/vid_000000000.json", 100]],
    ];
    for (const [n, members] of cases.entries()) {
      const ours = await tarBytes(members.map(([name, size], salt) => [name, content(size, salt)]));
      const root = join(dir, `case_${n}`);
      for (const [salt, [name, size]] of members.entries()) {
        await Deno.mkdir(dirname(join(root, name)), { recursive: true });
        await Deno.writeFile(join(root, name), content(size, salt));
      }
      const path = join(dir, `gnu_${n}.tar`);
      await gnuTar(root, path, members.map(([name]) => name));
      const theirs = await Deno.readFile(path);
      assertEquals(ours.bytes.length, theirs.length, `case ${n}: length`);
      assert(ours.bytes.every((b, i) => b === theirs[i]), `case ${n}: bytes differ from GNU tar's`);
      assertEquals(ours.counted, ours.bytes.length, "bytesWritten counts every byte");
      assertEquals(ours.bytes.length % TAR_RECORD, 0);
    }
    // the exact record fill: header + 17 data blocks + 2 end blocks = 20 blocks, no padding record
    const exact = await tarBytes([["fills_a_record.bin", content(17 * TAR_BLOCK, 0)]]);
    assertEquals(exact.bytes.length, TAR_RECORD);
  } finally {
    await cleanup();
  }
});

Deno.test("tar writer: long and non-ASCII names get PAX records with a self-consistent length", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // A PAX record is "<len> path=<name>\n" with len counting its own digits: name bytes + 7 +
    // digits. Names of 91..93 UTF-8 bytes put len at 99..102 (2 -> 3 digits), names of 990..994
    // bytes at 999..1004 (3 -> 4 digits). Short names need a non-ASCII byte to take the PAX path.
    const names: string[] = [];
    for (const bytes of [91, 92, 93]) names.push(`é${"p".repeat(bytes - 2)}`);
    for (const bytes of [990, 991, 992, 993, 994]) names.push("q".repeat(bytes));
    names.push("x".repeat(100), "y".repeat(101), `${"d".repeat(150)}/vid_000000001.txt`);
    const members = names.map((n, i): [string, Uint8Array] => [n, content(i * 97, i)]);
    const { bytes } = await tarBytes(members);
    const path = join(dir, "pax.tar");
    await Deno.writeFile(path, bytes);
    const listed = await pythonJson<Record<string, unknown>[]>(PY_LIST, [path]);
    const want = await Promise.all(members.map(async ([name, data]) => ({
      name,
      size: data.length,
      type: "0",
      mode: 0o444,
      mtime: 0,
      uid: 0,
      gid: 0,
      uname: "",
      gname: "",
      sha: await sha256Hex(data),
    })));
    assertEquals(listed, want, "Python reads every name and content back");
    // the PAX record itself, checked against the rule above
    for (const name of names) {
      const header = tarFileHeader(name, 5);
      const nameBytes = enc.encode(name).length;
      if (name.length <= 100 && nameBytes === name.length) {
        assertEquals(header.length, TAR_BLOCK, `${nameBytes}-byte ASCII name fits ustar`);
        continue;
      }
      assertEquals(String.fromCharCode(header[156]), "x", "PAX header first");
      const record = new TextDecoder().decode(header.subarray(TAR_BLOCK, header.length - TAR_BLOCK))
        .replace(/\0+$/, "");
      const len = Number(record.slice(0, record.indexOf(" ")));
      assertEquals(enc.encode(record).length, len, `record length of a ${nameBytes}-byte name`);
      assertEquals(len, nameBytes + 7 + String(len).length);
      assert(record.endsWith(`path=${name}\n`));
      assertEquals(String.fromCharCode(header[header.length - TAR_BLOCK + 156]), "0");
    }
  } finally {
    await cleanup();
  }
});

Deno.test("tar writer: same members give the same bytes; sizes are checked; finish is final", async () => {
  const members: [string, Uint8Array][] = [
    ["vid_000000000.json", enc.encode('{"videoID":"a"}')],
    ["vid_000000000.npy", content(2048 + 128, 3)],
    [`${"z".repeat(120)}.txt`, enc.encode("label")],
  ];
  const a = await tarBytes(members);
  const b = await tarBytes(members.map(([n, d]) => [n, d.slice()]));
  assertEquals(a.bytes, b.bytes);

  assertEquals([0, 1, 511, 512, 513, 1024].map(tarPaddingLength), [0, 511, 1, 0, 511, 0]);
  assertEquals(tarTrailer(0).length, TAR_RECORD, "an empty archive is one zero record");
  assertEquals(tarTrailer(TAR_RECORD - 2 * TAR_BLOCK).length, 2 * TAR_BLOCK);
  assertEquals(tarTrailer(TAR_RECORD - TAR_BLOCK).length, TAR_BLOCK + TAR_RECORD);
  assert(tarTrailer(TAR_RECORD).every((x) => x === 0));

  // the largest size an 11-digit octal field holds is written; one more is refused
  const max = 0o77777777777;
  const h = tarFileHeader("big.bin", max);
  assertEquals(new TextDecoder().decode(h.subarray(124, 136)), "77777777777\0");
  for (const bad of [max + 1, -1, 1.5, NaN]) {
    const e = await assertRejects(() => tarFileHeader("big.bin", bad), "big.bin size");
    assert(e instanceof FormatError);
  }

  const chunks: Uint8Array[] = [];
  const tar = new TarWriter({ write: (c) => (chunks.push(c.slice()), Promise.resolve()) });
  await tar.addFile("a.txt", enc.encode("a"));
  await tar.finish();
  const written = tar.bytesWritten;
  await tar.finish();
  assertEquals(tar.bytesWritten, written, "a second finish writes nothing");
  await assertRejects(() => tar.addFile("b.txt", enc.encode("b")), "addFile after finish");
});
