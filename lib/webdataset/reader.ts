/**
 * Reads WebDataset shards back: tar paths, globs (`*`, `?`) and brace patterns
 * (`ds_{000054..000057}.tar`, `{a,b}`) expand to files; each file streams member by member and
 * members sharing a key (the path up to the first dot of the file name) become one sample.
 * `ShardReader` decodes a sample's `.npy` (versions 1–3, `<f2`, `<f4`, `<f8`), `.json` and `.txt`
 * (or `.cap`), throwing a `FormatError` naming the shard and key when something is wrong.
 * @module
 */
import { join } from "node:path";
import { FormatError, readNpyHeader, toFloat32 } from "../base/mod.ts";
import { readTarMembers, type TarReadOptions, TruncatedTarError } from "../tar/mod.ts";

/** A sample as stored: its key and its members by extension. */
export interface RawSample {
  /** The WebDataset key, e.g. `vid_000000042`. */
  key: string;
  /** The shard file it came from. */
  shard: string;
  /** Member content by extension (`json`, `npy`, `txt`...), in archive order. */
  members: Map<string, Uint8Array>;
  /** Byte offset of the sample's first header in the shard. */
  offset: number;
}

/** The embedding dtypes a shard may hold. */
export type EmbeddingDtype = "<f2" | "<f4" | "<f8";

/** A sample's per-frame embeddings as stored (float16 as raw bits). */
export interface Embeddings {
  /** The values in C order; `<f2` is raw float16 bits. */
  data: Uint16Array | Float32Array | Float64Array;
  /** `[frames, dim]`. */
  shape: number[];
  /** Element type. */
  dtype: EmbeddingDtype;
}

/** A decoded sample. */
export interface ShardSample {
  /** The WebDataset key. */
  key: string;
  /** Per-frame embeddings. */
  embeddings: Embeddings;
  /** The label (`.txt` or `.cap`), empty when there is none. */
  label: string;
  /** The parsed `.json` metadata (`videoID`, `start_time`, `end_time`). */
  meta: Record<string, unknown>;
  /** The shard file it came from. */
  shard: string;
}

/**
 * Splits a member name into sample key and extension, as WebDataset does: the key is everything
 * up to the first dot of the file name (directories included), the extension the rest.
 * @param name a member path
 * @returns key and extension (empty when the name has no dot)
 */
export function splitMemberName(name: string): { key: string; ext: string } {
  const slash = name.lastIndexOf("/");
  const dot = name.indexOf(".", slash + 1);
  return dot < 0 ? { key: name, ext: "" } : { key: name.slice(0, dot), ext: name.slice(dot + 1) };
}

/**
 * Expands brace groups: comma lists `{a,b}` and integer ranges `{054..057}` (zero-padded to the
 * wider endpoint when either has a leading zero); groups may nest or repeat.
 * @param pattern the pattern
 * @returns every expansion in order
 */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf("{");
  if (open < 0) return [pattern];
  let depth = 0, close = -1;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) {
      close = i;
      break;
    } else if (c === "," && depth === 1) commas.push(i);
  }
  if (close < 0) return [pattern];
  const head = pattern.slice(0, open);
  const body = pattern.slice(open + 1, close);
  const tails = expandBraces(pattern.slice(close + 1));
  let alts: string[];
  const range = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  if (range) {
    const [a, b] = [parseInt(range[1], 10), parseInt(range[2], 10)];
    const padded = /^-?0\d/.test(range[1]) || /^-?0\d/.test(range[2]);
    const width = padded ? Math.max(range[1].length, range[2].length) : 0;
    alts = [];
    const step = a <= b ? 1 : -1;
    for (let i = a; step > 0 ? i <= b : i >= b; i += step) {
      alts.push(i < 0 ? "-" + String(-i).padStart(width - 1, "0") : String(i).padStart(width, "0"));
    }
  } else if (commas.length > 0) {
    alts = [];
    let start = open + 1;
    for (const c of [...commas, close]) {
      for (const x of expandBraces(pattern.slice(start, c))) alts.push(x);
      start = c + 1;
    }
  } else {
    // `{x}` with no list or range is literal, as in the shell
    return expandBraces(pattern.slice(close + 1)).map((t) => head + "{" + body + "}" + t);
  }
  const out: string[] = [];
  for (const a of alts) {
    for (const t of tails) for (const x of expandBraces(head + a + t)) out.push(x);
  }
  return out;
}

function globToRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        const cls = segment.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\");
        re += `[${cls}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

const WILDCARD = /[*?[]/;

async function glob(pattern: string): Promise<string[]> {
  if (!WILDCARD.test(pattern)) return [pattern];
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s, i) => s !== "" || i === 0);
  let bases = [absolute ? "/" : "."];
  for (let i = absolute ? 1 : 0; i < segments.length; i++) {
    const seg = segments[i];
    const next: string[] = [];
    if (!WILDCARD.test(seg)) {
      for (const b of bases) next.push(b === "." && !absolute && i === 0 ? seg : join(b, seg));
    } else {
      const re = globToRegExp(seg);
      for (const b of bases) {
        const names: string[] = [];
        try {
          for await (const e of Deno.readDir(b)) {
            // like the shell, a wildcard does not match a leading dot (hides temp files too)
            if (e.name.startsWith(".") && !seg.startsWith(".")) continue;
            if (re.test(e.name)) names.push(e.name);
          }
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
            throw e;
          }
        }
        names.sort();
        for (const n of names) next.push(b === "." && !absolute ? n : join(b, n));
      }
    }
    bases = next;
  }
  return bases;
}

/**
 * Resolves shard patterns to files: braces expanded, then globs matched (sorted per pattern).
 * @param patterns tar paths, globs or brace patterns
 * @returns the files, each once, in pattern order
 */
export async function expandShardPatterns(patterns: string | string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const p of Array.isArray(patterns) ? patterns : [patterns]) {
    for (const e of expandBraces(p)) {
      const matches = await glob(e);
      if (matches.length === 0) throw new Deno.errors.NotFound(`no shard matches ${e}`);
      for (const m of matches) {
        if (!seen.has(m)) {
          seen.add(m);
          out.push(m);
        }
      }
    }
  }
  return out;
}

/**
 * Yields one shard's samples as stored: contiguous members with one key form a sample (a key
 * whose extension repeats starts a new sample, so duplicates stay visible).
 * @param path the tar file
 * @param opts passed to the tar reader (chunk size, byte observer for hashing)
 * @returns an async iterator of raw samples
 */
export async function* readRawSamples(
  path: string,
  opts: TarReadOptions = {},
): AsyncGenerator<RawSample> {
  let cur: RawSample | null = null;
  try {
    for await (const m of readTarMembers(path, opts)) {
      const { key, ext } = splitMemberName(m.name);
      if (cur && (cur.key !== key || cur.members.has(ext))) {
        yield cur;
        cur = null;
      }
      if (!cur) cur = { key, shard: path, members: new Map(), offset: m.offset };
      cur.members.set(ext, m.data);
    }
  } catch (e) {
    // the file ends inside the next sample's member: the sample gathered so far is whole
    if (
      e instanceof TruncatedTarError && cur && e.member !== null &&
      splitMemberName(e.member).key !== cur.key
    ) {
      yield cur;
    }
    throw e;
  }
  if (cur) yield cur;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a sample's `.npy` member (float dtypes only), checking its header against its length.
 * @param bytes the member's bytes
 * @returns the embeddings (data copied into aligned storage)
 */
export function decodeEmbeddings(bytes: Uint8Array): Embeddings {
  const h = readNpyHeader(bytes);
  if (h.dtype === "<u1") throw new FormatError(`npy: expected a float dtype, got ${h.dtype}`);
  const raw = bytes.slice(h.dataOffset);
  const n = h.shape.reduce((a, b) => a * b, 1);
  const data = h.dtype === "<f2"
    ? new Uint16Array(raw.buffer, 0, n)
    : h.dtype === "<f4"
    ? new Float32Array(raw.buffer, 0, n)
    : new Float64Array(raw.buffer, 0, n);
  return { data, shape: h.shape, dtype: h.dtype };
}

/**
 * A sample's embeddings as float32 (float16 bits decoded, float64 narrowed).
 * @param e the embeddings
 * @returns the values in C order
 */
export function embeddingsToFloat32(e: Embeddings): Float32Array {
  return toFloat32(e);
}

/**
 * Decodes a raw sample into embeddings, label and metadata.
 * @param raw the stored sample
 * @returns the decoded sample
 */
export function decodeSample(raw: RawSample): ShardSample {
  const where = `${raw.shard} ${raw.key}`;
  const npy = raw.members.get("npy");
  const json = raw.members.get("json");
  const txt = raw.members.get("txt") ?? raw.members.get("cap");
  const missing = [!json && ".json", !npy && ".npy", !txt && ".txt/.cap"].filter(Boolean);
  if (missing.length > 0) throw new FormatError(`${where}: sample has no ${missing.join(", ")}`);
  let embeddings: Embeddings, meta: unknown, label: string;
  try {
    embeddings = decodeEmbeddings(npy!);
  } catch (e) {
    throw new FormatError(`${where}: .npy: ${(e as Error).message}`);
  }
  try {
    meta = JSON.parse(textDecoder.decode(json!));
  } catch (e) {
    throw new FormatError(`${where}: .json: ${(e as Error).message}`);
  }
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
    throw new FormatError(`${where}: .json is not an object`);
  }
  try {
    label = textDecoder.decode(txt!);
  } catch {
    throw new FormatError(`${where}: label is not UTF-8`);
  }
  return {
    key: raw.key,
    embeddings,
    label,
    meta: meta as Record<string, unknown>,
    shard: raw.shard,
  };
}

/**
 * Streams the samples of WebDataset shards.
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { writeNpy } from "../base/mod.ts";
 * import { embeddingsToFloat32, ShardReader } from "./reader.ts";
 * import { ShardWriter } from "./writer.ts";
 * const dir = await Deno.makeTempDir();
 * const text = new TextEncoder();
 * for (const n of [0, 1]) {
 *   const w = await ShardWriter.create(join(dir, `ds_00000${n}.tar`));
 *   await w.addSample(`vid_00000000${n}`, [
 *     { ext: "json", data: text.encode(`{"videoID":"v${n}","start_time":"000000","end_time":"000010"}`) },
 *     { ext: "npy", data: writeNpy({ dtype: "<f4", shape: [2, 512], data: new Float32Array(1024) }) },
 *     { ext: "txt", data: text.encode("yoga") },
 *   ]);
 *   await w.commit();
 * }
 * const seen = [];
 * for await (const s of new ShardReader(join(dir, "ds_{000000..000001}.tar"))) {
 *   const frames = embeddingsToFloat32(s.embeddings); // s.embeddings.shape = [n, 512]
 *   seen.push([s.key, s.label, s.meta.videoID, frames.length]);
 * }
 * deepStrictEqual(seen, [["vid_000000000", "yoga", "v0", 1024], ["vid_000000001", "yoga", "v1", 1024]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class ShardReader implements AsyncIterable<ShardSample> {
  #patterns: string[];
  #chunkSize?: number;

  /**
   * A reader over the shards the patterns name (expanded when iteration starts).
   * @param patterns tar paths, globs (`*`, `?`, `[...]`) or brace patterns
   * @param opts `chunkSize`: bytes read from a file at a time (default 1 MiB)
   */
  constructor(patterns: string | string[], opts: { chunkSize?: number } = {}) {
    this.#patterns = Array.isArray(patterns) ? patterns : [patterns];
    this.#chunkSize = opts.chunkSize;
  }

  /**
   * The shard files the patterns name, in reading order.
   * @returns the paths
   */
  files(): Promise<string[]> {
    return expandShardPatterns(this.#patterns);
  }

  /**
   * Iterates the samples of every shard in order.
   * @returns an async iterator of samples
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ShardSample> {
    for (const path of await this.files()) {
      let lastKey: string | null = null;
      try {
        for await (const raw of readRawSamples(path, { chunkSize: this.#chunkSize })) {
          lastKey = raw.key;
          yield decodeSample(raw);
        }
      } catch (e) {
        if (e instanceof FormatError && !e.message.startsWith(path)) {
          throw new FormatError(`${path}${lastKey ? ` ${lastKey}` : ""}: ${e.message}`);
        }
        if (e instanceof FormatError && lastKey && !e.message.includes(lastKey)) {
          throw new FormatError(`${e.message} [last key ${lastKey}]`);
        }
        throw e;
      }
    }
  }
}
