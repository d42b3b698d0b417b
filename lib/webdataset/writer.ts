/**
 * Writes one WebDataset shard: samples as contiguous tar members `<key>.<ext>`, into a temp file
 * that is fsynced and renamed into place only when complete, hashing the bytes on the way.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { openAtomic, writeAll } from "../base/mod.ts";
import { TarWriter } from "../tar/mod.ts";

/** One member of a sample: its extension (without the dot) and content. */
export interface SampleMember {
  /** Extension, e.g. `json`, `npy`, `txt`. */
  ext: string;
  /** The member's bytes. */
  data: Uint8Array;
}

/** What a finished shard holds. */
export interface WrittenShard {
  /** The final path. */
  path: string;
  /** Samples written. */
  samples: number;
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the file, lowercase hex. */
  sha256: string;
}

// writes are gathered into blocks this big: far fewer syscalls than one per tar member
const BUFFER_BYTES = 4 << 20;

/**
 * A shard being written.
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { ShardWriter } from "./writer.ts";
 * const dir = await Deno.makeTempDir();
 * const w = await ShardWriter.create(join(dir, "ds_000000.tar"));
 * await w.addSample("vid_000000000", [{ ext: "txt", data: new TextEncoder().encode("label") }]);
 * const done = await w.commit();
 * strictEqual(done.samples, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ShardWriter {
  #path: string;
  #file: Deno.FsFile;
  #commitFile: () => Promise<void>;
  #abortFile: () => Promise<void>;
  #tar: TarWriter;
  #hash: Hash = createHash("sha256");
  #buf = new Uint8Array(BUFFER_BYTES);
  #fill = 0;
  #samples = 0;
  #closed = false;

  private constructor(
    path: string,
    atomic: Awaited<ReturnType<typeof openAtomic>>,
  ) {
    this.#path = path;
    this.#file = atomic.file;
    this.#commitFile = atomic.commit;
    this.#abortFile = atomic.abort;
    this.#tar = new TarWriter({ write: (b) => this.#write(b) });
  }

  /**
   * Starts a shard under a temp name beside `path`.
   * @param path the final path of the tar
   * @returns the writer
   */
  static async create(path: string): Promise<ShardWriter> {
    return new ShardWriter(path, await openAtomic(path));
  }

  /** Samples added so far. */
  get samples(): number {
    return this.#samples;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    if (this.#fill + bytes.length > this.#buf.length) await this.#flush();
    if (bytes.length > this.#buf.length) {
      this.#hash.update(bytes);
      await writeAll(this.#file, bytes);
      return;
    }
    this.#buf.set(bytes, this.#fill);
    this.#fill += bytes.length;
  }

  async #flush(): Promise<void> {
    if (this.#fill === 0) return;
    // hashed a buffer at a time, in file order: far cheaper than per tar member
    this.#hash.update(this.#buf.subarray(0, this.#fill));
    await writeAll(this.#file, this.#buf.subarray(0, this.#fill));
    this.#fill = 0;
  }

  /**
   * Appends a sample; its members stay contiguous in the given order.
   * @param key the sample's key (`vid_%09d`)
   * @param members its members in order
   */
  async addSample(key: string, members: SampleMember[]): Promise<void> {
    if (this.#closed) throw new Error(`shard ${this.#path}: addSample after close`);
    for (const m of members) await this.#tar.addFile(`${key}.${m.ext}`, m.data);
    this.#samples++;
  }

  /**
   * Ends the archive, fsyncs and renames it into place.
   * @returns the shard's path, sample count, size and sha256
   */
  async commit(): Promise<WrittenShard> {
    if (this.#closed) throw new Error(`shard ${this.#path}: already closed`);
    await this.#tar.finish();
    await this.#flush();
    this.#closed = true;
    await this.#commitFile();
    return {
      path: this.#path,
      samples: this.#samples,
      bytes: this.#tar.bytesWritten,
      sha256: this.#hash.digest("hex"),
    };
  }

  /** Drops the temp file (after an error); the final path is left untouched. */
  async abort(): Promise<void> {
    this.#closed = true;
    await this.#abortFile();
  }
}
