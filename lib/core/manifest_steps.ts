/**
 * The videos' records per step: what finished (with its output), what failed and why, what was
 * put back; the counts and walks over them that the steps, merge and export read.
 * @module
 */
import type { SQLInputValue } from "node:sqlite";
import { type Split, SPLITS } from "../base/mod.ts";
import { ConfigError } from "../base/mod.ts";
import type { ManifestConnection, Row } from "./manifest_connection.ts";
import {
  type StateCounts,
  stateCounts,
  type Step,
  type StepOutput,
  type StepRecord,
  type StepState,
  toStep,
  toVideo,
  type VideoRow,
} from "./manifest_rows.ts";

/** A video with its record in one step, as `StepQueries#videoSteps` streams them. */
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

/** The videos' records per step: marking them done, failed or pending, and reading them back. */
export class StepQueries {
  #c: ManifestConnection;

  /**
   * Queries on an open manifest; use `Manifest#steps`.
   * @param c the manifest's connection
   */
  constructor(c: ManifestConnection) {
    this.#c = c;
  }

  /**
   * Records that a step failed for many videos with one reason, a few hundred rows a statement
   * (download marking 645k videos that no archive holds). Call inside `Manifest#batch` for one
   * transaction.
   * @param step the step
   * @param ids the videos
   * @param error why, in one line
   */
  markFailedMany(step: Step, ids: readonly string[], error: string): void {
    const now = new Date().toISOString();
    const size = 500;
    for (let at = 0; at < ids.length; at += size) {
      const part = ids.slice(at, at + size);
      this.#c.write(
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
   * Records that a done step's output file was removed on purpose (frames after encoding): the
   * state, frame count and sha256 stay, the path becomes null.
   * @param step the step
   * @param videoId the video
   */
  dropOutput(step: Step, videoId: string): void {
    this.#c.write("UPDATE steps SET path = NULL WHERE video_id = ? AND step = ?", videoId, step);
  }

  /**
   * Puts a video back to pending in a step (its output went missing, or a retry was asked).
   * @param step the step
   * @param videoId the video
   */
  markPending(step: Step, videoId: string): void {
    this.#c.write("DELETE FROM steps WHERE video_id = ? AND step = ?", videoId, step);
  }

  #setStep(step: Step, id: string, state: StepState, error: string | null, out?: StepOutput) {
    const res = this.#c.write(
      `INSERT OR REPLACE INTO steps(video_id, step, state, error, path, frames, sha256, updated_at)
       SELECT id, ?, ?, ?, ?, ?, ?, ? FROM videos WHERE id = ?`,
      step,
      state,
      error,
      this.#c.stored(out?.path ?? null),
      out?.frames ?? null,
      out?.sha256 ?? null,
      new Date().toISOString(),
      id,
    );
    if (Number(res.changes) === 0) {
      throw new ConfigError(`no video ${JSON.stringify(id)} in ${this.#c.path}`);
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
      ? this.#c.stmt("SELECT COUNT(*) AS n FROM videos WHERE split = ?").get(split)
      : this.#c.stmt("SELECT COUNT(*) AS n FROM videos").get();
    const rows = split
      ? this.#c.stmt(
        `SELECT s.state AS state, COUNT(*) AS n FROM steps s JOIN videos v ON v.id = s.video_id
         WHERE s.step = ? AND v.split = ? GROUP BY s.state`,
      ).all(step, split)
      : this.#c.stmt("SELECT state, COUNT(*) AS n FROM steps WHERE step = ? GROUP BY state").all(
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
    return (this.#c.db.prepare(
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
    const stmt = this.#c.db.prepare(
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
    const stmt = this.#c.db.prepare("SELECT video_id, state FROM steps WHERE step = ?");
    for (const r of stmt.iterate(step) as Iterable<{ video_id: string; state: StepState }>) {
      if (r.state === "pending") continue;
      const key = keyOf(r.video_id);
      // the literals, not the strings SQLite made for each row
      if (key !== undefined) out.set(key, r.state === "done" ? "done" : "failed");
    }
    return out;
  }

  /**
   * Streams videos in id order with their record in one step, a row at a time, so a step that
   * walks the whole dataset (shard) does not hold all rows in memory at once.
   * @param step the step
   * @param ids only these videos (default: every video)
   * @returns an iterator of rows
   */
  *videoSteps(step: Step, ids?: readonly string[]): IterableIterator<VideoStepRow> {
    const stmt = this.#c.db.prepare(
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
        path: this.#c.resolved(r.step_path),
        frames: r.step_frames === null ? null : Number(r.step_frames),
        sha256: r.step_sha256 === null ? null : String(r.step_sha256),
        anyFailed: Number(r.any_failed) !== 0,
      };
    }
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
    const rows = this.#c.db.prepare(
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
    const stmt = this.#c.db.prepare(
      `SELECT e.video_id AS id, e.path AS emb, f.path AS frames FROM steps e
       LEFT JOIN steps f ON f.video_id = e.video_id AND f.step = 'sample'
       WHERE e.step = 'encode' AND e.state = 'done' ORDER BY e.video_id`,
    );
    for (const r of stmt.iterate() as Iterable<Row>) {
      yield { id: String(r.id), emb: this.#c.resolved(r.emb), frames: this.#c.resolved(r.frames) };
    }
  }

  /**
   * The output path of every video a step has done, a row at a time, straight from the step
   * records (no join: a no-op rerun checks 645k files this way).
   * @param step the step
   * @returns an iterator of video id and output path (null when the output was dropped)
   */
  *doneOutputs(step: Step): IterableIterator<{ id: string; path: string | null }> {
    const stmt = this.#c.db.prepare(
      "SELECT video_id, path FROM steps WHERE step = ? AND state = 'done'",
    );
    for (const r of stmt.iterate(step) as Iterable<{ video_id: string; path: string | null }>) {
      yield { id: r.video_id, path: this.#c.resolved(r.path) };
    }
  }

  /**
   * Every step record, in video id then step order, a row at a time (merge copies a worker's).
   * @returns an iterator of records
   */
  *records(): IterableIterator<StepRecord> {
    const stmt = this.#c.db.prepare("SELECT * FROM steps ORDER BY video_id, step");
    for (const r of stmt.iterate() as Iterable<Row>) yield this.#record(r);
  }

  /**
   * Writes step records as they are, in one transaction (merge copying a worker's records).
   * @param records the records; each one's video must be in this manifest
   * @returns how many were written
   */
  putRecords(records: Iterable<StepRecord>): number {
    return this.#c.tx(() => {
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

  #record(r: Row): StepRecord {
    return { ...toStep(r), path: this.#c.resolved(r.path) };
  }
}
