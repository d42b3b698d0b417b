import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { FormatError } from "../base/mod.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { EXPANSION_CHECK_AFTER, extractArchive } from "./archive_extract.ts";
import { TarWriter } from "./tar_writer.ts";

/** Writes a `.tar.gz` of the given members with the project's tar writer. */
async function tarGz(path: string, members: [string, Uint8Array][]): Promise<void> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const tar = new TarWriter({ write: (b) => (chunks.push(b.slice()), Promise.resolve()) });
  for (const [name, data] of members) await tar.addFile(name, data);
  await tar.finish();
  await Deno.writeFile(path, gzipSync(new Uint8Array(await new Blob(chunks).arrayBuffer())));
}

/** The error a promise rejects with (fails when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => null, (err) => err);
  assert(e instanceof Error, "expected a rejection");
  return e;
}

Deno.test("extractArchive: a member declaring more than maxMemberBytes ends the extraction, naming the archive and the member; the members before it stay", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const archive = join(dir, "a.tar.gz");
    await tarGz(archive, [
      ["a/first.mp4", new Uint8Array(500).fill(1)],
      ["a/big.mp4", new Uint8Array(2000).fill(2)],
      ["a/after.mp4", new Uint8Array(500).fill(3)],
    ]);
    const root = join(dir, "out");
    const done: string[] = [];
    const e = await rejection(extractArchive(archive, {
      root,
      place: (m) => join(root, m.name),
      onExtracted: (m) => void done.push(m.name),
      maxMemberBytes: 1000,
    }));
    assert(e instanceof FormatError, String(e));
    assertEquals(
      e.message,
      `${archive}: member "a/big.mp4" declares 2000 bytes, over the 1000-byte limit for one ` +
        "member: refused as a decompression bomb; members extracted before are kept",
    );
    assertEquals(done, ["a/first.mp4"]);
    assertEquals(await Deno.readFile(join(root, "a/first.mp4")), new Uint8Array(500).fill(1));
    const names = [];
    for await (const f of Deno.readDir(join(root, "a"))) names.push(f.name);
    assertEquals(names, ["first.mp4"]);
  } finally {
    await cleanup();
  }
});

Deno.test("extractArchive: an archive expanding more than 100× past 64 MiB is refused; one that expands as much but stays under 64 MiB is extracted", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const zeros = new Uint8Array(EXPANSION_CHECK_AFTER / 4);
    const small = join(dir, "small.tar.gz");
    await tarGz(small, [["z/1", zeros], ["z/2", zeros]]);
    const report = await extractArchive(small, { root: join(dir, "out"), place: () => null });
    assertEquals(report.skipped, ["z/1", "z/2"]);

    const bomb = join(dir, "bomb.tar.gz");
    await tarGz(bomb, [1, 2, 3, 4, 5].map((i) => [`z/${i}`, zeros]));
    const e = await rejection(extractArchive(bomb, { root: join(dir, "out"), place: () => null }));
    assert(e instanceof FormatError, String(e));
    assert(
      new RegExp(
        `^${bomb}: expands more than 100× \\(\\d+\\.\\d MiB from the first \\d+\\.\\d MiB\\): ` +
          "refused as a decompression bomb; members extracted before are kept$",
      ).test(e.message),
      e.message,
    );
  } finally {
    await cleanup();
  }
});
