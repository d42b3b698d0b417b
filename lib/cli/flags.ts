/**
 * The command-line conventions every task shares: strict flags, `--help`, `--work DIR`, and exit
 * codes (0 all done, 1 some items failed, 2 usage or configuration error).
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import {
  ConfigError,
  ConfigMismatchError,
  FormatError,
  InterruptedError,
  UsageError,
  WorkDirBusyError,
  writeFileAtomic,
} from "../core/mod.ts";

/** One flag of a task. */
export interface FlagSpec {
  /** `string` takes a value, `boolean` is a switch. */
  type: "string" | "boolean";
  /** What the flag does, for `--help`. */
  help: string;
  /** Default shown in `--help` and used when the flag is absent. */
  default?: string | boolean;
  /** The value's placeholder in `--help`, e.g. `DIR`. */
  arg?: string;
  /** May be given more than once. */
  multiple?: boolean;
}

/** A task's command line: its name, a one-line summary and its flags. */
export interface TaskSpec {
  /** Name as typed after `deno task` or `./kinembed`. */
  name: string;
  /** One sentence saying what the task does. */
  summary: string;
  /** Flags besides `--help`. */
  flags: Record<string, FlagSpec>;
  /** Positional arguments, for `--help` (none accepted when absent). */
  positionals?: string;
}

/** Parsed flag values. */
export type FlagValues = Record<string, string | boolean | string[] | undefined>;

/** The flag every task takes. */
export const WORK_FLAG: FlagSpec = {
  type: "string",
  arg: "DIR",
  default: "work",
  help: "work directory (manifest.db, videos/, frames/, emb/, shards/, reports/)",
};

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
export const JSON_FLAG: FlagSpec = {
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
 * @returns the nearest flag, or undefined
 * @example
 * ```ts
 * import { nearestFlag } from "./flags.ts";
 * nearestFlag("modle", ["model", "batch"]); // "model"
 * ```
 */
export function nearestFlag(wrong: string, known: readonly string[]): string | undefined {
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
    throw new UsageError(message);
  }
  const values = { ...parsed.values } as FlagValues;
  for (const [name, f] of Object.entries(spec.flags)) {
    if (values[name] === undefined && f.default !== undefined) values[name] = f.default;
  }
  return { values, positionals: parsed.positionals, help: parsed.values.help === true };
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

/** The failures `reportFailures` saw in this process (for `--json`). */
const failuresSeen: { id: string; error: string }[] = [];

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
  const json = Deno.args.includes("--json");
  const stdoutLog = console.log;
  if (json) console.log = (...args: unknown[]) => console.error(...args);
  let values: FlagValues = {};
  try {
    const parsed = parseFlags(spec, Deno.args);
    values = parsed.values;
    if (parsed.help) {
      stdoutLog(usage(spec));
      Deno.exit(0);
    }
    const result = await main(parsed.values, parsed.positionals);
    if (typeof result === "number") code = result;
    else [code, summary] = [result.code, result.summary];
  } catch (e) {
    code = reportFatal(spec, e);
    error = e instanceof ConfigMismatchError
      ? describeConfigMismatch(e)
      : e instanceof Error
      ? e.message
      : String(e);
  }
  if (json) {
    const failures = await failuresSummary(spec.name, values);
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
async function failuresSummary(
  task: string,
  values: FlagValues,
): Promise<{ count: number; file?: string; first: { id: string; error: string }[] }> {
  const count = failuresSeen.length;
  const out: { count: number; file?: string; first: { id: string; error: string }[] } = {
    count,
    first: failuresSeen.slice(0, 20),
  };
  const work = typeof values.work === "string" ? values.work : undefined;
  if (count === 0 || work === undefined) return out;
  const file = join(resolve(work), "reports", `${task}-failures.tsv`);
  try {
    await Deno.mkdir(dirname(file), { recursive: true });
    const lines = failuresSeen.map((f) => `${f.id}\t${f.error.replace(/\s+/g, " ")}\n`);
    await writeFileAtomic(file, new TextEncoder().encode("id\terror\n" + lines.join("")));
    out.file = file;
  } catch {
    // a task that may not write (verify): the failures are in the object, the file is left out
  }
  return out;
}

/** The command-line flag of each run-configuration key, for messages. */
const CONFIG_FLAGS: Record<string, string> = {
  per_shard: "--per-shard",
  shard_seed: "--seed",
  fps: "--fps",
  preset: "--preset",
  frame_size: "--preset",
  batch: "--batch",
  dtype: "--dtype",
  model_sha256: "--model",
  model_input: "--input-name",
  model_output: "--output-name",
  provider: "--providers",
  embed_dim: "--model",
  workers: "--workers",
  worker: "--worker",
};

/**
 * Rewords a configuration mismatch in the command line's terms: `--per-shard 10`, not
 * `per_shard`.
 * @param e the mismatch
 * @returns one line naming the flags
 */
export function describeConfigMismatch(e: ConfigMismatchError): string {
  const diffs = e.diffs.map((d) => {
    const flag = CONFIG_FLAGS[d.key];
    const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
    return flag
      ? `it was made with ${flag} ${show(d.stored)}, this run asks for ${flag} ${show(d.requested)}`
      : `${d.key} is ${JSON.stringify(d.stored)} there, ${JSON.stringify(d.requested)} now`;
  });
  return `work dir ${e.workDir} holds outputs of another configuration: ${diffs.join("; ")}. ` +
    "Use the same settings, or a new --work dir.";
}

function reportFatal(spec: TaskSpec, e: unknown): number {
  if (e instanceof UsageError) {
    console.error(`kinembed ${spec.name}: ${e.message}\n`);
    console.error(usage(spec));
    return 2;
  }
  if (e instanceof ConfigMismatchError) {
    console.error(`kinembed ${spec.name}: ${describeConfigMismatch(e)}`);
    return 2;
  }
  if (
    e instanceof ConfigError || e instanceof WorkDirBusyError || e instanceof FormatError ||
    e instanceof InterruptedError ||
    e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied ||
    e instanceof Deno.errors.NotCapable || isOsError(e)
  ) {
    console.error(`kinembed ${spec.name}: ${(e as Error).message}`);
    return 2;
  }
  console.error(`kinembed ${spec.name}: unexpected error`);
  console.error(e);
  return 2;
}

/** An error the OS raised (disk full, read-only file system...): its message says it all. */
function isOsError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === "string" && /^E[A-Z0-9]+$/.test(code);
}

/**
 * Prints the items that failed, one a line, and returns the exit code for the run.
 * @param failures item id and reason of each failure
 * @returns 0 when nothing failed, else 1
 */
export function reportFailures(failures: { id: string; error: string }[]): number {
  for (const f of failures) failuresSeen.push(f);
  if (failures.length === 0) return 0;
  console.error(`${failures.length} failed:`);
  for (const f of failures) console.error(`  ${f.id}: ${f.error}`);
  return 1;
}
