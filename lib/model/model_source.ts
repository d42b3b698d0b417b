/**
 * What `--model` and `--text-model` name: an `.onnx` file, a local CLIP checkpoint (a
 * `.safetensors` file or a folder in transformers' or open_clip's layout), or a model hub repo
 * `owner/name[@revision]`. Known names pin a commit and their layout.
 * @module
 */
import { ConfigError, UsageError } from "../base/mod.ts";
import type { CheckpointLayout } from "../onnx/mod.ts";

/** A known hub model: the commit it is pinned to and the layout its files are read in. */
export interface KnownModel {
  /** The commit a bare name resolves to. */
  revision: string;
  /** Which config and weights files to fetch. */
  layout: CheckpointLayout;
  /** What it is. */
  description: string;
}

/** The hub models kinembed knows by name. */
export const KNOWN_MODELS: Readonly<Record<string, KnownModel>> = {
  "openai/clip-vit-base-patch32": {
    revision: "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268",
    layout: "transformers",
    description: "OpenAI CLIP ViT-B/32 (the CLIP-Kinetics700 model), 512-d",
  },
  "openai/clip-vit-base-patch16": {
    revision: "57c216476eefef5ab752ec549e440a49ae4ae5f3",
    layout: "transformers",
    description: "OpenAI CLIP ViT-B/16, 512-d",
  },
  "openai/clip-vit-large-patch14": {
    revision: "32bd64288804d66eefd0ccbe215aa642df71cc41",
    layout: "transformers",
    description: "OpenAI CLIP ViT-L/14, 768-d",
  },
  "timm/vit_base_patch32_clip_224.openai": {
    revision: "a6f597a30f7b82c51704746581f9a4e41421e878",
    layout: "open_clip",
    description: "OpenAI CLIP ViT-B/32 in open_clip's layout, 512-d",
  },
  "laion/CLIP-ViT-B-32-laion2B-s34B-b79K": {
    revision: "1a25a446712ba5ee05982a381eed697ef9b435cf",
    layout: "open_clip",
    description: "LAION-2B CLIP ViT-B/32 (GELU), 512-d",
  },
};

/** A parsed model name. */
export type ModelSource =
  /** An ONNX file, used as it is. */
  | { kind: "onnx"; path: string }
  /** A local checkpoint file or folder. */
  | { kind: "checkpoint"; path: string }
  /** A hub repository at a revision (`null`: the known pin, else `main`). */
  | { kind: "hub"; repo: string; revision: string | null };

/** `owner/name` with the hub's characters, optionally `@revision`. */
const REPO_ID =
  /^([A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*)(?:@([A-Za-z0-9_./-]+))?$/;

/**
 * Reads a `--model` value. A path that exists is local (an `.onnx` file, a `.safetensors` file or
 * a checkpoint folder), so a folder named like a repo wins over the hub, as in transformers.
 * @param spec the value
 * @returns what it names
 * @throws UsageError when it is neither an existing path nor a repo id; ConfigError when it is a
 *   device, FIFO or socket
 */
export function parseModelSource(spec: string): ModelSource {
  let stat: Deno.FileInfo | null = null;
  try {
    stat = Deno.statSync(spec);
  } catch { /* not local */ }
  if (stat !== null && !stat.isFile && !stat.isDirectory) {
    // a device or a FIFO never ends (or never starts): refused before anything reads it
    throw new ConfigError(
      `model ${JSON.stringify(spec)} is ${specialFileKind(stat)}, not a regular file: give an ` +
        ".onnx file, a .safetensors checkpoint, a checkpoint folder or a hub repo id",
    );
  }
  if (spec.endsWith(".onnx")) return { kind: "onnx", path: spec };
  if (stat !== null) {
    if (stat.isDirectory || spec.endsWith(".safetensors")) {
      return { kind: "checkpoint", path: spec };
    }
    return { kind: "onnx", path: spec };
  }
  if (spec.endsWith(".safetensors")) return { kind: "checkpoint", path: spec };
  const m = REPO_ID.exec(spec);
  if (m && !spec.startsWith(".") && !spec.startsWith("/")) {
    return { kind: "hub", repo: m[1], revision: m[2] ?? null };
  }
  throw new UsageError(
    `model ${JSON.stringify(spec)} is neither a file or folder here nor a hub repo id ` +
      "(owner/name[@revision])",
  );
}

/**
 * What a path that is neither a file nor a folder is, in words.
 * @param stat its `stat`
 * @returns e.g. `a character device`
 */
function specialFileKind(stat: Deno.FileInfo): string {
  if (stat.isCharDevice) return "a character device";
  if (stat.isBlockDevice) return "a block device";
  if (stat.isFifo) return "a FIFO (named pipe)";
  if (stat.isSocket) return "a socket";
  return "not a regular file";
}
