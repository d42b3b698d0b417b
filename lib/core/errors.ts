/**
 * Typed errors shared by every step. Each is thrown at the lowest level that knows what went wrong
 * and turned into a manifest `failed` row or a one-line message at the top.
 * @module
 */

/** Bad command-line flags or arguments: the task prints its usage and exits 2. */
export class UsageError extends Error {
  /** The error class name, shown in messages. */
  override name = "UsageError";
}

/** A configuration problem that stops the whole run (exit 2): bad model, config mismatch, bad card. */
export class ConfigError extends Error {
  /** The error class name, shown in messages. */
  override name = "ConfigError";
}

/** The work dir already holds outputs of another configuration. */
export class ConfigMismatchError extends ConfigError {
  /** The error class name, shown in messages. */
  override name = "ConfigMismatchError";
  /** The keys whose stored and requested values differ. */
  readonly keys: string[];
  /** Each differing key with its stored and requested value. */
  readonly diffs: { key: string; stored: unknown; requested: unknown }[];
  /** The work dir whose manifest holds the other configuration. */
  readonly workDir: string;

  /**
   * Builds the message naming every differing key.
   * @param workDir the work dir whose manifest holds the other configuration
   * @param diffs one entry per differing key with the stored and the requested value
   */
  constructor(workDir: string, diffs: { key: string; stored: unknown; requested: unknown }[]) {
    super(
      `work dir ${workDir} was made with another configuration: ` +
        diffs.map((d) =>
          `${d.key} is ${JSON.stringify(d.stored)} there, ${JSON.stringify(d.requested)} now`
        ).join("; ") +
        ". Use a new --work dir, or the same settings.",
    );
    this.keys = diffs.map((d) => d.key);
    this.diffs = diffs;
    this.workDir = workDir;
  }
}

/** Another process holds the work dir's lock. */
export class WorkDirBusyError extends Error {
  /** The error class name, shown in messages. */
  override name = "WorkDirBusyError";
}

/** A video could not be decoded; carries the video id and the tail of ffmpeg's stderr. */
export class DecodeError extends Error {
  /** The error class name, shown in messages. */
  override name = "DecodeError";
  /**
   * Builds `<id>: <reason>`.
   * @param videoId the manifest id of the video
   * @param reason one line saying what failed (ffmpeg's own words where there are some)
   * @param stderrTail the last lines ffmpeg printed
   */
  constructor(readonly videoId: string, reason: string, readonly stderrTail = "") {
    super(`${videoId}: ${reason}`);
  }
}

/**
 * A decoder was stopped by a signal (the run itself is being stopped: Ctrl-C, a scheduler's
 * requeue or time limit). Nothing is recorded against the video, which stays pending for the
 * next run; recording it as failed would change the set's bytes.
 */
export class InterruptedError extends Error {
  /** The error class name, shown in messages. */
  override name = "InterruptedError";
}

/** A file does not hold what its format promises (npy header, tar member, ONNX model, card). */
export class FormatError extends Error {
  /** The error class name, shown in messages. */
  override name = "FormatError";
}

/**
 * Any error as one line: its message's lines trimmed and joined with spaces, at most 400
 * characters (ONNX Runtime and ffmpeg write several lines; a manifest row or a log line holds one).
 * @param e what was thrown
 * @returns the line
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { oneLine } from "./errors.ts";
 * deepStrictEqual(oneLine(new Error("load failed:\n  bad input\n")), "load failed: bad input");
 * deepStrictEqual(oneLine("plain"), "plain");
 * ```
 */
export function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.split("\n").map((l) => l.trim()).filter(Boolean).join(" ").slice(0, 400);
}
