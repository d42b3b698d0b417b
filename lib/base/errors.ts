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

/**
 * A refusal with a list of problems: a headline, then one problem a line (at most `maxShown`,
 * the rest counted). Printed as that many lines, each kept to one printable line.
 */
export class ProblemListError extends ConfigError {
  /** The error class name, shown in messages. */
  override name = "ProblemListError";
  /** The lines to print: the headline, then the shown problems indented, then the count left. */
  readonly lines: readonly string[];

  /**
   * Builds the message from the headline and the problems.
   * @param headline what was refused, e.g. `cannot merge work: 3 problems`
   * @param problems one line each, naming the file or item
   * @param maxShown how many problems are listed
   */
  constructor(headline: string, readonly problems: readonly string[], maxShown = 50) {
    const shown = problems.slice(0, maxShown).map((p) => `  ${p}`);
    if (problems.length > shown.length) {
      shown.push(`  ... and ${problems.length - shown.length} more`);
    }
    super([headline, ...shown].join("\n"));
    this.lines = [headline, ...shown];
  }
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

/**
 * The disk (or quota) a step writes to is full: one line naming the file and the device, so the
 * task can say what to free and stop (exit 2) instead of retrying or failing item by item.
 */
export class DiskFullError extends Error {
  /** The error class name, shown in messages. */
  override name = "DiskFullError";

  /**
   * Builds `no space left on <device> writing <path>[; <note>]`.
   * @param path the file being written
   * @param device the file system it is on (from `deviceOf`)
   * @param note what was kept, for the message
   */
  constructor(readonly path: string, readonly device: string, note?: string) {
    super(`no space left on ${device} writing ${path}${note ? `; ${note}` : ""}`);
  }
}

/**
 * Does this error say the disk or quota is full? (ENOSPC/EDQUOT from the OS, SQLite's
 * `database or disk is full`.)
 * @param e what was thrown
 * @returns true for a full disk
 */
export function isDiskFull(e: unknown): boolean {
  if (e instanceof DiskFullError) return true;
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  const errcode = (e as { errcode?: unknown }).errcode;
  return code === "ENOSPC" || code === "EDQUOT" || errcode === 13 ||
    /No space left on device|Disk quota exceeded|database or disk is full/.test(e.message);
}

/**
 * The file system a path is on: `<source> (<type>) mounted at <dir>` from `/proc/self/mountinfo`
 * where that can be read (Deno allows it only with full permissions), else `device
 * <major>:<minor>` with its mount point, or the highest folder this process may see on it.
 * @param path a file or folder (it need not exist)
 * @returns the device in words
 */
export function deviceOf(path: string): string {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const fromMountinfo = mountOf(abs);
  if (fromMountinfo !== null) return fromMountinfo;
  const parent = (p: string) => p.slice(0, p.lastIndexOf("/")) || "/";
  const devOf = (p: string) => {
    try {
      return Deno.statSync(p).dev;
    } catch {
      return null;
    }
  };
  let at = abs;
  let dev = devOf(at);
  while (dev === null && at !== "/") dev = devOf(at = parent(at));
  if (dev === null) return `the file system of ${parent(abs)}`;
  const name = `device ${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  while (at !== "/") {
    const up = devOf(parent(at));
    if (up === null) return `${name} (holding ${at})`;
    if (up !== dev) return `${name} mounted at ${at}`;
    at = parent(at);
  }
  return `${name} mounted at /`;
}

/** The mount holding `abs` from `/proc/self/mountinfo`, or null where it cannot be read. */
function mountOf(abs: string): string | null {
  try {
    let best: { at: string; source: string; type: string } | null = null;
    for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
      // id parent major:minor root mountpoint options ... - type source superoptions
      const f = line.split(" ");
      const dash = f.indexOf("-");
      if (f.length < 5 || dash < 0) continue;
      const at = f[4].replace(/\\040/g, " ");
      const inside = at === "/" || abs === at || abs.startsWith(at + "/");
      if (inside && (best === null || at.length >= best.at.length)) {
        best = { at, type: f[dash + 1], source: f[dash + 2] };
      }
    }
    return best === null ? null : `${best.source} (${best.type}) mounted at ${best.at}`;
  } catch {
    return null; // not Linux, or not allowed to read it
  }
}

/**
 * The error as a `DiskFullError` when it says the disk is full, else unchanged.
 * @param e what was thrown
 * @param path the file being written
 * @returns the error to throw
 */
export function asDiskFull(e: unknown, path: string): unknown {
  if (e instanceof DiskFullError || !isDiskFull(e)) return e;
  return new DiskFullError(path, deviceOf(path));
}
