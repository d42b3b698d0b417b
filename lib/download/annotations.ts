/**
 * Annotation readers: Kinetics CSVs (`label,youtube_id,time_start,time_end,split`), DeepMind JSON
 * (`{id: {annotations: {label, segment}, subset, url}}`) and plain video lists (`path,label,split`)
 * become `VideoRow`s. A bad row becomes an `AnnotationIssue` naming the file and line; the valid
 * rows of the same file are kept.
 * @module
 */
import { createHash } from "node:crypto";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { ConfigError, parseSplitName, type Split } from "../base/mod.ts";
import { isSafeId, type VideoRow } from "../core/mod.ts";
import { isHttpUrl, refuseUnnamedHost } from "../net/mod.ts";
import { readInputText } from "./input_text.ts";

/** One rejected input row (or a whole rejected file when `line` is the header's). */
export interface AnnotationIssue {
  /** The input file, as given. */
  file: string;
  /** 1-based line of the row (null where a format has no lines to point at). */
  line: number | null;
  /** What is wrong, in one line. */
  message: string;
  /**
   * The place a rejected row takes in a `--limit`/`--per-class` draw (absent where no id can be
   * read from it, and for duplicates): with it, fixing the row later changes no other row's pick.
   */
  drawAs?: DrawPlace;
}

/** A rejected row's id, split and class as far as they can be read, for the subset's draw. */
export interface DrawPlace {
  /** The id, or its best guess (`?` for a time that cannot be read). */
  id: string;
  /** The split (null when it cannot be read). */
  split: Split | null;
  /** The class as written (null when empty). */
  label: string | null;
}

/** Rows read from one or more inputs, and the rows rejected on the way. */
export interface AnnotationSet {
  /** The valid rows, in input order. */
  rows: VideoRow[];
  /** The rejected rows, in input order. */
  issues: AnnotationIssue[];
  /** Lines to show that are not errors (files a folder listing skipped), one each. */
  notes: string[];
}

/** Where an id was first seen, so a duplicate can point at it. */
export type SeenIds = Map<string, string>;

/**
 * Formats an issue as `file:line: message`.
 * @param issue the issue
 * @returns one line
 */
export function formatIssue(issue: AnnotationIssue): string {
  return `${issue.file}${issue.line === null ? "" : `:${issue.line}`}: ${issue.message}`;
}

/**
 * The Kinetics video id: `<youtube_id>_<start:06d>_<end:06d>` (times truncated to whole seconds,
 * as the published file names are).
 * @param youtubeId the YouTube id
 * @param start segment start in seconds
 * @param end segment end in seconds
 * @returns the id
 */
export function videoId(youtubeId: string, start: number, end: number): string {
  const pad = (t: number) => String(Math.floor(t)).padStart(6, "0");
  return `${youtubeId}_${pad(start)}_${pad(end)}`;
}

/** The parts of a Kinetics video file name. */
interface VideoFileName {
  /** The YouTube id (may itself hold `_` and `-`). */
  youtubeId: string;
  /** Segment start in seconds. */
  timeStart: number;
  /** Segment end in seconds. */
  timeEnd: number;
  /** The extension with its dot, e.g. `.mp4`. */
  ext: string;
}

/**
 * Parses `<youtube_id>_<start:06d>_<end:06d>.<ext>`, from the right since YouTube ids hold `_`.
 * @param name a file name (a path's folders are ignored)
 * @returns its parts, or null when the name has another shape
 */
export function parseVideoFileName(name: string): VideoFileName | null {
  const m = /^(.+)_(\d{6})_(\d{6})(\.[A-Za-z0-9]{1,8})?$/.exec(basename(name));
  if (!m || !isSafeYoutubeId(m[1])) return null;
  return { youtubeId: m[1], timeStart: Number(m[2]), timeEnd: Number(m[3]), ext: m[4] ?? "" };
}

/**
 * Is this a YouTube id that is safe inside a file name? Real ids are 11 characters of
 * `[A-Za-z0-9_-]`; anything with `/`, `.` or other characters is refused.
 * @param id the candidate
 * @returns true when it has 1 to 64 characters of `[A-Za-z0-9_-]`
 */
function isSafeYoutubeId(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/**
 * The folder name a class's videos go under: the label with anything but letters, digits and
 * `-_()'` replaced by `_` (so `passing American football (in game)` stays readable and a label
 * like `../x` cannot climb out).
 * @param label the class label (null: unlabelled, e.g. Kinetics test)
 * @returns a single safe path segment
 */
export function labelDirName(label: string | null): string {
  if (label === null || label.trim() === "") return "_unlabelled";
  const s = label.trim().replace(/[^A-Za-z0-9\-_()']/g, "_");
  return s.startsWith(".") ? `_${s}` : s.slice(0, 200);
}

/** One parsed CSV record and the line it starts on. */
export interface CsvRecord {
  /** The fields, unquoted. */
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

/**
 * Parses CSV text (RFC 4180: quoted fields with `""` escapes and line breaks inside quotes),
 * tolerating a UTF-8 BOM and CRLF or LF line ends. Blank lines are skipped.
 * @param text the file's text
 * @returns the records with their line numbers
 */
export function parseCsv(text: string): CsvRecord[] {
  return Array.from(csvRecords(text));
}

/**
 * Like `parseCsv`, one record at a time, so a 545k-row file is never held as records all at once.
 * @param text the file's text
 * @returns an iterator of records with their line numbers
 */
export function* csvRecords(text: string): IterableIterator<CsvRecord> {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let recordHasContent = false;
  const endField = () => {
    fields.push(quoted ? field : field.trim());
    field = "";
    quoted = false;
  };
  for (let i = start; i < text.length; i++) {
    if (!inQuotes && !quoted && !recordHasContent && field === "" && fields.length === 0) {
      // fast path: a whole line without quotes (nearly every line of a Kinetics CSV)
      let end = text.indexOf("\n", i);
      if (end < 0) end = text.length;
      let body = text.slice(i, end);
      if (body.endsWith("\r")) body = body.slice(0, -1);
      if (!body.includes('"') && !body.includes("\r")) {
        if (body.includes(",") || body.trim() !== "") {
          yield { fields: body.split(",").map((f) => f.trim()), line };
        }
        line++;
        recordLine = line;
        i = end;
        continue;
      }
    }
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.trim() === "") {
      inQuotes = true;
      quoted = true;
      field = "";
      recordHasContent = true;
    } else if (c === ",") {
      endField();
      recordHasContent = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endField();
      if (recordHasContent) yield { fields, line: recordLine };
      fields = [];
      recordHasContent = false;
      line++;
      recordLine = line;
    } else {
      field += c;
      if (c.trim() !== "") recordHasContent = true;
    }
  }
  endField();
  if (recordHasContent) yield { fields, line: recordLine };
}

/** Why a time field is unusable, or null when it is fine. */
function parseTime(raw: string | undefined): number | null {
  if (raw === undefined || raw.trim() === "") return null;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** The fields every row kind (CSV, JSON, video list) has, as read. */
interface RowFields {
  youtubeId: string;
  start: string | number | undefined;
  end: string | number | undefined;
  split: string;
  label: string | null;
}

/** Checks the fields every row kind shares and builds the row, or says what is wrong. */
function buildRow(f: RowFields & { source: string | null }): VideoRow | string {
  if (!isSafeYoutubeId(f.youtubeId)) {
    return `unsafe youtube_id ${JSON.stringify(f.youtubeId)} (expected letters, digits, _ and -)`;
  }
  const start = typeof f.start === "number" ? f.start : parseTime(f.start);
  if (start === null || !Number.isFinite(start) || start < 0) {
    return `bad time_start ${JSON.stringify(f.start ?? "")}`;
  }
  const end = typeof f.end === "number" ? f.end : parseTime(f.end);
  if (end === null || !Number.isFinite(end) || end < 0) {
    return `bad time_end ${JSON.stringify(f.end ?? "")}`;
  }
  if (end <= start) return `bad times: time_end ${end} is not after time_start ${start}`;
  const sl = splitAndLabel(f.split, f.label);
  if (typeof sl === "string") return sl;
  const id = videoId(f.youtubeId, start, end);
  if (!isSafeId(id)) return `unsafe video id ${JSON.stringify(id)}`;
  return { id, ...sl, youtubeId: f.youtubeId, timeStart: start, timeEnd: end, source: f.source };
}

/**
 * Where a row `buildRow` rejected goes in the draw: its id (with `?` for a time that cannot be
 * read), split and class, or null when its YouTube id is unusable.
 */
function drawPlace(f: RowFields): DrawPlace | null {
  if (!isSafeYoutubeId(f.youtubeId)) return null;
  const time = (t: string | number | undefined) => {
    const n = typeof t === "number" ? t : parseTime(t);
    return n === null || !Number.isFinite(n) || n < 0
      ? "?"
      : String(Math.floor(n)).padStart(6, "0");
  };
  return {
    id: `${f.youtubeId}_${time(f.start)}_${time(f.end)}`,
    split: parseSplitName(f.split),
    label: f.label === null || f.label.trim() === "" ? null : f.label.trim(),
  };
}

/** Checks a row's split and label: train and val rows need a label, test rows may lack one. */
function splitAndLabel(
  rawSplit: string,
  rawLabel: string | null,
): { split: Split; label: string | null } | string {
  const split = parseSplitName(rawSplit);
  if (split === null) {
    return `unknown split ${JSON.stringify(rawSplit)} (expected train, validate/val or test)`;
  }
  // a NUL would cut the shard's .txt short, a newline would break it into two labels
  // deno-lint-ignore no-control-regex
  const control = rawLabel === null ? null : /[\u0000-\u001f\u007f-\u009f]/.exec(rawLabel);
  if (control !== null) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    const shown = JSON.stringify(rawLabel).replace(
      /[\u007f-\u009f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    return `label ${shown} holds a control character (U+${code})`;
  }
  const label = rawLabel === null || rawLabel.trim() === "" ? null : internLabel(rawLabel.trim());
  if (label === null && split !== "test") return `empty label in a ${split} row`;
  return { split, label };
}

/** One string per class name: 645k rows share 700 labels instead of holding a copy each. */
const LABELS = new Map<string, string>();

function internLabel(label: string): string {
  const known = LABELS.get(label);
  if (known !== undefined) return known;
  if (LABELS.size < 100_000) LABELS.set(label, label);
  return label;
}

/** The YouTube page a Kinetics clip was cut from. */
function youtubeUrl(id: string): string {
  return `https://www.youtube.com/watch?v=${id}`;
}

/**
 * Where a reader puts what it reads, one row or rejected line at a time: an array (`parse*`,
 * `readAnnotations`) or a table that never holds the dataset in memory (the download step).
 */
export interface RowSink {
  /** A valid row and where it was read (line null where the format has no lines). */
  row(row: VideoRow, file: string, line: number | null): void;
  /** A rejected row, or a whole rejected file. */
  issue(issue: AnnotationIssue): void;
  /** A line to show that is no error (files a folder listing skipped). */
  note(line: string): void;
}

/**
 * A sink that collects into a set, refusing an id seen before with an issue pointing at the first.
 * @param set where rows, issues and notes go
 * @param seen ids already read (shared across files to catch duplicates between them)
 * @returns the sink
 */
function collectInto(set: AnnotationSet, seen: SeenIds): RowSink {
  return {
    row(row, file, line) {
      const first = seen.get(row.id);
      if (first !== undefined) {
        set.issues.push({ file, line, message: `duplicate id ${row.id} (first at ${first})` });
        return;
      }
      seen.set(row.id, line === null ? file : `${file}:${line}`);
      set.rows.push(row);
    },
    issue: (issue) => void set.issues.push(issue),
    note: (line) => void set.notes.push(line),
  };
}

/** The issue with its place in the draw, where one is known. */
function withDrawPlace(issue: AnnotationIssue, place: DrawPlace | null): AnnotationIssue {
  return place === null ? issue : { ...issue, drawAs: place };
}

/** Runs a reader into a fresh set. */
function collected(seen: SeenIds, read: (sink: RowSink) => void): AnnotationSet {
  const set: AnnotationSet = { rows: [], issues: [], notes: [] };
  read(collectInto(set, seen));
  return set;
}

/**
 * Parses a CSV file's text and checks its header has the required columns; when it does not (or
 * the file is empty) the set holds the issue and `header` is null.
 */
function csvWithHeader(
  text: string,
  file: string,
  required: readonly string[],
  sink: RowSink,
): {
  headerLine: number;
  records: IterableIterator<CsvRecord>;
  header: string[] | null;
} {
  const records = csvRecords(text);
  const first = records.next();
  if (first.done) {
    sink.issue({ file, line: 1, message: "empty file (expected a header line)" });
    return { headerLine: 1, records, header: null };
  }
  const headerLine = first.value.line;
  const header = first.value.fields.map((h) => h.trim().toLowerCase());
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    sink.issue({
      file,
      line: headerLine,
      message: `missing column${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
        `(header has ${header.join(",")}); no rows read from this file`,
    });
    return { headerLine, records, header: null };
  }
  return { headerLine, records, header };
}

/**
 * Reads a Kinetics annotation CSV: header `label,youtube_id,time_start,time_end,split` in any
 * order (`label` may be missing for the test split; extra columns are ignored).
 * @param text the file's text
 * @param file the file's name, for messages
 * @param seen ids already read (shared across files to catch duplicates between them)
 * @returns the rows and the rejected lines
 */
export function parseKineticsCsv(
  text: string,
  file: string,
  seen: SeenIds = new Map(),
): AnnotationSet {
  return collected(seen, (sink) => kineticsCsvInto(text, file, sink));
}

/** The columns a Kinetics CSV must have (`label` may be missing for the test split). */
const KINETICS_COLUMNS = ["youtube_id", "time_start", "time_end", "split"];

/** The columns a plain video list must have. */
const VIDEO_LIST_COLUMNS = ["path", "label", "split"];

/**
 * Refuses an input file with nothing to read: empty, a CSV whose complete header has no row
 * under it, or a JSON object with no entries (a header lacking a column is left to the readers,
 * which report it as a rejected line).
 * @param text the file's text
 * @param file the file, as given
 * @param flag the flag that named it: `--annotations` (CSV or JSON) or `--videos` (a video list)
 * @throws ConfigError e.g. `--annotations a.csv: no rows (header only)`
 */
export function refuseEmptyInput(text: string, file: string, flag: string): void {
  const body = text.replace(/^\uFEFF/, "");
  if (body.trim() === "") {
    throw new ConfigError(`${flag} ${file}: empty file (expected a header line and rows)`);
  }
  if (flag === "--annotations" && /^\s*\{/.test(body.slice(0, 64))) {
    if (/^\s*\{\s*\}\s*$/.test(body)) throw new ConfigError(`${flag} ${file}: no entries ({})`);
    return;
  }
  const records = csvRecords(body);
  const header = records.next();
  if (header.done) return;
  const names = header.value.fields.map((h) => h.trim().toLowerCase());
  const required = flag === "--videos" ? VIDEO_LIST_COLUMNS : KINETICS_COLUMNS;
  if (!required.every((c) => names.includes(c))) return;
  if (records.next().done) throw new ConfigError(`${flag} ${file}: no rows (header only)`);
}

/** `parseKineticsCsv` into a sink. */
function kineticsCsvInto(text: string, file: string, sink: RowSink): void {
  const { records, header } = csvWithHeader(text, file, KINETICS_COLUMNS, sink);
  if (!header) return;
  const col = (name: string) => header.indexOf(name);
  const [iLabel, iYt, iStart, iEnd, iSplit] = [
    col("label"),
    col("youtube_id"),
    col("time_start"),
    col("time_end"),
    col("split"),
  ];
  for (const rec of records) {
    if (rec.fields.length !== header.length) {
      sink.issue({
        file,
        line: rec.line,
        message: `expected ${header.length} fields (${
          header.join(",")
        }), found ${rec.fields.length}`,
      });
      continue;
    }
    const youtubeId = rec.fields[iYt];
    const fields = {
      youtubeId,
      start: rec.fields[iStart],
      end: rec.fields[iEnd],
      split: rec.fields[iSplit],
      label: iLabel >= 0 ? rec.fields[iLabel] : null,
      source: isSafeYoutubeId(youtubeId) ? youtubeUrl(youtubeId) : null,
    };
    const row = buildRow(fields);
    if (typeof row === "string") {
      sink.issue(withDrawPlace({ file, line: rec.line, message: row }, drawPlace(fields)));
    } else sink.row(row, file, rec.line);
  }
}

/** The 1-based line where a JSON key first appears (for messages), or null. */
function lineOfKey(text: string, key: string): number | null {
  const at = text.indexOf(JSON.stringify(key));
  if (at < 0) return null;
  let line = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Reads DeepMind's Kinetics JSON: `{youtube_id: {annotations: {label, segment: [start, end]},
 * subset, url}}` (test entries may have no label).
 * @param text the file's text
 * @param file the file's name, for messages
 * @param seen ids already read (shared across files)
 * @returns the rows and the rejected entries (with the line of their key where it can be found)
 */
export function parseKineticsJson(
  text: string,
  file: string,
  seen: SeenIds = new Map(),
): AnnotationSet {
  return collected(seen, (sink) => kineticsJsonInto(text, file, sink));
}

/** `parseKineticsJson` into a sink. */
function kineticsJsonInto(text: string, file: string, sink: RowSink): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    sink.issue({ file, line: null, message: `not valid JSON: ${(e as Error).message}` });
    return;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    sink.issue({ file, line: 1, message: "expected an object keyed by YouTube id" });
    return;
  }
  for (const [key, entry] of Object.entries(doc as Record<string, unknown>)) {
    const at = () => lineOfKey(text, key);
    const e = entry as {
      annotations?: { label?: unknown; segment?: unknown };
      subset?: unknown;
      url?: unknown;
    } | null;
    if (typeof e !== "object" || e === null || typeof e.annotations !== "object") {
      sink.issue({
        file,
        line: at(),
        message: `entry ${JSON.stringify(key)}: no annotations`,
      });
      continue;
    }
    const seg = e.annotations?.segment;
    const pair = Array.isArray(seg) && seg.length === 2 ? seg : [undefined, undefined];
    const label = e.annotations?.label;
    const fields = {
      youtubeId: key,
      start: typeof pair[0] === "number" ? pair[0] : String(pair[0] ?? ""),
      end: typeof pair[1] === "number" ? pair[1] : String(pair[1] ?? ""),
      split: typeof e.subset === "string" ? e.subset : "",
      label: typeof label === "string" ? label : null,
      source: typeof e.url === "string" ? e.url : isSafeYoutubeId(key) ? youtubeUrl(key) : null,
    };
    const row = buildRow(fields);
    if (typeof row === "string") {
      sink.issue(withDrawPlace(
        { file, line: at(), message: `entry ${JSON.stringify(key)}: ${row}` },
        drawPlace(fields),
      ));
    } else sink.row(row, file, at());
  }
}

/**
 * Reads annotation files, CSV or JSON (told apart by the first character), checking ids are unique
 * across all of them.
 * @param paths the files
 * @returns every valid row and every rejected one
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { formatIssue, readAnnotations } from "./annotations.ts";
 * const dir = await Deno.makeTempDir();
 * const csv = join(dir, "validate.csv");
 * await Deno.writeTextFile(
 *   csv,
 *   "label,youtube_id,time_start,time_end,split\nyoga,xyz987uvw65,0,10,validate\nyoga,bad id,0,10,validate\n",
 * );
 * const { rows, issues } = await readAnnotations([csv]);
 * deepStrictEqual(rows.map((r) => r.id), ["xyz987uvw65_000000_000010"]);
 * for (const i of issues) console.error(formatIssue(i)); // <dir>/validate.csv:3: ...
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readAnnotations(paths: string[]): Promise<AnnotationSet> {
  const set: AnnotationSet = { rows: [], issues: [], notes: [] };
  await readAnnotationsInto(paths, collectInto(set, new Map()));
  return set;
}

/**
 * `readAnnotations` into a sink, a row at a time: the sink checks ids are unique.
 * @param paths the files
 * @param sink where rows and rejected lines go
 * @param texts files read and checked already (by `readInputText`), taken out as they are used
 */
export async function readAnnotationsInto(
  paths: string[],
  sink: RowSink,
  texts: Map<string, string> = new Map(),
): Promise<void> {
  for (const path of paths) {
    const text = takeText(texts, path) ??
      await readInputText(path, "--annotations", "an annotation CSV or JSON file");
    const json = /^\uFEFF?\s*\{/.test(text.slice(0, 64));
    if (json) kineticsJsonInto(text, path, sink);
    else kineticsCsvInto(text, path, sink);
  }
}

/** A text read before, let go of once taken (a 545k-row file is not held twice). */
function takeText(texts: Map<string, string>, path: string): string | undefined {
  const text = texts.get(path);
  texts.delete(path);
  return text;
}

/**
 * An id from a file name that is not a Kinetics name: unsafe characters become `_`, and when
 * anything had to change a short hash of the original keeps different names apart.
 */
function idFromStem(stem: string): string {
  let id = stem.replace(/[^A-Za-z0-9_\-.]/g, "_").replace(/\.\.+/g, "_").replace(/^\.+/, "_");
  if (id !== stem) {
    id = `${id.slice(0, 180)}_${createHash("sha256").update(stem).digest("hex").slice(0, 8)}`;
  }
  return id.slice(0, 200);
}

/**
 * Reads a plain video list: a CSV with columns `path` (local path, relative to the list's folder,
 * or an http(s) URL), `label`, `split`, and optionally `youtube_id,time_start,time_end`. The id is
 * built from the YouTube id and times when given, else parsed from a Kinetics-style file name,
 * else the file's stem made safe.
 * @param text the file's text
 * @param file the list's path (relative paths inside it are resolved against its folder)
 * @param seen ids already read (shared across files)
 * @param allowHosts link-local or metadata hosts the user named (others are refused, see
 *   `refuseUnnamedHost`)
 * @returns rows whose `source` is an absolute path or a URL, and the rejected lines
 */
export function parseVideoList(
  text: string,
  file: string,
  seen: SeenIds = new Map(),
  allowHosts: readonly string[] = [],
): AnnotationSet {
  return collected(seen, (sink) => videoListInto(text, file, allowHosts, sink));
}

/** `parseVideoList` into a sink. */
function videoListInto(
  text: string,
  file: string,
  allowHosts: readonly string[],
  sink: RowSink,
): void {
  const { headerLine, records, header } = csvWithHeader(text, file, VIDEO_LIST_COLUMNS, sink);
  if (!header) return;
  const col = (name: string) => header.indexOf(name);
  const timed = ["youtube_id", "time_start", "time_end"].filter((c) => header.includes(c));
  if (timed.length > 0 && timed.length < 3) {
    sink.issue({
      file,
      line: headerLine,
      message: "columns youtube_id, time_start, time_end go together; no rows read from this file",
    });
    return;
  }
  const base = dirname(resolve(file));
  for (const rec of records) {
    const at = (message: string) => sink.issue({ file, line: rec.line, message });
    if (rec.fields.length !== header.length) {
      at(`expected ${header.length} fields (${header.join(",")}), found ${rec.fields.length}`);
      continue;
    }
    const get = (name: string) => rec.fields[col(name)];
    const path = get("path");
    if (path === "" || path.includes("\0")) {
      at("empty path");
      continue;
    }
    const source = isHttpUrl(path) ? path : isAbsolute(path) ? path : resolve(base, path);
    let name = basename(path);
    if (isHttpUrl(path)) {
      try {
        name = decodeURIComponent(basename(new URL(path).pathname));
      } catch {
        at(`bad URL ${JSON.stringify(path)}`);
        continue;
      }
    }
    // a refused host is reported below, once the row's place in the draw is known
    const refused = isHttpUrl(path) ? refuseUnnamedHost(path, allowHosts) : null;
    let row: VideoRow | string;
    let place: DrawPlace | null;
    const parsed = timed.length === 3 ? null : parseVideoFileName(name);
    if (timed.length === 3 || parsed !== null) {
      const fields = {
        youtubeId: parsed?.youtubeId ?? get("youtube_id"),
        start: parsed?.timeStart ?? get("time_start"),
        end: parsed?.timeEnd ?? get("time_end"),
        split: get("split"),
        label: get("label"),
        source,
      };
      row = buildRow(fields);
      place = drawPlace(fields);
    } else {
      // no times known: the segment is recorded as 0..0 (the whole file)
      const id = idFromStem(basename(name, extname(name)));
      const sl = splitAndLabel(get("split"), get("label"));
      const usable = id !== "" && isSafeId(id);
      row = !usable
        ? `cannot make an id from ${JSON.stringify(name)}`
        : typeof sl === "string"
        ? sl
        : { id, ...sl, youtubeId: id, timeStart: 0, timeEnd: 0, source };
      place = usable
        ? { id, split: parseSplitName(get("split")), label: get("label").trim() || null }
        : null;
    }
    if (refused !== null) row = `${path}: ${refused}`;
    if (typeof row === "string") {
      sink.issue(withDrawPlace({ file, line: rec.line, message: row }, place));
    } else sink.row(row, file, rec.line);
  }
}

/** File endings taken as videos when a folder is listed. */
const VIDEO_EXTENSIONS: readonly string[] = [
  ".mp4",
  ".webm",
  ".mkv",
  ".mov",
  ".avi",
  ".m4v",
];

/** A folder listing: the plain list of its videos, and what it left out. */
export interface VideoFolderListing {
  /** CSV text with `path,label,split`. */
  text: string;
  /** Files left out that are no videos (other extensions, special files), folder-relative. */
  skipped: { path: string; reason: string }[];
  /** Symlinks refused (they lead out of the folder, or nowhere). */
  refused: AnnotationIssue[];
}

/** Split names whose videos may sit without a class folder (`test/<file>`): the unlabelled ones. */
export const UNLABELLED_SPLITS: readonly Split[] = ["test"];

/**
 * The split and class a file of a `--videos` folder takes from where it is (see
 * `videoFolderList`), or why it fits no layout.
 * @param rel the file's path inside the folder, `/`-separated
 * @returns split and label (`""`: unlabelled), or the reason it is refused
 */
export function folderPlace(rel: string): { split: string; label: string } | string {
  const parts = rel.split("/");
  const split = parseSplitName(parts[0]);
  if (parts.length === 1) return { split: "test", label: "" };
  if (parts.length === 2) {
    if (split === null) return { split: "train", label: parts[0] };
    if (UNLABELLED_SPLITS.includes(split)) return { split: parts[0], label: "" };
    return `${split} videos need a class folder (${parts[0]}/<class>/${parts[1]}); only ` +
      `${UNLABELLED_SPLITS.join(", ")} videos may sit directly in their split's folder`;
  }
  if (parts.length === 3 && split !== null) return { split: parts[0], label: parts[1] };
  return "fits no layout (<split>/<class>/<file>, test/<file>, <class>/<file> or <file>)";
}

/**
 * A folder of local videos as a plain video list (CSV text with `path,label,split`). Layouts:
 * `<split>/<class>/<file>` takes that split and class (the Kinetics layout, and the one `download`
 * writes under `videos/`); `test/<file>` is an unlabelled test video; `<class>/<file>` (a folder
 * that is no split name) is a train video of that class; a file directly in the folder is an
 * unlabelled test video. A class is its folder's name as written. Paths are sorted, so the same
 * folder gives the same list. A symlink to a regular file inside the folder counts as that file;
 * one that leads out of it is refused; files of other kinds or extensions are skipped and named.
 * @param dir the folder
 * @param classes a class list (`--classes`): its file, and its names (lines as written, trimmed);
 *   a class folder not among them is refused
 * @returns the list's text, and what was skipped or refused
 * @throws ConfigError naming the path, before anything is read, for a video that fits no layout,
 *   a file or folder name that is not UTF-8, a class not in `classes`, or a folder with no video
 */
export async function videoFolderList(
  dir: string,
  classes?: { file: string; names: ReadonlySet<string> },
): Promise<VideoFolderListing> {
  const files: string[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const refused: AnnotationIssue[] = [];
  const root = await Deno.realPath(dir);
  const inRoot = (p: string) => p === root || p.startsWith(root + "/");
  const isVideo = (name: string) => VIDEO_EXTENSIONS.some((x) => name.toLowerCase().endsWith(x));
  const outside = (target: string) =>
    `a symlink to ${target}, outside --videos ${dir}; copy the file in or point --videos at ` +
    "a folder that holds it";
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(join(dir, rel))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      // the name was read lossily: the file cannot be opened by it, and labels come from names
      if (e.name.includes("\uFFFD")) {
        throw new ConfigError(
          `--videos ${dir}: ${JSON.stringify(r)} is not a UTF-8 name; rename it ` +
            "(folder and file names become labels and ids)",
        );
      }
      if (e.isDirectory) await walk(r);
      else if (e.isSymlink) {
        const path = join(dir, r);
        // where it points, worked out without following it: a target outside the folder may not
        // be readable at all (the task may only read --videos)
        const link = await Deno.readLink(path);
        const lexical = resolve(await Deno.realPath(join(dir, rel || ".")), link);
        if (!inRoot(lexical)) {
          refused.push({ file: path, line: null, message: outside(lexical) });
          continue;
        }
        let target: string | null = null;
        try {
          target = await Deno.realPath(path);
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) {
            // a chain of links that leaves the folder further on
            refused.push({ file: path, line: null, message: outside(lexical) });
            continue;
          }
        }
        const info = target === null ? null : await Deno.stat(target).catch(() => null);
        if (target === null || info === null) {
          refused.push({ file: path, line: null, message: "symlink leads nowhere; refused" });
        } else if (!inRoot(target)) {
          refused.push({ file: path, line: null, message: outside(target) });
        } else if (!info.isFile) skipped.push({ path: r, reason: "symlink to a folder" });
        else if (!isVideo(e.name)) skipped.push({ path: r, reason: "not a video extension" });
        else files.push(r);
      } else if (!e.isFile) skipped.push({ path: r, reason: "not a regular file" });
      else if (!isVideo(e.name)) skipped.push({ path: r, reason: "not a video extension" });
      else files.push(r);
    }
  };
  await walk("");
  files.sort();
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  refused.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  if (files.length === 0 && refused.length === 0) {
    throw new ConfigError(
      `--videos ${dir}: no video files (looked for ${VIDEO_EXTENSIONS.join(" ")}` +
        (skipped.length > 0 ? `; ${skipped.length} other files skipped)` : ")"),
    );
  }
  const places = files.map((r) => ({ r, place: folderPlace(r) }));
  const misfits = places.filter((p) => typeof p.place === "string");
  if (misfits.length > 0) {
    const more = misfits.length > 1 ? ` (and ${misfits.length - 1} more)` : "";
    throw new ConfigError(`--videos ${dir}: ${misfits[0].r}: ${misfits[0].place}${more}`);
  }
  if (classes !== undefined) {
    const unknown = places.filter((p) => {
      const label = (p.place as { label: string }).label.trim();
      return label !== "" && !classes.names.has(label);
    });
    if (unknown.length > 0) {
      const { r, place } = unknown[0];
      const more = unknown.length > 1 ? ` (and ${unknown.length - 1} more videos)` : "";
      throw new ConfigError(
        `--videos ${dir}: ${r}: class ${
          JSON.stringify((place as { label: string }).label.trim())
        } is not in --classes ${classes.file}${more}; rename the folder or add the class`,
      );
    }
  }
  const quote = (v: string) => /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  const lines = ["path,label,split"];
  for (const { r, place } of places) {
    const { split, label } = place as { split: string; label: string };
    lines.push([resolve(dir, r), label, split].map(quote).join(","));
  }
  return { text: lines.join("\n") + "\n", skipped, refused };
}

/**
 * One line naming what a folder listing skipped: the count per reason and the first few names.
 * @param dir the folder
 * @param skipped what `videoFolderList` skipped
 * @returns the line, or null when nothing was skipped
 */
export function formatSkippedFiles(
  dir: string,
  skipped: readonly { path: string; reason: string }[],
): string | null {
  if (skipped.length === 0) return null;
  const byReason = new Map<string, string[]>();
  for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.path]);
  const parts = [...byReason].map(([reason, paths]) =>
    `${paths.length} ${reason} (${paths.slice(0, 3).join(", ")}${paths.length > 3 ? ", ..." : ""})`
  );
  return `${dir}: skipped ${skipped.length} file${skipped.length === 1 ? "" : "s"}: ` +
    parts.join("; ");
}

/**
 * Reads plain video lists (see `parseVideoList`), checking ids are unique across them. A folder
 * instead of a list file stands for its videos (see `videoFolderList`).
 * @param paths the list files or folders
 * @param allowHosts link-local or metadata hosts the user named
 * @returns every valid row and every rejected one
 */
export async function readVideoLists(
  paths: string[],
  allowHosts: readonly string[] = [],
): Promise<AnnotationSet> {
  const set: AnnotationSet = { rows: [], issues: [], notes: [] };
  await readVideoListsInto(paths, allowHosts, collectInto(set, new Map()));
  return set;
}

/**
 * `readVideoLists` into a sink, a row at a time: the sink checks ids are unique.
 * @param paths the list files or folders
 * @param allowHosts link-local or metadata hosts the user named
 * @param sink where rows, rejected lines and notes go
 * @param listings folders listed already (by `videoFolderList`), so they are not walked twice
 * @param texts list files read and checked already (by `readInputText`), taken out as they are
 *   used
 */
export async function readVideoListsInto(
  paths: string[],
  allowHosts: readonly string[],
  sink: RowSink,
  listings: ReadonlyMap<string, VideoFolderListing> = new Map(),
  texts: Map<string, string> = new Map(),
): Promise<void> {
  for (const path of paths) {
    const isDir = (await Deno.stat(path)).isDirectory;
    let text: string;
    if (isDir) {
      const listing = listings.get(path) ?? await videoFolderList(path);
      text = listing.text;
      for (const issue of listing.refused) sink.issue(issue);
      const skipped = formatSkippedFiles(path, listing.skipped);
      if (skipped !== null) sink.note(skipped);
    } else {
      text = takeText(texts, path) ?? await readInputText(path, "--videos", "a video list CSV");
    }
    videoListInto(text, isDir ? join(path, "(folder listing)") : path, allowHosts, sink);
  }
}
