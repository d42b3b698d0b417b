/**
 * Annotation rows staged in a temporary table on the manifest's connection, so that the download
 * step reads, checks, selects and records ~645k rows without holding them in memory: SQLite keeps
 * the table in a temp file behind a small page cache, and the step's questions (which videos does
 * this archive hold, which are still missing) are queries joined with the step records.
 * @module
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { Split } from "../base/mod.ts";
import type { Step, StepState, VideoRow } from "./manifest_rows.ts";

/** The temp table's page cache, KiB: what the staged rows may keep in memory at most. */
const TEMP_CACHE_KIB = 64 * 1024;

/** Ids per statement when a pick names them. */
const BATCH = 5000;

/** A duplicate row: the row, where it was read, and where its id was read first. */
export interface StagedDuplicate {
  /** The rejected row. */
  row: VideoRow;
  /** Its file. */
  file: string;
  /** Its line (null where the format has no lines). */
  line: number | null;
  /** `file:line` (or `file`) of the first row with the same id. */
  first: string;
}

/** How many picked videos of one split and class are in each state of a step. */
export interface ClassStates {
  /** The split. */
  split: Split;
  /** The class (null: unlabelled). */
  label: string | null;
  /** Picked videos in all. */
  picked: number;
  /** Of those, done, failed and pending (never tried, or put back) in the step. */
  states: Record<StepState, number>;
}

type Row = Record<string, SQLInputValue>;

/** The staged rows of one download run; the table goes away with the connection. */
export class StagedRows {
  #db: DatabaseSync;
  #resolve: (path: unknown) => string | null;
  #write: <T>(fn: () => T) => T;
  #diskFull: (e: unknown) => unknown;
  #statements = new Map<string, StatementSync>();
  #files: string[] = [];
  #fileIndex = new Map<string, number>();
  #onDuplicate: (d: StagedDuplicate) => void;
  #count = 0;
  /** Picked rows; null while every staged row is (nothing narrowed the pick yet). */
  #picked: number | null = null;
  #loading = false;

  /**
   * Use `Manifest#videos.stageRows`.
   * @param db the manifest's connection
   * @param hooks from the manifest: a stored output path made absolute; its transaction
   *   (deferred: the staged table is this connection's alone); an SQLite error made a
   *   `DiskFullError` naming the database, when it is one; and who is told of each row whose id
   *   was staged before
   */
  constructor(
    db: DatabaseSync,
    hooks: {
      resolve: (path: unknown) => string | null;
      write: <T>(fn: () => T) => T;
      diskFull: (e: unknown) => unknown;
      onDuplicate: (d: StagedDuplicate) => void;
    },
  ) {
    this.#db = db;
    this.#resolve = hooks.resolve;
    this.#write = hooks.write;
    this.#diskFull = hooks.diskFull;
    this.#onDuplicate = hooks.onDuplicate;
    // a temp file behind a bounded page cache, not memory: 645k rows are ~100 MB of table and
    // index, and SQLite's default 2 MB cache would page the id index in and out on every insert
    db.exec(`PRAGMA temp_store = FILE; PRAGMA temp.cache_size = ${-TEMP_CACHE_KIB}`);
    db.exec(`DROP TABLE IF EXISTS temp.staged;
      CREATE TEMP TABLE staged (
        id TEXT PRIMARY KEY, split TEXT NOT NULL, label TEXT, youtube_id TEXT NOT NULL,
        time_start REAL NOT NULL, time_end REAL NOT NULL, source TEXT,
        file INTEGER NOT NULL, line INTEGER, picked INTEGER NOT NULL DEFAULT 1
      ) WITHOUT ROWID;
      DROP TABLE IF EXISTS temp.rejected;
      CREATE TEMP TABLE rejected (id TEXT NOT NULL, split TEXT, label TEXT);`);
    // WITHOUT ROWID: the rows are kept in id order, so the table is its own id index (half the
    // size of a rowid table with a separate index on id)
  }

  /**
   * Stages rows in one transaction: `fill` adds them (it may await reads in between; nothing
   * else writes on this connection meanwhile), then the per-class index is built and all is
   * committed at once (a commit per row would write the temp file's dirty pages each time).
   * @param fill adds the rows with `add`
   */
  async load(fill: () => Promise<void>): Promise<void> {
    this.#db.exec("BEGIN");
    this.#loading = true;
    try {
      await fill();
      // built once, sorted, after the rows are in: cheaper than keeping it up on every insert
      this.#db.exec("CREATE INDEX IF NOT EXISTS temp.staged_class ON staged(split, label)");
      this.#db.exec("COMMIT");
    } catch (e) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* SQLite rolled back already */ }
      throw this.#diskFull(e);
    } finally {
      this.#loading = false;
    }
  }

  #stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (st === undefined) this.#statements.set(sql, st = this.#db.prepare(sql));
    return st;
  }

  /** Rows staged so far. */
  get size(): number {
    return this.#count;
  }

  /**
   * Stages a row; a row whose id is staged already goes to `onDuplicate` instead.
   * @param row the row
   * @param file where it was read
   * @param line its line there
   */
  add(row: VideoRow, file: string, line: number | null): void {
    let f = this.#fileIndex.get(file);
    if (f === undefined) {
      f = this.#files.push(file) - 1;
      this.#fileIndex.set(file, f);
    }
    const r = row;
    // one row a statement, its `changes` saying whether the id was new: a batched insert would
    // need a lookup of its ids first, which costs more
    const insert = () =>
      this.#stmt(
        `INSERT OR IGNORE INTO staged(id, split, label, youtube_id, time_start, time_end, source,
           file, line) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(r.id, r.split, r.label, r.youtubeId, r.timeStart, r.timeEnd, r.source, f, line).changes;
    if (Number(this.#loading ? insert() : this.#write(insert)) === 1) {
      this.#count++;
      return;
    }
    const first = this.#stmt("SELECT file, line FROM staged WHERE id = ?").get(r.id) as Row;
    const at = this.#files[Number(first.file)];
    this.#onDuplicate({
      row,
      file,
      line,
      first: first.line === null ? at : `${at}:${Number(first.line)}`,
    });
  }

  /**
   * Stages a rejected row's place in the subset's draw: it is drawn like any row (and, drawn,
   * takes its slot while nothing is downloaded for it), so fixing it later leaves the others'
   * picks as they were.
   * @param place the id, split (null: unreadable) and class the row would have
   */
  addRejected(place: { id: string; split: Split | null; label: string | null }): void {
    const insert = () =>
      this.#stmt("INSERT INTO rejected(id, split, label) VALUES (?, ?, ?)").run(
        place.id,
        place.split,
        place.label,
      );
    if (this.#loading) insert();
    else this.#write(insert);
  }

  /**
   * The distinct class names staged.
   * @returns the labels, sorted
   */
  labels(): string[] {
    return (this.#db.prepare(
      "SELECT DISTINCT label FROM staged WHERE label IS NOT NULL ORDER BY label",
    ).all() as Row[]).map((r) => String(r.label));
  }

  /**
   * Picks every row of these splits (all rows when absent), dropping any earlier pick. Rows are
   * staged picked, so picking all of them writes nothing.
   * @param splits the splits
   * @returns how many are picked
   */
  pickAll(splits?: readonly Split[]): number {
    if (this.#picked !== null) this.#write(() => this.#stmt("UPDATE staged SET picked = 1").run());
    this.#picked = null;
    if (splits !== undefined) {
      const dropped = this.#write(() =>
        this.#stmt(
          "UPDATE staged SET picked = 0 WHERE split NOT IN (SELECT value FROM json_each(?))",
        ).run(JSON.stringify(splits)).changes
      );
      this.#picked = this.#count - Number(dropped);
    }
    return this.pickedCount();
  }

  /**
   * The id, split and label of each row of these splits in id order, a row at a time (for a
   * subset drawn in memory from ids alone), with the rejected rows' places among them (`rejected`
   * true; one whose split cannot be read is drawn only when all splits are).
   * @param splits the splits (all when absent)
   * @returns an iterator of rows
   */
  *candidates(
    splits?: readonly Split[],
  ): IterableIterator<
    { id: string; split: Split | null; label: string | null; rejected: boolean }
  > {
    const where = splits === undefined ? "" : "WHERE split IN (SELECT value FROM json_each(?))";
    const args = splits === undefined ? [] : [JSON.stringify(splits)];
    // the rejected rows are few: merged in as the staged rows stream by in id order (ids are
    // ASCII, so JavaScript's order is SQLite's)
    const rejected = (this.#db.prepare(`SELECT id, split, label FROM rejected ${where} ORDER BY id`)
      .all(...args) as Row[]).map((r) => ({
        id: String(r.id),
        split: r.split as Split | null,
        label: r.label as string | null,
        rejected: true,
      }));
    let next = 0;
    const stmt = this.#db.prepare(`SELECT id, split, label FROM staged ${where} ORDER BY id`);
    for (const r of stmt.iterate(...args) as Iterable<Row>) {
      const id = String(r.id);
      while (next < rejected.length && rejected[next].id < id) yield rejected[next++];
      yield { id, split: r.split as Split, label: r.label as string | null, rejected: false };
    }
    while (next < rejected.length) yield rejected[next++];
  }

  /**
   * Picks exactly these ids, dropping any earlier pick.
   * @param ids the ids
   * @returns how many are picked
   */
  pickOnly(ids: Iterable<string>): number {
    this.#picked = 0;
    this.#write(() => {
      this.#stmt("UPDATE staged SET picked = 0").run();
      let part: string[] = [];
      const mark = () => {
        this.#picked! += Number(
          this.#stmt(
            "UPDATE staged SET picked = 1 WHERE id IN (SELECT value FROM json_each(?))",
          ).run(JSON.stringify(part)).changes,
        );
        part = [];
      };
      for (const id of ids) if (part.push(id) >= BATCH) mark();
      if (part.length > 0) mark();
    });
    return this.pickedCount();
  }

  /**
   * Keeps picked only the picked rows among these ids.
   * @param ids the ids to keep
   * @returns how many are picked
   */
  keepPicked(ids: ReadonlySet<string>): number {
    const picked = new Set<string>();
    for (
      const r of this.#db.prepare("SELECT id FROM staged WHERE picked = 1").iterate() as Iterable<
        Row
      >
    ) if (ids.has(String(r.id))) picked.add(String(r.id));
    return this.pickOnly(picked);
  }

  /**
   * How many rows are picked.
   * @returns the count
   */
  pickedCount(): number {
    return this.#picked ?? this.#count;
  }

  /**
   * Adds the picked rows to the manifest's videos; rows whose id is there already stay as they are.
   * @returns how many were new
   */
  addPickedToManifest(): number {
    return this.#write(() =>
      Number(
        this.#stmt(
          `INSERT OR IGNORE INTO main.videos(id, split, label, youtube_id, time_start, time_end,
             source)
           SELECT id, split, label, youtube_id, time_start, time_end, source FROM staged
           WHERE picked = 1 ORDER BY id`,
        ).run().changes,
      )
    );
  }

  /**
   * A staged row.
   * @param id its id
   * @returns the row and whether it is picked, or undefined when no row has this id
   */
  row(id: string): { row: VideoRow; picked: boolean } | undefined {
    const r = this.#stmt("SELECT * FROM staged WHERE id = ?").get(id) as Row | undefined;
    return r === undefined ? undefined : { row: toRow(r), picked: Number(r.picked) === 1 };
  }

  /**
   * Picked rows not done in a step, in id order after `after`, at most `limit` of them (a page of
   * work; the next page starts after the last id of this one).
   * @param step the step
   * @param after the last id of the previous page ("" for the first)
   * @param limit the page size
   * @returns the rows
   */
  undonePage(step: Step, after: string, limit: number): VideoRow[] {
    return (this.#stmt(
      `SELECT t.* FROM staged t LEFT JOIN main.steps s ON s.video_id = t.id AND s.step = ?
       WHERE t.picked = 1 AND t.id > ? AND COALESCE(s.state, 'pending') != 'done'
       ORDER BY t.id LIMIT ?`,
    ).all(step, after, limit) as Row[]).map(toRow);
  }

  /**
   * The picked rows per split and class, with their states in a step. The rows are walked in id
   * order (not by the class index), so the step records are looked up in their own order.
   * @param step the step
   * @returns one entry per (split, label) with picked rows
   */
  classStates(step: Step): ClassStates[] {
    const rows = this.#db.prepare(
      `SELECT t.split AS split, t.label AS label, COUNT(*) AS n,
         SUM(s.state = 'done') AS done, SUM(s.state = 'failed') AS failed
       FROM staged t NOT INDEXED LEFT JOIN main.steps s ON s.video_id = t.id AND s.step = ?
       WHERE t.picked = 1 GROUP BY t.split, t.label ORDER BY t.split, t.label`,
    ).all(step) as Row[];
    return rows.map((r) => {
      const n = Number(r.n);
      const done = Number(r.done ?? 0);
      const failed = Number(r.failed ?? 0);
      return {
        split: r.split as Split,
        label: r.label as string | null,
        picked: n,
        states: { done, failed, pending: n - done - failed },
      };
    });
  }

  /**
   * The output of each picked video a step has done, a row at a time.
   * @param step the step
   * @returns an iterator of id and absolute output path (null when dropped)
   */
  *doneOutputs(step: Step): IterableIterator<{ id: string; path: string | null }> {
    const stmt = this.#db.prepare(
      `SELECT s.video_id AS id, s.path AS path FROM main.steps s JOIN staged t ON t.id = s.video_id
       WHERE s.step = ? AND s.state = 'done' AND t.picked = 1`,
    );
    for (const r of stmt.iterate(step) as Iterable<Row>) {
      yield { id: String(r.id), path: this.#resolve(r.path) };
    }
  }

  /**
   * Records a step failed for the picked videos it has not done, with a reason per split and
   * class, in one statement that writes in id order (the step records' own order: 645k rows
   * written class by class would scatter over the whole index). Call inside the manifest's `batch`.
   * @param step the step
   * @param outcomes per split and class (null: unlabelled): the reason, and whether videos that
   *   failed before keep theirs
   * @returns how many were written
   */
  failUndone(
    step: Step,
    outcomes: Iterable<{ split: Split; label: string | null; error: string; keepFailed: boolean }>,
  ): number {
    this.#db.exec(`DROP TABLE IF EXISTS temp.outcomes;
      CREATE TEMP TABLE outcomes (split TEXT NOT NULL, label TEXT, error TEXT NOT NULL,
        keep_failed INTEGER NOT NULL)`);
    const add = this.#db.prepare("INSERT INTO outcomes VALUES (?, ?, ?, ?)");
    for (const o of outcomes) add.run(o.split, o.label, o.error, o.keepFailed ? 1 : 0);
    const written = this.#db.prepare(
      `INSERT OR REPLACE INTO main.steps(video_id, step, state, error, path, frames, sha256,
         updated_at)
       SELECT t.id, ?, 'failed', o.error, NULL, NULL, NULL, ? FROM staged t
       JOIN outcomes o ON o.split = t.split AND o.label IS t.label
       LEFT JOIN main.steps s ON s.video_id = t.id AND s.step = ?
       WHERE t.picked = 1 AND COALESCE(s.state, 'pending') != 'done'
         AND NOT (o.keep_failed AND COALESCE(s.state, 'pending') = 'failed')
       ORDER BY t.id`,
    ).run(step, new Date().toISOString(), step).changes;
    this.#db.exec("DROP TABLE temp.outcomes");
    return Number(written);
  }
}

function toRow(r: Row): VideoRow {
  return {
    id: String(r.id),
    split: r.split as Split,
    label: r.label as string | null,
    youtubeId: String(r.youtube_id),
    timeStart: Number(r.time_start),
    timeEnd: Number(r.time_end),
    source: r.source as string | null,
  };
}
