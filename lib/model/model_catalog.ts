/**
 * What the `model` task shows: one model's architecture, checkpoint sha256 and cache paths, and
 * every model in the two caches (checkpoints in the `huggingface_hub` cache, built encoders in
 * kinembed's).
 * @module
 */
import { join } from "node:path";
import { pathExists } from "../base/mod.ts";
import {
  CHECKPOINT_FILES,
  type ClipArchitecture,
  openClipCheckpoint,
  textParameterCount,
  visionParameterCount,
} from "../onnx/mod.ts";
import { builtModelCacheDir, hubSettingsFromEnv } from "./hub_settings.ts";
import { KNOWN_MODELS, parseModelSource } from "./model_source.ts";
import {
  builtEncoderFile,
  ENCODER_CACHE_KEY_COVERS,
  encoderCacheKey,
  fetchCheckpoint,
  MODEL_VARIANTS,
  type ResolveModelOptions,
} from "./model_store.ts";

/** One model's description. */
export interface ModelInfo {
  /** Name as given (repo id or path). */
  name: string;
  /** Commit of a hub model. */
  revision: string | null;
  /** The checkpoint file or folder. */
  checkpoint: string;
  /** The weights file's sha256. */
  sha256: string;
  /** The architecture. */
  arch: ClipArchitecture;
  /** Parameters of the image and text encoders. */
  parameters: { vision: number; text: number };
  /** The key its encoders are cached under ({@linkcode encoderCacheKey}). */
  cacheKey: string;
  /** What the key covers, in words. */
  cacheKeyCovers: string;
  /** Built encoders in the cache, by `<tower>-<variant>`: path, or null when not built yet. */
  built: Record<string, string | null>;
  /** HTTP requests sent. */
  requests: number;
}

/**
 * Describes a checkpoint or hub model (fetching the checkpoint if it is not cached).
 * @param spec a checkpoint path or hub repo id
 * @param opts hub settings and caches
 * @returns architecture, sha256, cache paths
 */
export async function modelInfo(spec: string, opts: ResolveModelOptions = {}): Promise<ModelInfo> {
  const source = parseModelSource(spec);
  if (source.kind === "onnx") {
    throw new TypeError(`${spec} is an .onnx file: info describes checkpoints and hub models`);
  }
  const ckpt = await fetchCheckpoint(source, opts);
  const open = await openClipCheckpoint(ckpt.path);
  const arch = open.arch;
  open.close();
  const cacheKey = await encoderCacheKey(ckpt.sha256, arch);
  const dir = join(opts.cacheDir ?? builtModelCacheDir(), cacheKey);
  const built: Record<string, string | null> = {};
  for (const [tower, variants] of [["vision", MODEL_VARIANTS], ["text", ["float32"]]] as const) {
    for (const v of variants) {
      const p = join(dir, builtEncoderFile(tower, v));
      built[`${tower}-${v}`] = await pathExists(p) ? p : null;
    }
  }
  return {
    name: ckpt.name,
    revision: ckpt.revision,
    checkpoint: ckpt.path,
    sha256: ckpt.sha256,
    arch,
    parameters: { vision: visionParameterCount(arch.vision), text: textParameterCount(arch.text) },
    cacheKey,
    cacheKeyCovers: ENCODER_CACHE_KEY_COVERS,
    built,
    requests: ckpt.requests,
  };
}

/** A model found in the caches. */
export interface CachedModel {
  /** Repo id (hub cache) or the name recorded when it was built. */
  name: string;
  /** Commits with a complete checkpoint in the hub cache. */
  commits: string[];
  /** Built encoders (file paths) in kinembed's cache. */
  built: string[];
  /** Encoders of the earlier cache layout (by weights sha256 alone), no longer used. */
  stale: string[];
  /** Whether kinembed knows the name (and pins its revision). */
  known: boolean;
}

/**
 * Lists the CLIP checkpoints in the `huggingface_hub` cache and the encoders built from them.
 * @param opts hub settings and caches
 * @returns one entry per model
 */
export async function listCachedModels(opts: ResolveModelOptions = {}): Promise<CachedModel[]> {
  const hub = opts.hub ?? hubSettingsFromEnv();
  const byName = new Map<string, CachedModel>();
  const entry = (name: string) => {
    let e = byName.get(name);
    if (!e) {
      e = { name, commits: [], built: [], stale: [], known: name in KNOWN_MODELS };
      byName.set(name, e);
    }
    return e;
  };
  for (const d of await readDirNames(hub.cacheDir)) {
    if (!d.startsWith("models--")) continue;
    const name = d.slice("models--".length).replace("--", "/");
    for (const commit of await readDirNames(join(hub.cacheDir, d, "snapshots"))) {
      const snap = join(hub.cacheDir, d, "snapshots", commit);
      for (const files of Object.values(CHECKPOINT_FILES)) {
        if (
          await pathExists(join(snap, files.config)) && await pathExists(join(snap, files.weights))
        ) {
          entry(name).commits.push(commit);
          break;
        }
      }
    }
  }
  const builtDir = opts.cacheDir ?? builtModelCacheDir();
  for (const key of await readDirNames(builtDir)) {
    let name = key, current = false;
    try {
      const record = JSON.parse(await Deno.readTextFile(join(builtDir, key, "model.json")));
      name = record.name ?? key;
      // a folder named by the weights' sha256 alone (no cache_key) is the earlier layout
      current = record.cache_key === key;
    } catch { /* a folder without its record: listed by its name */ }
    for (const f of await readDirNames(join(builtDir, key))) {
      if (f.endsWith(".onnx")) {
        (current ? entry(name).built : entry(name).stale).push(join(builtDir, key, f));
      }
    }
  }
  return [...byName.values()]
    .filter((e) => e.commits.length > 0 || e.built.length > 0 || e.stale.length > 0)
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

async function readDirNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) out.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}
