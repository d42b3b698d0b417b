/**
 * The decode budget of a Kinetics-700 run: CPU seconds per clip of the sample step (everything:
 * ffmpeg, the sandbox, npy, sha256, manifest) against a bare `ffmpeg -i clip -f null -` decode
 * of the same clips, for the pinned static ffmpeg and Debian's; the decode before probe
 * elimination (ffprobe, then ffmpeg); the sandbox's cost; and the projection to 645k clips.
 * CPU is what bash's `times` reports for the command and its waited-for children, so parallelism
 * and other load on the machine do not enter it; wall-clock frames/s do feel the load.
 *
 *   deno task bench decode [--copies N] [--jobs N] [--record]
 */
import { join } from "node:path";
import { buildFixtureDataset } from "../fixtures/dataset_builder.ts";
import { intFlag, runTask, stringFlag } from "../lib/cli/flags.ts";
import { decodeFilterGraph, probeVideo } from "../lib/video/ffmpeg.ts";
import { binaryIdentity, installedStaticBuild } from "../lib/video/ffmpeg_binaries.ts";
import { repoPath, workWithVideos } from "../tests/support/media.ts";
import { measureCommand } from "./cpu_time.ts";
import { recordTable } from "./results.ts";
import { CARD_TOTAL_SAMPLES } from "./card_totals.ts";

/** Kinetics-700 as published: train + validation + test clips (the card's). */
const K700_CLIPS = CARD_TOTAL_SAMPLES;

await runTask({
  name: "bench decode",
  summary: "CPU per clip of the sample step vs a bare -f null decode; the K700 decode budget.",
  flags: {
    dir: { type: "string", arg: "DIR", default: ".kinembed/bench-decode", help: "scratch folder" },
    copies: { type: "string", arg: "N", default: "16", help: "copies of the real clip decoded" },
    jobs: { type: "string", arg: "N", default: "2", help: "videos decoded at once" },
    record: { type: "boolean", help: "prepend the table to bench/RESULTS.md" },
  },
}, async (v) => {
  const dir = stringFlag(v, "dir")!;
  const copies = intFlag(v, "copies", 1)!;
  const jobs = intFlag(v, "jobs", 1)!;
  const staticFfmpeg = installedStaticBuild("ffmpeg");
  const staticFfprobe = installedStaticBuild("ffprobe");
  if (!staticFfmpeg || !staticFfprobe) {
    console.error("bench decode: the static builds are not installed: run ./kinembed bootstrap");
    return 2;
  }
  const ds = await buildFixtureDataset(join(dir, "fixture"), {
    classes: 12,
    perClass: { train: 2, val: 0, test: 0 },
    realClip: false,
    quiet: true,
  });
  const sets: { name: string; clips: string[] }[] = [
    {
      name: `real clip (340×256, 10 s, 28 fps) ×${copies}`,
      clips: Array(copies).fill(repoPath("fixtures", "kinetics_demo_clip.mp4")),
    },
    {
      name: `fixture clips (${ds.videos.length}, 0.5–12 s, 5 sizes)`,
      clips: ds.videos.map((x) => join(ds.root, x.path)),
    },
  ];
  const builds = [
    { name: "static", ffmpeg: staticFfmpeg, ffprobe: staticFfprobe },
    { name: "Debian", ffmpeg: "/usr/bin/ffmpeg", ffprobe: "/usr/bin/ffprobe" },
  ];
  const versions = await Promise.all(builds.map((b) => binaryIdentity(b.ffmpeg)));
  const bareLoop = 'f=$1; shift; for c; do "$f" -nostdin -v error -i "$c" -f null - || exit; done';
  const beforeLoop = "p=$1; f=$2; shift 2; while [ $# -gt 0 ]; do " +
    '"$p" -v error -print_format json -show_streams -show_format "$1" >/dev/null || exit; ' +
    '"$f" -nostdin -v error -threads 1 -i "$1" -an -vf "$2" -pix_fmt rgb24 -f rawvideo - ' +
    ">/dev/null || exit; shift 2; done";
  const sampleTask = repoPath("tasks", "sample.ts");
  // the sample task as a user runs it; its fixed start-up (Deno, hashing the ffmpeg binary for the
  // run config, finding the sandbox) is measured by a second run with nothing left to do
  const sampleRun = async (
    clips: string[],
    ffmpeg: string,
    ffprobe: string,
    sandbox: string,
    tag: string,
  ) => {
    const work = join(dir, `work-${tag}`);
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await workWithVideos(work, clips.map((path, i) => ({ id: `c${i}`, path })));
    const args = ["run", "-A", sampleTask, "--work", work, "--jobs", String(jobs)]
      .concat(["--ffmpeg", ffmpeg, "--ffprobe", ffprobe, "--quiet"]);
    const all = await measureCommand(Deno.execPath(), args, { KINEMBED_SANDBOX: sandbox });
    const m = /sample: (\d+) videos, (\d+) frames .*, (\d+) failed/.exec(all.stdout);
    if (!m || Number(m[1]) !== clips.length) throw new Error(`sample: ${all.stdout}`);
    const fixed = await measureCommand(Deno.execPath(), args, { KINEMBED_SANDBOX: sandbox });
    return {
      perClip: (all.cpu - fixed.cpu) / clips.length,
      fixed: fixed.cpu,
      framesPerSecond: Number(m[2]) / (all.wall - fixed.wall),
    };
  };

  const rows: string[][] = [];
  const perClip: Record<string, number> = {};
  let fixedCpu = 0;
  for (const set of sets) {
    const n = set.clips.length;
    // the decode before this change ran the geometry probed by ffprobe as numbers
    const graphs = new Map<string, string>();
    for (const c of set.clips) {
      if (!graphs.has(c)) graphs.set(c, decodeFilterGraph(await probeVideo(c, "bench")).filters);
    }
    for (const [k, b] of builds.entries()) {
      console.error(`${set.name}: ${b.name}`);
      const bare = await measureCommand("bash", ["-c", bareLoop, "bash", b.ffmpeg, ...set.clips]);
      const ours = await sampleRun(set.clips, b.ffmpeg, b.ffprobe, "auto", `${k}`);
      fixedCpu = Math.max(fixedCpu, ours.fixed);
      const pairs = set.clips.flatMap((c) => [c, graphs.get(c)!]);
      const before = await measureCommand("bash", [
        "-c",
        beforeLoop,
        "bash",
        b.ffprobe,
        b.ffmpeg,
        ...pairs,
      ]);
      perClip[`${set.name}/${b.name}`] = ours.perClip;
      rows.push([
        set.name,
        `${b.name} (${versions[k].version.replace(/^ffmpeg version /, "").slice(0, 24)})`,
        (bare.cpu / n).toFixed(3),
        ours.perClip.toFixed(3),
        (ours.perClip / (bare.cpu / n)).toFixed(2),
        (before.cpu / n).toFixed(3),
        ours.framesPerSecond.toFixed(1),
      ]);
    }
  }
  // the sandbox's cost: the same static decode of the real clip without it
  console.error("sandbox cost");
  const real = sets[0].clips;
  const cost = async (mode: string) =>
    (await sampleRun(real, staticFfmpeg, staticFfprobe, mode, mode)).perClip.toFixed(3);
  const sandboxLine = `Sandbox, static build, real clip ×${real.length}: sample CPU per clip ` +
    `${await cost("off")} s without, ${await cost("bwrap")} s under bwrap, ` +
    `${await cost("unshare")} s under unshare --net. Fixed start-up of one sample task ` +
    `(Deno, sha256 of the ffmpeg binary for the run config, the sandbox check), not in the ` +
    `per-clip figures: ${fixedCpu.toFixed(2)} CPU s.`;

  const hours = (s: number, cores: number) => (s * K700_CLIPS / cores / 3600).toFixed(1);
  const budget = Object.entries(perClip).map(([k, s]) =>
    `| ${k.replace("/", " | ")} | ${s.toFixed(3)} | ${hours(s, 16)} | ${hours(s, 64)} |`
  );
  const table = [
    "| clips | ffmpeg | `-f null` CPU s/clip | sample step CPU s/clip | ratio (target ≤ 1.10) | before: ffprobe + ffmpeg CPU s/clip | sample frames/s (wall) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
    "",
    `K700 decode budget (${K700_CLIPS.toLocaleString("en")} clips, CPU-bound, all cores busy):`,
    "",
    "| clips | ffmpeg | sample CPU s/clip | hours on 16 cores | hours on 64 cores |",
    "| --- | --- | ---: | ---: | ---: |",
    ...budget,
  ].join("\n");
  console.log(table);
  console.log(sandboxLine);
  if (v.record === true) {
    await recordTable(
      "Decode budget: CPU per clip, static vs Debian ffmpeg",
      `deno task bench decode --copies ${copies} --jobs ${jobs} --record`,
      table,
      sandboxLine,
    );
  }
  return 0;
});
