/**
 * The rows the manifest holds, as the code sees them: the per-video steps and their states, a
 * video, its record in a step, and the conversions from SQLite's rows.
 * @module
 */
import type { Split } from "../base/mod.ts";
import type { Row } from "./manifest_connection.ts";

/** The per-video steps whose state the manifest tracks. */
export const STEPS = ["download", "sample", "encode"] as const;
/** A per-video step. */
export type Step = typeof STEPS[number];

/** Where a video stands in one step. */
export type StepState = "pending" | "done" | "failed";

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

/** Counts of a step's states. */
export type StateCounts = Record<StepState, number>;

/**
 * Is this string safe as a video id (and so as a file name)?
 * @param id the candidate
 * @returns true when it has only letters, digits, `_`, `-`, `.`, does not start with `.` and has
 *   at most 200 characters
 */
export function isSafeId(id: string): boolean {
  return /^[A-Za-z0-9_\-][A-Za-z0-9_\-.]{0,199}$/.test(id) && !id.includes("..");
}

/**
 * A step's state counts from its records' counts: videos it never touched are pending.
 * @param videos the videos counted
 * @param records the step's records per state
 * @returns the counts
 */
export function stateCounts(
  videos: number,
  records: { state: StepState; n: number }[],
): StateCounts {
  const out: StateCounts = { pending: 0, done: 0, failed: 0 };
  for (const r of records) if (r.state !== "pending") out[r.state] += Number(r.n);
  out.pending = videos - out.done - out.failed;
  return out;
}

/**
 * A `videos` row as a video.
 * @param r the row
 * @returns the video
 */
export function toVideo(r: Row): VideoRow {
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
 * A `steps` row as a record, its path as stored (see `ManifestConnection#resolved`).
 * @param r the row
 * @returns the record
 */
export function toStep(r: Row): StepRecord {
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
