/**
 * The `huggingface_hub` cache layout, read and written the way Python tools do, so a model either
 * side fetched is there for the other:
 *
 * ```
 * <cache>/models--<owner>--<name>/
 *   blobs/<etag>                       file contents, named by ETag (an LFS file's sha256)
 *   snapshots/<commit>/<file>          symlink → ../../blobs/<etag>
 *   refs/<revision>                    the commit a branch or tag resolved to
 * ```
 * @module
 */
import { basename, dirname, join, relative } from "node:path";
import { pathExists, writeFileAtomic } from "../base/mod.ts";
import { holdFileLock } from "../core/mod.ts";

/** A full commit hash. */
const COMMIT = /^[0-9a-f]{40}$/;

/**
 * Is this revision a full commit hash?
 * @param revision a branch, tag or commit
 * @returns true for 40 lowercase hex digits
 */
export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

/** One repository's folder in a `huggingface_hub` cache. */
export class HubRepoCache {
  /** `<cache>/models--<owner>--<name>`. */
  readonly root: string;

  /**
   * Opens (without touching the disk) a repository's folder.
   * @param cacheDir the hub cache (`…/huggingface/hub`)
   * @param repo `owner/name`
   */
  constructor(readonly cacheDir: string, readonly repo: string) {
    this.root = join(cacheDir, `models--${repo.split("/").join("--")}`);
  }

  /**
   * Holds the lock `huggingface_hub` takes while it writes a blob
   * (`<cache>/.locks/models--<owner>--<name>/<etag>.lock`), so that processes fetching the same
   * model at once (a job array's workers) write it once. The OS drops it when its holder dies.
   * @param etag the blob's name
   * @returns a function that releases it
   */
  async lockBlob(etag: string): Promise<() => void> {
    return await holdFileLock(join(this.cacheDir, ".locks", basename(this.root), `${etag}.lock`));
  }

  /**
   * A blob's path.
   * @param etag the file's ETag (quotes removed)
   * @returns `blobs/<etag>`
   */
  blobPath(etag: string): string {
    return join(this.root, "blobs", etag);
  }

  /**
   * A file's path in a snapshot.
   * @param commit the commit
   * @param file the file's path in the repository
   * @returns `snapshots/<commit>/<file>`
   */
  snapshotPath(commit: string, file: string): string {
    return join(this.root, "snapshots", commit, file);
  }

  /**
   * The commit a revision names, from `refs/` (a commit names itself).
   * @param revision branch, tag or commit
   * @returns the commit, or null when the revision was never resolved here
   */
  async commitOf(revision: string): Promise<string | null> {
    if (isCommitHash(revision)) return revision;
    try {
      const c = (await Deno.readTextFile(join(this.root, "refs", revision))).trim();
      return isCommitHash(c) ? c : null;
    } catch {
      return null;
    }
  }

  /**
   * A cached file of a revision, without the network.
   * @param revision branch, tag or commit
   * @param file the file's path in the repository
   * @returns its snapshot path and commit, or null when not cached
   */
  async cached(revision: string, file: string): Promise<{ path: string; commit: string } | null> {
    const commit = await this.commitOf(revision);
    if (commit === null) return null;
    const path = this.snapshotPath(commit, file);
    // a dangling link (its blob deleted) is not a cached file
    return await pathExists(path) ? { path, commit } : null;
  }

  /**
   * Records what a revision resolved to (`refs/<revision>`); commits are not recorded.
   * @param revision branch or tag
   * @param commit the commit
   */
  async writeRef(revision: string, commit: string): Promise<void> {
    if (isCommitHash(revision)) return;
    const path = join(this.root, "refs", revision);
    await Deno.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, new TextEncoder().encode(commit));
  }

  /**
   * Links a snapshot file to its blob with a relative symlink, as `huggingface_hub` does; where
   * symlinks may not be made (Deno allows them only with unscoped read and write permissions)
   * with a hard link, which Python tools read the same way.
   * @param commit the commit
   * @param file the file's path in the repository
   * @param etag the blob's name
   * @returns the snapshot path
   */
  async link(commit: string, file: string, etag: string): Promise<string> {
    const path = this.snapshotPath(commit, file);
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.remove(path).catch(() => {});
    try {
      await Deno.symlink(relative(dirname(path), this.blobPath(etag)), path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied)) {
        throw e;
      }
      await Deno.link(this.blobPath(etag), path);
    }
    return path;
  }

  /**
   * The blob a snapshot file is: its symlink's target, or the blob with the same inode.
   * @param path a snapshot file
   * @returns the blob's name (its ETag), or null when it is no blob's link
   */
  async blobOf(path: string): Promise<string | null> {
    try {
      return basename(await Deno.readLink(path));
    } catch { /* not a symlink */ }
    const ino = (await Deno.stat(path)).ino;
    if (ino === null) return null;
    try {
      for await (const e of Deno.readDir(join(this.root, "blobs"))) {
        if (e.isFile && (await Deno.stat(this.blobPath(e.name))).ino === ino) return e.name;
      }
    } catch { /* no blobs folder */ }
    return null;
  }
}
