/** Byte-for-byte comparison of shard sets (a scale-out run against one worker's). */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";

/**
 * The bytes of a work dir's shard tars (and, with `splitsCsv`, of its `splits.csv`).
 * @param work the work dir
 * @param opts `splitsCsv`: include `splits.csv`
 * @returns file name → bytes
 */
export async function shardSetBytes(
  work: string,
  opts: { splitsCsv?: boolean } = {},
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(join(work, "shards"))) {
    if (e.name.endsWith(".tar") || (opts.splitsCsv && e.name === "splits.csv")) {
      out.set(e.name, await Deno.readFile(join(work, "shards", e.name)));
    }
  }
  return out;
}

/**
 * Asserts that a work dir holds exactly the reference's files, byte for byte.
 * @param work the work dir
 * @param reference what {@linkcode shardSetBytes} read from the reference run
 */
export async function assertSameShardSet(
  work: string,
  reference: Map<string, Uint8Array>,
): Promise<void> {
  const got = await shardSetBytes(work, { splitsCsv: reference.has("splits.csv") });
  assertEquals([...got.keys()].sort(), [...reference.keys()].sort());
  for (const [name, bytes] of reference) {
    assert(
      Buffer.compare(got.get(name)!, bytes) === 0,
      `${work}/shards/${name} differs from the 1-worker run's`,
    );
  }
}
