/**
 * The manifest: one SQLite database per work directory (`manifest.db`, WAL mode) holding the run
 * configuration and its hash, one row per video with a state per step, and one row per shard.
 * This is the only module that knows SQL.
 * @module
 */
import { type Split, SPLITS } from "./split.ts";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { asDiskFull, ConfigError, ConfigMismatchError } from "./errors.ts";
import { type StagedDuplicate, StagedRows } from "./staged_rows.ts";
import { configHash, type ConfigValue, type RunConfig } from "./run_config.ts";

/** Version of the schema this code writes; an older file is upgraded, a newer one refused. */
export const SCHEMA_VERSION = 1;

/** The per-video steps whose state the manifest tracks. */
export const STEPS = ["download", "sample", "encode"] as const;
/** A per-video step. */
export type Step = typeof STEPS[number];

/** Where a video stands in one step. */
export type StepState = "pending" | "done" | "failed";

// the run configuration's types and hash live with its schema; named here for older importers
export { configHash, type ConfigValue, type RunConfig } from "./run_config.ts";

/** One video of the dataset. */
export interface VideoRow {
  /** Unique id, safe as a file name: `<youtube_id>_<start:06d>_<end:06d>` for Kinetics. */
  id: string;
  /** Split the video belongs to. */
  split: Split;
  /** Class label (null where the annotations have none, e.g. Kinetics test). */
  label: string | null;
  /** YouTube id (or the file's stem for plain lists). */
  youtubeId: string;
  /** Segment start in seconds. */
  timeStart: number;
  /** Segment end in seconds. */
  timeEnd: number;
  /** Where the video comes from: an archive URL, an http(s) URL or a local path. */
  source: string | null;
}

/** A video's record in one step. */
export interface StepRecord {
  /** The video's id. */
  videoId: string;
  /** The step. */
  step: Step;
  /** Its state. */
  state: StepState;
  /** Why it failed (null unless failed). */
  error: string | null;
  /** The output file (absolute path) when done. */
  path: string | null;
  /** Frames in the output (sample, encode). */
  frames: number | null;
  /** SHA-256 of the output file. */
  sha256: string | null;
}

/** What a finished step records. */
export interface StepOutput {
  /** The output file; null when it was consumed and removed (frames after encoding). */
  path: string | null;
  /** Frames in it, where that applies. */
  frames?: number;
  /** SHA-256 of the file. */
  sha256?: string;
}

/** A video with its state in every step. */
export interface VideoStatus extends VideoRow {
  /** The video's record per step (absent: pending). */
  steps: Partial<Record<Step, StepRecord>>;
}

/** A video with its record in one step, as `videoSteps` streams them. */
export interface VideoStepRow extends VideoRow {
  /** Its state in the step (pending when the step never touched it). */
  state: StepState;
  /** The step's output file. */
  path: string | null;
  /** Frames in the output. */
  frames: number | null;
  /** SHA-256 of the output. */
  sha256: string | null;
  /** Whether some step failed for the video (looked at only when the step is not done: false). */
  anyFailed: boolean;
}

/** One WebDataset shard. */
export interface ShardRow {
  /** Global shard index (`ds_%06d.tar`). */
  index: number;
  /** The split its samples belong to. */
  split: Split;
  /** File name inside `shards/`. */
  file: string;
  /** Samples in the shard. */
  samples: number;
  /** Size in bytes. */
  bytes: number;
  /** SHA-256 of the tar. */
  sha256: string;
  /**
   * Hash of what the shard plan put in it (keys, videos, labels, inputs), so a rerun can tell a
   * shard of another plan from a current one. Absent on rows written before it was recorded.
   */
  planHash?: string | null;
}

/** A downloaded archive (or directly fetched file) and what became of it. */
export interface ArchiveRow {
  /** The URL it was fetched from. */
  url: string;
  /** `done` once fetched, checked and extracted. */
  state: StepState;
  /** Bytes of the archive. */
  bytes: number | null;
  /** SHA-256 of the archive. */
  sha256: string | null;
  /** Why it failed. */
  error: string | null;
}

/** Counts of a step's states. */
export type StateCounts = Record<StepState, number>;

/** The readable export written as `manifest.json`. */
export interface ManifestExport {
  /** Schema version of the manifest. */
  schemaVersion: number;
  /** The run configuration. */
  config: RunConfig;
  /** Its hash. */
  configHash: string;
  /** Videos per split, and per step how many are done or failed. */
  splits: Record<string, { videos: number } & Record<Step, StateCounts>>;
  /** Shard totals per split. */
  shardTotals: Record<string, { samples: number; tars: number }>;
  /** Every shard. */
  shards: ShardRow[];
}

/**
 * Is this string safe as a video id (and so as a file name)?
 * @param id the candidate
 * @returns true when it has only letters, digits, `_`, `-`, `.`, does not start with `.` and has
 *   at most 200 characters
 */
export function isSafeId(id: string): boolean {
  return /^[A-Za-z0-9_\-][A-Za-z0-9_\-.]{0,199}$/.test(id) && !id.includes("..");
}

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

type Row = Record<string, SQLInputValue>;

/** Which videos `Manifest#videos` returns. */
export interface VideoFilter {
  /** Only this split. */
  split?: Split;
  /** With `state` or `states`: the step whose state is looked at. */
  step?: Step;
  /** The step's state (pending includes videos the step never touched). */
  state?: StepState;
  /** Any of these states (as `state`). */
  states?: readonly StepState[];
  /** A step that must be done. */
  after?: Step;
  /** A step that must not have failed. */
  notFailed?: Step;
}

/** The WHERE terms of a video filter and their arguments. */
function videoWhere(filter: VideoFilter): { where: string[]; args: SQLInputValue[] } {
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  if (filter.split) {
    where.push("v.split = ?");
    args.push(filter.split);
  }
  const states = filter.states ?? (filter.state ? [filter.state] : []);
  if (filter.step && states.length > 0) {
    const terms = states.map((state) => {
      args.push(filter.step!);
      if (state === "pending") {
        return "NOT EXISTS (SELECT 1 FROM steps s WHERE s.video_id = v.id AND s.step = ? AND s.state != 'pending')";
      }
      args.push(state);
      return "EXISTS (SELECT 1 FROM steps s WHERE s.video_id = v.id AND s.step = ? AND s.state = ?)";
    });
    where.push(terms.length === 1 ? terms[0] : `(${terms.join(" OR ")})`);
  }
  if (filter.after) {
    where.push(
      "EXISTS (SELECT 1 FROM steps a WHERE a.video_id = v.id AND a.step = ? AND a.state = 'done')",
    );
    args.push(filter.after);
  }
  if (filter.notFailed) {
    where.push(
      "NOT EXISTS (SELECT 1 FROM steps f WHERE f.video_id = v.id AND f.step = ? AND f.state = 'failed')",
    );
    args.push(filter.notFailed);
  }
  return { where, args };
}

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
  #db: DatabaseSync;
  #readOnly: boolean;
  #statements = new Map<string, StatementSync>();
  /** Path of the database file. */
  readonly path: string;
  /** The work dir (the database's folder): step outputs are stored relative to it. */
  #root: string;

  private constructor(path: string, db: DatabaseSync, readOnly: boolean) {
    this.path = path;
    this.#root = dirname(resolve(path));
    this.#db = db;
    this.#readOnly = readOnly;
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
    const hasMeta = this.#db.prepare(
      "SELECT name FROM sqlite_master WHERE type='table' AND name='meta'",
    ).get();
    if (!hasMeta) return 0;
    const row = this.#db.prepare("SELECT value FROM meta WHERE key='schema_version'").get() as
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
    this.#tx(() => {
      this.#db.exec(DDL);
      // files made before shards recorded their plan hash gain the column (null: rewrite once)
      const cols = this.#db.prepare("PRAGMA table_info(shards)").all() as { name: string }[];
      if (!cols.some((c) => c.name === "plan_hash")) {
        this.#db.exec("ALTER TABLE shards ADD COLUMN plan_hash TEXT");
      }
      this.#db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)")
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
    const tables = this.#db.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN ('videos', 'steps')",
    ).all() as { name: string; sql: string }[];
    const rowid = tables.filter((t) => !/WITHOUT\s+ROWID\s*$/i.test(t.sql));
    if (rowid.length === 0) return;
    // sorting and copying ~2.5M rows goes faster with more pages at hand; back to the bound after
    this.#db.exec(
      `PRAGMA cache_size = ${-8 * CACHE_KIB}; PRAGMA foreign_keys = OFF; PRAGMA temp_store = FILE`,
    );
    try {
      this.#tx(() => {
        // rows go to the temp database first (a file of its own; VACUUM, which would give the
        // old pages back afterwards, attaches a database and Deno refuses that under the tasks'
        // permissions): the new tables then reuse the old ones' pages and the file does not grow
        this.#db.exec(`
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
        const bad = this.#db.prepare("PRAGMA foreign_key_check(steps)").get();
        if (bad) {
          throw new ConfigError(
            `${this.path}: a step record names no video (${JSON.stringify(bad)})`,
          );
        }
      });
    } finally {
      this.#db.exec(`PRAGMA cache_size = ${-CACHE_KIB}; PRAGMA foreign_keys = ON`);
    }
  }

  /**
   * Files written before step outputs were stored relative to the work dir hold absolute paths,
   * which break once the work dir is moved, copied or reached through a symlink: each becomes
   * relative (`videos/...`, `frames/...`, `emb/...`) once, when a writer opens the file.
   */
  #relativizePaths(): void {
    const done = this.#db.prepare("SELECT value FROM meta WHERE key = 'step_paths'").get() as
      | { value: string }
      | undefined;
    if (done?.value === "relative") return;
    const update = this.#db.prepare("UPDATE steps SET path = ? WHERE video_id = ? AND step = ?");
    const rows = this.#db.prepare(
      "SELECT video_id, step, path FROM steps WHERE path LIKE '/%'",
    ).all() as { video_id: string; step: Step; path: string }[];
    for (const r of rows) {
      const rel = workRelative(r.path, r.step, this.#root);
      if (rel !== null) update.run(rel, r.video_id, r.step);
    }
    this.#db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('step_paths', 'relative')")
      .run();
  }

  /** A step output's path as stored: relative when it lies inside the work dir. */
  #stored(path: string | null): string | null {
    if (path === null || !isAbsolute(path)) return path;
    const rel = relative(this.#root, path);
    return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)
      ? rel.split(sep).join("/")
      : path;
  }

  /** A stored path as a path to open: relative ones are under this manifest's work dir. */
  #resolved(path: unknown): string | null {
    if (path === null || path === undefined) return null;
    const p = String(path);
    return isAbsolute(p) ? p : join(this.#root, p);
  }

  #toStep(r: Row): StepRecord {
    return { ...toStep(r), path: this.#resolved(r.path) };
  }

  /**
   * A prepared statement, kept for reuse: preparing one per row of a 645k-row loop costs time and
   * native memory that is only freed on collection. Not for `iterate` (two live iterations of one
   * statement would clash).
   */
  #stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (st === undefined) {
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  /**
   * Runs `fn` as one transaction (IMMEDIATE: the write lock up front; DEFERRED for tables only
   * this connection sees). A full disk becomes a `DiskFullError` naming the database.
   */
  #tx<T>(fn: () => T, begin: "IMMEDIATE" | "DEFERRED" = "IMMEDIATE"): T {
    this.#db.exec(`BEGIN ${begin}`);
    try {
      const r = fn();
      this.#db.exec("COMMIT");
      return r;
    } catch (e) {
      // SQLite may have rolled back already (a full disk): that ROLLBACK error would hide this one
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* no transaction left to roll back */ }
      throw asDiskFull(e, this.path);
    }
  }

  /** Runs one write statement; a full disk becomes a `DiskFullError` naming the database. */
  #write(sql: string, ...args: SQLInputValue[]): { changes: number | bigint } {
    try {
      return this.#stmt(sql).run(...args);
    } catch (e) {
      throw asDiskFull(e, this.path);
    }
  }

  /**
   * Closes the database. A writer leaves the file in rollback-journal mode, so that a read-only
   * opener (verify) finds no WAL to index and creates no `-wal`/`-shm` files beside it.
   */
  close(): void {
    if (!this.#db.isOpen) return;
    if (!this.#readOnly) {
      try {
        // fails (and is skipped) while another connection has the file open
        this.#db.exec("PRAGMA busy_timeout = 0; PRAGMA journal_mode = DELETE;");
      } catch { /* stays in WAL mode; the next writer uses it as it is */ }
    }
    this.#db.close();
  }

  /**
   * The stored run configuration.
   * @returns every key set so far
   */
  config(): RunConfig {
    const rows = this.#db.prepare("SELECT key, value FROM config ORDER BY key").all() as {
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
    const r = this.#stmt("SELECT value FROM meta WHERE key = 'changes'").get() as
      | { value: string }
      | undefined;
    return Number(r?.value ?? 0);
  }

  /**
   * What a step noted for its next run (see `setMemo`).
   * @param key the note's name
   * @returns its value, or null when none is kept
   */
  memo(key: string): string | null {
    const r = this.#stmt("SELECT value FROM meta WHERE key = ?").get(`memo:${key}`) as
      | { value: string }
      | undefined;
    return r ? r.value : null;
  }

  /**
   * Keeps (or, given null, forgets) a note for a step's next run, e.g. what its last complete
   * run saw.
   * @param key the note's name
   * @param value its value
   */
  setMemo(key: string, value: string | null): void {
    if (value === null) this.#write("DELETE FROM meta WHERE key = ?", `memo:${key}`);
    else this.#write("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", `memo:${key}`, value);
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
    this.#tx(() => {
      const stored = this.config();
      const diffs = Object.entries(partial)
        .filter(([k, v]) => k in stored && !volatile.includes(k) && stored[k] !== v)
        .map(([key, requested]) => ({ key, stored: stored[key], requested }));
      if (diffs.length > 0) throw new ConfigMismatchError(workDir, diffs);
      const put = this.#db.prepare("INSERT OR REPLACE INTO config(key, value) VALUES (?, ?)");
      for (const [k, v] of Object.entries(partial)) put.run(k, JSON.stringify(v));
    });
  }

  /**
   * Adds videos; rows whose id exists already are left as they are.
   * @param rows the videos
   * @returns how many were new
   */
  addVideos(rows: VideoRow[]): number {
    return this.#tx(() => {
      // 500 rows a statement: 645k single-row inserts leave 645k result objects behind
      const batch = 500;
      const values = "(?, ?, ?, ?, ?, ?, ?)";
      const sql = (n: number) =>
        `INSERT OR IGNORE INTO videos(id, split, label, youtube_id, time_start, time_end, source)
         VALUES ${Array(n).fill(values).join(", ")}`;
      let added = 0;
      for (let at = 0; at < rows.length; at += batch) {
        const part = rows.slice(at, at + batch);
        const args: SQLInputValue[] = [];
        for (const r of part) {
          if (!isSafeId(r.id)) throw new ConfigError(`unsafe video id ${JSON.stringify(r.id)}`);
          args.push(r.id, r.split, r.label, r.youtubeId, r.timeStart, r.timeEnd, r.source);
        }
        added += Number(this.#stmt(sql(part.length)).run(...args).changes);
      }
      return added;
    });
  }

  /**
   * A temporary table of annotation rows on this connection (see `StagedRows`): the download
   * step reads, checks and selects 645k rows there instead of in memory. It goes away on close.
   * @param onDuplicate told of each row whose id was staged before
   * @returns the staged rows, empty
   */
  stageRows(onDuplicate: (d: StagedDuplicate) => void): StagedRows {
    return new StagedRows(this.#db, {
      resolve: (p) => this.#resolved(p),
      write: (fn) => this.#tx(fn, "DEFERRED"),
      diskFull: (e) => asDiskFull(e, this.path),
      onDuplicate,
    });
  }

  /**
   * Records that a step failed for many videos with one reason, a few hundred rows a statement
   * (download marking 645k videos that no archive holds). Call inside `batch` for one transaction.
   * @param step the step
   * @param ids the videos
   * @param error why, in one line
   */
  markFailedMany(step: Step, ids: readonly string[], error: string): void {
    const now = new Date().toISOString();
    const size = 500;
    for (let at = 0; at < ids.length; at += size) {
      const part = ids.slice(at, at + size);
      this.#write(
        `INSERT OR REPLACE INTO steps(video_id, step, state, error, path, frames, sha256, updated_at)
         SELECT id, ?, 'failed', ?, NULL, NULL, NULL, ? FROM videos
         WHERE id IN (${Array(part.length).fill("?").join(", ")})`,
        step,
        error,
        now,
        ...part,
      );
    }
  }

  /**
   * One video.
   * @param id its id
   * @returns the row with its step records, or undefined
   */
  video(id: string): VideoStatus | undefined {
    const r = this.#stmt("SELECT * FROM videos WHERE id = ?").get(id) as Row | undefined;
    if (!r) return undefined;
    const v = toVideo(r);
    const steps = this.#stmt("SELECT * FROM steps WHERE video_id = ?").all(id) as Row[];
    return { ...v, steps: Object.fromEntries(steps.map((s) => [s.step, this.#toStep(s)])) };
  }

  /**
   * Videos, in id order, optionally of one split and filtered by a step's state.
   * @param filter see {@linkcode VideoFilter}
   * @returns the matching videos with their step records
   */
  videos(filter: VideoFilter = {}): VideoStatus[] {
    return Array.from(this.eachVideo(filter));
  }

  /**
   * Like `videos`, a page of rows at a time, so that a step walking 645k videos never holds them
   * all. Safe to write between pages: the next page starts after the last id seen.
   * @param filter see {@linkcode VideoFilter}
   * @param pageSize rows read per query
   * @returns an iterator of the matching videos with their step records, in id order
   */
  *eachVideo(filter: VideoFilter = {}, pageSize = 1000): IterableIterator<VideoStatus> {
    const { where, args } = videoWhere(filter);
    const page = this.#db.prepare(
      `SELECT v.* FROM videos v WHERE ${[...where, "v.id > ?"].join(" AND ")}
       ORDER BY v.id LIMIT ?`,
    );
    const steps = this.#db.prepare(
      "SELECT * FROM steps WHERE video_id IN (SELECT value FROM json_each(?))",
    );
    for (let after = "";;) {
      const rows = page.all(...args, after, pageSize) as Row[];
      if (rows.length === 0) return;
      after = String(rows[rows.length - 1].id);
      const byVideo = new Map<string, Partial<Record<Step, StepRecord>>>();
      for (const s of steps.all(JSON.stringify(rows.map((r) => r.id))) as Row[]) {
        const rec = this.#toStep(s);
        const m = byVideo.get(rec.videoId) ?? {};
        m[rec.step] = rec;
        byVideo.set(rec.videoId, m);
      }
      for (const r of rows) {
        const v = toVideo(r);
        yield { ...v, steps: byVideo.get(v.id) ?? {} };
      }
      if (rows.length < pageSize) return;
    }
  }

  /**
   * How many videos `videos(filter)` would return.
   * @param filter see {@linkcode VideoFilter}
   * @returns the count
   */
  countVideos(filter: VideoFilter = {}): number {
    const { where, args } = videoWhere(filter);
    const sql = `SELECT COUNT(*) AS n FROM videos v ${
      where.length ? "WHERE " + where.join(" AND ") : ""
    }`;
    return Number((this.#db.prepare(sql).get(...args) as Row).n);
  }

  /**
   * Records that a step finished for a video. Call only after its output is complete and renamed
   * into place.
   * @param step the step
   * @param videoId the video
   * @param out the output file, its frame count and sha256
   */
  markDone(step: Step, videoId: string, out: StepOutput): void {
    this.#setStep(step, videoId, "done", null, out);
  }

  /**
   * Records that a step failed for a video.
   * @param step the step
   * @param videoId the video
   * @param error why, in one line
   */
  markFailed(step: Step, videoId: string, error: string): void {
    this.#setStep(step, videoId, "failed", error, undefined);
  }

  /**
   * Records a video's thumbnail (`sample --thumbnails`), replacing an earlier one.
   * @param videoId the video
   * @param path the JPEG
   */
  setThumbnail(videoId: string, path: string): void {
    this.#write(
      "INSERT OR REPLACE INTO thumbnails(video_id, path) VALUES (?, ?)",
      videoId,
      this.#stored(path),
    );
  }

  /**
   * How many sampled videos have no thumbnail (sampled before `--thumbnails` was asked for).
   * @returns the count
   */
  countWithoutThumbnail(): number {
    const row = this.#stmt(
      "SELECT count(*) AS n FROM steps s WHERE s.step = 'sample' AND s.state = 'done' AND " +
        "NOT EXISTS (SELECT 1 FROM thumbnails t WHERE t.video_id = s.video_id)",
    ).get() as Row;
    return Number(row.n);
  }

  /**
   * A video's thumbnail, when sample made one.
   * @param videoId the video
   * @returns the JPEG's path, or null
   */
  thumbnail(videoId: string): string | null {
    const row = this.#stmt("SELECT path FROM thumbnails WHERE video_id = ?").get(videoId);
    return this.#resolved((row as Row | undefined)?.path);
  }

  /**
   * Records that a done step's output file was removed on purpose (frames after encoding): the
   * state, frame count and sha256 stay, the path becomes null.
   * @param step the step
   * @param videoId the video
   */
  dropOutput(step: Step, videoId: string): void {
    this.#write("UPDATE steps SET path = NULL WHERE video_id = ? AND step = ?", videoId, step);
  }

  /**
   * Puts a video back to pending in a step (its output went missing, or a retry was asked).
   * @param step the step
   * @param videoId the video
   */
  markPending(step: Step, videoId: string): void {
    this.#write("DELETE FROM steps WHERE video_id = ? AND step = ?", videoId, step);
  }

  #setStep(step: Step, id: string, state: StepState, error: string | null, out?: StepOutput) {
    const res = this.#write(
      `INSERT OR REPLACE INTO steps(video_id, step, state, error, path, frames, sha256, updated_at)
       SELECT id, ?, ?, ?, ?, ?, ?, ? FROM videos WHERE id = ?`,
      step,
      state,
      error,
      this.#stored(out?.path ?? null),
      out?.frames ?? null,
      out?.sha256 ?? null,
      new Date().toISOString(),
      id,
    );
    if (Number(res.changes) === 0) {
      throw new ConfigError(`no video ${JSON.stringify(id)} in ${this.path}`);
    }
  }

  /**
   * Counts of a step's states, optionally per split.
   * @param step the step
   * @param split only this split
   * @returns pending, done and failed counts
   */
  counts(step: Step, split?: Split): StateCounts {
    // from the step's records (the (step, state) index) and the video count: no join over every
    // video, which a no-op rerun would otherwise pay several times at 645k videos
    const videos = split
      ? this.#stmt("SELECT COUNT(*) AS n FROM videos WHERE split = ?").get(split)
      : this.#stmt("SELECT COUNT(*) AS n FROM videos").get();
    const rows = split
      ? this.#stmt(
        `SELECT s.state AS state, COUNT(*) AS n FROM steps s JOIN videos v ON v.id = s.video_id
         WHERE s.step = ? AND v.split = ? GROUP BY s.state`,
      ).all(step, split)
      : this.#stmt("SELECT state, COUNT(*) AS n FROM steps WHERE step = ? GROUP BY state").all(
        step,
      );
    return stateCounts(Number((videos as Row).n), rows as { state: StepState; n: number }[]);
  }

  /**
   * The failures of a step.
   * @param step the step
   * @returns id, split and error of each failed video, in id order
   */
  failures(step: Step): { id: string; split: Split; error: string }[] {
    return (this.#db.prepare(
      `SELECT s.video_id AS id, v.split AS split, s.error AS error FROM steps s
       JOIN videos v ON v.id = s.video_id
       WHERE s.step = ? AND s.state = 'failed' ORDER BY s.video_id`,
    ).all(step) as { id: string; split: Split; error: string }[]).map((r) => ({
      id: r.id,
      split: r.split,
      error: r.error,
    }));
  }

  /**
   * The failures of a step a row at a time, in id order (for lists of any length).
   * @param step the step
   * @returns an iterator of id, split and error
   */
  *failedRecords(step: Step): IterableIterator<{ id: string; split: Split; error: string }> {
    const stmt = this.#db.prepare(
      `SELECT s.video_id AS id, v.split AS split, s.error AS error FROM steps s
       JOIN videos v ON v.id = s.video_id
       WHERE s.step = ? AND s.state = 'failed' ORDER BY s.video_id`,
    );
    for (const r of stmt.iterate(step) as Iterable<{ id: string; split: Split; error: string }>) {
      yield { id: r.id, split: r.split, error: r.error };
    }
  }

  /**
   * Each video's state in a step that has touched it (videos it never touched are pending and
   * absent), read in one query.
   * @param step the step
   * @param keyOf the key to keep for an id, or undefined to leave the video out; given the
   *   caller's own id strings, 645k rows do not hold a second copy of each id
   * @returns state by video id
   */
  stepStates(
    step: Step,
    keyOf: (id: string) => string | undefined = (id) => id,
  ): Map<string, StepState> {
    const out = new Map<string, StepState>();
    const stmt = this.#db.prepare("SELECT video_id, state FROM steps WHERE step = ?");
    for (const r of stmt.iterate(step) as Iterable<{ video_id: string; state: StepState }>) {
      if (r.state === "pending") continue;
      const key = keyOf(r.video_id);
      // the literals, not the strings SQLite made for each row
      if (key !== undefined) out.set(key, r.state === "done" ? "done" : "failed");
    }
    return out;
  }

  /**
   * Runs many writes as one transaction (100k single-row commits take minutes; one takes a
   * second). Nothing is written when `fn` throws.
   * @param fn the writes
   * @returns what `fn` returns
   */
  batch<T>(fn: () => T): T {
    return this.#tx(fn);
  }

  /**
   * Streams videos in id order with their record in one step, a row at a time, so a step that
   * walks the whole dataset (shard) does not hold all rows in memory at once.
   * @param step the step
   * @param ids only these videos (default: every video)
   * @returns an iterator of rows
   */
  *videoSteps(step: Step, ids?: readonly string[]): IterableIterator<VideoStepRow> {
    const stmt = this.#db.prepare(
      `SELECT v.*, s.state AS step_state, s.path AS step_path, s.frames AS step_frames,
         s.sha256 AS step_sha256, CASE WHEN s.state = 'done' THEN 0 ELSE
           EXISTS (SELECT 1 FROM steps f WHERE f.video_id = v.id AND f.state = 'failed') END
           AS any_failed
       FROM videos v LEFT JOIN steps s ON s.video_id = v.id AND s.step = ?
       ${ids ? "WHERE v.id IN (SELECT value FROM json_each(?))" : ""} ORDER BY v.id`,
    );
    const args: SQLInputValue[] = ids ? [step, JSON.stringify(ids)] : [step];
    for (const r of stmt.iterate(...args) as Iterable<Row>) {
      yield {
        ...toVideo(r),
        state: (r.step_state ?? "pending") as StepState,
        path: this.#resolved(r.step_path),
        frames: r.step_frames === null ? null : Number(r.step_frames),
        sha256: r.step_sha256 === null ? null : String(r.step_sha256),
        anyFailed: Number(r.any_failed) !== 0,
      };
    }
  }

  /**
   * Numbers the videos of each split in id order in a temporary table on this connection (a file
   * behind a bounded cache, gone on close), so that a shard plan over 645k videos looks ids up by
   * rank instead of holding them. A second call replaces the numbering.
   * @param doneIn only the videos this step has done; absent: every video
   * @returns per split the count, and the ids at given 0-based ranks, in the order given
   */
  rankIds(doneIn?: Step): {
    counts: Record<Split, number>;
    idsAt(split: Split, ranks: Uint32Array): string[];
  } {
    this.#db.exec(`PRAGMA temp_store = FILE; DROP TABLE IF EXISTS temp.ranked_ids;
      CREATE TEMP TABLE ranked_ids (
        split TEXT NOT NULL, rank INTEGER NOT NULL, id TEXT NOT NULL, PRIMARY KEY (split, rank)
      ) WITHOUT ROWID;`);
    const done = doneIn
      ? "WHERE EXISTS (SELECT 1 FROM steps s WHERE s.video_id = v.id AND s.step = ? AND s.state = 'done')"
      : "";
    this.#tx(() =>
      this.#db.prepare(
        `INSERT INTO temp.ranked_ids
         SELECT v.split, ROW_NUMBER() OVER (PARTITION BY v.split ORDER BY v.id) - 1, v.id
         FROM videos v ${done}`,
      ).run(...(doneIn ? [doneIn] : [])), "DEFERRED");
    const counts = Object.fromEntries(SPLITS.map((s) => [s, 0])) as Record<Split, number>;
    const rows = this.#db.prepare(
      "SELECT split, COUNT(*) AS n FROM temp.ranked_ids GROUP BY split",
    ).all() as { split: Split; n: number }[];
    for (const r of rows) counts[r.split] = Number(r.n);
    const lookup = this.#db.prepare(
      `SELECT rank, id FROM temp.ranked_ids
       WHERE split = ? AND rank IN (SELECT value FROM json_each(?))`,
    );
    return {
      counts,
      idsAt: (split, ranks) => {
        const byRank = new Map<number, string>();
        const found = lookup.all(split, JSON.stringify(Array.from(ranks))) as Row[];
        for (const r of found) byRank.set(Number(r.rank), String(r.id));
        return Array.from(ranks, (rank) => byRank.get(rank)!);
      },
    };
  }

  /**
   * Per split, the videos a step has not done, told apart by whether some step failed for them.
   * @param step the step
   * @returns per split: failed (some step failed) and pending (nothing failed yet)
   */
  notDone(step: Step): Record<Split, { failed: number; pending: number }> {
    const out = Object.fromEntries(SPLITS.map((s) => [s, { failed: 0, pending: 0 }])) as Record<
      Split,
      { failed: number; pending: number }
    >;
    const rows = this.#db.prepare(
      `SELECT v.split AS split, COUNT(*) AS n,
         EXISTS (SELECT 1 FROM steps f WHERE f.video_id = v.id AND f.state = 'failed') AS failed
       FROM videos v LEFT JOIN steps s ON s.video_id = v.id AND s.step = ?
       WHERE s.state IS NULL OR s.state != 'done' GROUP BY 1, 3`,
    ).all(step) as { split: Split; n: number; failed: number }[];
    for (const r of rows) out[r.split][Number(r.failed) ? "failed" : "pending"] += Number(r.n);
    return out;
  }

  /**
   * The files each encoded video's records name, a row at a time in id order (a no-op rerun
   * checks 645k of them before encoding).
   * @returns an iterator of id, the embeddings file and the kept frames file (null when dropped)
   */
  *encodedFiles(): IterableIterator<{ id: string; emb: string | null; frames: string | null }> {
    const stmt = this.#db.prepare(
      `SELECT e.video_id AS id, e.path AS emb, f.path AS frames FROM steps e
       LEFT JOIN steps f ON f.video_id = e.video_id AND f.step = 'sample'
       WHERE e.step = 'encode' AND e.state = 'done' ORDER BY e.video_id`,
    );
    for (const r of stmt.iterate() as Iterable<Row>) {
      yield { id: String(r.id), emb: this.#resolved(r.emb), frames: this.#resolved(r.frames) };
    }
  }

  /**
   * The output path of every video a step has done, a row at a time, straight from the step
   * records (no join: a no-op rerun checks 645k files this way).
   * @param step the step
   * @returns an iterator of video id and output path (null when the output was dropped)
   */
  *doneOutputs(step: Step): IterableIterator<{ id: string; path: string | null }> {
    const stmt = this.#db.prepare(
      "SELECT video_id, path FROM steps WHERE step = ? AND state = 'done'",
    );
    for (const r of stmt.iterate(step) as Iterable<{ video_id: string; path: string | null }>) {
      yield { id: r.video_id, path: this.#resolved(r.path) };
    }
  }

  /**
   * Every step record, in video id then step order, a row at a time (merge copies a worker's).
   * @returns an iterator of records
   */
  *stepRecords(): IterableIterator<StepRecord> {
    const stmt = this.#db.prepare("SELECT * FROM steps ORDER BY video_id, step");
    for (const r of stmt.iterate() as Iterable<Row>) yield this.#toStep(r);
  }

  /**
   * Writes step records as they are, in one transaction (merge copying a worker's records).
   * @param records the records; each one's video must be in this manifest
   * @returns how many were written
   */
  putStepRecords(records: Iterable<StepRecord>): number {
    return this.#tx(() => {
      let n = 0;
      for (const r of records) {
        this.#setStep(r.step, r.videoId, r.state, r.error, {
          path: r.path,
          frames: r.frames ?? undefined,
          sha256: r.sha256 ?? undefined,
        });
        n++;
      }
      return n;
    });
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
    const r = this.#db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    if (Number(r.busy) !== 0) {
      throw new ConfigError(`${this.path} is in use by another connection; cannot copy it`);
    }
    Deno.copyFileSync(this.path, path);
  }

  /**
   * Records a finished shard (replacing a row with the same index).
   * @param row the shard
   */
  putShard(row: ShardRow): void {
    this.#write(
      `INSERT OR REPLACE INTO shards(idx, split, file, samples, bytes, sha256, plan_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      row.index,
      row.split,
      row.file,
      row.samples,
      row.bytes,
      row.sha256,
      row.planHash ?? null,
    );
  }

  /**
   * Replaces every shard row at once (a new shard plan).
   * @param rows the shards
   */
  replaceShards(rows: ShardRow[]): void {
    this.#tx(() => {
      this.#db.exec("DELETE FROM shards");
      for (const r of rows) this.putShard(r);
    });
  }

  /**
   * The recorded shards in index order.
   * @returns every shard row
   */
  shards(): ShardRow[] {
    return (this.#db.prepare("SELECT * FROM shards ORDER BY idx").all() as Row[]).map((r) => ({
      index: Number(r.idx),
      split: r.split as Split,
      file: String(r.file),
      samples: Number(r.samples),
      bytes: Number(r.bytes),
      sha256: String(r.sha256),
      planHash: r.plan_hash === null || r.plan_hash === undefined ? null : String(r.plan_hash),
    }));
  }

  /**
   * A downloaded archive's record.
   * @param url the archive's URL
   * @returns its row, or undefined when never tried
   */
  archive(url: string): ArchiveRow | undefined {
    const r = this.#stmt("SELECT * FROM archives WHERE url = ?").get(url) as Row | undefined;
    return r
      ? {
        url: String(r.url),
        state: r.state as StepState,
        bytes: r.bytes === null ? null : Number(r.bytes),
        sha256: r.sha256 === null ? null : String(r.sha256),
        error: r.error === null ? null : String(r.error),
      }
      : undefined;
  }

  /**
   * Records an archive's outcome.
   * @param row the archive
   */
  putArchive(row: ArchiveRow): void {
    this.#write(
      `INSERT OR REPLACE INTO archives(url, state, bytes, sha256, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      row.url,
      row.state,
      row.bytes,
      row.sha256,
      row.error,
      new Date().toISOString(),
    );
  }

  /**
   * Every archive's record.
   * @returns the rows in URL order
   */
  archives(): ArchiveRow[] {
    return (this.#db.prepare("SELECT url FROM archives ORDER BY url").all() as { url: string }[])
      .map((r) => this.archive(r.url)!);
  }

  /**
   * The readable export (`manifest.json`): config, per-split totals and shards.
   * @returns the export
   */
  export(): ManifestExport {
    const splits: ManifestExport["splits"] = {};
    const rows = this.#db.prepare(
      "SELECT split, COUNT(*) AS n FROM videos GROUP BY split ORDER BY split",
    )
      .all() as { split: Split; n: number }[];
    // the records of every split but the largest by a join over their videos; the largest's are
    // what the (step, state) index counts beyond those (at 645k videos: ~0.5 s, not 3 s of join)
    type Tally = { split: Split; step: Step; state: StepState; n: number };
    const largest = rows.reduce<{ split: Split; n: number } | null>(
      (a, r) => (a === null || Number(r.n) > Number(a.n) ? r : a),
      null,
    );
    const bySplit = this.#db.prepare(
      `SELECT s.step AS step, s.state AS state, COUNT(*) AS n FROM videos v
       JOIN steps s ON s.video_id = v.id WHERE v.split = ? GROUP BY 1, 2`,
    );
    const records: Tally[] = [];
    for (const r of rows) {
      if (r === largest) continue;
      for (const c of bySplit.all(r.split) as Omit<Tally, "split">[]) {
        records.push({ ...c, split: r.split });
      }
    }
    if (largest) {
      const all = this.#db.prepare(
        "SELECT step, state, COUNT(*) AS n FROM steps GROUP BY 1, 2",
      ).all() as Omit<Tally, "split">[];
      for (const c of all) {
        const others = records.filter((o) => o.step === c.step && o.state === c.state)
          .reduce((a, o) => a + Number(o.n), 0);
        records.push({ ...c, split: largest.split, n: Number(c.n) - others });
      }
    }
    for (const r of rows) {
      const of = (step: Step) =>
        stateCounts(Number(r.n), records.filter((c) => c.split === r.split && c.step === step));
      splits[r.split] = {
        videos: Number(r.n),
        download: of("download"),
        sample: of("sample"),
        encode: of("encode"),
      };
    }
    const shards = this.shards();
    const shardTotals: ManifestExport["shardTotals"] = {};
    for (const s of shards) {
      const t = shardTotals[s.split] ??= { samples: 0, tars: 0 };
      t.samples += s.samples;
      t.tars += 1;
    }
    const config = this.config();
    return {
      schemaVersion: SCHEMA_VERSION,
      config,
      configHash: configHash(config),
      splits,
      shardTotals,
      shards,
    };
  }
}

/** A step's state counts from its records' counts: videos it never touched are pending. */
function stateCounts(videos: number, records: { state: StepState; n: number }[]): StateCounts {
  const out: StateCounts = { pending: 0, done: 0, failed: 0 };
  for (const r of records) if (r.state !== "pending") out[r.state] += Number(r.n);
  out.pending = videos - out.done - out.failed;
  return out;
}

function toVideo(r: Row): VideoRow {
  return {
    id: String(r.id),
    split: r.split as Split,
    label: r.label === null ? null : String(r.label),
    youtubeId: String(r.youtube_id),
    timeStart: Number(r.time_start),
    timeEnd: Number(r.time_end),
    source: r.source === null ? null : String(r.source),
  };
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

function toStep(r: Row): StepRecord {
  return {
    videoId: String(r.video_id),
    step: r.step as Step,
    state: r.state as StepState,
    error: r.error === null ? null : String(r.error),
    path: r.path === null ? null : String(r.path),
    frames: r.frames === null ? null : Number(r.frames),
    sha256: r.sha256 === null ? null : String(r.sha256),
  };
}
