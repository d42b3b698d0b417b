/**
 * The encode step: CLIP image embeddings of every sampled video, batched across videos, stored as
 * `emb/<id>.npy` (float16 (n, 512) by default, float32 on request).
 * @module
 */
import { join } from "node:path";
import {
  CLIP_SIZE,
  ConfigError,
  float32ToFloat16,
  Progress,
  sha256Bytes,
  writeFileAtomic,
  writeNpy,
} from "../base/mod.ts";
import {
  dropFrames,
  forgetDroppedFrames,
  type FramePack,
  type Manifest,
  openStep,
  pendingFilter,
  readFramePacks,
  recordedSettings,
  recordSettings,
  requireEarlierSteps,
  RUN_SETTINGS,
  type RunSettings,
  type StepSummary,
  type VideoFilter,
} from "../core/mod.ts";
import { normalizeFrames } from "./clip_normalize.ts";
import { ImageEncoder, ONNXRUNTIME_VERSION, type ProviderName } from "../onnx/mod.ts";
import {
  type HashedModel,
  modelSettings,
  type ModelVariantChoice,
  type ResolvedModel,
  resolveModel,
  trustedSha256,
  variantForProvider,
} from "../model/mod.ts";
import { formatThreadPlan, planThreads, type ThreadPlan, usableCpus } from "./cpu_budget.ts";

/** Embedding dtypes on disk. */
export type EmbeddingOutputDtype = "float16" | "float32";

/** Options of the encode step. */
export interface EncodeOptions {
  /** The work directory. */
  work: string;
  /**
   * The CLIP image encoder: an `.onnx` file, a checkpoint (`.safetensors` file or folder), or a
   * model hub repo id `owner/name[@revision]` (fetched and built once).
   */
  model: string;
  /**
   * Which encoder to build from a checkpoint: `float32` (NCHW input), `fp16-uint8` (raw frames,
   * float16 graph), or `auto` (default): `fp16-uint8` when the CUDA provider loads, else `float32`.
   */
  modelVariant?: ModelVariantChoice;
  /** Execution providers in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** Frames per `session.run` (default 32); the last batch is padded so every run has this size. */
  batch?: number;
  /** Output dtype (default float16). */
  dtype?: EmbeddingOutputDtype;
  /** Model input name (default `pixel_values`). */
  inputName?: string;
  /** Model output name (default `image_embeds`). */
  outputName?: string;
  /** Keep `frames/<id>.npy` after encoding (default: delete). */
  keepFrames?: boolean;
  /** Try videos that failed before again. */
  retryFailed?: boolean;
  /** Print no progress. */
  quiet?: boolean;
  /** Called once per provider that did not load. */
  onFallback?: (provider: ProviderName, reason: string) => void;
  /** ONNX Runtime intra-op threads (`--threads`; default: the CPUs the task may use). */
  threads?: number;
  /** The threads chosen by the caller (run's overlap); default: from `threads` and the CPUs. */
  threadPlan?: ThreadPlan;
}

/** The encode summary: the step's counts plus the provider that ran. */
export interface EncodeSummary extends StepSummary {
  /** The execution provider used. */
  provider: ProviderName | null;
  /** The CPUs usable and the threads chosen (they change no output byte). */
  threads: ThreadPlan;
}

/** The threads encode runs with, from the options or the CPUs the task may use. */
export function encodeThreadPlan(opts: Pick<EncodeOptions, "threads" | "threadPlan">): ThreadPlan {
  return opts.threadPlan ?? planThreads(usableCpus(), { threads: opts.threads });
}

/** Where a work dir keeps the model hashes it computed, with the file stats they are valid for. */
function modelHashRecord(workDir: string): string {
  return join(workDir, "model_sha256.json");
}

/** The model's sha256 (trusted while its file is unchanged), or a one-line error naming it. */
function modelSha256(path: string, workDir: string): Promise<HashedModel> {
  return trustedSha256(path, modelHashRecord(workDir)).catch((e) => {
    throw new ConfigError(`cannot read model ${path}: ${(e as Error).message}`);
  });
}

/**
 * Opens the encoder and records the encode settings in the run config (refusing a work dir made
 * with another model, batch, dtype or provider).
 * @param m the manifest
 * @param workDir named in a mismatch error
 * @param opts the encode options
 * @param beforeRecord called once the encoder is open, before its settings are recorded; what it
 *   throws closes the encoder and records nothing
 * @returns the open encoder
 */
export async function openEncoderFor(
  m: Manifest,
  workDir: string,
  opts: EncodeOptions,
  beforeRecord?: () => void,
): Promise<ImageEncoder> {
  const log = (line: string) => {
    if (!opts.quiet) console.error(line);
  };
  const wanted = opts.modelVariant ?? "auto";
  let resolved: ResolvedModel = await resolveModel(opts.model, {
    tower: "vision",
    variant: variantForProvider(wanted, null),
    log,
  });
  const plan = encodeThreadPlan(opts);
  const open = (r: ResolvedModel, providers = opts.providers) =>
    ImageEncoder.open(r.path, {
      providers,
      threads: plan.intraOp,
      interOpThreads: plan.interOp,
      inputName: opts.inputName,
      outputName: opts.outputName,
      onFallback: opts.onFallback ??
        ((p, reason) =>
          console.error(`encode: the ${p} provider is unavailable (${reason}); trying the next`)),
    });
  const shaOf = (path: string) => modelSha256(path, workDir);
  let modelSha = await shaOf(resolved.path);
  let enc = await open(resolved);
  const provider = enc.provider;
  const suited = variantForProvider(wanted, provider);
  if (resolved.variant !== null && resolved.variant !== suited) {
    // the provider that loaded runs another build of the checkpoint better (an `.onnx` file has one)
    await enc.release();
    resolved = await resolveModel(opts.model, { tower: "vision", variant: suited, log });
    modelSha = await shaOf(resolved.path);
    enc = await open(resolved, [provider]);
  }
  const settings: Partial<RunSettings> = {
    modelSha256: modelSha.sha256,
    modelInput: `${enc.inputName}:${enc.inputKind}`,
    modelOutput: enc.outputName,
    embedDim: enc.embedDim,
    batch: opts.batch ?? RUN_SETTINGS.batch.default,
    dtype: opts.dtype ?? RUN_SETTINGS.dtype.default,
    provider: enc.provider,
    onnxruntime: ONNXRUNTIME_VERSION,
    ...modelSettings(resolved),
  };
  try {
    beforeRecord?.();
    recordSettings(m, settings, workDir);
    await modelSha.remember();
  } catch (e) {
    await enc.release();
    throw e;
  }
  return enc;
}

/**
 * Embeds every sampled video not encoded yet.
 * @param opts the work dir, model and settings
 * @returns counts, failures, timing and the provider used
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { download } from "../download/mod.ts";
 * import { buildVisionModel } from "../onnx/mod.ts";
 * import { sample } from "../video/mod.ts";
 * import { encode } from "./encode.ts";
 * const dir = await Deno.makeTempDir();
 * // a 3-second test video, and a video list naming it (path,label,split)
 * await new Deno.Command("ffmpeg", {
 *   args: ["-v", "error", "-f", "lavfi", "-i", "testsrc2=duration=3:size=320x240:rate=10", join(dir, "clip.mp4")],
 * }).output();
 * await Deno.writeTextFile(join(dir, "videos.csv"), "path,label,split\nclip.mp4,abseiling,train\n");
 * const model = join(dir, "vision.onnx"); // a random-weight CLIP-shaped model
 * await Deno.writeFile(model, (await buildVisionModel({ size: "tiny" })).bytes);
 * const work = join(dir, "work");
 * await download({ work, videos: [join(dir, "videos.csv")], quiet: true });
 * await sample({ work, quiet: true });
 * const s = await encode({ work, model, providers: ["cpu"], quiet: true });
 * strictEqual(s.frames, 3); // emb/clip.npy: float16 (3, 512)
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function encode(opts: EncodeOptions): Promise<EncodeSummary> {
  const t0 = performance.now();
  const ctx = await openStep(opts.work);
  try {
    const m = ctx.manifest;
    forgetDroppedFrames(m);
    const plan = encodeThreadPlan(opts);
    const todo = pendingFilter("encode", opts.retryFailed ?? false);
    const idle = await nothingToEncode(m, ctx.layout.root, opts, todo);
    if (idle) {
      return {
        step: "encode",
        done: 0,
        alreadyDone: m.steps.counts("encode").done,
        failed: m.steps.failures("encode"),
        frames: 0,
        seconds: (performance.now() - t0) / 1000,
        provider: idle.provider,
        threads: plan,
      };
    }
    // the model is checked first (its problems are the user's to fix whatever the order), and
    // nothing is recorded when there is nothing sampled to encode
    const enc = await openEncoderFor(
      m,
      ctx.layout.root,
      { ...opts, threadPlan: plan },
      () => requireEarlierSteps(m, "encode"),
    );
    if (!opts.quiet) console.error(formatThreadPlan("encode", plan));
    try {
      const alreadyDone = m.steps.counts("encode").done;
      const progress = new Progress("encode", m.videos.count(todo), {
        extraUnit: "frames",
        quiet: opts.quiet,
      });
      const r = await encodeFramePacks(
        readFramePacks(m, m.videos.each(todo)),
        enc,
        m,
        ctx.layout.emb,
        opts,
        (pack) => {
          progress.tick(1, pack.count);
          if (!opts.keepFrames) {
            return dropFrames(m, ctx.layout.frames, pack.videoId);
          }
        },
      );
      progress.finish();
      return {
        step: "encode",
        done: r.videos,
        alreadyDone,
        failed: m.steps.failures("encode"),
        frames: r.frames,
        seconds: (performance.now() - t0) / 1000,
        provider: enc.provider,
        threads: plan,
      };
    } finally {
      await enc.release();
    }
  } finally {
    ctx.close();
  }
}

/**
 * Decides from the manifest alone, before any model is loaded, that a rerun has nothing to do:
 * no video waits, the earlier steps are done, and the model is the one recorded (its sha256
 * trusted while the file is unchanged) with the same batch and dtype. A model that does not exist
 * is still refused; anything else that differs goes the full way, which names it.
 * @param m the manifest
 * @param workDir the work dir (where the model's hash is recorded)
 * @param opts the model, its variant, batch and dtype
 * @param todo the videos that would be encoded
 * @param checkOrder refuse a step out of order (encode alone; run samples first)
 * @returns the recorded provider when there is nothing to do, else null
 */
export async function nothingToEncode(
  m: Manifest,
  workDir: string,
  opts: Pick<EncodeOptions, "model" | "modelVariant" | "batch" | "dtype">,
  todo: VideoFilter,
  checkOrder = true,
): Promise<{ provider: ProviderName | null } | null> {
  const recorded = recordedSettings(m);
  if (recorded.modelSha256 === undefined || m.videos.count(todo) > 0) return null;
  // a file given is read here (a missing one refused); a hub name or checkpoint resolves as usual
  const resolved = await resolveModel(opts.model, {
    tower: "vision",
    variant: variantForProvider(
      opts.modelVariant ?? "auto",
      (recorded.provider ?? null) as ProviderName | null,
    ),
  });
  const hashed = await modelSha256(resolved.path, workDir);
  if (hashed.sha256 !== recorded.modelSha256) return null;
  if (checkOrder) requireEarlierSteps(m, "encode");
  recordSettings(m, {
    modelSha256: hashed.sha256,
    batch: opts.batch ?? RUN_SETTINGS.batch.default,
    dtype: opts.dtype ?? RUN_SETTINGS.dtype.default,
    ...modelSettings(resolved),
  }, workDir);
  await hashed.remember();
  return { provider: (recorded.provider ?? null) as ProviderName | null };
}

/**
 * Embeds a stream of frame packs in fixed-size batches that span videos, writing each video's
 * embeddings as soon as its last frame is done. The next batch is normalised while the current
 * one runs.
 * @param source frame packs, one per video
 * @param enc the open encoder
 * @param m the manifest (encode rows are marked done here)
 * @param embDir the work dir's `emb/`
 * @param opts batch size and output dtype
 * @param onVideoDone called after a video's embeddings are stored
 * @returns videos and frames encoded
 */
export async function encodeFramePacks(
  source: AsyncIterable<FramePack>,
  enc: ImageEncoder,
  m: Manifest,
  embDir: string,
  opts: { batch?: number; dtype?: EmbeddingOutputDtype },
  onVideoDone?: (pack: FramePack) => Promise<void> | void,
): Promise<{ videos: number; frames: number }> {
  const B = opts.batch ?? RUN_SETTINGS.batch.default;
  const D = enc.embedDim;
  const size = CLIP_SIZE;
  const frameElems = 3 * size * size;
  const uint8 = enc.inputKind === "uint8-nhwc";
  // Two input buffers: one is filled while the other runs.
  const buffers = [0, 1].map(() =>
    uint8 ? new Uint8Array(B * frameElems) : new Float32Array(B * frameElems)
  );
  let which = 0;
  interface Slot {
    pack: FramePack;
    out: Float32Array;
    filled: number; // frames whose embeddings are back
  }
  let current: { slot: Slot; from: number; count: number }[] = [];
  let used = 0;
  let inflight: Promise<void> | null = null;
  let videos = 0, frames = 0;

  const finish = async (slot: Slot) => {
    const bytes = opts.dtype === "float32"
      ? writeNpy({ dtype: "<f4", shape: [slot.pack.count, D], data: slot.out })
      : writeNpy({ dtype: "<f2", shape: [slot.pack.count, D], data: float32ToFloat16(slot.out) });
    const path = join(embDir, `${slot.pack.videoId}.npy`);
    await writeFileAtomic(path, bytes);
    m.steps.markDone("encode", slot.pack.videoId, {
      path,
      frames: slot.pack.count,
      sha256: await sha256Bytes(bytes),
    });
    videos++;
    frames += slot.pack.count;
    await onVideoDone?.(slot.pack);
  };

  const launch = () => {
    const parts = current;
    const input = buffers[which];
    which ^= 1;
    // zero the padding so a short last batch is deterministic
    if (used < B) input.fill(0, used * frameElems);
    current = [];
    used = 0;
    const prev = inflight;
    const run = enc.encode(input, B);
    inflight = (async () => {
      const y = await run;
      await prev;
      let row = 0;
      for (const p of parts) {
        p.slot.out.set(y.subarray(row * D, (row + p.count) * D), p.from * D);
        row += p.count;
        p.slot.filled += p.count;
        if (p.slot.filled === p.slot.pack.count) await finish(p.slot);
      }
    })();
  };

  for await (const pack of source) {
    if (pack.size !== size) {
      throw new ConfigError(`${pack.videoId}: frames are ${pack.size}px, need ${size}`);
    }
    const slot: Slot = { pack, out: new Float32Array(pack.count * D), filled: 0 };
    let from = 0;
    while (from < pack.count) {
      const n = Math.min(B - used, pack.count - from);
      const input = buffers[which];
      if (uint8) {
        input.set(
          pack.data.subarray(from * frameElems, (from + n) * frameElems),
          used * frameElems,
        );
      } else normalizeFrames(pack.data, from, n, size, input as Float32Array, used);
      current.push({ slot, from, count: n });
      used += n;
      from += n;
      if (used === B) {
        // wait for the run before last: its buffer is the one we fill next
        if (inflight) await inflight;
        launch();
      }
    }
  }
  if (used > 0) {
    if (inflight) await inflight;
    launch();
  }
  if (inflight) await inflight;
  return { videos, frames };
}
