/** What a folder holds, for tests that check a step wrote nothing. */
import { join } from "node:path";

/**
 * Every file under a folder with its size and modification time, for "wrote nothing" checks.
 * @param dir the folder
 * @returns `path size mtime` lines, sorted
 */
export async function snapshotTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else {
        const s = await Deno.stat(p);
        out.push(`${p.slice(dir.length)} ${s.size} ${s.mtime?.getTime()}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}
