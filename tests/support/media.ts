/** Test inputs made with ffmpeg's lavfi sources, and a work dir with registered videos. */
import type { Split } from "../../lib/core/mod.ts";
import { join } from "node:path";
import { Manifest } from "../../lib/core/manifest.ts";
import { ensureWorkDir } from "../../lib/core/work_dir.ts";

/**
 * Runs ffmpeg with the given arguments (quiet, overwrite), failing the test on error.
 * @param args ffmpeg arguments after `-v error -y`
 */
export async function ffmpegRun(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-v", "error", "-y", ...args],
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`ffmpeg ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Makes an h264 mp4 from a lavfi filter graph.
 * @param path the output file
 * @param graph the lavfi source (e.g. `color=red:s=320x240:r=25:d=2`)
 * @param extra output options placed before the path
 */
export async function lavfiVideo(
  path: string,
  graph: string,
  extra: string[] = [],
): Promise<string> {
  await ffmpegRun([
    "-f",
    "lavfi",
    "-i",
    graph,
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    ...extra,
    path,
  ]);
  return path;
}

/**
 * A work dir whose manifest lists the given local videos as downloaded.
 * @param dir the work dir
 * @param videos id, path, and optionally split and label per video
 */
export async function workWithVideos(
  dir: string,
  videos: { id: string; path: string; split?: Split; label?: string }[],
): Promise<void> {
  const layout = await ensureWorkDir(dir);
  const m = Manifest.open(layout.manifest);
  m.videos.add(videos.map((v) => ({
    id: v.id,
    split: v.split ?? "train",
    label: v.label ?? "abseiling",
    youtubeId: v.id,
    timeStart: 0,
    timeEnd: 10,
    source: v.path,
  })));
  for (const v of videos) m.steps.markDone("download", v.id, { path: v.path });
  m.close();
}

/**
 * A fresh temp dir, removed by the returned function.
 * @param prefix its name prefix
 */
export async function tempDir(
  prefix = "kinembed-test-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix });
  return { dir, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/** Absolute path of a file under the repository root. */
export function repoPath(...parts: string[]): string {
  return join(new URL("../..", import.meta.url).pathname, ...parts);
}
