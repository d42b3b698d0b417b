/**
 * Least-privilege Deno permissions per task. The work dir, the input files and the hosts of the
 * archive lists are known only from a task's arguments, so a fixed `deno.json` line cannot name
 * them: `tasks/launch.ts` computes each task's exact flags here and runs
 * `deno run <flags> tasks/<task>.ts <args>`. The arguments are parsed with the task's own spec
 * (`task_specs.ts`) and each path flag is granted what its `access` declares, so a flag the task
 * takes is never missed here; what a task needs besides its flags (ONNX Runtime, eval's reports,
 * demo's fixtures) is added per task.
 *
 * What each task gets (every path both as given and, when it differs, through its symlinks):
 * - download: read of its input files, of the local archives and videos they list, and of the
 *   work dir; write of the work dir; network only to the hosts its lists (and `--base-url`) name.
 * - sample: read and write of the work dir; run of the ffmpeg and ffprobe binaries only (the
 *   pinned static builds by default; found here and handed to the task as `FFMPEG_PATH` /
 *   `FFPROBE_PATH`); the whole environment, because a child process gets a copy of it.
 * - encode: read of the work dir and the model; write of the work dir; FFI scoped to
 *   onnxruntime-node's native folder; `SLURM_CPUS_PER_TASK` (the CPUs it may use); no network.
 * - shard, merge: read and write of the work dir.
 * - verify: read of the shards (or work dir), the card and the class list; nothing else.
 * - eval: read of the shards, models, class lists, templates, card and the shipped `data/`; write
 *   of the reports folder (and, with `--update-card`, of the shards' `README.md`); FFI for ONNX
 *   Runtime; no network.
 * - export: read of the shards (or work dir), class list, templates and the shipped `data/`;
 *   write of `--out`; with `--text-model`, FFI for ONNX Runtime and the model's access.
 * - run: the union of download, sample, encode, shard, verify and eval. demo: as run, plus the
 *   repository's fixtures (read), `fixtures/models` (write) and the `ffmpeg` on PATH that makes the
 *   fixture videos, without network.
 * - a `--model` / `--text-model` that is a checkpoint or hub repo id (encode, eval, run, model):
 *   read of the checkpoint, read-write of the built-model cache and the `huggingface_hub` cache,
 *   the `HF_*` variables, and network only to the hub endpoint's host and the CDN hosts it
 *   redirects large files to (none with `HF_HUB_OFFLINE=1`; docs/models.md).
 * - search: read of the shards (or work dir, with its `thumbs/`), the queries file, the text
 *   model and the shipped `data/`; write of the `--html` page only (and read of its folder); FFI
 *   for ONNX Runtime; no network.
 * - gpu-setup: read everywhere (it searches the machine's library folders), write of
 *   onnxruntime-node's native folder and the package cache, run of the few tools it asks.
 * @module
 */
import { delimiter, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCsv, readTextIfText } from "../download/mod.ts";
import { isHttpUrl, netHost, refuseUnnamedHost } from "../net/mod.ts";
import { ConfigError, UsageError } from "../base/mod.ts";
import { defaultFfmpegBinary, sandboxCandidates } from "../video/mod.ts";
import {
  builtModelCacheDir,
  DEFAULT_HUB_CDN_HOSTS,
  DEFAULT_HUB_ENDPOINT,
  HUB_ENV_VARS,
  hubSettingsFromEnv,
  type ModelSource,
  parseModelSource,
} from "../model/mod.ts";
import { cardEvalTempPath } from "../webdataset/mod.ts";
import type { FlagValues, TaskSpec } from "./flag_spec.ts";
import { parseFlags } from "./flags.ts";
import { TASK_SPECS } from "./task_specs.ts";

/** The repository root (where `deno.json`, `tasks/`, `data/` and `fixtures/` are). */
export const REPO_ROOT: string = fileURLToPath(new URL("../..", import.meta.url)).replace(
  /\/$/,
  "",
);

/** Tasks the launcher knows, with the file under `tasks/` that runs each. */
export const LAUNCHED_TASKS: Readonly<Record<string, string>> = {
  download: "download.ts",
  sample: "sample.ts",
  encode: "encode.ts",
  shard: "shard.ts",
  verify: "verify.ts",
  eval: "eval.ts",
  export: "export.ts",
  run: "run.ts",
  merge: "merge.ts",
  demo: "demo.ts",
  "gpu-setup": "gpu_setup.ts",
  model: "model.ts",
  search: "search.ts",
};

/** How one task is to be started. */
export interface TaskLaunch {
  /** The task's name. */
  task: string;
  /** The task's entry point (absolute). */
  script: string;
  /** `deno run` permission flags, each `--allow-*` or `--no-prompt`. */
  flags: string[];
  /** Variables set in the task's environment (the binaries it may run, found here). */
  env: Record<string, string>;
  /** The directory the task runs in: the caller's, which relative paths are relative to. */
  cwd: string;
}

/** Where the launcher runs: the task's cwd, its environment, where binaries are found. */
export interface LaunchContext {
  /** The directory relative paths in the arguments are relative to, and the task runs in
   * (default: `INIT_CWD`, the directory `deno task` and `./kinembed` were typed in, else
   * `Deno.cwd()`). */
  cwd?: string;
  /** Reads an environment variable (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
}

/** Deno's permission lists are comma-separated; longer lists are folded to their folders. */
const MAX_LIST_CHARS = 64_000;

/** A set of permissions being gathered. */
class Grants {
  read = new Set<string>();
  write = new Set<string>();
  net = new Set<string>();
  run = new Set<string>();
  ffi = new Set<string>();
  env: Set<string> | "all" = new Set();
  readAll = false;
  childEnv: Record<string, string> = {};

  constructor(readonly cwd: string, readonly getEnv: (name: string) => string | undefined) {}

  abs(p: string): string {
    return resolve(this.cwd, p);
  }

  addRead(...paths: (string | undefined)[]) {
    for (const p of paths) if (p) { for (const v of pathForms(this.abs(p))) this.read.add(v); }
  }

  addWrite(...paths: (string | undefined)[]) {
    for (const p of paths) if (p) { for (const v of pathForms(this.abs(p))) this.write.add(v); }
  }

  addReadWrite(p: string) {
    this.addRead(p);
    this.addWrite(p);
  }

  /** A URL's host; a link-local or metadata host only when the user names it (the task
   * refuses it otherwise). */
  addHost(url: string, allowHosts: readonly string[]) {
    const h = netHost(url);
    if (h && refuseUnnamedHost(url, allowHosts) === null) this.net.add(h);
  }

  addEnv(...names: string[]) {
    if (this.env !== "all") { for (const n of names) this.env.add(n); }
  }

  flags(): string[] {
    const f: string[] = [];
    const list = (name: string, set: Set<string>) => {
      if (set.size === 0) return;
      f.push(`--allow-${name}=${joinList(name, [...set])}`);
    };
    if (this.readAll) f.push("--allow-read");
    else list("read", this.read);
    list("write", this.write);
    list("net", this.net);
    list("run", this.run);
    list("ffi", this.ffi);
    if (this.env === "all") f.push("--allow-env");
    else list("env", this.env);
    f.push("--no-prompt");
    return f;
  }
}

/**
 * A path as given and through its symlinks: Deno checks paths as written, so a work dir reached
 * through a symlink must be allowed under both names. A path that does not exist yet is resolved
 * through its nearest existing parent.
 */
function pathForms(abs: string): string[] {
  const forms = [abs];
  let head = abs;
  const tail: string[] = [];
  while (true) {
    try {
      const real = join(Deno.realPathSync(head), ...tail);
      if (real !== abs) forms.push(real);
      break;
    } catch {
      const up = dirname(head);
      if (up === head) break;
      tail.unshift(head.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
      head = up;
    }
  }
  return forms;
}

/** Joins a permission list, refusing commas and folding lists too long for one argument. */
function joinList(name: string, items: string[]): string {
  for (const i of items) {
    if (i.includes(",")) {
      throw new ConfigError(
        `cannot grant ${name} access to ${JSON.stringify(i)}: Deno's permission lists are ` +
          "comma-separated, so a path or name with a comma cannot be allowed; rename it",
      );
    }
  }
  let list = [...new Set(items)].sort();
  if (name === "read" || name === "write") {
    list = withoutNested(list);
    // a very long list of files (a plain video list of a whole dataset) becomes their folders
    while (list.join(",").length > MAX_LIST_CHARS) {
      const folded = withoutNested([...new Set(list.map((p) => dirname(p)))].sort());
      if (folded.length === list.length && folded.every((p, i) => p === list[i])) break;
      list = folded;
    }
  }
  return list.join(",");
}

/** Drops paths that lie inside another path of the list. */
function withoutNested(sorted: string[]): string[] {
  const out: string[] = [];
  for (const p of sorted) {
    if (!out.some((q) => p === q || isInside(q, p))) out.push(p);
  }
  return out;
}

function isInside(dir: string, p: string): boolean {
  const rel = relative(dir, p);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/**
 * Finds a binary the way a shell does: a name with a slash as a path, else on `PATH`.
 * @param name the name or path
 * @param ctx where to look
 * @returns the absolute path, or null when not found
 */
export function findBinary(name: string, ctx: LaunchContext = {}): string | null {
  const cwd = ctx.cwd ?? Deno.cwd();
  const getEnv = ctx.env ?? ((n: string) => Deno.env.get(n));
  const isExe = (p: string) => {
    try {
      const s = Deno.statSync(p);
      return s.isFile && ((s.mode ?? 0o111) & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (name.includes("/")) {
    const p = resolve(cwd, name);
    return isExe(p) ? p : null;
  }
  for (const dir of (getEnv("PATH") ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = resolve(cwd, dir, name);
    if (isExe(p)) return p;
  }
  return null;
}

/** The realpath of onnxruntime-node's native folder (FFI is allowed there only). */
function ortNativeDir(): string {
  const link = join(REPO_ROOT, "node_modules", "onnxruntime-node");
  try {
    return join(Deno.realPathSync(link), "bin");
  } catch {
    throw new ConfigError(
      `${link} is missing: run ./kinembed bootstrap (deno install) to install the npm dependencies`,
    );
  }
}

/** The programs a task runs, with the variable each is handed over in. */
const PROGRAMS = { ffmpeg: "FFMPEG_PATH", ffprobe: "FFPROBE_PATH" } as const;

/** The programs a task's `program` flags name. */
function programFlags(spec: TaskSpec): string[] {
  return Object.keys(spec.flags).filter((n) => spec.flags[n].access === "program");
}

/** Adds programs (the flag's value, else the default): run and read of each binary, handed over
 * by absolute path. */
function grantPrograms(g: Grants, tools: readonly string[], values: FlagValues) {
  if (tools.length === 0) return;
  for (const tool of tools) {
    if (!(tool in PROGRAMS)) throw new Error(`no default known for the program --${tool}`);
    const envName = PROGRAMS[tool as keyof typeof PROGRAMS];
    // --ffmpeg, FFMPEG_PATH, the pinned static build the bootstrap installed, PATH
    const given = values[tool];
    const wanted = typeof given === "string"
      ? given
      : defaultFfmpegBinary(tool as keyof typeof PROGRAMS, g.getEnv);
    const found = findBinary(wanted, { cwd: g.cwd, env: g.getEnv });
    if (found === null) {
      throw new ConfigError(
        `${tool} not found (${JSON.stringify(wanted)}): install it, or point --${tool} or ` +
          `${envName} at the binary`,
      );
    }
    g.run.add(found);
    g.addRead(found);
    // the task runs exactly this binary
    g.childEnv[envName] = found;
  }
  // the decode sandbox's wrappers (bwrap, unshare): the task picks one by KINEMBED_SANDBOX, which
  // the launcher cannot read, so every wrapper found is allowed
  const auto = (n: string) => n === "KINEMBED_SANDBOX" ? undefined : g.getEnv(n);
  for (const w of sandboxCandidates(auto)) {
    g.run.add(w.path);
    g.addRead(w.path);
  }
  // node:child_process copies the whole environment into each child, so it must read all of it
  g.env = "all";
}

/** Adds ONNX Runtime: FFI of its native folder only. */
function grantOrt(g: Grants) {
  g.ffi.add(ortNativeDir());
}

/** The values a flag was given (none, one, or several for a `multiple` flag). */
function flagValues(values: FlagValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

/**
 * Adds what each path flag declares: read of inputs, read-write of work dirs and output folders,
 * a URL's host or a local folder, a model's files, caches and hub hosts.
 */
function grantFlags(g: Grants, spec: TaskSpec, values: FlagValues) {
  const allowHosts = flagValues(values, "allow-host");
  for (const [name, flag] of Object.entries(spec.flags)) {
    for (const value of flagValues(values, name)) {
      switch (flag.access) {
        case "read-file":
        case "read-folder":
        case "read-file-or-folder":
        case "read-work":
          g.addRead(value);
          break;
        case "work":
        case "existing-work":
        case "write-folder":
          g.addReadWrite(value);
          break;
        case "url-or-folder":
          if (isHttpUrl(value)) g.addHost(value, allowHosts);
          else g.addRead(localFolder(g, value));
          break;
        case "model":
          grantModel(g, value);
          break;
      }
    }
  }
}

/** A local `--base-url` (a path or a `file:` URL), absolute. */
function localFolder(g: Grants, value: string): string {
  return g.abs(value.startsWith("file:") ? fileURLToPath(value) : value);
}

/** Text of a list file the launcher follows: only a regular file (a FIFO or device is never
 * read here; the task's preflight names it). */
async function listText(path: string): Promise<string> {
  try {
    if (!(await Deno.stat(path)).isFile) return "";
    // a binary or non-UTF-8 list grants nothing: the task refuses it in one line
    return await readTextIfText(path) ?? "";
  } catch {
    return ""; // the task names the missing or unreadable list
  }
}

/**
 * Adds what the lists the task was given name: the local archives and files (read) and the hosts
 * (network) of archive lists and plain video lists, plus the hosts `KINEMBED_ALLOW_NET` names.
 */
async function grantListed(g: Grants, spec: TaskSpec, values: FlagValues) {
  const byContent = (c: string) =>
    Object.keys(spec.flags).filter((n) => spec.flags[n].content === c)
      .flatMap((n) => flagValues(values, n));
  const hasLists = Object.values(spec.flags).some((f) =>
    f.content === "archive-list" || f.content === "video-list"
  );
  if (!hasLists) return;
  const allowHosts = flagValues(values, "allow-host");
  const baseUrl = flagValues(values, "base-url").at(-1);
  const localBase = baseUrl !== undefined && !isHttpUrl(baseUrl)
    ? localFolder(g, baseUrl)
    : undefined;
  for (const list of byContent("archive-list")) {
    const text = await listText(g.abs(list));
    for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
      const entry = raw.trim();
      if (entry === "" || entry.startsWith("#")) continue;
      if (isHttpUrl(entry)) g.addHost(entry, allowHosts);
      else if (entry.startsWith("file:")) {
        try {
          g.addRead(fileURLToPath(entry));
        } catch { /* the task names the bad entry */ }
      } else if (isAbsolute(entry)) g.addRead(entry);
      else if (localBase !== undefined) g.addRead(resolve(localBase, entry));
      else if (baseUrl === undefined) g.addRead(resolve(dirname(g.abs(list)), entry));
    }
  }
  for (const list of byContent("video-list")) {
    const path = g.abs(list);
    const records = parseCsv(await listText(path));
    if (records.length === 0) continue;
    const col = records[0].fields.map((h) => h.trim().toLowerCase()).indexOf("path");
    if (col < 0) continue;
    for (const r of records.slice(1)) {
      const p = r.fields[col];
      if (!p) continue;
      if (isHttpUrl(p)) g.addHost(p, allowHosts);
      else g.addRead(resolve(dirname(path), p));
    }
  }
  // hosts a listed server redirects to (a CDN) are not in the lists: name them here
  for (const h of (g.getEnv("KINEMBED_ALLOW_NET") ?? "").split(",")) {
    if (h.trim()) g.net.add(h.trim());
  }
}

/**
 * Adds what a `--model` / `--text-model` value needs: read of an `.onnx` file; for a checkpoint,
 * read of it and read-write of the built-model cache; for a hub repo also read-write of the
 * `huggingface_hub` cache, read of the token file, the hub variables, and network to the
 * endpoint's host and the CDN hosts it redirects to (none when `HF_HUB_OFFLINE` is set).
 */
function grantModel(g: Grants, spec: string | undefined) {
  if (spec === undefined) return;
  let source: ModelSource;
  try {
    // a path that exists here is local; anything else may be a repo id
    let local = false;
    try {
      Deno.statSync(g.abs(spec));
      local = true;
    } catch { /* not here */ }
    source = parseModelSource(local ? g.abs(spec) : spec);
  } catch {
    g.addRead(spec); // the task names the bad value
    return;
  }
  if (source.kind === "onnx") {
    g.addRead(spec);
    return;
  }
  g.addEnv(...HUB_ENV_VARS);
  g.addReadWrite(builtModelCacheDir(g.getEnv));
  if (source.kind === "checkpoint") {
    g.addRead(source.path);
    return;
  }
  const hub = hubSettingsFromEnv(g.getEnv);
  g.addReadWrite(hub.cacheDir);
  const hfHome = g.getEnv("HF_HOME") ??
    join(g.getEnv("XDG_CACHE_HOME") ?? join(g.getEnv("HOME") ?? "/tmp", ".cache"), "huggingface");
  g.addRead(g.getEnv("HF_TOKEN_PATH") ?? join(hfHome, "token"));
  if (hub.offline) return;
  const host = netHost(hub.endpoint);
  if (host) g.net.add(host);
  // large files redirect to a CDN host: the default endpoint's are known, others are named
  if (hub.endpoint === DEFAULT_HUB_ENDPOINT) {
    for (const h of DEFAULT_HUB_CDN_HOSTS) {
      g.net.add(h);
    }
  }
  for (const h of (g.getEnv("KINEMBED_ALLOW_NET") ?? "").split(",")) {
    if (h.trim()) g.net.add(h.trim());
  }
}

/** Adds what eval needs besides its flags: the shipped `data/`, the reports folder and the
 * shard set's card it writes, and ONNX Runtime. */
function grantEvalOutputs(g: Grants, values: FlagValues, work: string | undefined) {
  const shards = flagValues(values, "shards").at(-1);
  g.addRead(join(REPO_ROOT, "data"));
  const out = flagValues(values, "out").at(-1) ??
    (work !== undefined ? join(work, "reports") : "reports");
  g.addReadWrite(out);
  // eval puts its numbers into the shard set's Hub card (shards/README.md) only when told to
  const shardsDir = shards ?? (work !== undefined ? join(work, "shards") : undefined);
  if (shardsDir !== undefined && values["update-card"] === true) {
    g.addReadWrite(join(shardsDir, "README.md"));
    g.addWrite(cardEvalTempPath(shardsDir));
  }
  if (work !== undefined) g.addRead(work);
  grantOrt(g);
}

/**
 * Computes the permission flags of a task from its arguments.
 * @param task the task's name (`download`, `sample`, ...)
 * @param args its arguments, as the user gave them
 * @param ctx the cwd and environment the task will run with
 * @returns the entry point, the flags and the environment to add
 * @throws UsageError for an unknown task; ConfigError when a binary it needs is missing
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { taskLaunch } from "./task_permissions.ts";
 * const work = await Deno.makeTempDir();
 * const l = await taskLaunch("shard", ["--work", work]);
 * // reads and writes inside the work dir (and the repository it runs from), nothing more
 * ok(l.flags.includes(`--allow-write=${work}`) && l.flags.includes("--no-prompt"), l.flags.join(" "));
 * await Deno.remove(work, { recursive: true });
 * ```
 */
export async function taskLaunch(
  task: string,
  args: readonly string[],
  ctx: LaunchContext = {},
): Promise<TaskLaunch> {
  const file = LAUNCHED_TASKS[task];
  if (file === undefined) {
    throw new UsageError(
      `unknown task ${JSON.stringify(task)}; known: ${Object.keys(LAUNCHED_TASKS).join(", ")}`,
    );
  }
  const getEnv = ctx.env ?? ((n: string) => Deno.env.get(n));
  const cwd = ctx.cwd ?? callerCwd(getEnv);
  const g = new Grants(cwd, getEnv);
  const spec = TASK_SPECS[task];
  const script = join(REPO_ROOT, "tasks", file);
  let parsed;
  try {
    // the task's own parser and flags: what is granted is what the task will read
    parsed = parseFlags(spec, [...args]);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    // the task itself names the bad flag and prints its usage, which needs nothing
    return { task, script, flags: g.flags(), env: {}, cwd };
  }
  const values = parsed.values;
  grantFlags(g, spec, values);
  await grantListed(g, spec, values);
  grantPrograms(g, programFlags(spec), values);
  grantTaskNeeds(g, task, values, parsed.positionals);
  return { task, script, flags: g.flags(), env: g.childEnv, cwd };
}

/**
 * The directory the user typed the command in: `INIT_CWD`, which `deno task` sets (and
 * `./kinembed` passes on), else this process's.
 * @param getEnv reads an environment variable
 * @returns an absolute path
 */
export function callerCwd(getEnv: (name: string) => string | undefined): string {
  const init = getEnv("INIT_CWD");
  return init && isAbsolute(init) ? init : Deno.cwd();
}

/** Adds what a task needs besides its flags' declared access. */
function grantTaskNeeds(g: Grants, task: string, values: FlagValues, positionals: string[]) {
  const work = flagValues(values, "work").at(-1);
  switch (task) {
    case "encode":
      grantOrt(g);
      // Slurm's share of the node's CPUs sets ONNX Runtime's threads (affinity and quota need
      // nothing; run has the whole environment already)
      g.addEnv("SLURM_CPUS_PER_TASK");
      break;
    case "model": {
      // `model <command> [NAME]`: the two caches, the checkpoint or the hub, nothing else
      const name = positionals[1];
      if (name !== undefined) grantModel(g, name);
      else {
        g.addEnv(...HUB_ENV_VARS);
        g.addRead(builtModelCacheDir(g.getEnv), hubSettingsFromEnv(g.getEnv).cacheDir);
      }
      break;
    }
    case "eval":
      grantEvalOutputs(g, values, work ?? (values.shards === undefined ? "work" : undefined));
      break;
    case "run":
      grantEvalOutputs(g, values, work);
      break;
    case "export":
      // the shipped class list and templates; ONNX Runtime only for the text model
      g.addRead(join(REPO_ROOT, "data"));
      if (work === undefined && values.shards === undefined) g.addRead("work");
      if (values["text-model"] !== undefined) grantOrt(g);
      break;

    case "search": {
      // the work dir (default work) holds the shards and thumbs/; the page is the one file written
      if (values.shards === undefined) g.addRead(work ?? "work");
      const html = flagValues(values, "html").at(-1);
      if (html !== undefined) {
        g.addWrite(html);
        // the task checks the page's folder exists before it searches
        g.addRead(dirname(g.abs(html)));
      }
      // CLIP's tokenizer vocabulary
      g.addRead(join(REPO_ROOT, "data"));
      grantOrt(g);
      break;
    }
    case "demo": {
      // the fixture pipeline samples with the default ffmpeg and ffprobe
      grantPrograms(g, Object.keys(PROGRAMS), values);
      g.addRead(join(REPO_ROOT, "fixtures"), join(REPO_ROOT, "data"));
      g.addWrite(join(REPO_ROOT, "fixtures", "models"));
      // the fixture videos are made by the ffmpeg on PATH, whichever build decodes them
      const encoder = findBinary("ffmpeg", { cwd: g.cwd, env: g.getEnv });
      if (encoder !== null) {
        g.run.add(encoder);
        g.addRead(encoder);
      }
      grantOrt(g);
      break;
    }
    case "gpu-setup": {
      // it searches the loader's folders, CUDA toolkits and Python environments for libraries
      g.readAll = true;
      if (values["ort-dir"] === undefined) g.addWrite(ortNativeDir());
      const home = g.getEnv("HOME") ?? "/tmp";
      if (values.cache === undefined) {
        g.addWrite(join(g.getEnv("XDG_CACHE_HOME") ?? join(home, ".cache"), "kinembed"));
      }
      const venv = g.getEnv("VIRTUAL_ENV");
      const tools = ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig", "python3", "nvidia-smi"];
      if (venv) tools.push(join(venv, "bin", "python3"));
      if (values.check === undefined && values.from === undefined) tools.push("npm");
      for (const t of tools) {
        const found = findBinary(t, { cwd: g.cwd, env: g.getEnv });
        if (found !== null) g.run.add(t.includes("/") ? found : t);
      }
      // the CUDA probe is a second Deno process (the loader reads LD_LIBRARY_PATH at start)
      g.run.add(Deno.execPath());
      g.env = "all";
      break;
    }
  }
}

/**
 * The `deno` arguments that start a task with its permissions.
 * @param launch from {@linkcode taskLaunch}
 * @param args the task's arguments
 * @param extra flags placed before the script (e.g. `--preload`)
 * @returns `["run", ...flags, ...extra, script, ...args]`
 */
export function denoRunArgs(
  launch: TaskLaunch,
  args: readonly string[],
  extra: readonly string[] = [],
): string[] {
  return ["run", ...launch.flags, ...extra, launch.script, ...args];
}
