/**
 * Tar files: a streaming reader, a deterministic writer (fixed headers, so the same members give
 * the same bytes), and safe `.tar.gz` extraction that refuses unsafe member paths.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { readTarMembers, TarWriter } from "./mod.ts";
 *
 * const chunks: Uint8Array<ArrayBuffer>[] = [];
 * const tar = new TarWriter({ write: (b) => (chunks.push(b.slice()), Promise.resolve()) });
 * await tar.addFile("hello.txt", new TextEncoder().encode("hi"));
 * await tar.finish();
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(join(dir, "a.tar"), new Uint8Array(await new Blob(chunks).arrayBuffer()));
 * const names = [];
 * for await (const m of readTarMembers(join(dir, "a.tar"))) names.push(m.name);
 * deepStrictEqual(names, ["hello.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  readTarMembers,
  type TarMember,
  type TarReadOptions,
  TruncatedTarError,
} from "./tar_reader.ts";
export { TAR_BLOCK, TAR_RECORD, type TarSink, TarWriter } from "./tar_writer.ts";
export {
  type ArchiveMember,
  extractArchive,
  type ExtractedMember,
  type ExtractOptions,
  type ExtractReport,
  type RefusedMember,
} from "./archive_extract.ts";
export type { FormatError } from "../base/mod.ts";
