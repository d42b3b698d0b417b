/** Reading, editing and rewriting WebDataset shards, for tests that damage a shard on purpose. */
import { join } from "node:path";
import { readTarMembers, TarWriter } from "../../lib/tar/mod.ts";

/** A shard's members in order: name and bytes. */
export type Members = [string, Uint8Array][];

/**
 * Every member of a tar.
 * @param path the tar
 */
export async function readMembers(path: string): Promise<Members> {
  const out: Members = [];
  for await (const m of readTarMembers(path)) out.push([m.name, m.data]);
  return out;
}

/**
 * Writes a tar holding exactly these members.
 * @param path the tar (replaced)
 * @param members names and bytes, in order
 */
export async function writeMembers(path: string, members: Members): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const tar = new TarWriter({
      write: async (b) => {
        let off = 0;
        while (off < b.length) off += await f.write(b.subarray(off));
      },
    });
    for (const [n, d] of members) await tar.addFile(n, d);
    await tar.finish();
  } finally {
    f.close();
  }
}

/**
 * Rewrites a tar through an edit of its member list.
 * @param path the tar
 * @param edit old members → new members
 */
export async function editShard(path: string, edit: (m: Members) => Members): Promise<void> {
  await writeMembers(path, edit(await readMembers(path)));
}

/**
 * Copies the plain files of a folder into a new one.
 * @param from the folder
 * @param to the copy (created)
 * @returns `to`
 */
export async function copyDir(from: string, to: string): Promise<string> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
  return to;
}
