/**
 * The download step: annotation rows (Kinetics CSV or JSON, or a plain video list) become manifest
 * rows, and their videos are fetched — CVDF `.tar.gz` archives over HTTP (or read locally) and
 * extracted safely, or single files linked, copied or fetched — into
 * `<work>/videos/<split>/<class>/<id>.mp4`.
 *
 * Idempotent (an archive recorded done is not fetched again; a run with nothing left sends no
 * request) and resumable (partial downloads resume with Range; extraction skips members already in
 * place).
 * @module
 */
import {
  ConfigError,
  type FailureSummary,
  FormatError,
  mapConcurrent,
  oneLine,
  parseSplitName,
  ProblemListError,
  Progress,
  sha256File,
  type Split,
  SPLITS,
  TEMP_SUFFIX,
  tempPathFor,
  UsageError,
  writeFailureList,
} from "../base/mod.ts";
import {
  type ClassStates,
  type Manifest,
  openStep,
  type StagedRows,
  type StateCounts,
  type VideoRow,
  type WorkDirLayout,
} from "../core/mod.ts";
import { createHash } from "node:crypto";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type AnnotationIssue,
  labelDirName,
  parseVideoFileName,
  readAnnotationsInto,
  readVideoListsInto,
  refuseEmptyInput,
  type RowSink,
  videoFolderList,
  type VideoFolderListing,
  videoId,
} from "./annotations.ts";
import { readInputText } from "./input_text.ts";
import { extractArchive } from "../tar/mod.ts";
import { Fetcher, FetchError, isHttpUrl, refuseUnnamedHost } from "../net/mod.ts";
import { readChecksums } from "./checksums.ts";
import { pickFromSorted, type SubsetOptions } from "./subset.ts";

/** What to download and how. */
export interface DownloadOptions {
  /** The work directory. */
  work: string;
  /** Kinetics annotation files (CSV or DeepMind JSON); need `archives`. */
  annotations?: string[];
  /** CVDF archive lists: one archive URL or path per line. */
  archives?: string[];
  /** Plain video lists (`path,label,split[,youtube_id,time_start,time_end]`). */
  videos?: string[];
  /**
   * Base for relative entries of the archive lists: an http(s) URL, or a local folder (without it
   * they are local paths relative to the list's folder).
   */
  baseUrl?: string;
  /**
   * Link-local or cloud metadata hosts (`169.254.169.254`, `[fe80::1]`) the lists may fetch
   * from; URLs on such hosts not named here are refused before any request.
   */
  allowHosts?: string[];
  /**
   * A class list (one class a line, as verify and eval read it): every class folder of a
   * `--videos` folder must be in it.
   */
  classes?: string;
  /** A `sha256sum`-style file; archives (and listed files) named in it are checked. */
  checksums?: string;
  /** Only these splits. */
  splits?: Split[];
  /** At most this many videos per class and split. */
  perClass?: number;
  /** At most this many videos in all. */
  limit?: number;
  /** Seed of the subset's shuffle (default 0). */
  seed?: number;
  /** Transfers and extractions at once (default 4). */
  jobs?: number;
  /** Connect and idle timeout in ms (default 30 000). */
  timeoutMs?: number;
  /** Retries of a transfer (default 5). */
  retries?: number;
  /** Backoff after the first failure, in ms (default 1000). */
  retryBaseMs?: number;
  /** No progress output. */
  quiet?: boolean;
  /** Receives one line per notable event (retries, failures, refused members). Default: stderr. */
  log?: (line: string) => void;
  /**
   * Fetch only some of the selected videos: called with every video of the manifest once the
   * selection is recorded, returns the ids to fetch (a scale-out worker: those of its shards).
   */
  restrictTo?: (videos: readonly { id: string; split: Split }[]) => ReadonlySet<string>;
}

/** An archive that could not be fetched or extracted. */
export interface ArchiveFailure {
  /** Its URL or path. */
  source: string;
  /** Why, in one line. */
  error: string;
}

/** An archive member that was refused as unsafe. */
export interface RefusedArchiveMember {
  /** The archive's URL or path. */
  archive: string;
  /** The member's name in the archive. */
  member: string;
  /** Why it was refused. */
  reason: string;
}

/** What a download run did. */
export interface DownloadReport {
  /** Rejected input lines (bad CSV rows, unreadable list entries, symlinks out of a folder). */
  issues: AnnotationIssue[];
  /** Lines worth showing that are not errors (files a `--videos` folder skipped). */
  notes: string[];
  /** Rows kept by the subset. */
  selected: number;
  /** Of those, rows new to the manifest. */
  added: number;
  /** Selected videos already done before this run. */
  doneBefore: number;
  /** Archive counts. */
  archives: {
    /** Archives in the lists. */
    listed: number;
    /** Fetched over HTTP (or read locally) and extracted in this run. */
    processed: number;
    /** Not needed: recorded done and no selected video waits on them. */
    alreadyDone: number;
    /** Not fetched: a per-class archive whose class has no selected video. */
    skipped: number;
    /** Failed in this run. */
    failed: ArchiveFailure[];
  };
  /** HTTP requests sent. */
  requests: number;
  /** Bytes downloaded (or read from local archives). */
  bytes: number;
  /** Archive files that match no annotation row: not written. */
  extras: { count: number; examples: string[] };
  /** Unsafe archive members: not written. */
  refused: RefusedArchiveMember[];
  /** Download states per split, over every video in the manifest. */
  splits: Partial<Record<Split, StateCounts>>;
  /**
   * The first `REPORTED_FAILURES` failed videos of the manifest with their reason, in id order
   * (the complete list is `failureSummary.file`).
   */
  failures: { id: string; split: Split; error: string }[];
  /**
   * Every failed video of the manifest: the count per reason, and the complete list written to
   * `<work>/reports/download_failures.csv`.
   */
  failureSummary: FailureSummary;
  /** True when nothing had to be fetched (everything selected was done or settled). */
  nothingToDo: boolean;
}

/** An archive named by a list, and which videos it can hold. */
interface ArchiveSource {
  /** URL, or absolute local path. */
  source: string;
  http: boolean;
  /** File name, for checksums and messages. */
  name: string;
  /** The split it holds, from its folder (`.../val/x.tar.gz`), when that says so. */
  split: Split | null;
  /** The class it holds (per-class archives are named for their class), when known. */
  label: string | null;
}

/** How many failed videos a report lists (the rest are in the complete list's file). */
export const REPORTED_FAILURES = 1000;

/** How many extra file names a report keeps. */
const EXTRA_EXAMPLES = 5;

/**
 * Runs the download step.
 * @param opts inputs, subset and transfer settings
 * @returns what happened; the manifest holds the per-video outcome
 * @throws UsageError on a bad combination of inputs; ConfigError on an unreadable checksum file
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { download } from "./download.ts";
 * // Kinetics: { annotations: ["k700_2020/validate.csv"], archives: ["k700_2020_val_path.txt"],
 * // perClass: 2, seed: 0 }; here a plain video list naming a local file
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(join(dir, "clip.mp4"), new Uint8Array(64)); // decoded later, by sample
 * await Deno.writeTextFile(join(dir, "videos.csv"), "path,label,split\nclip.mp4,abseiling,train\n");
 * const report = await download({ work: join(dir, "work"), videos: [join(dir, "videos.csv")], quiet: true });
 * strictEqual(report.selected, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function download(opts: DownloadOptions): Promise<DownloadReport> {
  const annotations = opts.annotations ?? [];
  const lists = opts.archives ?? [];
  const videoLists = opts.videos ?? [];
  refuseInputMix(annotations, lists, videoLists);
  const log = opts.log ?? ((line: string) => console.error(line));
  const checksums = opts.checksums
    ? await readChecksums(opts.checksums)
    : new Map<string, string>();
  // a missing input is named before the work dir is made
  for (const path of [...annotations, ...videoLists]) await Deno.stat(path);
  const inputs = [annotations, videoLists, lists] as const;
  const { listings, texts } = await checkInputs(...inputs, opts.classes, log);

  const ctx = await openStep(opts.work, { onWait: (h) => log(`waiting for ${h} to finish ...`) });
  try {
    const { layout, manifest } = ctx;
    const issues: AnnotationIssue[] = [];
    const notes: string[] = [];
    // the rows go to a table, never into an array: 645k of them are read, checked and picked there
    const staged = manifest.videos.stageRows((d) =>
      issues.push({
        file: d.file,
        line: d.line,
        message: `duplicate id ${d.row.id} (first at ${d.first})`,
      })
    );
    const sink: RowSink = {
      row: (row, file, line) => staged.add(row, file, line),
      issue: (issue) => {
        issues.push(issue);
        if (issue.drawAs !== undefined) staged.addRejected(issue.drawAs);
      },
      note: (line) => void notes.push(line),
    };
    await staged.load(() =>
      videoLists.length > 0
        ? readVideoListsInto(videoLists, opts.allowHosts ?? [], sink, listings, texts)
        : readAnnotationsInto(annotations, sink, texts)
    );
    const archives = lists.length > 0
      ? await readArchiveLists(lists, opts.baseUrl, staged.labels(), opts.allowHosts ?? [])
      : { sources: [], issues: [] };
    for (const issue of archives.issues) issues.push(issue);
    pickSubset(staged, opts);
    const added = staged.addPickedToManifest();
    const only = opts.restrictTo?.(
      Array.from(manifest.steps.videoSteps("download"), (v) => ({ id: v.id, split: v.split })),
    );
    const selected = only ? staged.keepPicked(only) : staged.pickedCount();
    await removeTempsUnder(layout.videos);
    // a run killed while saving a transfer's resume validators (`.part.json`) leaves a temp
    await removeTempsUnder(layout.downloads);
    forgetMissingOutputs(manifest, staged, log);
    const fetcher = new Fetcher({
      jobs: opts.jobs,
      timeoutMs: opts.timeoutMs,
      retries: opts.retries,
      retryBaseMs: opts.retryBaseMs,
      log,
    });
    const run = new DownloadRun(layout, manifest, staged, fetcher, checksums, log, opts);
    const classes = staged.classStates("download");
    const report: DownloadReport = {
      issues,
      notes,
      selected,
      added,
      doneBefore: classes.reduce((n, c) => n + c.states.done, 0),
      archives: {
        listed: archives.sources.length,
        processed: 0,
        alreadyDone: 0,
        skipped: 0,
        failed: [],
      },
      requests: 0,
      bytes: 0,
      extras: { count: 0, examples: [] },
      refused: [],
      splits: {},
      failures: [],
      failureSummary: { total: 0, reasons: [], first: [], file: null },
      nothingToDo: false,
    };
    if (videoLists.length > 0) await run.videos(classes, report);
    else await run.archives(archives.sources, classes, report);
    report.requests = fetcher.requests;
    for (const split of SPLITS) {
      const c = manifest.steps.counts("download", split);
      if (c.done + c.failed + c.pending > 0) report.splits[split] = c;
    }
    report.failureSummary = await writeFailureList(
      manifest.steps.failedRecords("download"),
      join(layout.reports, "download_failures.csv"),
      "download",
      REPORTED_FAILURES,
    );
    report.failures = report.failureSummary.first.map((f) => ({
      id: f.id,
      split: f.split as Split,
      error: f.error,
    }));
    return report;
  } finally {
    ctx.close();
  }
}

/** Refuses inputs that do not go together: `--videos` alone, or annotations with archives. */
function refuseInputMix(
  annotations: readonly string[],
  lists: readonly string[],
  videoLists: readonly string[],
): void {
  if (videoLists.length > 0 && (annotations.length > 0 || lists.length > 0)) {
    throw new UsageError("--videos cannot be combined with --annotations/--archives");
  }
  if (videoLists.length > 0) return;
  if (annotations.length === 0) {
    throw new UsageError("give --annotations with --archives, or --videos");
  }
  if (lists.length === 0) {
    throw new UsageError(
      "--annotations needs --archives (the lists of archives holding the videos)",
    );
  }
}

/**
 * Checks what each input holds before the work dir is made: text that is UTF-8 and no binary
 * file, rows under the header, a `--videos` folder laid out as documented (with its classes in
 * the class list, when one is given). A file without rows is named: refused when no input has
 * any (nothing to download), else noted and skipped (a split may have no videos, e.g. a test
 * split left empty).
 * @returns the `--videos` folders' listings and the files' texts, so they are not read twice
 * @throws ConfigError naming the flag and the file (and line, or path in the folder)
 */
async function checkInputs(
  annotations: readonly string[],
  videoLists: readonly string[],
  archiveLists: readonly string[],
  classList: string | undefined,
  log: (line: string) => void,
): Promise<{ listings: Map<string, VideoFolderListing>; texts: Map<string, string> }> {
  const texts = new Map<string, string>();
  const empty: string[] = [];
  const keepIfRows = (text: string, path: string, flag: string) => {
    try {
      refuseEmptyInput(text, path, flag);
      texts.set(path, text);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      empty.push(e.message);
    }
  };
  for (const path of annotations) {
    const text = await readInputText(path, "--annotations", "an annotation CSV or JSON file");
    keepIfRows(text, path, "--annotations");
  }
  // read as verify reads it: a class a line, trimmed, as written
  const classes = classList === undefined ? undefined : {
    file: classList,
    names: new Set(
      (await readInputText(classList, "--classes", "a class list")).replace(/^\uFEFF/, "")
        .split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
    ),
  };
  const listings = new Map<string, VideoFolderListing>();
  for (const path of videoLists) {
    if ((await Deno.stat(path)).isDirectory) {
      listings.set(path, await videoFolderList(path, classes));
    } else {
      const text = await readInputText(path, "--videos", "a video list CSV");
      keepIfRows(text, path, "--videos");
    }
  }
  if (empty.length > 0 && texts.size === 0 && listings.size === 0) {
    if (empty.length === 1) throw new ConfigError(empty[0]);
    throw new ProblemListError(
      `nothing to download: none of ${empty.length} inputs has rows`,
      empty,
    );
  }
  for (const line of empty) log(`${line}; nothing is read from it`);
  for (const list of archiveLists) await readInputText(list, "--archives", ARCHIVE_LIST);
  return { listings, texts };
}

/** How much of a bad archive list entry a message shows. */
const ENTRY_SHOWN = 120;

/** What an `--archives` file is, in messages. */
const ARCHIVE_LIST = "a list of archive URLs";

/**
 * Picks the subset among the staged rows: every row of the chosen splits, or a seeded draw per
 * class and in all (the same draw as `selectSubset`, made from ids, splits and labels alone).
 * Rejected rows are drawn too, in the place they would have, and drawn take their slot: fixing
 * one later adds it without changing which other rows are picked.
 */
function pickSubset(staged: StagedRows, opts: SubsetOptions): number {
  if (opts.perClass === undefined && opts.limit === undefined) return staged.pickAll(opts.splits);
  const sorted = Array.from(staged.candidates(opts.splits));
  return staged.pickOnly(pickFromSorted(sorted, opts).filter((r) => !r.rejected).map((r) => r.id));
}

/** Puts back to pending the done videos whose file is gone, so this run fetches them again. */
function forgetMissingOutputs(
  manifest: Manifest,
  staged: StagedRows,
  log: (line: string) => void,
): void {
  const gone: { id: string; path: string | null }[] = [];
  for (const v of staged.doneOutputs("download")) {
    const there = v.path !== null && isFileSync(v.path);
    if (!there) gone.push(v);
  }
  if (gone.length === 0) return;
  for (const g of gone.slice(0, SHOWN_GONE)) {
    log(`${g.id}: its file ${g.path ?? "(none)"} is gone; downloading it again`);
  }
  if (gone.length > SHOWN_GONE) {
    log(`... and ${gone.length - SHOWN_GONE} more videos whose file is gone`);
  }
  manifest.batch(() => {
    for (const g of gone) manifest.steps.markPending("download", g.id);
  });
}

/** Rows of a plain video list handed to the jobs at a time. */
const PAGE = 256;

/** How many vanished files are named one by one. */
const SHOWN_GONE = 5;

/** Is there a regular file at `path` (a symlink is not followed)? Sync: 645k awaits cost more. */
function isFileSync(path: string): boolean {
  try {
    return Deno.lstatSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Removes a downloaded archive with its resume files: a run killed between the transfer's rename
 * and the removal of its validators leaves `<file>.part.json` beside a complete `<file>`.
 */
async function removeDownload(file: string): Promise<void> {
  for (const p of [file, `${file}.part`, `${file}.part.json`]) await Deno.remove(p).catch(() => {});
}

/** Removes temp files a killed extraction left anywhere under the videos folder. */
async function removeTempsUnder(dir: string): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory) await removeTempsUnder(path);
    else if (e.isFile && e.name.endsWith(TEMP_SUFFIX)) await Deno.remove(path).catch(() => {});
  }
}

/** A label as it appears in an archive's name: lower case, `_` as space. */
function labelKey(label: string): string {
  return label.toLowerCase().replace(/_/g, " ").replace(/\s+/g, " ").trim();
}

/** The name of an archive without `.tar.gz`/`.tgz`/`.tar`. */
function archiveStem(name: string): string {
  return name.replace(/\.(tar\.gz|tgz|tar)$/i, "");
}

/**
 * Reads CVDF archive lists: one URL or path per line; relative entries resolve against `baseUrl`
 * when given, else against the list's folder as local paths.
 */
async function readArchiveLists(
  lists: string[],
  baseUrl: string | undefined,
  classNames: readonly string[],
  allowHosts: readonly string[],
): Promise<{ sources: ArchiveSource[]; issues: AnnotationIssue[] }> {
  const labels = new Map<string, string>();
  for (const label of classNames) labels.set(labelKey(label), label);
  // --base-url may also be a local folder (or file: URL) that relative entries are under
  const localBase = baseUrl !== undefined && !isHttpUrl(baseUrl)
    ? resolve(baseUrl.startsWith("file:") ? fileURLToPath(baseUrl) : baseUrl)
    : undefined;
  const base = baseUrl === undefined || localBase !== undefined
    ? undefined
    : baseUrl.endsWith("/")
    ? baseUrl
    : baseUrl + "/";
  const sources: ArchiveSource[] = [];
  const issues: AnnotationIssue[] = [];
  const seen = new Set<string>();
  for (const list of lists) {
    const lines = (await readInputText(list, "--archives", ARCHIVE_LIST)).replace(/^\uFEFF/, "")
      .split(/\r?\n/);
    lines.forEach((raw, i) => {
      const entry = raw.trim();
      if (entry === "" || entry.startsWith("#")) return;
      let source: string;
      try {
        if (isHttpUrl(entry)) source = new URL(entry).href;
        else if (entry.startsWith("file:")) source = fileURLToPath(entry);
        else if (isAbsolute(entry)) source = entry;
        else if (localBase !== undefined) source = resolve(localBase, entry);
        else if (base !== undefined) source = new URL(entry, base).href;
        else source = resolve(dirname(resolve(list)), entry);
      } catch (e) {
        issues.push({ file: list, line: i + 1, message: `bad entry: ${(e as Error).message}` });
        return;
      }
      if (seen.has(source)) return;
      seen.add(source);
      const http = isHttpUrl(source);
      const refused = http ? refuseUnnamedHost(source, allowHosts) : null;
      if (refused !== null) {
        issues.push({ file: list, line: i + 1, message: `${source}: ${refused}` });
        return;
      }
      const path = http ? decodeURIComponent(new URL(source).pathname) : source;
      const name = basename(path);
      if (!/\.(tar\.gz|tgz)$/i.test(name)) {
        issues.push({
          file: list,
          line: i + 1,
          // a whole CSV line given as an entry is cut, so the message stays one short line
          message: `not a .tar.gz archive: ${
            JSON.stringify(entry.length > ENTRY_SHOWN ? `${entry.slice(0, ENTRY_SHOWN)}...` : entry)
          }`,
        });
        return;
      }
      sources.push({
        source,
        http,
        name,
        split: parseSplitName(basename(dirname(path))),
        label: labels.get(labelKey(archiveStem(name))) ?? null,
      });
    });
  }
  return { sources, issues };
}

/** Can this archive hold this video (or these)? Unknown split or class means it might. */
function mayHold(a: ArchiveSource, row: { split: Split; label: string | null }): boolean {
  return (a.split === null || a.split === row.split) && (a.label === null || a.label === row.label);
}

/** Files under `downloads/` are named for their URL, so two archives never share a name. */
function downloadPath(layout: WorkDirLayout, url: string): string {
  const hash = createHash("sha256").update(url).digest("hex").slice(0, 12);
  let name = "file";
  try {
    name = basename(decodeURIComponent(new URL(url).pathname)) || name;
  } catch { /* keep the plain name */ }
  return join(layout.downloads, `${hash}_${name.replace(/[^A-Za-z0-9_\-.]/g, "_").slice(0, 120)}`);
}

/** Where a video's file goes: `videos/<split>/<class>/<id><ext>` (no class folder unlabelled). */
function videoPath(layout: WorkDirLayout, row: VideoRow, ext: string): string {
  const safeExt = /^\.[A-Za-z0-9]{1,8}$/.test(ext) ? ext.toLowerCase() : ".mp4";
  const parts = [layout.videos, row.split];
  if (row.label !== null) parts.push(labelDirName(row.label));
  return join(...parts, row.id + safeExt);
}

/** The state one run works on. */
class DownloadRun {
  #claimed = new Set<string>();

  constructor(
    readonly layout: WorkDirLayout,
    readonly manifest: Manifest,
    readonly staged: StagedRows,
    readonly fetcher: Fetcher,
    readonly checksums: Map<string, string>,
    readonly log: (line: string) => void,
    readonly opts: DownloadOptions,
  ) {}

  /**
   * Fetches and extracts the archives that selected videos wait on.
   * @param classes the picked videos per split and class, with their states before this run
   */
  async archives(
    sources: ArchiveSource[],
    classes: ClassStates[],
    report: DownloadReport,
  ): Promise<void> {
    // per (split, class) counts, so that 700 per-class archives × 600k rows is not a product
    const byLabel = groupBy(classes, (c) => c.label);
    const archivesOf = groupBy(sources, (a) => a.label);
    const unlabelled = archivesOf.get(null) ?? [];
    const todo: ArchiveSource[] = [];
    for (const a of sources) {
      let held = 0, undone = 0, untried = 0;
      for (const c of a.label === null ? classes : byLabel.get(a.label) ?? []) {
        if (!mayHold(a, c)) continue;
        held += c.picked;
        undone += c.picked - c.states.done;
        untried += c.states.pending;
      }
      const record = this.manifest.archives.get(a.source);
      if (a.label !== null && held === 0) report.archives.skipped++;
      else if (untried > 0 || (record?.state !== "done" && undone > 0)) todo.push(a);
      else if (record?.state === "done") report.archives.alreadyDone++;
      else report.archives.skipped++;
      // an archive recorded done whose download was left behind by a killed run
      if (record?.state === "done" && a.http) {
        await removeDownload(downloadPath(this.layout, a.source));
      }
    }
    if (todo.length === 0) {
      report.nothingToDo = true;
      const done = classes.reduce((n, c) => n + c.states.done, 0);
      const failed = classes.reduce((n, c) => n + c.states.failed, 0);
      this.log(
        `nothing to download: ${done} videos already done` +
          (failed > 0 ? `, ${failed} failed earlier` : ""),
      );
    }
    const progress = new Progress("download", todo.length, {
      extraUnit: "MB",
      quiet: this.opts.quiet,
    });
    const failures = new Map<string, string>();
    await mapConcurrent(todo, this.opts.jobs ?? 4, async (a) => {
      await this.#archive(a, report, failures, (n) => {
        report.bytes += n;
        progress.tick(0, n / 1e6);
      });
      progress.tick(1);
    });
    if (todo.length > 0) progress.finish();
    // videos still without a file: say why, in one transaction
    const tried = new Set(todo.map((a) => a.source));
    this.manifest.batch(() => this.#markMissing(classes, unlabelled, archivesOf, failures, tried));
  }

  /** Marks failed each selected video still without a file, with the reason. */
  #markMissing(
    classes: ClassStates[],
    unlabelled: ArchiveSource[],
    archivesOf: Map<string | null, ArchiveSource[]>,
    failures: Map<string, string>,
    tried: Set<string>,
  ): void {
    const recorded = new Map<string, string | null>();
    const archiveError = (a: ArchiveSource) => {
      if (!recorded.has(a.source)) {
        recorded.set(
          a.source,
          failures.get(a.source) ?? this.manifest.archives.get(a.source)?.error ?? null,
        );
      }
      return recorded.get(a.source)!;
    };
    // the outcome depends only on the video's split and class: worked out once per pair
    const outcomes = classes.map((c) => {
      const holders = [
        ...unlabelled,
        ...(c.label === null ? [] : archivesOf.get(c.label) ?? []),
      ].filter((a) => mayHold(a, c));
      const failed = holders.map((a) => {
        const err = archiveError(a);
        return err ? `archive ${a.name} failed: ${err}` : null;
      }).find((m) => m !== null);
      return {
        split: c.split,
        label: c.label,
        error: holders.length === 0
          ? `no archive listed for ${c.split}${c.label === null ? "" : `/${c.label}`}`
          : failed ?? "missing from archive",
        // failed before and none of its archives was tried again: its reason stands (a no-op
        // rerun rewrites nothing)
        keepFailed: holders.length > 0 && !holders.some((a) => tried.has(a.source)),
      };
    });
    this.staged.failUndone("download", outcomes);
  }

  async #archive(
    a: ArchiveSource,
    report: DownloadReport,
    failures: Map<string, string>,
    onBytes: (n: number) => void,
  ): Promise<void> {
    const mine: string[] = [];
    const idOfDest = new Map<string, string>();
    let file = a.source;
    let downloaded = false;
    try {
      if (a.http) {
        file = downloadPath(this.layout, a.source);
        // a complete download left by a run killed during extraction is used as it is
        const complete = await Deno.stat(file).then((s) => s.isFile, () => false);
        if (!complete) {
          await this.fetcher.fetchToFile(a.source, file, {
            sha256: this.checksums.get(a.name),
            onBytes,
          });
        }
        downloaded = true;
      } else {
        const want = this.checksums.get(a.name);
        if (want !== undefined) {
          const got = await sha256File(a.source);
          if (got !== want) throw new FormatError(`sha256 mismatch: expected ${want}, got ${got}`);
        }
      }
      const extraction = await extractArchive(file, {
        root: this.layout.videos,
        onBytes: a.http ? undefined : onBytes,
        place: (m) => {
          const p = parseVideoFileName(m.name);
          const id = p ? videoId(p.youtubeId, p.timeStart, p.timeEnd) : null;
          const dest = this.#place(m.name, id, report, mine);
          if (dest !== null) idOfDest.set(resolve(dest), id!);
          return dest;
        },
        onExtracted: (m) => {
          const id = idOfDest.get(m.dest)!;
          this.manifest.steps.markDone("download", id, { path: m.dest, sha256: m.sha256 });
        },
      });
      for (const r of extraction.refused) {
        report.refused.push({ archive: a.source, member: r.name, reason: r.reason });
        this.log(`archive ${a.name}: refused member ${JSON.stringify(r.name)}: ${r.reason}`);
      }
      this.manifest.archives.put({
        url: a.source,
        state: "done",
        bytes: extraction.archiveBytes,
        sha256: extraction.archiveSha256,
        error: null,
      });
      report.archives.processed++;
      if (a.http) await removeDownload(file);
    } catch (e) {
      if (
        !(e instanceof FetchError || e instanceof FormatError || e instanceof Deno.errors.NotFound)
      ) {
        throw e;
      }
      const error = e instanceof Deno.errors.NotFound
        ? `no such file ${a.source}`
        : oneLine(e).replace(`${file}: `, ""); // the archive is named by the caller
      failures.set(a.source, error);
      report.archives.failed.push({ source: a.source, error });
      this.manifest.archives.put({
        url: a.source,
        state: "failed",
        bytes: null,
        sha256: null,
        error,
      });
      this.log(`archive ${a.name}: ${error}`);
      // a corrupt download is fetched afresh next time
      if (downloaded && e instanceof FormatError) await removeDownload(file);
      for (const id of mine) if (!this.#isDone(id)) this.#claimed.delete(id);
    }
  }

  #isDone(id: string): boolean {
    return this.manifest.videos.get(id)?.steps.download?.state === "done";
  }

  /** Decides where an archive member goes (null: not written) and counts extras. */
  #place(
    name: string,
    id: string | null,
    report: DownloadReport,
    mine: string[],
  ): string | null {
    const staged = id === null ? undefined : this.staged.row(id);
    if (id === null || staged === undefined) {
      report.extras.count++;
      if (report.extras.examples.length < EXTRA_EXAMPLES) report.extras.examples.push(name);
      return null;
    }
    // not in the subset, already done, or being written from another archive right now
    if (!staged.picked || this.#claimed.has(id) || this.#isDone(id)) return null;
    this.#claimed.add(id);
    mine.push(id);
    return videoPath(this.layout, staged.row, extname(name));
  }

  /**
   * Links, copies or fetches the files of a plain video list, a page of rows at a time.
   * @param classes the picked videos per split and class, with their states before this run
   */
  async videos(classes: ClassStates[], report: DownloadReport): Promise<void> {
    const picked = classes.reduce((n, c) => n + c.picked, 0);
    const undone = classes.reduce((n, c) => n + c.picked - c.states.done, 0);
    if (undone === 0) {
      report.nothingToDo = true;
      this.log(`nothing to download: ${picked} videos already done`);
      return;
    }
    const progress = new Progress("download", undone, {
      extraUnit: "MB",
      quiet: this.opts.quiet,
    });
    for (let after = "";;) {
      const page = this.staged.undonePage("download", after, PAGE);
      if (page.length === 0) break;
      after = page[page.length - 1].id;
      await mapConcurrent(page, this.opts.jobs ?? 4, async (row) => {
        await this.#video(row, (n) => {
          report.bytes += n;
          progress.tick(0, n / 1e6);
        });
        progress.tick(1);
      });
    }
    progress.finish();
  }

  async #video(row: VideoRow, onBytes: (n: number) => void): Promise<void> {
    const source = row.source!;
    const http = isHttpUrl(source);
    const name = http ? basename(new URL(source).pathname) : basename(source);
    const dest = videoPath(this.layout, row, extname(name));
    try {
      await Deno.mkdir(dirname(dest), { recursive: true });
      if (http) {
        const tmp = downloadPath(this.layout, source);
        await this.fetcher.fetchToFile(source, tmp, {
          sha256: this.checksums.get(decodeURIComponent(name)),
          onBytes,
        });
        await Deno.rename(tmp, dest);
      } else {
        const bytes = await linkOrCopy(source, dest);
        onBytes(bytes);
        const want = this.checksums.get(name);
        if (want !== undefined) {
          const got = await sha256File(dest);
          if (got !== want) {
            await Deno.remove(dest);
            throw new FormatError(`sha256 mismatch: expected ${want}, got ${got}`);
          }
        }
      }
      this.manifest.steps.markDone("download", row.id, {
        path: dest,
        sha256: await sha256File(dest),
      });
    } catch (e) {
      if (
        !(e instanceof FetchError || e instanceof FormatError || e instanceof Deno.errors.NotFound)
      ) throw e;
      const error = e instanceof Deno.errors.NotFound ? `no such file ${source}` : oneLine(e);
      this.manifest.steps.markFailed("download", row.id, error);
      this.log(`${row.id}: ${error}`);
    }
  }
}

/**
 * Puts a local file at `dest` without moving or changing the original: a hard link where the file
 * system allows, else a copy; either way through a temp name, so `dest` is whole or absent.
 */
async function linkOrCopy(source: string, dest: string): Promise<number> {
  // link the file itself, never a symlink to it
  const real = await Deno.realPath(source);
  const info = await Deno.stat(real);
  if (!info.isFile) throw new FormatError(`not a regular file: ${source}`);
  const tmp = tempPathFor(dest);
  await Deno.remove(tmp).catch(() => {});
  try {
    await Deno.link(real, tmp);
  } catch {
    await Deno.copyFile(real, tmp);
    const f = await Deno.open(tmp, { read: true, write: true });
    try {
      await f.sync();
    } finally {
      f.close();
    }
  }
  await Deno.rename(tmp, dest);
  return info.size;
}

/** Groups items by a key. */
function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
