/**
 * The manifest's open SQLite connection as its query files share it: the statement cache, the
 * transaction and write wrappers that name the database on a full disk, and the rule that step
 * outputs are stored relative to the work dir.
 * @module
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { asDiskFull } from "../base/mod.ts";

/** A row as `node:sqlite` returns it. */
export type Row = Record<string, SQLInputValue>;

/** One open `manifest.db`, shared by the manifest's core and its query files. */
export class ManifestConnection {
  /** The database handle. */
  readonly db: DatabaseSync;
  /** Path of the database file. */
  readonly path: string;
  /** The work dir (the database's folder): step outputs are stored relative to it. */
  readonly root: string;
  #statements = new Map<string, StatementSync>();

  /**
   * Wraps an open database.
   * @param path the `manifest.db` file
   * @param db its open handle
   */
  constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.root = dirname(resolve(path));
    this.db = db;
  }

  /**
   * A prepared statement, kept for reuse: preparing one per row of a 645k-row loop costs time and
   * native memory that is only freed on collection. Not for `iterate` (two live iterations of one
   * statement would clash).
   * @param sql the statement
   * @returns the cached prepared statement
   */
  stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  /**
   * Runs `fn` as one transaction (IMMEDIATE: the write lock up front; DEFERRED for tables only
   * this connection sees). A full disk becomes a `DiskFullError` naming the database.
   * @param fn the work
   * @param begin how the transaction starts
   * @returns what `fn` returns
   */
  tx<T>(fn: () => T, begin: "IMMEDIATE" | "DEFERRED" = "IMMEDIATE"): T {
    this.db.exec(`BEGIN ${begin}`);
    try {
      const r = fn();
      this.db.exec("COMMIT");
      return r;
    } catch (e) {
      // SQLite may have rolled back already (a full disk): that ROLLBACK error would hide this one
      try {
        this.db.exec("ROLLBACK");
      } catch { /* no transaction left to roll back */ }
      throw asDiskFull(e, this.path);
    }
  }

  /**
   * Runs one write statement; a full disk becomes a `DiskFullError` naming the database.
   * @param sql the statement
   * @param args its arguments
   * @returns how many rows it changed
   */
  write(sql: string, ...args: SQLInputValue[]): { changes: number | bigint } {
    try {
      return this.stmt(sql).run(...args);
    } catch (e) {
      throw asDiskFull(e, this.path);
    }
  }

  /**
   * A step output's path as stored: relative when it lies inside the work dir.
   * @param path the output's path
   * @returns the path to store
   */
  stored(path: string | null): string | null {
    if (path === null || !isAbsolute(path)) return path;
    const rel = relative(this.root, path);
    return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)
      ? rel.split(sep).join("/")
      : path;
  }

  /**
   * A stored path as a path to open: relative ones are under this manifest's work dir.
   * @param path the stored value
   * @returns the path, or null when none is stored
   */
  resolved(path: unknown): string | null {
    if (path === null || path === undefined) return null;
    const p = String(path);
    return isAbsolute(p) ? p : join(this.root, p);
  }
}
