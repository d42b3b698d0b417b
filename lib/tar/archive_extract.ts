/**
 * Safe `.tar.gz` extraction: the archive is streamed through `node:zlib` gunzip and
 * `npm:tar-stream`, each wanted regular file is written atomically (temp name, fsync, rename), and
 * nothing is ever written outside a given root. Absolute paths, `..`, symlinks, hard links,
 * devices and FIFOs are refused and reported; the other members are still extracted.
 *
 * Decompression bombs are refused: a member declaring more than {@linkcode MAX_MEMBER_BYTES}, or an
 * archive that expands more than {@linkcode MAX_EXPANSION_RATIO} times its compressed size (once past
 * {@linkcode EXPANSION_CHECK_AFTER}), ends the extraction; what was extracted before stays. A full
 * disk is reported as one (`DiskFullError`), never as a corrupt archive.
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { basename, dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import {
  deviceOf,
  DiskFullError,
  FormatError,
  isDiskFull,
  openAtomic,
  writeAll,
} from "../base/mod.ts";

/**
 * The most bytes one member may declare (4 GiB). A Kinetics clip (10 s of video) is a few MB and
 * never near 1 GB, so a larger member is no video of the dataset but a bomb or a damaged header.
 */
const MAX_MEMBER_BYTES = 4 * 1024 ** 3;

/**
 * How many times its compressed size an archive may expand to. Videos do not compress, so a
 * Kinetics archive expands about 1×; only runs of repeated bytes (a bomb) expand 100×.
 */
const MAX_EXPANSION_RATIO = 100;

/** The expansion ratio is judged only past this many uncompressed bytes (64 MiB). */
export const EXPANSION_CHECK_AFTER = 64 * 1024 ** 2;

/** A regular-file member offered to the caller. */
export interface ArchiveMember {
  /** Its path inside the archive. */
  name: string;
  /** Its size in bytes. */
  size: number;
}

/** A member written (or found already written) under the root. */
export interface ExtractedMember {
  /** Its path inside the archive. */
  name: string;
  /** Where it is on disk. */
  dest: string;
  /** Its size. */
  bytes: number;
  /** SHA-256 of its content. */
  sha256: string;
  /** True when the file was already there with the right size (a rerun) and was not rewritten. */
  reused: boolean;
}

/** A member that was not extracted because it is unsafe. */
export interface RefusedMember {
  /** Its path inside the archive, as written there. */
  name: string;
  /** Why, e.g. `absolute path`, `symlink to /etc/passwd`. */
  reason: string;
}

/** How to extract. */
export interface ExtractOptions {
  /** Nothing is written outside this folder. */
  root: string;
  /**
   * Decides where a regular file goes: a path under `root`, or null to skip it (its bytes are read
   * and dropped).
   */
  place: (member: ArchiveMember) => string | null;
  /** Called after each member is in place (before the next one is read). */
  onExtracted?: (member: ExtractedMember) => void | Promise<void>;
  /** Called with the count of archive bytes read, for progress. */
  onBytes?: (n: number) => void;
  /** The most bytes one member may declare (default {@linkcode MAX_MEMBER_BYTES}). */
  maxMemberBytes?: number;
}

/** What an extraction did. */
export interface ExtractReport {
  /** Members written or reused. */
  extracted: ExtractedMember[];
  /** Unsafe members, not written. */
  refused: RefusedMember[];
  /** Regular files `place` declined. */
  skipped: string[];
  /** Size of the compressed archive. */
  archiveBytes: number;
  /** SHA-256 of the compressed archive. */
  archiveSha256: string;
}

/** The header fields of a tar-stream entry that are read here. */
interface TarHeader {
  name: string;
  type: string | null;
  size?: number;
  linkname?: string | null;
}

/** A tar-stream entry: its header, and its body as an async iterable of chunks. */
interface TarEntry extends AsyncIterable<Uint8Array> {
  header: TarHeader;
}

/** tar-stream's extractor, seen as a writable that yields entries. */
type TarExtract = Writable & AsyncIterable<TarEntry>;

/**
 * Why a member must not be extracted, judged from its header alone.
 * @param header the member's name, type and link target
 * @returns the reason, or null when it is a safe file or folder
 */
function unsafeMemberReason(
  header: { name: string; type: string | null; linkname?: string | null },
): string | null {
  const { name, type } = header;
  if (type === "symlink") return `symlink to ${JSON.stringify(header.linkname ?? "")}`;
  if (type === "link") return `hard link to ${JSON.stringify(header.linkname ?? "")}`;
  if (type === "character-device" || type === "block-device") return "device file";
  if (type === "fifo") return "FIFO";
  if (name.includes("\0")) return "NUL in path";
  if (name.startsWith("/") || name.startsWith("\\") || /^[A-Za-z]:/.test(name)) {
    return "absolute path";
  }
  if (name.split(/[\\/]/).includes("..")) return "path with `..`";
  if (type !== null && type !== "file" && type !== "contiguous-file" && type !== "directory") {
    return `unsupported member type ${type}`;
  }
  return null;
}

/** Is `path` inside `root` (or the root itself)? Both absolute. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(".." + sep) && rel !== ".." && !isAbsolute(rel));
}

async function drain(entry: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of entry) { /* read and drop */ }
}

/**
 * Extracts a `.tar.gz`, asking `place` where each regular file goes.
 * @param archive the archive file
 * @param opts the root, the placement rule and callbacks
 * @returns what was extracted, refused and skipped, and the archive's size and sha256
 * @throws FormatError when the archive is not gzip or tar, ends early, has a member declaring more
 *   than `maxMemberBytes`, or expands more than {@linkcode MAX_EXPANSION_RATIO}× (members extracted
 *   before that point stay in place, complete)
 * @throws DiskFullError when the disk fills up, naming the file being written (members extracted
 *   before it stay in place, complete)
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { gzipSync } from "node:zlib";
 * import { extractArchive } from "./archive_extract.ts";
 * import { TarWriter } from "./tar_writer.ts";
 * const dir = await Deno.makeTempDir();
 * const chunks: Uint8Array<ArrayBuffer>[] = [];
 * const tar = new TarWriter({ write: (b) => (chunks.push(b.slice()), Promise.resolve()) });
 * await tar.addFile("abseiling/abc123def45_000010_000020.mp4", new Uint8Array(100));
 * await tar.addFile("../escape.mp4", new Uint8Array(1));
 * await tar.finish();
 * const archive = join(dir, "abseiling.tar.gz");
 * await Deno.writeFile(archive, gzipSync(new Uint8Array(await new Blob(chunks).arrayBuffer())));
 * const report = await extractArchive(archive, {
 *   root: join(dir, "videos"),
 *   place: (m) => join(dir, "videos", "train", "abseiling", m.name.split("/").pop()!),
 * });
 * deepStrictEqual([report.extracted.length, report.refused.map((r) => r.name)], [1, ["../escape.mp4"]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function extractArchive(
  archive: string,
  opts: ExtractOptions,
): Promise<ExtractReport> {
  const root = resolve(opts.root);
  await Deno.mkdir(root, { recursive: true });
  const realRoot = await Deno.realPath(root);
  const report: ExtractReport = {
    extracted: [],
    refused: [],
    skipped: [],
    archiveBytes: 0,
    archiveSha256: "",
  };
  const archiveHash = createHash("sha256");
  const counter = new Transform({
    transform(chunk: Uint8Array, _enc, cb) {
      archiveHash.update(chunk);
      report.archiveBytes += chunk.length;
      opts.onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  // tar-stream ships no types: its extractor is a streamx Writable that async-iterates entries.
  // Loaded here, on first use, so that importing kinembed does not load it.
  const tarStream = (await import("tar-stream")).default;
  const extract = tarStream.extract() as unknown as TarExtract;
  const gunzip = createGunzip();
  refuseBombs(gunzip, archive, report);
  const piped = pipeline(createReadStream(archive), counter, gunzip, extract);
  let pipeError: unknown = null;
  piped.catch((e) => pipeError ??= e);
  const checkedDirs = new Set<string>();
  const maxMemberBytes = opts.maxMemberBytes ?? MAX_MEMBER_BYTES;
  // the file being written, for a full disk's message
  let writing: string | null = null;
  // a member refused as a bomb, which ends the extraction
  let refusal: FormatError | null = null;
  try {
    for await (const entry of extract) {
      const h = entry.header;
      const reason = unsafeMemberReason(h);
      if (reason !== null) {
        report.refused.push({ name: h.name, reason });
        await drain(entry);
        continue;
      }
      if (h.type === "directory") {
        await drain(entry);
        continue;
      }
      const size = h.size ?? 0;
      if (size > maxMemberBytes) {
        // its body is not even read: a bomb's bytes cost neither disk nor time
        throw refusal = new FormatError(
          `${archive}: member ${JSON.stringify(h.name)} declares ${size} bytes, over the ` +
            `${limitText(maxMemberBytes)} limit for one member: refused as a decompression bomb; ` +
            "members extracted before are kept",
        );
      }
      const placed = opts.place({ name: h.name, size });
      if (placed === null) {
        report.skipped.push(h.name);
        await drain(entry);
        continue;
      }
      const dest = resolve(placed);
      const dir = dirname(dest);
      if (!isInside(root, dest)) {
        report.refused.push({ name: h.name, reason: `resolves outside ${root}` });
        await drain(entry);
        continue;
      }
      if (!checkedDirs.has(dir)) {
        await Deno.mkdir(dir, { recursive: true });
        // a folder on the way that is a symlink out of the root would let a write escape
        if (!isInside(realRoot, await Deno.realPath(dir))) {
          report.refused.push({ name: h.name, reason: `resolves outside ${root}` });
          await drain(entry);
          continue;
        }
        checkedDirs.add(dir);
      }
      writing = dest;
      const member = await writeMember(entry, dest, size, h.name);
      writing = null;
      report.extracted.push(member);
      await opts.onExtracted?.(member);
    }
    await piped;
  } catch (e) {
    extract.destroy();
    await piped.catch(() => {});
    // a write of ours failing is the cause: the pipeline then only says it was cut off
    const cause = isDiskFull(e) || e === refusal ? e : pipeError ?? e;
    if (isDiskFull(cause)) {
      throw diskFullWhileWriting(writing ?? root, archive, report.extracted.length);
    }
    if (cause instanceof Deno.errors.PermissionDenied || cause instanceof FormatError) throw cause;
    if (isDiskError(cause)) throw cause;
    throw new FormatError(`${archive}: corrupt archive: ${(cause as Error).message ?? cause}`);
  }
  report.archiveSha256 = archiveHash.digest("hex");
  return report;
}

/**
 * Ends the extraction of an archive whose gunzipped bytes outgrow its compressed ones beyond
 * {@linkcode MAX_EXPANSION_RATIO} (once past {@linkcode EXPANSION_CHECK_AFTER}). Counted as the
 * bytes flow rather than by a stage of its own, so the pipeline is not longer.
 */
function refuseBombs(
  gunzip: ReturnType<typeof createGunzip>,
  archive: string,
  report: ExtractReport,
): void {
  let expanded = 0;
  gunzip.on("data", (chunk: Uint8Array) => {
    expanded += chunk.length;
    if (expanded > EXPANSION_CHECK_AFTER && expanded > MAX_EXPANSION_RATIO * report.archiveBytes) {
      gunzip.destroy(
        new FormatError(
          `${archive}: expands more than ${MAX_EXPANSION_RATIO}× (${mib(expanded)} from the ` +
            `first ${mib(report.archiveBytes)}): refused as a decompression bomb; members ` +
            "extracted before are kept",
        ),
      );
    }
  });
}

/** A full disk while writing `path`, naming the archive (by file name) and what was kept. */
function diskFullWhileWriting(path: string, archive: string, kept: number): DiskFullError {
  return new DiskFullError(
    path,
    deviceOf(path),
    `the ${kept} member${kept === 1 ? "" : "s"} of ${basename(archive)} extracted before it ` +
      `${kept === 1 ? "is" : "are"} kept`,
  );
}

/** Bytes in MiB, for messages. */
function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** A size limit, for messages: whole GiB, else bytes. */
function limitText(bytes: number): string {
  return bytes % 1024 ** 3 === 0 ? `${bytes / 1024 ** 3} GiB` : `${bytes}-byte`;
}

/** Disk problems (full, read-only, permissions) are not the archive's fault and are rethrown. */
function isDiskError(e: unknown): boolean {
  return e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound ||
    (e instanceof Error &&
      /ENOSPC|EROFS|EACCES|No space left|Read-only file system/.test(e.message));
}

/** Writes one member atomically, or reuses a complete earlier copy; hashes it either way. */
async function writeMember(
  entry: AsyncIterable<Uint8Array>,
  dest: string,
  size: number,
  name: string,
): Promise<ExtractedMember> {
  const hash = createHash("sha256");
  let existing: Deno.FileInfo | null = null;
  try {
    existing = await Deno.lstat(dest);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (existing?.isFile && existing.size === size) {
    // written atomically by an earlier run, so complete: hash the archive's bytes, write nothing
    for await (const chunk of entry) hash.update(chunk);
    return { name, dest, bytes: size, sha256: hash.digest("hex"), reused: true };
  }
  const out = await openAtomic(dest);
  let bytes = 0;
  try {
    for await (const chunk of entry) {
      hash.update(chunk);
      await writeAll(out.file, chunk);
      bytes += chunk.length;
    }
    if (bytes !== size) {
      throw new FormatError(`${name}: ${bytes} bytes where the header says ${size}`);
    }
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
  return { name, dest, bytes, sha256: hash.digest("hex"), reused: false };
}
