import { join } from "node:path";
import { float32ToFloat16, FormatError, writeNpy } from "../base/mod.ts";
import {
  embeddingsToFloat32,
  expandBraces,
  expandShardPatterns,
  ShardReader,
  type ShardSample,
  splitMemberName,
} from "./reader.ts";
import { readTarMembers, TAR_RECORD, TarWriter } from "../tar/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

const enc = new TextEncoder();

async function writeTar(path: string, members: [string, Uint8Array][]): Promise<void> {
  const chunks: Uint8Array[] = [];
  const tar = new TarWriter({ write: (b) => (chunks.push(b.slice()), Promise.resolve()) });
  for (const [name, data] of members) await tar.addFile(name, data);
  await tar.finish();
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  await Deno.writeFile(path, out);
}

function sample(key: string, frames: number, label = "abseiling"): [string, Uint8Array][] {
  const values = Float32Array.from({ length: frames * 512 }, (_, i) => (i % 7) / 8);
  return [
    [`${key}.json`, enc.encode(`{"videoID":"x","start_time":"000001","end_time":"000011"}`)],
    [
      `${key}.npy`,
      writeNpy({ dtype: "<f2", shape: [frames, 512], data: float32ToFloat16(values) }),
    ],
    [`${key}.txt`, enc.encode(label)],
  ];
}

async function collect(reader: ShardReader): Promise<ShardSample[]> {
  const out: ShardSample[] = [];
  for await (const s of reader) out.push(s);
  return out;
}

Deno.test("shard reader: brace ranges, comma lists and globs expand to files", async () => {
  assertEquals(expandBraces("ds_{000054..000057}.tar"), [
    "ds_000054.tar",
    "ds_000055.tar",
    "ds_000056.tar",
    "ds_000057.tar",
  ]);
  assertEquals(expandBraces("{8..11}"), ["8", "9", "10", "11"]);
  assertEquals(expandBraces("{3..1}"), ["3", "2", "1"]);
  assertEquals(expandBraces("a{b,c{1..2}}d"), ["abd", "ac1d", "ac2d"]);
  assertEquals(expandBraces("{x}y"), ["{x}y"]);
  assertEquals(expandBraces("s{0..1}/{a,b}"), ["s0/a", "s0/b", "s1/a", "s1/b"]);
  assertEquals(splitMemberName("dir.v2/vid_1.seg.npy"), { key: "dir.v2/vid_1", ext: "seg.npy" });

  const { dir, cleanup } = await tempDir();
  try {
    for (const i of [0, 1, 2, 10]) {
      await writeTar(join(dir, `ds_00000${i}.tar`), sample(`vid_00000000${i}`, 1));
    }
    await Deno.writeTextFile(join(dir, ".ds_000003.tar.1.partial"), "");
    assertEquals(await expandShardPatterns(join(dir, "ds_00000?.tar")), [
      join(dir, "ds_000000.tar"),
      join(dir, "ds_000001.tar"),
      join(dir, "ds_000002.tar"),
    ]);
    assertEquals((await expandShardPatterns(join(dir, "*.tar"))).length, 4, "dot files skipped");
    assertEquals(
      await expandShardPatterns([join(dir, "ds_{000001..000002}.tar"), join(dir, "ds_000001.tar")]),
      [join(dir, "ds_000001.tar"), join(dir, "ds_000002.tar")],
    );
    await assertRejects(() => expandShardPatterns(join(dir, "nope_*.tar")), "no shard matches");
    const got = await collect(new ShardReader(join(dir, "ds_{000000..000002}.tar")));
    assertEquals(got.map((s) => s.key), ["vid_000000000", "vid_000000001", "vid_000000002"]);
    assertEquals(got[0].embeddings.shape, [1, 512]);
    assertEquals(embeddingsToFloat32(got[0].embeddings)[3], 3 / 8);
    assertEquals(got[2].shard, join(dir, "ds_000002.tar"));
  } finally {
    await cleanup();
  }
});

const PY_WRITER = `
import io, json, sys, tarfile
import numpy as np
out_dir = sys.argv[1]
def npy(a, version):
    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=version)
    return b.getvalue()
def add(tf, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = 1700000000
    ti.uname = "someone"
    tf.addfile(ti, io.BytesIO(data))
rng = np.random.default_rng(0)
samples = [
    ("vid_000000000", rng.standard_normal((3, 512)).astype("<f2"), (1, 0), "txt", "abseiling"),
    ("d" * 70 + "/" + "x" * 60 + "/vid_000000001", rng.standard_normal((2, 512)).astype("<f4"),
     (2, 0), "cap", "acting in play"),
    ("dir_\\u00e9/vid_000000002", rng.standard_normal((1, 512)).astype("<f8"), (3, 0), "txt", ""),
    ("vid_000000003", np.zeros((0, 512), "<f2"), (1, 0), "txt", "adjusting glasses"),
]
expect = []
for fmt, fname in ((tarfile.PAX_FORMAT, "pax.tar"), (tarfile.GNU_FORMAT, "gnu.tar")):
    kw = {"pax_headers": {"comment": "global header from python"}} if fmt == tarfile.PAX_FORMAT else {}
    with tarfile.open(f"{out_dir}/{fname}", "w", format=fmt, **kw) as tf:
        for key, a, ver, ext, label in samples:
            meta = {"videoID": key[-3:], "start_time": "000000", "end_time": "000010"}
            add(tf, key + ".json", json.dumps(meta).encode())
            add(tf, key + ".npy", npy(a, ver))
            add(tf, key + "." + ext, label.encode())
for key, a, ver, ext, label in samples:
    raw = a.view(np.uint16) if a.dtype.str == "<f2" else a
    expect.append({"key": key, "shape": list(a.shape), "dtype": a.dtype.str, "label": label,
                   "data": raw.ravel().tolist(), "videoID": key[-3:]})
# ustar: a long name that fits prefix + name
with tarfile.open(f"{out_dir}/ustar.tar", "w", format=tarfile.USTAR_FORMAT) as tf:
    key, a, ver, ext, label = samples[1]
    for name, data in ((key + ".json", b"{}"), (key + ".npy", npy(a, ver)), (key + ".txt", b"")):
        add(tf, name, data)
print(json.dumps(expect))
`;

Deno.test("shard reader: reads PAX (x and g headers, long and non-ASCII names), GNU and ustar tars from Python", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", PY_WRITER, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const expect = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      key: string;
      shape: number[];
      dtype: string;
      label: string;
      data: number[];
      videoID: string;
    }[];
    assert(expect[1].key.length > 100);
    // the PAX file does carry a global header
    const raw = await Deno.readFile(join(dir, "pax.tar"));
    assertEquals(String.fromCharCode(raw[156]), "g");
    for (const file of ["pax.tar", "gnu.tar"]) {
      for (const chunkSize of [1 << 20, 700]) {
        const got = await collect(new ShardReader(join(dir, file), { chunkSize }));
        assertEquals(
          got.map((s) => ({
            key: s.key,
            shape: s.embeddings.shape,
            dtype: s.embeddings.dtype,
            label: s.label,
            data: Array.from(s.embeddings.data),
            videoID: s.meta.videoID,
          })),
          expect,
          `${file} read in ${chunkSize}-byte chunks`,
        );
      }
    }
    const names: string[] = [];
    for await (const m of readTarMembers(join(dir, "ustar.tar"))) names.push(m.name);
    assertEquals(names, [".json", ".npy", ".txt"].map((e) => expect[1].key + e));
  } finally {
    await cleanup();
  }
});

Deno.test("shard reader: truncated tars and lying npy headers name the shard and key", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const good = join(dir, "ds_000000.tar");
    await writeTar(good, [...sample("vid_000000000", 4), ...sample("vid_000000001", 4)]);
    const bytes = await Deno.readFile(good);
    assertEquals(bytes.length % TAR_RECORD, 0);
    // cut inside the second sample's .npy data (its magic byte 0x93 starts the payload)
    const firstSampleEnd = 512 * 3 + 512 + Math.ceil((128 + 4 * 512 * 2) / 512) * 512 + 1024;
    const cutAt = bytes.indexOf(0x93, firstSampleEnd) + 100;
    assert(cutAt > firstSampleEnd);
    const cut = join(dir, "ds_000001.tar");
    await Deno.writeFile(cut, bytes.subarray(0, cutAt));
    let n = 0;
    const e = await assertRejects(async () => {
      for await (const _ of new ShardReader(cut)) n++;
    }, /ds_000001\.tar.*truncated tar.*vid_000000001\.npy/);
    assert(e instanceof FormatError);
    assertEquals(n, 1, "the complete first sample is read before the error");
    // cut exactly at a member boundary: no end-of-archive block
    const atBoundary = join(dir, "ds_000002.tar");
    await Deno.writeFile(atBoundary, bytes.subarray(0, 512 * 2));
    await assertRejects(() => collect(new ShardReader(atBoundary)), "no end-of-archive block");

    // a .npy whose header promises more frames than it holds
    const lying = sample("vid_000000005", 2);
    const npy = lying[1][1];
    const at = new TextDecoder("latin1").decode(npy.subarray(0, 128)).indexOf("(2, 512)");
    assert(at > 0);
    npy[at + 1] = "9".charCodeAt(0);
    const lyingTar = join(dir, "ds_000003.tar");
    await writeTar(lyingTar, [...sample("vid_000000004", 1), ...lying]);
    await assertRejects(
      () => collect(new ShardReader(lyingTar)),
      /ds_000003\.tar vid_000000005: \.npy: .*header says <f2 \(9,512\)/,
    );
    // a sample without its .npy
    const noNpy = join(dir, "ds_000004.tar");
    await writeTar(noNpy, sample("vid_000000006", 1).filter(([n]) => !n.endsWith(".npy")));
    await assertRejects(() => collect(new ShardReader(noNpy)), "vid_000000006: sample has no .npy");
    // a damaged header
    const bad = bytes.slice();
    bad[512 * 2 + 3] ^= 0xff; // the .npy member's header block
    const badHeader = join(dir, "ds_000005.tar");
    await Deno.writeFile(badHeader, bad);
    await assertRejects(() => collect(new ShardReader(badHeader)), "bad tar header checksum");
  } finally {
    await cleanup();
  }
});

Deno.test("tar writer: long and non-ASCII names go in PAX headers that Python reads", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const long = `${"a".repeat(80)}/${"b".repeat(60)}/vid_000000001.txt`;
    const names = ["vid_000000000.txt", long, "dir_é/vid_000000002.txt"];
    const path = join(dir, "long.tar");
    await writeTar(path, names.map((n, i) => [n, enc.encode(`label ${i}`)]));
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import json,sys,tarfile\n" +
        "with tarfile.open(sys.argv[1]) as t:\n" +
        " print(json.dumps([[m.name, t.extractfile(m).read().decode(), m.mode, m.mtime] " +
        "for m in t.getmembers()]))",
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const want = names.map((n, i) => [n, `label ${i}`, 0o444, 0]);
    assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), want);
    const ours: unknown[] = [];
    for await (const m of readTarMembers(path)) {
      ours.push([m.name, new TextDecoder().decode(m.data), 0o444, 0]);
    }
    assertEquals(ours, want);
  } finally {
    await cleanup();
  }
});
