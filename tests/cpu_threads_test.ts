/**
 * Threads from the CPUs the task may use, and cheap no-ops, through the tasks as a user types
 * them: `--threads` and `--jobs` change no shard byte, the chosen threads are printed once and
 * reported, and an encode rerun with nothing to do loads no model.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, tempDir, workWithVideos } from "./support/media.ts";
import { denoTask } from "./support/tasks.ts";
import { buildVisionModel } from "../lib/onnx/mod.ts";

/** Two short videos listed as downloaded in a fresh work dir, and a tiny random-weight model. */
async function prepared(dir: string, work: string): Promise<void> {
  const videos = [];
  for (const [i, graph] of ["testsrc=s=160x120:r=10:d=2", "mandelbrot=s=160x120:r=10"].entries()) {
    const path = join(dir, `v${i}.mp4`);
    if (!(await Deno.stat(path).catch(() => null))) {
      await lavfiVideo(path, i === 1 ? `${graph},trim=duration=2` : graph);
    }
    videos.push({ id: `vid${i}`, path, split: i === 0 ? "train" as const : "val" as const });
  }
  await workWithVideos(work, videos);
}

async function tinyModel(dir: string): Promise<string> {
  const path = join(dir, "vision.onnx");
  await Deno.writeFile(path, (await buildVisionModel({ size: "tiny" })).bytes);
  return path;
}

/** Every file of a folder, by name. */
async function filesOf(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out.set(e.name, await Deno.readFile(join(dir, e.name)));
  }
  return out;
}

Deno.test("run: the shards' bytes do not depend on --threads and --jobs; the threads chosen are reported", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const model = await tinyModel(dir);
    const shards: Map<string, Uint8Array>[] = [];
    for (const [k, [threads, jobs]] of [["1", "1"], ["3", "2"]].entries()) {
      const work = join(dir, `work${k}`);
      await prepared(dir, work);
      const r = await denoTask("run", [
        "--work",
        work,
        "--model",
        model,
        "--providers",
        "cpu",
        "--threads",
        threads,
        "--jobs",
        jobs,
        "--json",
      ]);
      assertEquals(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assertEquals(summary.threads.intraOp, Number(threads));
      assertEquals(summary.threads.decodeJobs, Number(jobs));
      assert(
        r.stderr.includes(`ONNX Runtime threads: ${threads} intra-op, 1 inter-op; ${jobs} decode`),
        r.stderr,
      );
      shards.push(await filesOf(join(work, "shards")));
    }
    assert(shards[0].has("splits.csv") && [...shards[0].keys()].some((n) => n.endsWith(".tar")));
    assertEquals([...shards[1].keys()].sort(), [...shards[0].keys()].sort());
    for (const [name, bytes] of shards[0]) assertEquals(shards[1].get(name), bytes, name);
  } finally {
    await cleanup();
  }
});

Deno.test("encode: threads follow SLURM_CPUS_PER_TASK; --threads overrides; a bad --threads is refused", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const model = await tinyModel(dir);
    const work = join(dir, "work");
    await prepared(dir, work);
    assertEquals((await denoTask("sample", ["--work", work, "--quiet"])).code, 0);
    const r = await denoTask(
      "encode",
      ["--work", work, "--model", model, "--providers", "cpu", "--json"],
      { SLURM_CPUS_PER_TASK: "1" },
    );
    assertEquals(r.code, 0, r.stderr);
    assert(
      /encode: 1 CPU usable \([\w ]+\); ONNX Runtime threads: 1 intra-op/.test(r.stderr),
      r.stderr,
    );
    assertEquals(JSON.parse(r.stdout).threads.cpus, 1);
    const bad = await denoTask("encode", ["--work", work, "--model", model, "--threads", "0"]);
    assertEquals(bad.code, 2, bad.stderr);
    assert(bad.stderr.includes("--threads takes a whole number ≥ 1"), bad.stderr);
  } finally {
    await cleanup();
  }
});

Deno.test("encode: a rerun with nothing to do trusts the recorded model sha256 while the file is unchanged, and hashes a changed one again", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const model = await tinyModel(dir);
    const work = join(dir, "work");
    await prepared(dir, work);
    assertEquals((await denoTask("sample", ["--work", work, "--quiet"])).code, 0);
    const args = ["--work", work, "--model", model, "--providers", "cpu"];
    const first = await denoTask("encode", args);
    assertEquals(first.code, 0, first.stderr);
    // other bytes of the same size written in place (same inode) inside the weights, the mtime
    // put back: a rerun that hashed the model would find another sha256 and refuse it
    const st = await Deno.stat(model);
    const f = await Deno.open(model, { write: true });
    await f.seek(Math.floor(st.size / 2), Deno.SeekMode.Start);
    await f.write(new Uint8Array(4096).fill(7));
    f.close();
    await Deno.utime(model, st.atime!, st.mtime!);
    const again = await denoTask("encode", args);
    assertEquals(again.code, 0, again.stderr);
    assert(again.stdout.includes("encode: nothing to do (2 videos already encoded)"), again.stdout);
    assert(!again.stderr.includes("ONNX Runtime threads"), again.stderr);
    // the same bytes with another mtime is hashed again, and no longer the recorded model
    await Deno.utime(model, st.atime!, new Date(st.mtime!.getTime() + 10_000));
    const changed = await denoTask("encode", args);
    assertEquals(changed.code, 2, changed.stdout + changed.stderr);
    assert(/model/.test(changed.stderr), changed.stderr);
    // a model that does not exist is still refused
    await Deno.remove(model);
    const missing = await denoTask("encode", args);
    assertEquals(missing.code, 2, missing.stderr);
    assert(missing.stderr.includes(model), missing.stderr);
  } finally {
    await cleanup();
  }
});

Deno.test("run: a rerun with nothing to decode or encode loads no model (its unchanged file is trusted)", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const model = await tinyModel(dir);
    const work = join(dir, "work");
    await prepared(dir, work);
    const args = ["--work", work, "--model", model, "--providers", "cpu", "--quiet"];
    const first = await denoTask("run", args);
    assertEquals(first.code, 0, first.stderr);
    const tars = await filesOf(join(work, "shards"));
    // other bytes in place inside the weights, size and mtime kept: hashed, they would be refused
    const st = await Deno.stat(model);
    const f = await Deno.open(model, { write: true });
    await f.seek(Math.floor(st.size / 2), Deno.SeekMode.Start);
    await f.write(new Uint8Array(4096).fill(7));
    f.close();
    await Deno.utime(model, st.atime!, st.mtime!);
    const again = await denoTask("run", [...args.slice(0, -1)]);
    assertEquals(again.code, 0, again.stderr);
    assert(again.stderr.includes("sample → encode: 0 videos, 0 frames"), again.stderr);
    assert(!again.stderr.includes("ONNX Runtime threads"), again.stderr);
    assertEquals(await filesOf(join(work, "shards")), tars);
  } finally {
    await cleanup();
  }
});
