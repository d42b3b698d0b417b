/**
 * The embeddings export: a shard set as the folder layout clip-retrieval and autofaiss read.
 * `img_emb/img_emb_{i}.npy` holds one unit-length row per video (the pooled frames),
 * `metadata/metadata_{i}.parquet` the same rows' key, videoID, label, split, start, end, frames,
 * tar and row, and `text_emb/text_emb_{i}.npy` the zero-shot class embeddings when a text model
 * is given. Rows follow `splits.csv`'s order of tars and each tar's order of samples; the shards
 * are read one sample at a time and each part is written when it is full, so at most one part is
 * in memory. `export.json` records what was exported, so a rerun does nothing.
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import {
  ConfigError,
  float32ToFloat16,
  FormatError,
  KINEMBED_VERSION,
  meanPooledFeature,
  pathExists,
  writeFileAtomic,
  writeNpy,
} from "../base/mod.ts";
import { embeddingsToFloat32, parseSplitsCsv, ShardReader } from "../webdataset/mod.ts";
import { buildZeroShotClassifier } from "../text/mod.ts";
import { loadClassNames, loadPromptTemplates } from "../dataset/mod.ts";
import { resolveModel } from "../model/mod.ts";
import type { ProviderName } from "../onnx/mod.ts";
import { metadataParquet, type MetadataRow } from "./parquet_metadata.ts";

/** The element types an export's `.npy` files may have. */
export const EXPORT_DTYPES: readonly ExportDtype[] = ["float16", "float32"];
/** An export's `.npy` element type. */
export type ExportDtype = "float16" | "float32";
/** How a video's frames become its row. */
export const EXPORT_POOLINGS: readonly ExportPooling[] = ["mean", "centre"];
/** A pooling: `mean` (L2-normalised mean of L2-normalised frames) or `centre` (the centre frame, L2-normalised). */
export type ExportPooling = "mean" | "centre";
/** Rows per part when none is given: 100,000 rows of 512 are ~100 MB of float16. */
export const DEFAULT_PART_SIZE = 100_000;
/** The record an export folder holds of itself. */
export const EXPORT_RECORD = "export.json";
const FOLDERS = ["img_emb", "text_emb", "metadata"] as const;

/** Options of {@linkcode exportEmbeddings}. */
export interface ExportOptions {
  /** The shard directory (with `splits.csv`). */
  shards: string;
  /** The export folder (created; must be empty or hold an earlier export of these shards). */
  out: string;
  /** Element type of the `.npy` files (default `float16`). */
  dtype?: ExportDtype;
  /** Pooling (default `mean`). */
  pool?: ExportPooling;
  /** Rows per part (default {@linkcode DEFAULT_PART_SIZE}). */
  partSize?: number;
  /** A CLIP text model (`.onnx`, checkpoint or hub name): with it, `text_emb/` is written. */
  textModel?: string;
  /** Class list for the text embeddings (default the shipped 700). */
  classes?: string;
  /** Prompt templates (default the shipped 28). */
  templates?: string;
  /** ONNX Runtime providers for the text model. */
  providers?: readonly ProviderName[];
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
}

/** What {@linkcode exportEmbeddings} did. */
export interface ExportSummary {
  /** The export folder. */
  out: string;
  /** True when the folder already held this export (nothing written). */
  nothingToDo: boolean;
  /** Videos exported (rows over all parts). */
  rows: number;
  /** Parts written (`img_emb_0.npy` ...). */
  parts: number;
  /** Embedding width. */
  dim: number;
  /** Videos left out for having no frames. */
  skippedNoFrames: number;
  /** The first few of their keys. */
  skippedKeys: string[];
  /** Text embeddings' class count, or null when none were written (no text model). */
  textClasses: number | null;
}

interface TarEntry {
  path: string;
  name: string;
  split: string;
}

/** Each tar's name and sha256 from a set's `manifest.json`, or null when it has none. */
async function tarHashes(path: string): Promise<string | null> {
  try {
    const m = JSON.parse(await Deno.readTextFile(path)) as {
      shards?: { file?: unknown; sha256?: unknown }[];
    };
    if (!Array.isArray(m.shards)) return null;
    // only the tars' hashes: the step counts beside them change without the tars changing
    return m.shards.map((t) => `${t.file} ${t.sha256}`).join("\n");
  } catch {
    // a set without manifest.json: the tars' times stand in for their content
    return null;
  }
}

/**
 * The tars of a shard directory in `splits.csv` order, and the set's identity: `splits.csv`, each
 * tar's name and size, and `manifest.json` (each tar's sha256) where shard wrote one, else each
 * tar's modification time.
 */
async function shardTars(shards: string): Promise<{ tars: TarEntry[]; identity: string }> {
  const csv = join(shards, "splits.csv");
  let text: string;
  try {
    text = await Deno.readTextFile(csv);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ConfigError(`${csv} not found: export reads the shards in splits.csv's order`);
    }
    throw e;
  }
  const tars: TarEntry[] = [];
  const hash = createHash("sha256").update(text);
  const manifest = await tarHashes(join(shards, "manifest.json"));
  if (manifest !== null) hash.update(manifest);
  for (const row of parseSplitsCsv(text, csv)) {
    const path = join(shards, row.tarFile);
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(path);
    } catch {
      throw new ConfigError(`${csv} names ${row.tarFile}, which is not in ${shards}`);
    }
    const time = manifest === null ? ` ${st.mtime?.getTime() ?? 0}` : "";
    hash.update(`\n${row.tarFile} ${st.size}${time}`);
    tars.push({ path, name: basename(row.tarFile), split: row.split });
  }
  return { tars, identity: hash.digest("hex") };
}

/** What an export folder's record holds. */
interface ExportRecord {
  format: "kinembed-embeddings-export";
  shardsIdentity: string;
  settings: Record<string, unknown>;
  complete: boolean;
  summary?: Omit<ExportSummary, "out" | "nothingToDo">;
}

/**
 * Decides what to do with the out folder: refuse it, leave it (same export, complete), or clear
 * an earlier export of the same shards.
 */
async function prepareOut(
  out: string,
  identity: string,
  settings: Record<string, unknown>,
): Promise<ExportRecord["summary"] | null> {
  if (!await pathExists(out)) return null;
  const names: string[] = [];
  for await (const e of Deno.readDir(out)) names.push(e.name);
  if (names.length === 0) return null;
  let record: ExportRecord | null = null;
  try {
    record = JSON.parse(await Deno.readTextFile(join(out, EXPORT_RECORD)));
  } catch {
    record = null;
  }
  if (record?.format !== "kinembed-embeddings-export") {
    throw new ConfigError(
      `--out ${out} is not empty and holds no kinembed export: name an empty or new folder`,
    );
  }
  if (record.shardsIdentity !== identity) {
    throw new ConfigError(
      `--out ${out} holds an export of other shards: name an empty or new folder, or remove it`,
    );
  }
  if (record.complete && JSON.stringify(record.settings) === JSON.stringify(settings)) {
    return record.summary ?? null;
  }
  // an earlier (or unfinished) export of these shards with other settings: written anew
  for (const f of FOLDERS) await Deno.remove(join(out, f), { recursive: true }).catch(() => {});
  return null;
}

/** Writes `<folder>/<folder>_{i}.npy` parts of `[rows, dim]` in the export's dtype. */
function npyBytes(rows: Float32Array, count: number, dim: number, dtype: ExportDtype): Uint8Array {
  const data = rows.subarray(0, count * dim);
  return dtype === "float16"
    ? writeNpy({ dtype: "<f2", shape: [count, dim], data: float32ToFloat16(data) })
    : writeNpy({ dtype: "<f4", shape: [count, dim], data: Float32Array.from(data) });
}

/** Collects the rows of one part and writes its `.npy` and `.parquet` when full. */
class PartWriter {
  part = 0;
  total = 0;
  dim = 0;
  #rows = new Float32Array(0);
  #meta: MetadataRow[] = [];

  constructor(
    readonly out: string,
    readonly partSize: number,
    readonly dtype: ExportDtype,
    readonly log: (line: string) => void,
  ) {}

  async add(feature: Float32Array, meta: Omit<MetadataRow, "row">): Promise<void> {
    if (this.dim === 0) this.dim = feature.length;
    const n = this.#meta.length;
    if ((n + 1) * this.dim > this.#rows.length) {
      // grows by doubling up to one part: a small export allocates little
      const rows = Math.min(this.partSize, Math.max(1024, 2 * (n + 1)));
      const grown = new Float32Array(rows * this.dim);
      grown.set(this.#rows);
      this.#rows = grown;
    }
    this.#rows.set(feature, n * this.dim);
    this.#meta.push({ ...meta, row: n });
    if (this.#meta.length === this.partSize) await this.flush();
  }

  async flush(): Promise<void> {
    const n = this.#meta.length;
    if (n === 0) return;
    const i = this.part;
    await writeFileAtomic(
      join(this.out, "img_emb", `img_emb_${i}.npy`),
      npyBytes(this.#rows, n, this.dim, this.dtype),
    );
    await writeFileAtomic(
      join(this.out, "metadata", `metadata_${i}.parquet`),
      await metadataParquet(this.#meta),
    );
    this.part++;
    this.total += n;
    this.log(`export: part ${i} written (${n} videos, ${this.total} in all)`);
    this.#meta = [];
  }
}

function unitRow(v: Float32Array): Float32Array {
  let sq = 0;
  for (const x of v) sq += x * x;
  const inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
  return Float32Array.from(v, (x) => x * inv);
}

function seconds(v: unknown): number | null {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** Streams every sample of the tars into the part writer; returns the skipped keys. */
async function writeImageParts(tars: TarEntry[], parts: PartWriter, pool: ExportPooling) {
  const skipped: string[] = [];
  for (const tar of tars) {
    for await (const s of new ShardReader([tar.path])) {
      const shape = s.embeddings.shape;
      if (shape.length !== 2) {
        throw new FormatError(`${s.shard} ${s.key}: .npy has shape (${shape}), expected (n, dim)`);
      }
      const [count, dim] = shape;
      if (count === 0) {
        skipped.push(s.key);
        continue;
      }
      if (parts.dim !== 0 && dim !== parts.dim) {
        throw new FormatError(
          `${s.shard} ${s.key}: embeddings are ${dim} wide, earlier ${parts.dim}`,
        );
      }
      const frames = embeddingsToFloat32(s.embeddings);
      const c = Math.floor(count / 2);
      const feature = pool === "mean"
        ? meanPooledFeature(frames, count, dim)
        : unitRow(frames.subarray(c * dim, (c + 1) * dim));
      await parts.add(feature, {
        key: s.key,
        videoID: typeof s.meta.videoID === "string" ? s.meta.videoID : "",
        label: s.label,
        split: tar.split,
        start: seconds(s.meta.start_time),
        end: seconds(s.meta.end_time),
        frames: count,
        tar: tar.name,
      });
    }
  }
  await parts.flush();
  return skipped;
}

/** Encodes the class prompts and writes `text_emb/text_emb_{i}.npy`; returns the class count. */
async function writeTextParts(opts: ExportOptions, partSize: number, dtype: ExportDtype) {
  const log = opts.log ?? ((l: string) => console.error(l));
  const classNames = await loadClassNames(opts.classes);
  const templates = await loadPromptTemplates(opts.templates);
  log(`export: encoding ${classNames.length} classes × ${templates.length} templates`);
  const model = await resolveModel(opts.textModel!, { tower: "text", log });
  const clf = await buildZeroShotClassifier(model.path, classNames, templates, {
    providers: opts.providers,
    onFallback: (p, reason) =>
      log(`export: provider ${p} unavailable (${reason}), trying the next`),
  });
  for (let i = 0; i * partSize < clf.numClasses; i++) {
    const n = Math.min(partSize, clf.numClasses - i * partSize);
    const rows = clf.weights.subarray(i * partSize * clf.dim, (i * partSize + n) * clf.dim);
    await writeFileAtomic(
      join(opts.out, "text_emb", `text_emb_${i}.npy`),
      npyBytes(rows, n, clf.dim, dtype),
    );
  }
  return { classes: clf.classNames, templates };
}

/**
 * Exports a shard set's embeddings in clip-retrieval's layout (see the module doc).
 * @param opts the shards, the out folder and the settings
 * @returns what was written, or `nothingToDo` when the folder already holds this export
 * @throws {ConfigError} when `--out` holds something else or a shard is missing
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { makeSyntheticWorkDir } from "../../fixtures/synthetic_work_dir.ts";
 * import { shard } from "../shard/mod.ts";
 * import { exportEmbeddings } from "./embeddings_export.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "work"), counts: { train: 3 } });
 * await shard({ work: layout.root, quiet: true });
 * const out = join(dir, "export");
 * const s = await exportEmbeddings({ shards: layout.shards, out, partSize: 2, log: () => {} });
 * strictEqual(s.rows, 3); // img_emb_0.npy (2 rows), img_emb_1.npy (1 row)
 * strictEqual((await exportEmbeddings({ shards: layout.shards, out, partSize: 2, log: () => {} })).nothingToDo, true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function exportEmbeddings(opts: ExportOptions): Promise<ExportSummary> {
  const dtype = opts.dtype ?? "float16";
  const pool = opts.pool ?? "mean";
  const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
  const log = opts.log ?? ((l: string) => console.error(l));
  const { tars, identity } = await shardTars(opts.shards);
  const settings = {
    dtype,
    pool,
    partSize,
    textModel: opts.textModel ?? null,
    classes: opts.classes ?? null,
    templates: opts.templates ?? null,
  };
  const done = await prepareOut(opts.out, identity, settings);
  if (done) return { out: opts.out, nothingToDo: true, ...done };
  for (const f of FOLDERS) await Deno.mkdir(join(opts.out, f), { recursive: true });
  const record = (complete: boolean, summary?: ExportRecord["summary"]) =>
    writeFileAtomic(
      join(opts.out, EXPORT_RECORD),
      new TextEncoder().encode(
        JSON.stringify(
          {
            format: "kinembed-embeddings-export",
            kinembed: KINEMBED_VERSION,
            order:
              "splits.csv's order of tars, each tar's order of samples; 0-frame videos left out",
            shardsIdentity: identity,
            settings,
            complete,
            summary,
          },
          null,
          2,
        ) + "\n",
      ),
    );
  await record(false);
  const parts = new PartWriter(opts.out, partSize, dtype, log);
  const skipped = await writeImageParts(tars, parts, pool);
  log(
    `export: ${parts.total} videos in ${parts.part} part(s), ${skipped.length} without frames left out`,
  );
  let textClasses: number | null = null;
  if (opts.textModel !== undefined) {
    textClasses = (await writeTextParts(opts, partSize, dtype)).classes.length;
  } else log("export: text_emb not written (give --text-model for the class embeddings)");
  const summary = {
    rows: parts.total,
    parts: parts.part,
    dim: parts.dim,
    skippedNoFrames: skipped.length,
    skippedKeys: skipped.slice(0, 10),
    textClasses,
  };
  await record(true, summary);
  return { out: opts.out, nothingToDo: false, ...summary };
}
