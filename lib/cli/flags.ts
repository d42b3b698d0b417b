/**
 * The command-line conventions every task shares: strict flags, `--help`, `--work DIR`, and exit
 * codes (0 all done, 1 some items failed, 2 usage or configuration error).
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import {
  asDiskFull,
  ConfigError,
  ConfigMismatchError,
  DiskFullError,
  type FailedItem,
  failureReason,
  type FailureSummary,
  FormatError,
  formatFailureSummary,
  InterruptedError,
  isDiskFull,
  ProblemListError,
  SHOWN_ITEMS,
  UsageError,
  WorkDirBusyError,
  writeFailureList,
} from "../base/mod.ts";
import { describeConfigMismatch, workDirLayout } from "../core/mod.ts";
import { printableLine } from "./message_line.ts";
import { watchParent } from "./parent_watch.ts";
import { checkInputs, PreflightError } from "./preflight.ts";
import type { FlagSpec, FlagValues, TaskSpec } from "./flag_spec.ts";

/**
 * Builds the `--help` text of a task.
 * @param spec the task's command line
 * @returns the usage text, one flag a line
 */
export function usage(spec: TaskSpec): string {
  const lines = [
    `usage: kinembed ${spec.name} [flags]${spec.positionals ? " " + spec.positionals : ""}`,
    "",
    spec.summary,
    "",
    "flags:",
  ];
  const all: Record<string, FlagSpec> = {
    ...withJsonFlag(spec).flags,
    help: { type: "boolean", help: "show this help" },
  };
  for (const [name, f] of Object.entries(all)) {
    const left = `  --${name}${f.type === "string" ? " " + (f.arg ?? "VALUE") : ""}`;
    const def = f.default !== undefined && f.default !== false ? ` (default ${f.default})` : "";
    lines.push(`${left.padEnd(30)} ${f.help}${def}`);
  }
  lines.push(
    "",
    "exit status: 0 all done, 1 some items failed (listed), 2 usage or configuration error",
  );
  return lines.join("\n");
}

/** The `--json` switch every task takes. */
const JSON_FLAG: FlagSpec = {
  type: "boolean",
  help: "print one JSON object on stdout (what was done, counts, failures, timings, exit " +
    "status); progress and messages go to stderr",
};

function withJsonFlag(spec: TaskSpec): TaskSpec {
  return spec.flags.json ? spec : { ...spec, flags: { ...spec.flags, json: JSON_FLAG } };
}

/**
 * The flag nearest to a mistyped one (by edit distance), when it is near enough to be a typo.
 * @param wrong the flag as typed, without dashes
 * @param known the task's flags
 * @returns the nearest flag, or undefined (`modle` among `model`, `batch`: `model`)
 */
function nearestFlag(wrong: string, known: readonly string[]): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const k of known) {
    const d = editDistance(wrong.toLowerCase(), k.toLowerCase());
    if (d < bestD || (d === bestD && best !== undefined && k < best)) [best, bestD] = [k, d];
  }
  // a prefix counts as near (--per for --per-shard); else at most a third of the letters wrong
  if (best !== undefined && wrong.length >= 3 && best.startsWith(wrong)) return best;
  return bestD <= Math.max(1, Math.floor(wrong.length / 3)) ? best : undefined;
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => {
    const row = new Array<number>(b.length + 1).fill(0);
    row[0] = i;
    return row;
  });
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * Parses a task's arguments strictly: an unknown flag or a missing value is a `UsageError`.
 * @param spec the task's command line
 * @param args the raw arguments (`Deno.args`)
 * @returns the flag values (defaults filled in), the positionals, and whether `--help` was asked
 */
export function parseFlags(
  spec: TaskSpec,
  args: string[],
): { values: FlagValues; positionals: string[]; help: boolean } {
  spec = withJsonFlag(spec);
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {
    help: { type: "boolean" },
  };
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = { type: f.type, multiple: f.multiple ?? false };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: spec.positionals !== undefined,
      tokens: true,
    });
  } catch (e) {
    const message = (e as Error).message;
    // node's parseArgs: "Unknown option '--modle'. To specify a positional argument, ..."
    const unknown = /^Unknown option '--?([^']+)'/.exec(message);
    if (unknown) {
      const near = nearestFlag(unknown[1].split("=")[0], [...Object.keys(options)]);
      throw new UsageError(
        `unknown flag --${unknown[1]}` + (near ? ` (did you mean --${near}?)` : ""),
      );
    }
    // "Option '--fps' argument is ambiguous.\nDid you forget to specify the option argument ..."
    const ambiguous = /^Option '(--[^']+)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      throw new UsageError(
        `${ambiguous[1]} takes a value that starts with "-": write ${ambiguous[1]}=VALUE`,
      );
    }
    throw new UsageError(message.split("\n")[0]);
  }
  refuseRepeated(spec, parsed.tokens);
  const values = { ...parsed.values } as FlagValues;
  for (const [name, f] of Object.entries(spec.flags)) {
    if (values[name] === undefined && f.default !== undefined) values[name] = f.default;
  }
  return { values, positionals: parsed.positionals, help: parsed.values.help === true };
}

/** Refuses a flag that takes one value given more than once (`--seed 1 --seed 2`). */
function refuseRepeated(spec: TaskSpec, tokens: readonly { kind: string; name?: string }[]) {
  const seen = new Set<string>();
  for (const t of tokens) {
    if (t.kind !== "option" || t.name === undefined) continue;
    // a switch repeated means the same; a value repeated is ambiguous (which one wins?)
    const f = spec.flags[t.name];
    if (f === undefined || f.multiple || f.type === "boolean") continue;
    if (seen.has(t.name)) throw new UsageError(`--${t.name} given twice; give it once`);
    seen.add(t.name);
  }
}

/**
 * Reads a flag that must be a whole number within a range.
 * @param values parsed flags
 * @param name the flag
 * @param min smallest accepted value
 * @returns the number, or undefined when the flag is absent
 */
export function intFlag(values: FlagValues, name: string, min = 0): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^-?\d+$/.test(v) || n < min) {
    throw new UsageError(`--${name} takes a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Reads a flag that must be a positive number.
 * @param values parsed flags
 * @param name the flag
 * @returns the number, or undefined when the flag is absent
 */
export function numberFlag(values: FlagValues, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${name} takes a positive number, got ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * Reads a string flag.
 * @param values parsed flags
 * @param name the flag
 * @returns the value, or undefined when absent
 */
export function stringFlag(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}

/** What a task's main may return: its exit code, and what it did for `--json`. */
export interface TaskOutcome {
  /** The exit code. */
  code: number;
  /** What the task did (counts, files, timings), merged into the `--json` object. */
  summary: Record<string, unknown>;
}

/** The failures `reportFailures` saw in this process (for `--json`): a count, the first few, and
 * the file with all of them. */
const failuresSeen: { count: number; first: { id: string; error: string }[]; file?: string } = {
  count: 0,
  first: [],
};

/**
 * Counts, for `--json`, failures a step has already summed up and listed itself (download
 * writes its list from the manifest, not from an array).
 * @param summary the step's summary of its failures
 */
export function noteFailureSummary(summary: FailureSummary): void {
  failuresSeen.count += summary.total;
  for (const f of summary.first) {
    if (failuresSeen.first.length >= SHOWN_ITEMS) break;
    failuresSeen.first.push({ id: f.id, error: f.error });
  }
  if (summary.file) failuresSeen.file = summary.file;
}

function noteFailures(failures: readonly FailedItem[]): void {
  failuresSeen.count += failures.length;
  for (const f of failures) {
    if (failuresSeen.first.length >= SHOWN_ITEMS) break;
    failuresSeen.first.push({ id: f.id, error: f.error });
  }
}

/**
 * Runs a task's main function with the shared conventions: `--help`, `--json`, usage errors
 * (exit 2), configuration errors (exit 2, one line), and the exit code the main returns. With
 * `--json`, everything the task prints goes to stderr and stdout gets one JSON object:
 * `{task, exitCode, ok, seconds, failures: {count, file?, first}, error?, ...summary}`.
 * @param spec the task's command line
 * @param main receives parsed flags and positionals, returns the exit code or a
 *   {@linkcode TaskOutcome}
 */
export async function runTask(
  spec: TaskSpec,
  main: (values: FlagValues, positionals: string[]) => Promise<number | TaskOutcome>,
): Promise<never> {
  const t0 = performance.now();
  let code: number;
  let summary: Record<string, unknown> = {};
  let error: string | undefined;
  let values: FlagValues | undefined;
  const json = Deno.args.includes("--json");
  // no orphans: when whatever started this task dies (even by SIGKILL), the task stops too, as
  // Ctrl-C would stop it; its locks go with it and a rerun resumes
  watchParent(() => Deno.exit(137));
  const stdoutLog = console.log;
  if (json) console.log = (...args: unknown[]) => console.error(...args);
  try {
    const parsed = parseFlags(spec, Deno.args);
    values = parsed.values;
    if (parsed.help) {
      stdoutLog(usage(spec));
      Deno.exit(0);
    }
    // every input looked at before any work: a bad one costs seconds, not a download
    await checkInputs(spec, parsed.values);
    const result = await main(parsed.values, parsed.positionals);
    if (typeof result === "number") code = result;
    else [code, summary] = [result.code, result.summary];
  } catch (e) {
    code = reportFatal(spec, e, values);
    error = e instanceof ConfigMismatchError
      ? describeConfigMismatch(e)
      : e instanceof Error
      ? e.message
      : String(e);
  }
  if (json) {
    const failures = failuresSummary();
    stdoutLog(JSON.stringify({
      task: spec.name,
      exitCode: code,
      ...summary,
      ok: code === 0,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      failures,
      ...(error !== undefined ? { error } : {}),
    }));
  }
  Deno.exit(code);
}

/** The failures for `--json`: a count, the first few, and the file listing all of them. */
function failuresSummary(): {
  count: number;
  file?: string;
  first: { id: string; error: string }[];
} {
  return {
    count: failuresSeen.count,
    first: failuresSeen.first,
    ...(failuresSeen.file ? { file: failuresSeen.file } : {}),
  };
}

/**
 * Prints why a task cannot go on, as one printable line (control bytes escaped, long lines cut,
 * see `printableLine`), and returns the exit code. A truly unexpected error prints its message and where
 * its stack went: `<work>/reports/<task>_error.txt`, or stderr with `KINEMBED_DEBUG=1`.
 */
function reportFatal(spec: TaskSpec, e: unknown, values?: FlagValues): number {
  const say = (text: string) => console.error(printableLine(`kinembed ${spec.name}: ${text}`));
  if (e instanceof UsageError) {
    say(e.message);
    console.error("");
    console.error(usage(spec));
    return 2;
  }
  if (e instanceof ConfigMismatchError) {
    say(describeConfigMismatch(e));
    return 2;
  }
  if (e instanceof PreflightError) {
    for (const p of e.problems) say(p);
    return 2;
  }
  if (e instanceof ProblemListError) {
    say(e.lines[0]);
    for (const line of e.lines.slice(1)) console.error(printableLine(line));
    return 2;
  }
  if (isDiskFull(e)) {
    // one line naming the file and the device; what was finished before stays recorded
    const full = e instanceof DiskFullError ? e : asDiskFull(e, pathInMessage(e) ?? "(unknown)");
    const text = full instanceof DiskFullError ? full.message : (e as Error).message;
    say(`${text}; free space and run again (finished work is kept)`);
    return 2;
  }
  if (
    e instanceof ConfigError || e instanceof WorkDirBusyError || e instanceof FormatError ||
    e instanceof InterruptedError ||
    e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied ||
    e instanceof Deno.errors.NotCapable || isOsError(e)
  ) {
    say((e as Error).message);
    return 2;
  }
  const what = e instanceof Error
    ? (e.name && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message)
    : String(e);
  const debug = debugWanted();
  const file = debug ? null : writeErrorDetail(spec.name, e, values);
  const where = debug
    ? "the stack follows"
    : file
    ? `the stack is in ${file}`
    : debugReadable()
    ? "run again with KINEMBED_DEBUG=1 to print the stack"
    : `KINEMBED_DEBUG=1 deno run -A tasks/${
      Deno.mainModule.split("/").at(-1)
    } ... prints the stack`;
  // the message gets what the line has room for; where the detail went is always shown
  console.error(
    `kinembed ${spec.name}: unexpected error: ${printableLine(what, 160)}; ${
      printableLine(where, 120)
    }`,
  );
  if (debug) console.error(e);
  return 2;
}

/** Whether this task may read `KINEMBED_DEBUG` (the launcher grants some tasks no variables). */
function debugReadable(): boolean {
  return Deno.permissions.querySync({ name: "env", variable: "KINEMBED_DEBUG" }).state ===
    "granted";
}

/** Whether `KINEMBED_DEBUG=1` asks for the stack of an unexpected error on stderr. */
function debugWanted(): boolean {
  try {
    // a task launched without access to the variable cannot read it (NotCapable)
    return Deno.env.get("KINEMBED_DEBUG") === "1";
  } catch {
    return false;
  }
}

/**
 * Writes an unexpected error's full detail (stack, cause, command line) to
 * `<work>/reports/<task>_error.txt` when the task has a work dir with a reports folder it may
 * write; returns the file, or null when it could not.
 */
function writeErrorDetail(task: string, e: unknown, values?: FlagValues): string | null {
  const work = values?.work;
  if (typeof work !== "string") return null;
  const reports = workDirLayout(work).reports;
  try {
    if (!Deno.statSync(reports).isDirectory) return null;
    const file = join(reports, `${task}_error.txt`);
    const detail = (x: unknown): string =>
      x instanceof Error
        ? `${x.stack ?? x.message}${x.cause ? `\ncaused by: ${detail(x.cause)}` : ""}`
        : String(x);
    Deno.writeTextFileSync(
      file,
      `${new Date().toISOString()} kinembed ${task} ${Deno.args.join(" ")}\n${detail(e)}\n`,
    );
    return file;
  } catch {
    return null;
  }
}

/** The file an OS error's message names (`write '/w/x.npy'`), if any. */
function pathInMessage(e: unknown): string | null {
  const m = /(?:open|write|rename|mkdir|copy|link)[a-z_]* '([^']+)'/.exec(
    (e as Error).message ?? "",
  );
  return m ? m[1] : null;
}

/** An error the OS raised (disk full, read-only file system...): its message says it all. */
function isOsError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}

/**
 * Sums up the items that failed in at most about 20 lines (count per reason, the first ids) and,
 * given a work dir, writes the complete list to `<work>/reports/<step>_failures.csv`.
 * @param failures item id, reason and (where known) split of each failure
 * @param where the work dir and the step, for the complete list
 * @returns 0 when nothing failed, else 1
 */
export async function reportFailures(
  failures: readonly FailedItem[],
  where?: { work: string; step: string },
): Promise<number> {
  noteFailures(failures);
  if (failures.length === 0) {
    // a list left by an earlier run that had failures goes
    if (where) await Deno.remove(failureListPath(where.work, where.step)).catch(() => {});
    return 0;
  }
  let summary = summarizeInMemory(failures);
  if (where) {
    const path = failureListPath(where.work, where.step);
    try {
      summary = await writeFailureList(failures, path, where.step);
      failuresSeen.file = path;
    } catch (e) {
      // the summary still names the failures; the list is a convenience
      console.error(`kinembed: could not write ${path}: ${(e as Error).message}`);
    }
  }
  // a reason may quote a tool's or a file's bytes: each line printable and bounded
  for (const line of formatFailureSummary(summary)) console.error(printableLine(line));
  return 1;
}

/**
 * Where a step's complete failure list goes.
 * @param work the work dir
 * @param step the step (or task) name
 * @returns `<work>/reports/<step>_failures.csv`
 */
function failureListPath(work: string, step: string): string {
  return join(workDirLayout(work).reports, `${step}_failures.csv`);
}

function summarizeInMemory(failures: readonly FailedItem[]): FailureSummary {
  const counts = new Map<string, number>();
  for (const f of failures) {
    const r = failureReason(f.error);
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  return {
    total: failures.length,
    reasons: [...counts].map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1)),
    first: failures.slice(0, SHOWN_ITEMS),
    file: null,
  };
}
