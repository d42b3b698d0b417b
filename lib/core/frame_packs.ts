/**
 * Frame packs: the frames of one video as sample makes them and encode reads them, and their file
 * in the work dir (`frames/<id>.npy`, uint8 (n, S, S, 3)) kept in line with the manifest. Sample
 * writes them, encode reads and drops them, and the streamed sample → encode hands them over in
 * memory; this file is the contract the three share.
 * @module
 */
import { join } from "node:path";
import {
  FormatError,
  type NpyArray,
  pathExistsSync,
  readNpy,
  sha256Bytes,
  writeFileAtomic,
  writeNpy,
} from "../base/mod.ts";
import type { Manifest, VideoFilter, VideoStatus } from "./manifest.ts";

/** Decoded frames of one video: `count` frames of size×size×3 RGB (BGR for the 1.0 preset). */
export interface FramePack {
  /** The video's id. */
  videoId: string;
  /** Number of frames. */
  count: number;
  /** Side of each square frame. */
  size: number;
  /** Pixels, (count, size, size, 3) uint8, C order. */
  data: Uint8Array;
  /** The middle frame's JPEG thumbnail, when one was asked for when decoding. */
  thumbnail?: string;
}

/**
 * Which videos a step still has to do: its predecessor done, itself pending (or failed, on
 * retry). Walk them with `Manifest#videos.each` and count them with `Manifest#videos.count`.
 * @param step `sample` (after download) or `encode` (after sample)
 * @param retryFailed include videos that failed this step before
 * @returns the filter
 */
export function pendingFilter(step: "sample" | "encode", retryFailed: boolean): VideoFilter {
  const after = step === "sample" ? "download" : "sample";
  return { step, states: retryFailed ? ["pending", "failed"] : ["pending"], after };
}

/**
 * Writes a frame pack as `frames/<id>.npy` (atomically) and marks the video sampled.
 * @param m the manifest
 * @param framesDir the work dir's `frames/`
 * @param pack the frames
 */
export async function storeFramePack(
  m: Manifest,
  framesDir: string,
  pack: FramePack,
): Promise<void> {
  const bytes = writeNpy({
    dtype: "<u1",
    shape: [pack.count, pack.size, pack.size, 3],
    data: pack.data,
  });
  const path = join(framesDir, `${pack.videoId}.npy`);
  await writeFileAtomic(path, bytes);
  m.steps.markDone("sample", pack.videoId, {
    path,
    frames: pack.count,
    sha256: await sha256Bytes(bytes),
  }); // new frames: an earlier encode failure (frames missing) is void
  if (m.videos.get(pack.videoId)?.steps.encode?.state === "failed") {
    m.steps.markPending("encode", pack.videoId);
  }
}

/**
 * Reads the stored frame pack of a sampled video. A video whose frames are gone (removed after an
 * earlier encode, or by hand) or do not read as frames is sent back to sample and marked failed
 * in encode with the reason.
 * @param m the manifest
 * @param v a video whose sample step is done
 * @returns its frames, or undefined when they were missing or damaged (recorded)
 */
export async function readFramePack(m: Manifest, v: VideoStatus): Promise<FramePack | undefined> {
  const path = v.steps.sample?.path ?? "";
  let bytes: Uint8Array;
  try {
    if (!path) throw new Deno.errors.NotFound("frames were removed");
    bytes = await Deno.readFile(path);
  } catch {
    m.steps.markPending("sample", v.id);
    m.steps.markFailed("encode", v.id, `frames ${path || "(removed)"} missing; run sample again`);
    return undefined;
  }
  // a damaged frames file fails this video alone and sends it back to sample
  let arr: NpyArray;
  try {
    arr = readNpy(bytes);
    const [, h, w, c] = arr.shape;
    if (arr.dtype !== "<u1" || arr.shape.length !== 4 || h !== w || c !== 3) {
      throw new FormatError(`${arr.dtype} (${arr.shape.join(", ")}), want uint8 (n, S, S, 3)`);
    }
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    m.steps.markPending("sample", v.id);
    m.steps.markFailed("encode", v.id, `frames ${path}: ${e.message}; run sample again`);
    return undefined;
  }
  return { videoId: v.id, count: arr.shape[0], size: arr.shape[1], data: arr.data as Uint8Array };
}

/**
 * Reads the stored frame packs of videos in turn (see {@linkcode readFramePack}); the videos
 * whose frames are missing or damaged are recorded and skipped.
 * @param m the manifest
 * @param videos videos whose sample step is done
 */
export async function* readFramePacks(
  m: Manifest,
  videos: Iterable<VideoStatus>,
): AsyncGenerator<FramePack> {
  for (const v of videos) {
    const pack = await readFramePack(m, v);
    if (pack) yield pack;
  }
}

/**
 * Removes a video's frame pack after encoding and records that it is gone.
 * @param m the manifest
 * @param framesDir the work dir's `frames/`
 * @param videoId the video
 */
export async function dropFrames(m: Manifest, framesDir: string, videoId: string): Promise<void> {
  await Deno.remove(join(framesDir, `${videoId}.npy`)).catch(() => {});
  m.steps.dropOutput("sample", videoId);
}

/**
 * Brings the manifest back in line with the files before encoding: an encoded video whose frames
 * file is gone but whose sample record still names it (a run killed inside `dropFrames`) gets the
 * null path a finished drop records; an encoded video whose embedding file is gone (removed by
 * hand, e.g. after shard named it damaged) goes back to pending, so this run encodes it again.
 * @param m the manifest
 */
export function forgetDroppedFrames(m: Manifest): void {
  // only the paths, a row at a time, and sync checks: a no-op rerun looks at 645k files here;
  // the records are changed once the walk is over (few, unless a folder was removed)
  const dropped: string[] = [];
  const gone: string[] = [];
  for (const v of m.steps.encodedFiles()) {
    if (v.frames && !pathExistsSync(v.frames)) dropped.push(v.id);
    if (v.emb && !pathExistsSync(v.emb)) gone.push(v.id);
  }
  if (dropped.length + gone.length === 0) return;
  m.batch(() => {
    for (const id of dropped) m.steps.dropOutput("sample", id);
    for (const id of gone) m.steps.markPending("encode", id);
  });
}
