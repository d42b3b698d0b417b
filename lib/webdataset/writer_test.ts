import { createHash } from "node:crypto";
import { join } from "node:path";
import { TarWriter } from "../tar/mod.ts";
import { ShardWriter } from "./writer.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { pythonJson } from "../../tests/support/python.ts";

const enc = new TextEncoder();

function bytesOf(size: number, salt: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 17 + salt) & 0xff);
}

/** The tar the same members give when written by TarWriter straight into memory. */
async function plainTar(members: [string, Uint8Array][]): Promise<Uint8Array> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const tar = new TarWriter({ write: (b) => (chunks.push(b.slice()), Promise.resolve()) });
  for (const [name, data] of members) await tar.addFile(name, data);
  await tar.finish();
  return new Uint8Array(await new Blob(chunks).arrayBuffer());
}

async function dirNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("shard writer: samples land as contiguous members; size and sha256 are the file's", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // a member bigger than the 4 MiB write buffer goes around it: order and hash must still hold
    const samples: [string, { ext: string; data: Uint8Array }[]][] = [
      ["vid_000000000", [{ ext: "json", data: enc.encode("{}") }, {
        ext: "npy",
        data: bytesOf(3000, 1),
      }]],
      ["vid_000000001", [{ ext: "npy", data: bytesOf((4 << 20) + 3, 2) }, {
        ext: "txt",
        data: enc.encode("x"),
      }]],
      ["vid_000000002", [{ ext: "txt", data: new Uint8Array(0) }]],
    ];
    const path = join(dir, "ds_000000.tar");
    const w = await ShardWriter.create(path);
    for (const [key, members] of samples) await w.addSample(key, members);
    assertEquals(w.samples, 3);
    assertEquals(await dirNames(dir), [`.ds_000000.tar.${Deno.pid}.partial`], "nothing final yet");
    const done = await w.commit();
    assertEquals(await dirNames(dir), ["ds_000000.tar"], "the temp file became the shard");
    const file = await Deno.readFile(path);
    assertEquals(done, {
      path,
      samples: 3,
      bytes: file.length,
      sha256: createHash("sha256").update(file).digest("hex"),
    });
    const members = samples.flatMap(([key, ms]) =>
      ms.map((m): [string, Uint8Array] => [`${key}.${m.ext}`, m.data])
    );
    const plain = await plainTar(members);
    assertEquals(plain.length, file.length);
    assert(plain.every((b, i) => b === file[i]), "same bytes as a plain TarWriter");
    // an independent reader sees the members in order with their content
    const listed = await pythonJson<[string, string][]>(
      `import hashlib, json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    print(json.dumps([[m.name, hashlib.sha256(t.extractfile(m).read()).hexdigest()] for m in t]))`,
      [path],
    );
    assertEquals(
      listed,
      members.map(([n, d]) => [n, createHash("sha256").update(d).digest("hex")]),
    );
    await assertRejects(() => w.addSample("vid_000000003", []), "addSample after close");
    await assertRejects(() => w.commit(), "already closed");
  } finally {
    await cleanup();
  }
});

Deno.test("shard writer: abort drops the temp file and leaves an existing shard as it was", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "ds_000007.tar");
    await Deno.writeTextFile(path, "the shard of an earlier run");
    const w = await ShardWriter.create(path);
    await w.addSample("vid_000000070", [{ ext: "npy", data: bytesOf(5 << 20, 3) }]);
    await w.abort();
    assertEquals(await dirNames(dir), ["ds_000007.tar"]);
    assertEquals(await Deno.readTextFile(path), "the shard of an earlier run");
    await assertRejects(() => w.addSample("vid_000000071", []), "addSample after close");
    // a committed rewrite replaces it whole
    const again = await ShardWriter.create(path);
    await again.addSample("vid_000000070", [{ ext: "txt", data: enc.encode("label") }]);
    const done = await again.commit();
    assertEquals((await Deno.stat(path)).size, done.bytes);
    assertEquals(await dirNames(dir), ["ds_000007.tar"]);
  } finally {
    await cleanup();
  }
});
