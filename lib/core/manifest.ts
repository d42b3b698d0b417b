/**
 * The manifest: one SQLite database per work directory (`manifest.db`, WAL mode) holding the run
 * configuration and its hash, one row per video with a state per step, and one row per shard.
 * This file is its core (opening, schema and migrations, transactions, the change counter, the
 * configuration); the queries of each concern live beside it in `manifest_<concern>.ts`, and
 * these files are the only ones that know SQL.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { isAbsolute, relative, sep } from "node:path";
import { asDiskFull, ConfigError, ConfigMismatchError } from "../base/mod.ts";
import { configHash, type ConfigValue, type RunConfig } from "./run_config.ts";
import { ManifestConnection } from "./manifest_connection.ts";
import type { Step } from "./manifest_rows.ts";
import { VideoQueries } from "./manifest_videos.ts";
import { StepQueries } from "./manifest_steps.ts";
import { ShardQueries } from "./manifest_shards.ts";
import { ArchiveQueries } from "./manifest_archives.ts";
import { exportManifest, type ManifestExport } from "./manifest_export.ts";

/** Version of the schema this code writes; an older file is upgraded, a newer one refused. */
const SCHEMA_VERSION = 1;

// the run configuration's types and hash live with its schema; named here for older importers
export { configHash, type ConfigValue, type RunConfig } from "./run_config.ts";
// what a manifest's rows are, and its query objects' types, named with it
export {
  isSafeId,
  type StateCounts,
  type Step,
  type StepOutput,
  type StepRecord,
  STEPS,
  type StepState,
  type VideoRow,
  type VideoStatus,
} from "./manifest_rows.ts";
export { type VideoFilter, VideoQueries } from "./manifest_videos.ts";
export { StepQueries, type VideoStepRow } from "./manifest_steps.ts";
export { ShardQueries, type ShardRow } from "./manifest_shards.ts";
export { ArchiveQueries, type ArchiveRow } from "./manifest_archives.ts";
export type { ManifestExport } from "./manifest_export.ts";

/** The manifest connection's page cache, KiB (what it may keep in memory at most). */
const CACHE_KIB = 32 * 1024;

/** The per-video tables, clustered on their keys (see `#cluster`). */
const VIDEO_TABLES = `
CREATE TABLE IF NOT EXISTS videos (
  id TEXT PRIMARY KEY, split TEXT NOT NULL, label TEXT, youtube_id TEXT NOT NULL,
  time_start REAL NOT NULL, time_end REAL NOT NULL, source TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS videos_split ON videos(split);
CREATE TABLE IF NOT EXISTS steps (
  video_id TEXT NOT NULL REFERENCES videos(id), step TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending','done','failed')),
  error TEXT, path TEXT, frames INTEGER, sha256 TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (video_id, step)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS steps_state ON steps(step, state);
`;

/**
 * Every write to the videos or step records, by any writer (this code, an older kinembed, a
 * hand-run sqlite3), advances the counter `meta.changes`, so a step can tell in one read that
 * nothing it depends on changed since its last complete run (see `Manifest#changes`).
 */
const CHANGE_TRIGGERS = `
INSERT OR IGNORE INTO meta(key, value) VALUES ('changes', '0');
${
  ["videos", "steps"].flatMap((table) =>
    ["INSERT", "UPDATE", "DELETE"].map((op) =>
      `CREATE TRIGGER IF NOT EXISTS ${table}_${op.toLowerCase()}_counted AFTER ${op} ON ${table}
  BEGIN UPDATE meta SET value = value + 1 WHERE key = 'changes'; END;`
    )
  ).join("\n")
}
`;

const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
${VIDEO_TABLES}
CREATE TABLE IF NOT EXISTS shards (
  idx INTEGER PRIMARY KEY, split TEXT NOT NULL, file TEXT NOT NULL UNIQUE,
  samples INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, plan_hash TEXT
);
CREATE TABLE IF NOT EXISTS thumbnails (
  video_id TEXT PRIMARY KEY REFERENCES videos(id), path TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS archives (
  url TEXT PRIMARY KEY, state TEXT NOT NULL, bytes INTEGER, sha256 TEXT, error TEXT,
  updated_at TEXT NOT NULL
);
${CHANGE_TRIGGERS}
`;

/**
 * SQLite's words for a file that is not a database (garbage, another format) or one that is cut
 * short or damaged (a disk that filled mid-copy, a truncated transfer).
 */
const DAMAGED_DATABASE = /file is not a database|database disk image is malformed/;

/**
 * A manifest that SQLite cannot read, as one line naming the file and what to do; null for any
 * other error.
 */
function notAManifest(e: unknown, path: string): ConfigError | null {
  const message = e instanceof Error ? e.message : "";
  const reason = DAMAGED_DATABASE.exec(message);
  if (!reason) return null;
  return new ConfigError(
    `${path} is not a kinembed manifest (${reason[0]}); move it away and run download again, ` +
      "or restore it from a copy",
  );
}

/** Typed access to a work directory's `manifest.db`. */
export class Manifest {
  #c: ManifestConnection;
  #readOnly: boolean;
  /** Path of the database file. */
  readonly path: string;
  /** The videos: adding, staging, reading and counting them. */
  readonly videos: VideoQueries;
  /** The videos' records per step. */
  readonly steps: StepQueries;
  /** The shard rows, the id ranking a shard plan reads, and the shard step's run note. */
  readonly shards: ShardQueries;
  /** The archives download fetched. */
  readonly archives: ArchiveQueries;

  private constructor(path: string, db: DatabaseSync, readOnly: boolean) {
    this.path = path;
    this.#c = new ManifestConnection(path, db);
    this.#readOnly = readOnly;
    this.videos = new VideoQueries(this.#c);
    this.steps = new StepQueries(this.#c);
    this.shards = new ShardQueries(this.#c);
    this.archives = new ArchiveQueries(this.#c);
  }

  /**
   * Opens (creating when missing) a manifest database.
   * @param path the `manifest.db` file
   * @param opts `readOnly` opens an existing file without writing
   * @returns the open manifest
   * @example
   * ```ts
   * import { strictEqual } from "node:assert/strict";
   * import { join } from "node:path";
   * import { Manifest } from "./manifest.ts";
   * const work = await Deno.makeTempDir();
   * const m = Manifest.open(join(work, "manifest.db"));
   * m.applyConfig({ fps: 1 }, work);
   * strictEqual(m.config().fps, 1);
   * const v = { split: "train" as const, label: null, timeStart: 0, timeEnd: 10, source: null };
   * m.videos.add([{ ...v, id: "a", youtubeId: "a" }, { ...v, id: "b", youtubeId: "b" }]);
   * m.steps.markFailed("download", "b", "gone");
   * strictEqual(m.steps.counts("download").pending, 1);
   * m.close();
   * await Deno.remove(work, { recursive: true });
   * ```
   */
  static open(path: string, opts: { readOnly?: boolean } = {}): Manifest {
    try {
      const db = new DatabaseSync(path, { readOnly: opts.readOnly ?? false, timeout: 30_000 });
      // a bounded page cache a few times SQLite's 2 MB default: at 645k videos the manifest is
      // ~200 MB, and the steps' joins over all of it would otherwise read most pages twice
      db.exec(`PRAGMA cache_size = ${-CACHE_KIB}`);
      if (!opts.readOnly) {
        db.exec(
          "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        );
      }
      const m = new Manifest(path, db, opts.readOnly ?? false);
      if (!opts.readOnly) m.#migrate();
      else m.#checkVersion();
      return m;
    } catch (e) {
      throw notAManifest(e, path) ?? asDiskFull(e, path);
    }
  }

  #checkVersion(): number {
    const hasMeta = this.#c.db.prepare(
      "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'",
    ).get();
    if (!hasMeta) return 0;
    const row = this.#c.db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as
      | { value: string }
      | undefined;
    const v = row ? Number(row.value) : 0;
    if (v > SCHEMA_VERSION) {
      throw new ConfigError(
        `${this.path} has manifest schema ${v}; this kinembed understands up to ${SCHEMA_VERSION}`,
      );
    }
    return v;
  }

  #migrate(): void {
    this.#checkVersion();
    this.#cluster();
    this.#c.tx(() => {
      this.#c.db.exec(DDL);
      // files made before shards recorded their plan hash gain the column (null: rewrite once)
      const cols = this.#c.db.prepare("PRAGMA table_info(shards)").all() as { name: string }[];
      if (!cols.some((c) => c.name === "plan_hash")) {
        this.#c.db.exec("ALTER TABLE shards ADD COLUMN plan_hash TEXT");
      }
      this.#c.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)")
        .run(String(SCHEMA_VERSION));
      this.#relativizePaths();
    });
  }

  /**
   * Files made before the per-video tables were clustered keep `videos` and `steps` in insertion
   * order (rowid tables) beside a separate index on their keys, so every walk in id order (shard's
   * plan, a no-op rerun's checks) jumps between index and table pages. They are rebuilt once, in key
   * order, as `WITHOUT ROWID` tables with the same columns and constraints (the logical schema,
   * and so `schema_version`, is unchanged; an older kinembed reads the file as before).
   */
  #cluster(): void {
    const tables = this.#c.db.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('videos', 'steps')",
    ).all() as { name: string; sql: string }[];
    const rowid = tables.filter((t) => !/WITHOUT\s+ROWID\s*$/i.test(t.sql));
    if (rowid.length === 0) return;
    // sorting and copying ~2.5M rows goes faster with more pages at hand; back to the bound after
    this.#c.db.exec(
      `PRAGMA cache_size = ${-8 * CACHE_KIB}; PRAGMA foreign_keys = OFF; PRAGMA temp_store = FILE`,
    );
    try {
      this.#c.tx(() => {
        // rows go to the temp database first (a file of its own; VACUUM, which would give the
        // old pages back afterwards, attaches a database and Deno refuses that under the tasks'
        // permissions): the new tables then reuse the old ones' pages and the file does not grow
        this.#c.db.exec(`
          CREATE TEMP TABLE videos_sorted AS SELECT * FROM videos ORDER BY id;
          CREATE TEMP TABLE steps_sorted AS SELECT * FROM steps ORDER BY video_id, step;
          DROP INDEX IF EXISTS videos_split; DROP INDEX IF EXISTS steps_state;
          DROP TABLE steps; DROP TABLE videos;
          ${VIDEO_TABLES}
          INSERT INTO videos SELECT id, split, label, youtube_id, time_start, time_end, source
            FROM temp.videos_sorted ORDER BY rowid;
          INSERT INTO steps SELECT video_id, step, state, error, path, frames, sha256, updated_at
            FROM temp.steps_sorted ORDER BY rowid;
          DROP TABLE temp.videos_sorted; DROP TABLE temp.steps_sorted;`);
        const bad = this.#c.db.prepare("PRAGMA foreign_key_check(steps)").get();
        if (bad) {
          throw new ConfigError(
            `${this.path}: a step record names no video (${JSON.stringify(bad)})`,
          );
        }
      });
    } finally {
      this.#c.db.exec(`PRAGMA cache_size = ${-CACHE_KIB}; PRAGMA foreign_keys = ON`);
    }
  }

  /**
   * Files written before step outputs were stored relative to the work dir hold absolute paths,
   * which break once the work dir is moved, copied or reached through a symlink: each becomes
   * relative (`videos/...`, `frames/...`, `emb/...`) once, when a writer opens the file.
   */
  #relativizePaths(): void {
    const done = this.#c.db.prepare("SELECT value FROM meta WHERE key = 'step_paths'").get() as
      | { value: string }
      | undefined;
    if (done?.value === "relative") return;
    const update = this.#c.db.prepare("UPDATE steps SET path = ? WHERE video_id = ? AND step = ?");
    const rows = this.#c.db.prepare(
      "SELECT video_id, step, path FROM steps WHERE path LIKE '/%'",
    ).all() as { video_id: string; step: Step; path: string }[];
    for (const r of rows) {
      const rel = workRelative(r.path, r.step, this.#c.root);
      if (rel !== null) update.run(rel, r.video_id, r.step);
    }
    this.#c.db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('step_paths', 'relative')")
      .run();
  }

  /**
   * Closes the database. A writer leaves the file in rollback-journal mode, so that a read-only
   * opener (verify) finds no WAL to index and creates no `-wal`/`-shm` files beside it.
   */
  close(): void {
    if (!this.#c.db.isOpen) return;
    if (!this.#readOnly) {
      try {
        // fails (and is skipped) while another connection has the file open
        this.#c.db.exec("PRAGMA busy_timeout = 0; PRAGMA journal_mode = DELETE;");
      } catch { /* stays in WAL mode; the next writer uses it as it is */ }
    }
    this.#c.db.close();
  }

  /**
   * The stored run configuration.
   * @returns every key set so far
   */
  config(): RunConfig {
    const rows = this.#c.db.prepare("SELECT key, value FROM config ORDER BY key").all() as {
      key: string;
      value: string;
    }[];
    return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as ConfigValue]));
  }

  /**
   * Hash of the stored configuration.
   * @returns lowercase hex
   */
  configHash(): string {
    return configHash(this.config());
  }

  /**
   * How many writes the videos and step records have had, ever: equal values mean that nothing a
   * step reads from them changed in between (triggers count each row written, by any writer).
   * @returns the counter
   */
  changes(): number {
    const r = this.#c.stmt("SELECT value FROM meta WHERE key = 'changes'").get() as
      | { value: string }
      | undefined;
    return Number(r?.value ?? 0);
  }

  /**
   * Adds a step's settings to the run configuration, refusing any that contradict it.
   * Keys not stored yet are added; a key stored with another value throws `ConfigMismatchError`
   * naming every differing key, and nothing is written.
   * @param partial the step's settings
   * @param workDir named in the error message
   * @param volatile keys that may change between runs without mixing outputs (updated silently)
   */
  applyConfig(partial: RunConfig, workDir = this.path, volatile: string[] = []): void {
    this.#c.tx(() => {
      const stored = this.config();
      const diffs = Object.entries(partial)
        .filter(([k, v]) => k in stored && !volatile.includes(k) && stored[k] !== v)
        .map(([key, requested]) => ({ key, stored: stored[key], requested }));
      if (diffs.length > 0) throw new ConfigMismatchError(workDir, diffs);
      const put = this.#c.db.prepare("INSERT OR REPLACE INTO config(key, value) VALUES (?, ?)");
      for (const [k, v] of Object.entries(partial)) put.run(k, JSON.stringify(v));
    });
  }

  /**
   * Runs many writes as one transaction (100k single-row commits take minutes; one takes a
   * second). Nothing is written when `fn` throws.
   * @param fn the writes
   * @returns what `fn` returns
   */
  batch<T>(fn: () => T): T {
    return this.#c.tx(fn);
  }

  /**
   * Writes a complete copy of the database file, e.g. to put a worker's manifest where merge reads
   * it: the write-ahead log is checkpointed into the file first. The caller must hold the work
   * dir's lock, so that no other connection writes meanwhile.
   * @param path the copy (overwritten)
   * @throws ConfigError when another connection keeps the log from being checkpointed
   */
  copyTo(path: string): void {
    // not VACUUM INTO: it attaches a database, which Deno refuses without full permissions
    const r = this.#c.db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    if (Number(r.busy) !== 0) {
      throw new ConfigError(`${this.path} is in use by another connection; cannot copy it`);
    }
    Deno.copyFileSync(this.path, path);
  }

  /**
   * The readable export (`manifest.json`): config, per-split totals and shards.
   * @returns the export
   */
  export(): ManifestExport {
    return exportManifest(this.#c, SCHEMA_VERSION, this.config(), this.shards.all());
  }
}

/**
 * The work-dir-relative form of an absolute output path an older manifest stored: the path under
 * the current work dir, or the part from the step's folder on (`videos/<split>/...`,
 * `frames/<id>.npy`, `emb/<id>.npy`) when the work dir was moved; null when neither applies.
 */
function workRelative(path: string, step: Step, root: string): string | null {
  const rel = relative(root, path);
  if (rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)) return rel.split(sep).join("/");
  const pattern = step === "download"
    ? /\/(videos\/(?:train|val|test)\/.+)$/
    : step === "sample"
    ? /\/(frames\/[^/]+)$/
    : /\/(emb\/[^/]+)$/;
  // the leftmost match: a class folder named like a step folder comes after the split
  const m = pattern.exec(path);
  return m ? m[1] : null;
}
