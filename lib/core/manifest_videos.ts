/**
 * The manifest's videos: adding them (refusing unsafe ids), staging annotation rows for download,
 * and reading them back one, all, a page at a time or as a count, filtered by split and step state.
 * @module
 */
import type { SQLInputValue } from "node:sqlite";
import type { Split } from "../base/mod.ts";
import { asDiskFull, ConfigError } from "../base/mod.ts";
import { type StagedDuplicate, StagedRows } from "./staged_rows.ts";
import type { ManifestConnection, Row } from "./manifest_connection.ts";
import {
  isSafeId,
  type Step,
  type StepRecord,
  type StepState,
  toStep,
  toVideo,
  type VideoRow,
  type VideoStatus,
} from "./manifest_rows.ts";

/** Which videos `VideoQueries#list` returns. */
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

/** The videos of a manifest: adding, staging, reading and counting them. */
export class VideoQueries {
  #c: ManifestConnection;

  /**
   * Queries on an open manifest; use `Manifest#videos`.
   * @param c the manifest's connection
   */
  constructor(c: ManifestConnection) {
    this.#c = c;
  }

  /**
   * Adds videos; rows whose id exists already are left as they are.
   * @param rows the videos
   * @returns how many were new
   */
  add(rows: VideoRow[]): number {
    return this.#c.tx(() => {
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
        added += Number(this.#c.stmt(sql(part.length)).run(...args).changes);
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
    return new StagedRows(this.#c.db, {
      resolve: (p) => this.#c.resolved(p),
      write: (fn) => this.#c.tx(fn, "DEFERRED"),
      diskFull: (e) => asDiskFull(e, this.#c.path),
      onDuplicate,
    });
  }

  /**
   * One video.
   * @param id its id
   * @returns the row with its step records, or undefined
   */
  get(id: string): VideoStatus | undefined {
    const r = this.#c.stmt("SELECT * FROM videos WHERE id = ?").get(id) as Row | undefined;
    if (!r) return undefined;
    const v = toVideo(r);
    const steps = this.#c.stmt("SELECT * FROM steps WHERE video_id = ?").all(id) as Row[];
    return { ...v, steps: Object.fromEntries(steps.map((s) => [s.step, this.#record(s)])) };
  }

  /**
   * Videos, in id order, optionally of one split and filtered by a step's state.
   * @param filter see {@linkcode VideoFilter}
   * @returns the matching videos with their step records
   */
  list(filter: VideoFilter = {}): VideoStatus[] {
    return Array.from(this.each(filter));
  }

  /**
   * Like `list`, a page of rows at a time, so that a step walking 645k videos never holds them
   * all. Safe to write between pages: the next page starts after the last id seen.
   * @param filter see {@linkcode VideoFilter}
   * @param pageSize rows read per query
   * @returns an iterator of the matching videos with their step records, in id order
   */
  *each(filter: VideoFilter = {}, pageSize = 1000): IterableIterator<VideoStatus> {
    const { where, args } = videoWhere(filter);
    const page = this.#c.db.prepare(
      `SELECT v.* FROM videos v WHERE ${[...where, "v.id > ?"].join(" AND ")}
       ORDER BY v.id LIMIT ?`,
    );
    const steps = this.#c.db.prepare(
      "SELECT * FROM steps WHERE video_id IN (SELECT value FROM json_each(?))",
    );
    for (let after = "";;) {
      const rows = page.all(...args, after, pageSize) as Row[];
      if (rows.length === 0) return;
      after = String(rows[rows.length - 1].id);
      const byVideo = new Map<string, Partial<Record<Step, StepRecord>>>();
      for (const s of steps.all(JSON.stringify(rows.map((r) => r.id))) as Row[]) {
        const rec = this.#record(s);
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
   * How many videos `list(filter)` would return.
   * @param filter see {@linkcode VideoFilter}
   * @returns the count
   */
  count(filter: VideoFilter = {}): number {
    const { where, args } = videoWhere(filter);
    const sql = `SELECT COUNT(*) AS n FROM videos v ${
      where.length ? "WHERE " + where.join(" AND ") : ""
    }`;
    return Number((this.#c.db.prepare(sql).get(...args) as Row).n);
  }

  /**
   * Records a video's thumbnail (`sample --thumbnails`), replacing an earlier one.
   * @param videoId the video
   * @param path the JPEG
   */
  setThumbnail(videoId: string, path: string): void {
    this.#c.write(
      "INSERT OR REPLACE INTO thumbnails(video_id, path) VALUES (?, ?)",
      videoId,
      this.#c.stored(path),
    );
  }

  /**
   * How many sampled videos have no thumbnail (sampled before `--thumbnails` was asked for).
   * @returns the count
   */
  countWithoutThumbnail(): number {
    const row = this.#c.stmt(
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
    const row = this.#c.stmt("SELECT path FROM thumbnails WHERE video_id = ?").get(videoId);
    return this.#c.resolved((row as Row | undefined)?.path);
  }

  #record(r: Row): StepRecord {
    return { ...toStep(r), path: this.#c.resolved(r.path) };
  }
}
