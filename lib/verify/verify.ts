/**
 * Verify a set of WebDataset shards against a dataset card: per split the sample and tar counts;
 * keys unique and contiguous; every sample complete (`.json`, `.npy`, `.txt` or `.cap`); `.npy`
 * shape (n, 512) with a float dtype and finite values; `.json` fields; labels in the class list;
 * and, when the shards come with a manifest, each shard's sha256. Each file is read once, in
 * chunks: hashed while it is parsed. Nothing is written.
 * @module
 */
import {
  FormatError,
  parseSplitName,
  pathExists,
  Progress,
  readNpyHeader,
  type Split,
  type SplitCount,
  SPLITS,
} from "../base/mod.ts";
import {
  Manifest,
  readSetting,
  RUN_SETTINGS,
  workDirLayout,
  workDirShardsHint,
} from "../core/mod.ts";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { readCardSplits, type SplitTotals } from "../dataset/mod.ts";
import {
  parseSampleKey,
  parseSplitsCsv,
  type RawSample,
  readRawSamples,
  sampleKey,
  splitMemberName,
} from "../webdataset/mod.ts";
import { TruncatedTarError } from "../tar/mod.ts";

/** Options of `verify()`. */
export interface VerifyOptions {
  /** A work dir: shards under `<work>/shards`, each checked against `manifest.db`'s sha256. */
  work?: string;
  /** A directory of shards with its `splits.csv` (made anywhere). */
  shards?: string;
  /** The dataset card whose "Data Splits" section says what to expect. */
  card: string;
  /** A class list, one name a line: every label must be in it (test labels may be empty). */
  classes?: string;
  /** Embedding width (default: the work dir's recorded `embed_dim`, else 512). */
  dim?: number;
  /** Print no progress lines. */
  quiet?: boolean;
}

/** One thing found wrong. */
export interface VerifyProblem {
  /** The shard file it is in (null for whole-set problems). */
  shard: string | null;
  /** The sample key (null when not about one sample). */
  key: string | null;
  /** What is wrong. */
  message: string;
}

/** Expected against found for one split. */
export interface SplitVerdict {
  /** The split. */
  split: Split;
  /** What the card says (null when the card does not list the split). */
  expected: SplitCount | null;
  /** What the shards hold. */
  found: SplitCount;
  /** Whether both counts match. */
  ok: boolean;
}

/** The outcome of `verify()`. */
export interface VerifyReport {
  /** True only when everything matches and nothing is wrong. */
  ok: boolean;
  /** The shards folder checked. */
  shardsDir: string;
  /** The card read. */
  card: string;
  /** Whether shard sizes and hashes were checked against a manifest (db or `manifest.json`). */
  manifest: boolean;
  /** Checks that could not be made, one line each (e.g. no `manifest.json` beside the shards). */
  unchecked: string[];
  /** Per split, expected against found. */
  splits: SplitVerdict[];
  /** Every problem (up to `MAX_PROBLEMS`), in shard order. */
  problems: VerifyProblem[];
  /** Problems found beyond those listed. */
  moreProblems: number;
  /** Shard files read. */
  shardsRead: number;
  /** Samples read. */
  samples: number;
  /** Bytes read. */
  bytes: number;
  /** Wall time in seconds. */
  seconds: number;
}

/** Problems printed one a line by `formatVerifyReport`; the rest are counted. */
const SHOWN_PROBLEMS = 20;

/** At most this many problems are kept in a report; the rest are only counted. */
const MAX_PROBLEMS = 10_000;

/** One shard to check. */
interface ShardEntry {
  file: string;
  split: Split;
  sha256: string | null;
  samples: number | null;
  bytes: number | null;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Finds the first non-finite value of an `.npy` payload without decoding it: a float is NaN or
 * infinite exactly when its exponent bits are all ones.
 * @param bytes the `.npy` file
 * @param dataOffset where its data starts
 * @param dtype `<f2`, `<f4` or `<f8`
 * @returns the index of the first non-finite element, or -1
 */
function firstNonFinite(bytes: Uint8Array, dataOffset: number, dtype: string): number {
  const start = bytes.byteOffset + dataOffset;
  const len = bytes.length - dataOffset;
  if (dtype === "<f2") {
    if (start % 2 === 0) {
      const a = new Uint16Array(bytes.buffer, start, len >> 1);
      for (let i = 0; i < a.length; i++) if ((a[i] & 0x7c00) === 0x7c00) return i;
      return -1;
    }
    for (let i = 0; i < len >> 1; i++) {
      if ((bytes[dataOffset + 2 * i + 1] & 0x7c) === 0x7c) return i;
    }
    return -1;
  }
  if (dtype === "<f4") {
    if (start % 4 === 0) {
      const a = new Uint32Array(bytes.buffer, start, len >> 2);
      for (let i = 0; i < a.length; i++) if ((a[i] & 0x7f800000) === 0x7f800000) return i;
      return -1;
    }
    const dv = new DataView(bytes.buffer, start, len);
    for (let i = 0; i < len >> 2; i++) {
      if ((dv.getUint32(4 * i, true) & 0x7f800000) === 0x7f800000) return i;
    }
    return -1;
  }
  if (dtype === "<f8") {
    const dv = new DataView(bytes.buffer, start, len);
    for (let i = 0; i < len >> 3; i++) {
      if ((dv.getUint32(8 * i + 4, true) & 0x7ff00000) === 0x7ff00000) return i;
    }
    return -1;
  }
  return -1;
}

function nonFiniteKind(bytes: Uint8Array, dataOffset: number, dtype: string, i: number): string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + dataOffset);
  const v = dtype === "<f2"
    ? ((dv.getUint16(2 * i, true) & 0x03ff) !== 0
      ? NaN
      : (dv.getUint16(2 * i, true) & 0x8000)
      ? -Infinity
      : Infinity)
    : dtype === "<f4"
    ? dv.getFloat32(4 * i, true)
    : dv.getFloat64(8 * i, true);
  return Number.isNaN(v) ? "a NaN" : v > 0 ? "+Inf" : "-Inf";
}

/**
 * Checks one sample's members; does not look at its key's place in the set.
 * @param raw the stored sample
 * @param split the split of its shard
 * @param classes the allowed labels, when known
 * @param dim the embedding width
 * @returns one message per problem (empty when the sample is sound)
 */
function checkSample(
  raw: RawSample,
  split: Split,
  classes: ReadonlySet<string> | null,
  dim = 512,
): string[] {
  const out: string[] = [];
  const json = raw.members.get("json");
  const npy = raw.members.get("npy");
  const txt = raw.members.get("txt") ?? raw.members.get("cap");
  if (!json) out.push("sample has no .json member");
  if (!npy) out.push("sample has no .npy member");
  if (!txt) out.push("sample has no .txt or .cap member");
  // a thumbnail (`shard --thumbnails`) is optional; when there, it must be a JPEG (SOI marker)
  const jpg = raw.members.get("jpg");
  if (jpg && !(jpg[0] === 0xff && jpg[1] === 0xd8 && jpg[2] === 0xff)) {
    out.push(".jpg is not a JPEG image");
  }
  if (npy) {
    try {
      const h = readNpyHeader(npy);
      if (h.dtype === "<u1") out.push(`.npy dtype ${h.dtype} is not a float dtype`);
      else if (h.shape.length !== 2 || h.shape[1] !== dim) {
        out.push(`.npy shape (${h.shape.join(", ")}), want (n, ${dim})`);
      } else {
        const i = firstNonFinite(npy, h.dataOffset, h.dtype);
        if (i >= 0) {
          const kind = nonFiniteKind(npy, h.dataOffset, h.dtype, i);
          out.push(`.npy has ${kind} at frame ${Math.floor(i / dim)}, dim ${i % dim}`);
        }
      }
    } catch (e) {
      out.push(`.npy: ${(e as Error).message}`);
    }
  }
  if (json) {
    let meta: unknown;
    try {
      meta = JSON.parse(utf8.decode(json));
    } catch (e) {
      out.push(`.json is not valid JSON: ${(e as Error).message}`);
    }
    if (meta !== undefined) {
      if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
        out.push(".json is not an object");
      } else {
        const m = meta as Record<string, unknown>;
        for (const f of ["videoID", "start_time", "end_time"]) {
          if (m[f] === undefined || m[f] === null || m[f] === "") out.push(`.json has no ${f}`);
        }
      }
    }
  }
  if (txt && classes) {
    let label: string | null = null;
    try {
      label = utf8.decode(txt);
    } catch {
      out.push("label is not UTF-8");
    }
    if (label === "") {
      if (split !== "test") out.push("empty label");
    } else if (label !== null && !classes.has(label)) {
      out.push(`label ${JSON.stringify(label)} is not in the class list`);
    }
  }
  return out;
}

async function readClasses(path: string): Promise<Set<string>> {
  const text = await Deno.readTextFile(path);
  return new Set(text.replace(/^\uFEFF/, "").split(/\r?\n/).map((l) => l.trim()).filter(Boolean));
}

async function listTars(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".tar") && !e.name.startsWith(".")) out.push(e.name);
  }
  return out.sort();
}

/**
 * Verifies shards against a dataset card.
 * @param opts where the shards are (`work` or `shards`), the card, the class list
 * @returns the report; `ok` is true only when everything matches
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { join } from "node:path";
 * import { makeSyntheticWorkDir, syntheticCard } from "../../fixtures/synthetic_work_dir.ts";
 * import { shard } from "../shard/mod.ts";
 * import { formatVerifyReport, verify } from "./verify.ts";
 * const dir = await Deno.makeTempDir();
 * // a work dir whose videos are encoded already (random embeddings)
 * const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "work"), counts: { train: 6, val: 3 } });
 * await shard({ work: layout.root, quiet: true });
 * const card = join(dir, "card.md"); // the published set: { shards: "CLIP-Kinetics700", card }
 * await Deno.writeTextFile(card, syntheticCard({ train: { samples: 6, tars: 1 }, val: { samples: 3, tars: 1 } }));
 * const report = await verify({ work: layout.root, card, quiet: true });
 * ok(report.ok, formatVerifyReport(report));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function verify(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  if ((opts.work === undefined) === (opts.shards === undefined)) {
    throw new TypeError("verify: give exactly one of work or shards");
  }
  const expected: SplitTotals = await readCardSplits(opts.card);
  const classes = opts.classes ? await readClasses(opts.classes) : null;
  const shardsDir = opts.work ? workDirLayout(opts.work).shards : resolve(opts.shards!);
  const problems = new Problems();
  const { entries, fromManifest, unchecked, recordedDim } = await listShards(
    opts,
    shardsDir,
    problems,
  );
  // the width asked for, else the one the work dir's model gives (its run config), else 512
  const dim = opts.dim ?? recordedDim ?? RUN_SETTINGS.embedDim.default;

  const tally: Tally = {
    found: Object.fromEntries(SPLITS.map((s) => [s, { samples: 0, tars: 0 }])) as Record<
      Split,
      SplitCount
    >,
    keyShard: new Map(),
    keysBySplit: new Map(SPLITS.map((s) => [s, []])),
    bytes: 0,
    samples: 0,
    shardsRead: 0,
  };
  const progress = new Progress("verify", entries.length, {
    extraUnit: "MB",
    quiet: opts.quiet ?? false,
  });
  const readFiles = new Set<string>();
  for (const e of entries) {
    if (readFiles.has(e.file)) continue;
    readFiles.add(e.file);
    const check = { classes, dim };
    const shardBytes = await readShard(join(shardsDir, e.file), e, check, tally, problems);
    progress.tick(1, shardBytes / 1e6);
  }
  progress.finish();

  checkKeyRanges(tally.keysBySplit, tally.keyShard, problems.add);
  const splits = compareWithCard(expected, tally.found, problems);
  return {
    ok: problems.list.length === 0 && problems.more === 0 && splits.every((s) => s.ok),
    shardsDir,
    card: opts.card,
    manifest: fromManifest,
    unchecked,
    splits,
    problems: problems.list,
    moreProblems: problems.more,
    shardsRead: tally.shardsRead,
    samples: tally.samples,
    bytes: tally.bytes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The problems found, the first `MAX_PROBLEMS` kept and the rest counted. */
class Problems {
  readonly list: VerifyProblem[] = [];
  more = 0;
  readonly add = (shard: string | null, key: string | null, message: string): void => {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ shard, key, message });
    else this.more++;
  };
}

/** What the shards hold, added up shard by shard. */
interface Tally {
  found: Record<Split, SplitCount>;
  /** Where each key was seen, to find duplicates and gaps once every shard is read. */
  keyShard: Map<number, string>;
  keysBySplit: Map<Split, number[]>;
  bytes: number;
  samples: number;
  shardsRead: number;
}

/**
 * The list of shards: the manifest's rows (with sha256) when there is one, else `splits.csv`;
 * the two must agree, and every tar in the folder must be listed.
 */
async function listShards(
  opts: VerifyOptions,
  shardsDir: string,
  problems: Problems,
): Promise<
  { entries: ShardEntry[]; fromManifest: boolean; unchecked: string[]; recordedDim?: number }
> {
  const problem = problems.add;
  let entries: ShardEntry[] = [];
  const unchecked: string[] = [];
  let manifestName = "the manifest";
  let recordedDim: number | undefined;
  const csvPath = join(shardsDir, "splits.csv");
  const csv = (await pathExists(csvPath))
    ? parseSplitsCsv(await Deno.readTextFile(csvPath), csvPath)
    : null;
  const manifestPath = opts.work ? workDirLayout(opts.work).manifest : null;
  if (manifestPath && (await pathExists(manifestPath))) {
    const m = Manifest.open(manifestPath, { readOnly: true });
    try {
      recordedDim = readSetting(m.config(), "embedDim");
      entries = m.shards.all().map((r) => ({
        file: r.file,
        split: r.split,
        sha256: r.sha256,
        samples: r.samples,
        bytes: r.bytes,
      }));
    } finally {
      m.close();
    }
  } else if (opts.shards !== undefined) {
    // a shard set made anywhere: its manifest.json, when it came along, has every tar's size
    // and sha256
    const jsonPath = join(shardsDir, "manifest.json");
    if (await pathExists(jsonPath)) {
      entries = readManifestJsonShards(await Deno.readTextFile(jsonPath), problem);
      manifestName = "manifest.json";
    } else {
      unchecked.push(
        `no manifest.json in ${shardsDir}: tar sizes and sha256 not checked (a changed byte ` +
          "inside a .npy, .json or the padding, or an appended block, would go unnoticed)",
      );
    }
  }
  const fromManifest = entries.length > 0;
  if (fromManifest) {
    if (csv) {
      const bySplit = new Map(csv.map((r) => [r.tarFile, r.split]));
      for (const e of entries) {
        const s = bySplit.get(e.file);
        if (s === undefined) problem(e.file, null, `in ${manifestName} but not in splits.csv`);
        else if (s !== e.split) {
          problem(e.file, null, `splits.csv says split ${s}, ${manifestName} ${e.split}`);
        }
      }
      const inManifest = new Set(entries.map((e) => e.file));
      const inCsv = new Set<string>();
      for (const r of csv) {
        if (inCsv.has(r.tarFile)) problem(r.tarFile, null, "listed twice");
        else if (!inManifest.has(r.tarFile)) {
          problem(r.tarFile, null, `in splits.csv but not in ${manifestName}`);
        }
        inCsv.add(r.tarFile);
      }
    } else problem(null, null, `no splits.csv in ${shardsDir}`);
  } else {
    if (!csv) {
      throw new Deno.errors.NotFound(
        `no splits.csv in ${shardsDir}` + (manifestPath ? ` and no ${manifestPath}` : "") +
          (opts.shards !== undefined ? await workDirShardsHint(opts.shards) : ""),
      );
    }
    entries = csv.map((r) => ({
      file: r.tarFile,
      split: r.split,
      sha256: null,
      samples: null,
      bytes: null,
    }));
  }
  const seenFiles = new Set<string>();
  for (const e of entries) {
    if (seenFiles.has(e.file)) problem(e.file, null, "listed twice");
    seenFiles.add(e.file);
  }
  for (const f of await listTars(shardsDir)) {
    if (!seenFiles.has(f)) {
      problem(f, null, `not listed in ${fromManifest ? manifestName : "splits.csv"}`);
    }
  }
  return { entries, fromManifest, unchecked, recordedDim };
}

/**
 * The shards `manifest.json` lists (its `shards` array: file, split, samples, bytes, sha256); a
 * file that is not such a manifest is a problem, and no shard is listed from it.
 */
function readManifestJsonShards(
  text: string,
  problem: (shard: string | null, key: string | null, message: string) => void,
): ShardEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    problem("manifest.json", null, `not valid JSON: ${(e as Error).message}`);
    return [];
  }
  const shards = (doc as { shards?: unknown } | null)?.shards;
  if (!Array.isArray(shards)) {
    problem("manifest.json", null, "has no shards list");
    return [];
  }
  const out: ShardEntry[] = [];
  for (const [i, r] of shards.entries()) {
    const e = r as Record<string, unknown> | null;
    const split = typeof e?.split === "string" ? parseSplitName(e.split) : null;
    if (
      e === null || typeof e.file !== "string" || split === null ||
      typeof e.sha256 !== "string" || typeof e.bytes !== "number" || typeof e.samples !== "number"
    ) {
      problem("manifest.json", null, `shards[${i}] lacks file, split, samples, bytes or sha256`);
      continue;
    }
    out.push({ file: e.file, split, sha256: e.sha256, samples: e.samples, bytes: e.bytes });
  }
  return out;
}

/**
 * Reads one shard once, hashing it on the way: every sample checked, keys recorded, and the
 * sha256 and sample count compared with the manifest's when it has them.
 * @returns the bytes read
 */
async function readShard(
  path: string,
  e: ShardEntry,
  check: { classes: Set<string> | null; dim: number },
  t: Tally,
  problems: Problems,
): Promise<number> {
  const problem = problems.add;
  if (!(await pathExists(path))) {
    problem(e.file, null, "shard file is missing");
    return 0;
  }
  t.found[e.split].tars++;
  const hash = createHash("sha256");
  let shardBytes = 0, shardSamples = 0, complete = true;
  let lastKey: string | null = null;
  try {
    const reader = readRawSamples(path, {
      readToEnd: true,
      chunkSize: 4 << 20,
      onBytes: (b) => {
        hash.update(b);
        shardBytes += b.length;
      },
    });
    for await (const raw of reader) {
      shardSamples++;
      lastKey = raw.key;
      for (const msg of checkSample(raw, e.split, check.classes, check.dim)) {
        problem(e.file, raw.key, msg);
      }
      const n = parseSampleKey(raw.key);
      if (n === null) {
        problem(e.file, raw.key, "key is not of the form vid_<number>");
        continue;
      }
      const first = t.keyShard.get(n);
      if (first !== undefined) {
        problem(e.file, raw.key, `duplicate key (also in ${first})`);
        continue;
      }
      t.keyShard.set(n, e.file);
      t.keysBySplit.get(e.split)!.push(n);
    }
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    complete = false;
    const msg = err.message.startsWith(path) ? err.message.slice(path.length + 2) : err.message;
    const key = err instanceof TruncatedTarError && err.member !== null
      ? splitMemberName(err.member).key
      : lastKey;
    problem(e.file, key, msg);
  }
  t.shardsRead++;
  t.samples += shardSamples;
  t.bytes += shardBytes;
  t.found[e.split].samples += shardSamples;
  if (e.bytes !== null) {
    // the file's own size: a reader stops at the end-of-archive blocks, an appended block does not
    const size = (await Deno.stat(path)).size;
    if (size !== e.bytes) problem(e.file, null, `${size} bytes, the manifest says ${e.bytes}`);
  }
  if (complete && e.sha256 !== null) {
    const sha = hash.digest("hex");
    if (sha !== e.sha256) {
      problem(e.file, null, `sha256 ${sha} differs from the manifest's ${e.sha256}`);
    }
  }
  if (complete && e.samples !== null && e.samples !== shardSamples) {
    problem(e.file, null, `${shardSamples} samples, the manifest says ${e.samples}`);
  }
  return shardBytes;
}

/** Per split, the card's counts against what the shards hold. */
function compareWithCard(
  expected: SplitTotals,
  found: Record<Split, SplitCount>,
  problems: Problems,
): SplitVerdict[] {
  const problem = problems.add;
  const splits: SplitVerdict[] = [];
  for (const s of SPLITS) {
    const exp = expected[s] ?? null;
    const f = found[s];
    if (!exp && f.tars === 0) continue;
    const ok = exp !== null && exp.samples === f.samples && exp.tars === f.tars;
    splits.push({ split: s, expected: exp, found: f, ok });
    if (!exp) {
      problem(null, null, `split ${s}: ${f.tars} tars found, the card lists no such split`);
      continue;
    }
    if (exp.samples !== f.samples) {
      problem(null, null, `split ${s}: ${f.samples} samples, the card says ${exp.samples}`);
    }
    if (exp.tars !== f.tars) {
      problem(null, null, `split ${s}: ${f.tars} tars, the card says ${exp.tars}`);
    }
  }
  return splits;
}

/** Keys must run 0, 1, 2... without gaps, each split one block, in the order train, val, test. */
function checkKeyRanges(
  keysBySplit: Map<Split, number[]>,
  keyShard: Map<number, string>,
  problem: (shard: string | null, key: string | null, message: string) => void,
): void {
  const all = [...keyShard.keys()].sort((a, b) => a - b);
  let prev = -1;
  for (const k of all) {
    if (k !== prev + 1) {
      const missing = k - prev - 1;
      const range = missing === 1
        ? sampleKey(prev + 1)
        : `${sampleKey(prev + 1)}..${sampleKey(k - 1)}`;
      problem(
        keyShard.get(prev < 0 ? k : prev)!,
        sampleKey(prev + 1),
        `missing sample${missing === 1 ? "" : "s"}: no ${range} (keys jump from ` +
          `${prev < 0 ? "the start" : sampleKey(prev)} to ${sampleKey(k)})`,
      );
    }
    prev = k;
  }
  let prevSplit: { split: Split; max: number } | null = null;
  for (const s of SPLITS) {
    const keys = keysBySplit.get(s)!;
    if (keys.length === 0) continue;
    let min = Infinity, max = -Infinity;
    for (const k of keys) {
      if (k < min) min = k;
      if (k > max) max = k;
    }
    if (prevSplit && min < prevSplit.max) {
      problem(
        keyShard.get(min)!,
        sampleKey(min),
        `split ${s} keys start before split ${prevSplit.split} ends (${sampleKey(prevSplit.max)})`,
      );
    } else if (all.length > 0) {
      // inside the split's range every key must belong to the split
      const own = new Set(keys);
      for (const k of all) {
        if (k > min && k < max && !own.has(k)) {
          problem(keyShard.get(k)!, sampleKey(k), `key lies inside split ${s}'s range`);
          break;
        }
      }
    }
    prevSplit = { split: s, max };
  }
}

/**
 * The report as text: a table of expected against found per split, then the first
 * `SHOWN_PROBLEMS` problems one a line (`<shard> <key>: <what>`) and how many more there are.
 * @param r the report
 * @returns the text
 */
export function formatVerifyReport(r: VerifyReport): string {
  const lines: string[] = [];
  lines.push(
    `verified ${r.shardsRead} shards, ${r.samples} samples, ${(r.bytes / 1e6).toFixed(1)} MB ` +
      `in ${r.seconds.toFixed(1)} s (${
        (r.bytes / 1e6 / Math.max(r.seconds, 1e-9)).toFixed(0)
      } MB/s)` +
      (r.manifest ? ", sha256 checked against the manifest" : ""),
  );
  lines.push("");
  const head = ["split", "samples expected", "samples found", "tars expected", "tars found", ""];
  const rows = r.splits.map((s) => [
    s.split,
    s.expected ? String(s.expected.samples) : "-",
    String(s.found.samples),
    s.expected ? String(s.expected.tars) : "-",
    String(s.found.tars),
    s.ok ? "ok" : "MISMATCH",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")
      .trimEnd();
  lines.push(fmt(head), ...rows.map(fmt));
  lines.push("");
  for (const u of r.unchecked) lines.push(`not checked: ${u}`);
  const n = r.problems.length + r.moreProblems;
  if (n === 0) {
    lines.push(
      r.unchecked.length === 0 ? "OK: everything matches" : "OK: everything checked matches",
    );
  } else {
    lines.push(`${n} problem${n === 1 ? "" : "s"}:`);
    for (const p of r.problems.slice(0, SHOWN_PROBLEMS)) {
      const where = [p.shard, p.key].filter(Boolean).join(" ");
      lines.push(`${where ? where + ": " : ""}${p.message}`);
    }
    // a damaged set can have a problem per sample: the terminal gets the first few
    if (n > SHOWN_PROBLEMS) {
      lines.push(
        `... and ${n - SHOWN_PROBLEMS} more (--json lists the first ${MAX_PROBLEMS} with their ` +
          "shard and key)",
      );
    }
  }
  return lines.join("\n");
}
