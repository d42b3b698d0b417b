/**
 * What a task's command line declares: each flag's type, default and help, and the access and
 * content of the files it names (which the preflight checks and the launcher grants), and the
 * `--work` flag every task takes. The parser (`flags.ts`) and the preflight both read it.
 * @module
 */

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
  /** May be given more than once; any other flag given twice is refused. */
  multiple?: boolean;
  /** What the value gives the task access to: the task's preflight checks it before any work,
   * and the launcher grants exactly this (`lib/cli/task_permissions.ts`). */
  access?: FlagAccess;
  /** What the file (or folder) holds, for the preflight to parse and the launcher to follow. */
  content?: InputContent;
}

/**
 * The access a path-like flag's value needs. Read inputs must exist and be regular files (or
 * folders) before any work starts; the launcher grants read of them, read-write of work dirs and
 * output folders, the model's files, caches and hub hosts, and the run of programs.
 */
export type FlagAccess =
  /** An input file read: must be a regular file (not a device, FIFO or folder). */
  | "read-file"
  /** An input folder read (a shard set). */
  | "read-folder"
  /** An input file or folder read (a plain video list or a folder of videos). */
  | "read-file-or-folder"
  /** A work dir, read and written, made when missing (download, run, demo). */
  | "work"
  /** A work dir, read and written, that an earlier step made (sample, encode, shard, merge). */
  | "existing-work"
  /** A work dir that an earlier step made, only read (verify, eval). */
  | "read-work"
  /** An output folder, read and written. */
  | "write-folder"
  /** A URL whose host may be reached, or a local folder read. */
  | "url-or-folder"
  /** A CLIP model: an `.onnx` file, a checkpoint (file or folder), or a hub repo id. */
  | "model"
  /** A program the task runs. */
  | "program";

/** What an input holds: the preflight parses it, the launcher follows what it lists. */
export type InputContent =
  /** Kinetics annotations (CSV or DeepMind JSON): at least one row. */
  | "annotations"
  /** A CVDF archive list: URLs (network to their hosts) or local paths (read). */
  | "archive-list"
  /** A plain video list CSV (the local files and hosts it lists) or a folder of videos. */
  | "video-list"
  /** A dataset card. */
  | "card"
  /** A class list, one name a line. */
  | "class-list"
  /** Prompt templates with `{}`. */
  | "templates"
  /** A text file (UTF-8, no NUL bytes). */
  | "text";

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
  access: "work",
  help: "work directory (manifest.db, videos/, frames/, emb/, shards/, reports/), relative to " +
    "the directory the command is typed in",
};

/** `--work` of the steps that continue a work dir download (or run) made: it must exist. */
export const EXISTING_WORK_FLAG: FlagSpec = { ...WORK_FLAG, access: "existing-work" };
