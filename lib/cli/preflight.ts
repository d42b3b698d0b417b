/**
 * The check every task makes before any work: each input its flags name exists and is what the
 * flag's declared access says (a regular file, never a device or FIFO that would be read forever;
 * a folder), holds what it should (the card parses, the class list parses, lists and annotations
 * have rows), and the models resolve. Every problem is named with its flag, all at once.
 * @module
 */
import { fileURLToPath } from "node:url";
import { ConfigError } from "../base/mod.ts";
import { requireWorkDir } from "../core/mod.ts";
import { parseCardSplits, parseClassNames, parsePromptTemplates } from "../dataset/mod.ts";
import { binaryKind } from "../download/mod.ts";
import { isHttpUrl } from "../net/mod.ts";
import { checkModel } from "../model/mod.ts";
import { printableLine } from "./message_line.ts";
import type { FlagAccess, FlagSpec, FlagValues, InputContent, TaskSpec } from "./flag_spec.ts";

/** The inputs of a task are not usable: one line per problem, each naming its flag. */
export class PreflightError extends ConfigError {
  /** The error class name, shown in messages. */
  override name = "PreflightError";

  /**
   * Holds every problem found.
   * @param problems one line each, e.g. `--card c.md: not found`
   */
  constructor(readonly problems: readonly string[]) {
    super(problems.join("; "));
  }
}

/** Why a device, FIFO or socket is refused: it may never end (/dev/zero) or never answer. */
const NEVER_READ = "not a regular file (a device, FIFO or socket is never read)";

/** How much of an annotation or list file is read to see that it has rows. */
const HEAD_BYTES = 1 << 20;
/** The largest card, class list or template file read whole. */
const MAX_TEXT_BYTES = 64 << 20;

/**
 * Checks every input a task was given, against its flags' declared access and content.
 * @param spec the task's command line
 * @param values its parsed flags
 * @throws PreflightError listing every problem, one line each
 * @example
 * ```ts
 * import { rejects } from "node:assert/strict";
 * import { checkInputs } from "./preflight.ts";
 * const spec = {
 *   name: "verify",
 *   summary: "",
 *   flags: { card: { type: "string" as const, help: "", access: "read-file" as const } },
 * };
 * await rejects(checkInputs(spec, { card: "/dev/zero" }), /--card \/dev\/zero: not a regular file/);
 * ```
 */
export async function checkInputs(spec: TaskSpec, values: FlagValues): Promise<void> {
  const checks: Promise<string | null>[] = [];
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (flag.access === undefined) continue;
    const given = values[name];
    const list = Array.isArray(given) ? given : typeof given === "string" ? [given] : [];
    for (const value of list) {
      checks.push(checkValue(`--${name} ${value}`, value, flag, spec.name));
    }
  }
  const problems = (await Promise.all(checks)).filter((p): p is string => p !== null);
  if (problems.length > 0) throw new PreflightError(problems);
}

/** One flag value: null when fine, else `--flag value: reason`. */
async function checkValue(
  label: string,
  value: string,
  flag: FlagSpec,
  task: string,
): Promise<string | null> {
  if (flag.access === "existing-work" || flag.access === "read-work") {
    // its message names the folder, what makes one, and --work
    const missing = await requireWorkDir(value, task).then(
      () => null,
      (e) => e instanceof ConfigError ? e.message : Promise.reject(e),
    );
    if (missing !== null) return clip(missing);
  }
  let reason: string | null;
  try {
    reason = await problemOf(label, value, flag.access!, flag.content);
  } catch (e) {
    if (!(e instanceof Unreadable || e instanceof Deno.errors.PermissionDenied)) throw e;
    // Deno asks for --allow-all before it looks at /dev/stdin, /dev/fd/N and the like
    reason = /Requires all access/.test(e.message) ? NEVER_READ : `cannot be read (${e.message})`;
  }
  if (reason === null) return null;
  // a parser's message already starts with the label it was given (`--card c.md:12: ...`), a
  // model's with the value (`owner/name: cannot reach the model hub ...`)
  if (reason.startsWith(label)) return clip(reason);
  const flagName = label.slice(0, label.length - value.length - 1);
  if (reason.startsWith(`${value}: `) || reason.startsWith(`${value}/`)) {
    return clip(`${flagName} ${reason}`);
  }
  return clip(`${label}: ${reason}`);
}

async function problemOf(
  label: string,
  value: string,
  access: FlagAccess,
  content: InputContent | undefined,
): Promise<string | null> {
  switch (access) {
    case "model":
      return await checkModel(value);
    case "program":
      return null; // found (or refused) by the launcher, run by the task
    case "url-or-folder":
      if (isHttpUrl(value)) return null;
      return folderProblem(await statOf(fileUrlPath(value)));
    case "work":
    case "existing-work":
    case "read-work":
    case "write-folder": {
      // made when missing, or named by the task's own message when it cannot be; a file in its
      // place is wrong
      const stat = await Deno.stat(value).catch(() => null);
      return stat !== null && !stat.isDirectory ? "not a folder" : null;
    }
    case "read-folder":
      return folderProblem(await statOf(value));
    case "read-file":
    case "read-file-or-folder": {
      const stat = await statOf(value);
      if (stat === null) return "not found";
      if (stat.isDirectory) return access === "read-file" ? "a folder, not a file" : null;
      if (!stat.isFile) return NEVER_READ;
      return content === undefined ? null : await contentProblem(label, value, content, stat.size);
    }
  }
}

function folderProblem(stat: Deno.FileInfo | null): string | null {
  if (stat === null) return "not found";
  return stat.isDirectory ? null : "not a folder";
}

/** What each kind of input is, in messages (as download names them). */
const CONTENT_NAMES: Record<InputContent, string> = {
  "annotations": "an annotation CSV or JSON file",
  "archive-list": "a list of archive URLs",
  "video-list": "a video list CSV",
  "card": "a dataset card",
  "class-list": "a class list",
  "templates": "a prompt template list",
  "text": "a text file",
};

/** What is wrong with a regular file's content, or null. */
async function contentProblem(
  label: string,
  path: string,
  content: InputContent,
  size: number,
): Promise<string | null> {
  const whole = content === "card" || content === "class-list" || content === "templates" ||
    content === "text";
  if (whole && size > MAX_TEXT_BYTES) {
    return `${(size / 2 ** 20).toFixed(0)} MiB, too large for a text file of this kind`;
  }
  const bytes = await readHead(path, whole ? size : HEAD_BYTES);
  const binary = binaryKind(bytes);
  if (binary !== null) {
    const what = CONTENT_NAMES[content];
    return `${binary}, not ${what}; give the ${what.replace(/^an? /, "")} itself`;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // a cut in the middle of a character is only the head's end
    if (whole) return "not UTF-8 text";
    text = new TextDecoder().decode(bytes);
  }
  try {
    switch (content) {
      case "card":
        parseCardSplits(text, label);
        return null;
      case "class-list":
        parseClassNames(text, label);
        return null;
      case "templates":
        parsePromptTemplates(text, label);
        return null;
      case "text":
        return null;
      case "annotations":
        return emptyProblem(text);
      case "archive-list":
        return null; // a split may have no archives (a test split without labels)
      case "video-list":
        return emptyProblem(text);
    }
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * A file with nothing at all in it. A header without rows is download's to judge: refused when no
 * input has rows, else named and skipped (a split may be left empty).
 */
function emptyProblem(text: string): string | null {
  return text.replace(/^\uFEFF/, "").trim() === "" ? "is empty" : null;
}

async function readHead(path: string, max: number): Promise<Uint8Array> {
  const file = await Deno.open(path);
  try {
    const buf = new Uint8Array(Math.min(max, HEAD_BYTES * 64));
    let got = 0;
    while (got < buf.length) {
      const n = await file.read(buf.subarray(got));
      if (n === null) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    file.close();
  }
}

/** The path's stat; null when it does not exist; a reason when it cannot be looked at. */
async function statOf(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Unreadable(e instanceof Error ? e.message : String(e));
  }
}

/** A path that exists but cannot be looked at (permissions). */
class Unreadable extends Error {}

function fileUrlPath(value: string): string {
  try {
    return value.startsWith("file:") ? fileURLToPath(value) : value;
  } catch {
    return value;
  }
}

/** One line, short enough to read. */
function clip(line: string): string {
  return printableLine(line.replace(/\s*\n\s*/g, " "));
}
