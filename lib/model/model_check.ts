/**
 * A quick look at a `--model` / `--text-model` value before any work starts: a local `.onnx` file
 * that starts like an ONNX model, a checkpoint whose header and tensors read, or a hub repo whose
 * config is cached or answers. Nothing is built and no weights are fetched.
 * @module
 */
import { ConfigError } from "../base/mod.ts";
import { CHECKPOINT_FILES, type CheckpointLayout, openClipCheckpoint } from "../onnx/mod.ts";
import { HubClient, type HubClientOptions, HubError } from "./hub_client.ts";
import { type HubSettings, hubSettingsFromEnv } from "./hub_settings.ts";
import { KNOWN_MODELS, parseModelSource } from "./model_source.ts";

/** Options of {@linkcode checkModel}. */
export interface CheckModelOptions {
  /** Hub settings (default: from the environment). */
  hub?: HubSettings;
  /** Hub client retry policy. */
  hubClient?: HubClientOptions;
}

/**
 * What is wrong with a model value, or null when it can be used.
 * @param spec the value as given
 * @param opts hub settings
 * @returns one short reason (without the value), or null
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { checkModel } from "./model_check.ts";
 * strictEqual(await checkModel("/no/such/model.onnx"), "not found");
 * ```
 */
export async function checkModel(
  spec: string,
  opts: CheckModelOptions = {},
): Promise<string | null> {
  let source;
  try {
    source = parseModelSource(spec);
  } catch (e) {
    // a device, FIFO or socket is named as such by the parser; anything else is not there
    if (e instanceof ConfigError && / is a .*, not a regular file/.test(e.message)) {
      return notRegular(null);
    }
    return "not found (neither a file or folder here nor a hub repo id owner/name[@revision])";
  }
  if (source.kind === "onnx") return await checkOnnxFile(source.path);
  if (source.kind === "checkpoint") {
    const stat = await Deno.stat(source.path).catch(() => null);
    if (stat === null) return "not found";
    if (!stat.isDirectory && !stat.isFile) return notRegular(stat);
    try {
      (await openClipCheckpoint(source.path)).close();
      return null;
    } catch (e) {
      return `not a CLIP checkpoint: ${firstLine(e)}`;
    }
  }
  const hub = new HubClient(opts.hub ?? hubSettingsFromEnv(), opts.hubClient);
  const known = KNOWN_MODELS[source.repo];
  const revision = source.revision ?? known?.revision ?? "main";
  const layouts: CheckpointLayout[] = known ? [known.layout] : ["transformers", "open_clip"];
  let last = "";
  for (const layout of layouts) {
    try {
      // the config is small and cached for the run that follows; the weights wait for it
      await hub.download(source.repo, CHECKPOINT_FILES[layout].config, revision);
      return null;
    } catch (e) {
      if (!(e instanceof HubError)) throw e;
      last = firstLine(e);
      // an unknown repo may hold either layout; anything but a missing file ends the search
      if (e.status !== 404) break;
    }
  }
  return last;
}

/**
 * The first byte of an ONNX file: the tag of one of `ModelProto`'s fields (ir_version, producer
 * name and version, domain, model version, doc string, graph, opset, metadata). Exporters write
 * ir_version (0x08) first; zeros, most text and archives start otherwise.
 */
const MODEL_PROTO_TAGS = new Set([0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72]);

/** An `.onnx` file: a regular file whose first byte is a protobuf field of `ModelProto`. */
async function checkOnnxFile(path: string): Promise<string | null> {
  const stat = await Deno.stat(path).catch(() => null);
  if (stat === null) return "not found";
  if (!stat.isFile) return notRegular(stat);
  const head = new Uint8Array(1);
  const file = await Deno.open(path);
  let n: number | null;
  try {
    n = await file.read(head);
  } finally {
    file.close();
  }
  if (n !== 1 || !MODEL_PROTO_TAGS.has(head[0])) {
    return "not an ONNX model (give an .onnx file, a checkpoint, or a hub repo id)";
  }
  return null;
}

function notRegular(stat: Deno.FileInfo | null): string {
  return stat?.isDirectory
    ? "a folder, not a file"
    : "not a regular file (a device, FIFO or socket is never read)";
}

/** An error's first line; the caller's message keeps the whole line within bounds. */
function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
