/**
 * Every core the task may use, busy (targets: encode at each thread count ≥ 0.95× a bare
 * `session.run` loop at the same threads; `run` ≤ 0.7× the separate steps' wall and ≥ 0.85× the
 * ideal from the steps' own CPU seconds; encode's no-op ≤ 1 CPU s and ≤ 150 MB). Each figure has
 * its baseline measured in the same run, on the same clips, through the task files as a user runs
 * them (`deno run -A tasks/<step>.ts`), CPU seconds and peak memory read by GNU time.
 *
 *   deno run -A bench/cores_bench.ts [--dir DIR] [--clips N] [--size tiny|vit-b-32] [--batch N] [--record]
 */
import { join } from "node:path";
import { intFlag, runTask, stringFlag } from "../lib/cli/flags.ts";
import { usableCpus } from "../lib/encode/cpu_budget.ts";
import type { ModelSize } from "../lib/onnx/clip_model_builder.ts";
import { benchClips, freshWorkDir } from "./bench_clips.ts";
import { recordTable, timeCommand, type TimedCommand } from "./results.ts";

/** Runs deno with these arguments under GNU time; a failure stops the bench with its output. */
async function measured(args: string[]): Promise<TimedCommand> {
  const t = await timeCommand([Deno.execPath(), ...args]);
  if (t.code !== 0) throw new Error(`deno ${args.join(" ")}: ${t.stderr.slice(-2000)}`);
  if (Number.isNaN(t.wall)) throw new Error(`GNU time: no figures in ${t.stderr.slice(-200)}`);
  return t;
}

const task = (name: string, ...args: string[]) => ["run", "-A", `tasks/${name}.ts`, ...args];

await runTask({
  name: "bench cores",
  summary: "Encode at 1, 2 and all threads vs a bare session.run loop; run vs the separate " +
    "steps and the ideal; the cost of encode's no-op.",
  flags: {
    dir: {
      type: "string",
      arg: "DIR",
      default: ".kinembed/bench",
      help: "scratch folder (datasets are reused)",
    },
    clips: { type: "string", arg: "N", default: "24", help: "10 s clips" },
    size: {
      type: "string",
      arg: "SIZE",
      default: "vit-b-32",
      help: "fixture model size: tiny | vit-b-32",
    },
    batch: { type: "string", arg: "N", default: "32", help: "encode batch" },
    record: { type: "boolean", help: "prepend the table to bench/RESULTS.md" },
  },
}, async (v) => {
  const dir = stringFlag(v, "dir")!;
  const clips = intFlag(v, "clips", 1)!;
  const batch = String(intFlag(v, "batch", 1)!);
  const size = stringFlag(v, "size") as ModelSize;
  const { cpus } = usableCpus();
  const bench = await benchClips(dir, clips, size);
  const { videos, model } = bench;
  const freshWork = (name: string) => freshWorkDir(join(dir, `cores-${name}`), bench, videos);
  const rows: string[][] = [];
  const enc = ["--model", model, "--providers", "cpu", "--batch", batch, "--quiet"];

  // 1. encode at 1, 2 and every usable thread vs the bare loop at the same threads, same frames
  const ew = await freshWork("encode");
  await measured(task("sample", "--work", ew, "--quiet"));
  // a first encode records the model's sha256 (later runs trust it) and warms the page cache
  await measured(task("encode", "--work", ew, ...enc, "--keep-frames"));
  for (const threads of [...new Set([1, 2, cpus])]) {
    // an encoded video whose embedding file is gone is encoded again (frames kept)
    await Deno.remove(join(ew, "emb"), { recursive: true });
    await Deno.mkdir(join(ew, "emb"));
    console.error(`encode: ${threads} threads`);
    const ours = await measured(
      task("encode", "--work", ew, ...enc, "--keep-frames", "--threads", String(threads)),
    );
    const bare = await measured(
      ["run", "-A", "bench/ort_loop.ts", model, join(ew, "frames"), String(threads), batch],
    );
    // whole commands against each other: each starts, opens its session, reads the frames
    const [frames, loopSeconds] = bare.stdout.trim().split(" ").map(Number);
    rows.push([
      `encode (${size}, batch ${batch}), ${threads} threads`,
      `${(frames / ours.wall).toFixed(2)} frames/s, ${ours.cpu.toFixed(1)} CPU s`,
      `bare session.run ${(frames / bare.wall).toFixed(2)} frames/s (loop alone ${
        (frames / loopSeconds).toFixed(2)
      }), ${bare.cpu.toFixed(1)} CPU s`,
      (bare.wall / ours.wall).toFixed(2),
      "≥ 0.95",
    ]);
  }

  // 2. run (sample → encode overlapped, shard) vs the same steps one after another
  console.error(`separate steps: ${videos.length} clips`);
  const sw = await freshWork("steps");
  const steps = [
    await measured(task("sample", "--work", sw, "--quiet")),
    await measured(task("encode", "--work", sw, ...enc)),
    await measured(task("shard", "--work", sw, "--quiet")),
  ];
  const stepsWall = steps.reduce((s, x) => s + x.wall, 0);
  const stepsCpu = steps.reduce((s, x) => s + x.cpu, 0);
  const ideal = stepsCpu / cpus;
  console.error(`run: ${videos.length} clips`);
  const rw = await freshWork("run");
  const run = await measured(task("run", "--work", rw, ...enc));
  rows.push([
    `run, ${videos.length} clips`,
    `${run.wall.toFixed(1)} s wall, ${run.cpu.toFixed(1)} CPU s`,
    `separate steps ${stepsWall.toFixed(1)} s wall (sample ${steps[0].wall.toFixed(1)}, encode ${
      steps[1].wall.toFixed(1)
    }, shard ${steps[2].wall.toFixed(1)})`,
    (run.wall / stepsWall).toFixed(2),
    "≤ 0.70",
  ]);
  rows.push([
    `run vs the ${cpus}-CPU ideal`,
    `${run.wall.toFixed(1)} s wall`,
    `ideal ${ideal.toFixed(1)} s (the steps' ${stepsCpu.toFixed(1)} CPU s / ${cpus} CPUs)`,
    (ideal / run.wall).toFixed(2),
    "≥ 0.85",
  ]);

  // 3. encode's no-op rerun vs the task's bare launch (`--help`)
  const noop = await measured(task("encode", "--work", sw, ...enc));
  const launch = await measured(task("encode", "--help"));
  rows.push([
    "encode no-op rerun",
    `${noop.cpu.toFixed(2)} CPU s, ${noop.rssMb.toFixed(0)} MB peak`,
    `encode --help ${launch.cpu.toFixed(2)} CPU s, ${launch.rssMb.toFixed(0)} MB peak`,
    (noop.cpu / Math.max(launch.cpu, 1e-3)).toFixed(2),
    "≤ 1 CPU s, ≤ 150 MB",
  ]);

  const table = [
    `${cpus} CPUs usable (affinity, cgroup quota, SLURM_CPUS_PER_TASK)`,
    "",
    "| measure | kinembed | baseline (same run) | ratio | target |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
  console.log(table);
  if (v.record === true) {
    await recordTable(
      "Cores: threads, overlap, no-op",
      `deno task bench cores --clips ${clips} --size ${size} --batch ${batch} --record`,
      table,
    );
  }
  return 0;
});
