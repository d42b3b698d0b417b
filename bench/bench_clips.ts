/**
 * The clips the throughput benches run on: N fixture videos of 10 s (train, 8 classes) and the
 * fixture CLIP model, and work dirs made fresh from a video list of some of them.
 * @module
 */
import { join } from "node:path";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { buildFixtureDataset, type FixtureVideo } from "../fixtures/dataset_builder.ts";
import { download } from "../lib/download/download.ts";
import type { ModelSize } from "../lib/onnx/clip_model_builder.ts";

/** The fixture clips and model a bench runs on. */
export interface BenchClips {
  /** The dataset's root; each video's `path` is relative to it. */
  root: string;
  /** The first N train videos. */
  videos: FixtureVideo[];
  /** The vision model's `.onnx` path. */
  model: string;
}

/**
 * Builds (or reuses) the fixture dataset with enough 10 s train clips, and the model.
 * @param dir where the dataset is kept between bench runs
 * @param count how many clips
 * @param size the model size
 * @returns the clips and the model
 */
export async function benchClips(dir: string, count: number, size: ModelSize): Promise<BenchClips> {
  const perClass = Math.ceil(count / 8);
  const ds = await buildFixtureDataset(join(dir, `dataset-${perClass}x10s`), {
    perClass: { train: perClass, val: 0, test: 0 },
    durations: [10],
    realClip: false,
    quiet: true,
  });
  const videos = ds.videos.filter((x) => x.split === "train").slice(0, count);
  const model = (await ensureFixtureModels("fixtures/models", size)).vision;
  return { root: ds.root, videos, model };
}

/**
 * Makes a work dir anew (an earlier one removed) whose manifest lists these clips, downloaded;
 * their video list is written beside it as `<work>.csv`.
 * @param work the work dir
 * @param clips the clips' dataset
 * @param videos which of them
 * @returns the work dir
 */
export async function freshWorkDir(
  work: string,
  clips: Pick<BenchClips, "root">,
  videos: readonly FixtureVideo[],
): Promise<string> {
  await Deno.remove(work, { recursive: true }).catch(() => {});
  const list = `${work}.csv`; // beside the work dir
  await Deno.writeTextFile(
    list,
    "path,label,split,youtube_id,time_start,time_end\n" +
      videos.map((x) =>
        `${join(clips.root, x.path)},${x.label},train,${x.youtubeId},${x.timeStart},${x.timeEnd}`
      ).join("\n") + "\n",
  );
  await download({ work, videos: [list], quiet: true });
  return work;
}
