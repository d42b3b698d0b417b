/**
 * The always-on part of the fault harness (`bench/faults.ts` runs 20 trials of every step): two
 * SIGKILL-and-rerun trials each of sample, encode and shard on a small fixture dataset, and two
 * runs on one work dir at once.
 */
import { mulberry32 } from "../lib/core/mod.ts";
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import {
  checkWorkDir,
  type FaultBench,
  type FaultStep,
  prepareFaultBench,
  resetWorkDir,
  runTask,
  runTrial,
} from "../bench/faults.ts";
import { Manifest } from "../lib/core/manifest.ts";
import { lockWorkDir } from "../lib/core/work_dir.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";

/** A small dataset: 4 classes, one train and one val video each, short clips, no real clip. */
async function smallBench(dir: string, withRun = false): Promise<FaultBench> {
  return await prepareFaultBench({
    dir,
    perClass: { train: 1, val: 1, test: 0 },
    dataset: { classes: 4, durations: [1, 2, 3], realClip: false },
    throttleBytes: 1 << 20,
    withRun,
    log: () => {},
  });
}

Deno.test("SIGKILL mid-step, then rerun: shards byte-identical to a clean run, manifest and files agree, no temp files (2 trials each of sample, encode, shard and plain run, each kill landing mid-work)", async (t) => {
  const { dir, cleanup } = await tempDir();
  const bench = await smallBench(dir, true);
  try {
    const random = mulberry32(7);
    for (const step of ["sample", "encode", "shard", "run"] as FaultStep[]) {
      // kill once at the first output and once half-way through the outputs
      const total = bench.timing[step]!.outputs;
      for (const [i, afterOutputs] of [1, Math.max(2, Math.floor(total / 2))].entries()) {
        await t.step(
          `${step} #${i + 1}: killed after ${afterOutputs} of ${total} outputs`,
          async () => {
            const r = await runTrial(bench, step, random, { afterOutputs });
            const at = `kill at ${r.delay.toFixed(2)} s`;
            assert(
              r.midWork,
              `${at}: the kill did not land mid-work (finished first: ${r.finishedFirst})`,
            );
            assertEquals(r.problems, [], at);
            assert(r.identical, at);
          },
        );
      }
    }
  } finally {
    await bench.close();
    await cleanup();
  }
});

Deno.test("a run killed between a file operation and its manifest record: the rerun finishes the record (a transfer's validators, an encoded video's dropped frames)", async (t) => {
  const { dir, cleanup } = await tempDir();
  const bench = await smallBench(dir);
  try {
    const archive = bench.dataset.archives[0];
    const url = `${bench.server.url}/${archive.path}`;
    // where download keeps a transfer of this URL (lib/download.ts downloadPath)
    const hash = createHash("sha256").update(url).digest("hex").slice(0, 12);
    const name = `${hash}_${basename(archive.path).replace(/[^A-Za-z0-9_\-.]/g, "_")}`;
    const plant = async () => {
      const downloads = join(bench.work, "downloads");
      await Deno.mkdir(downloads, { recursive: true });
      await Deno.copyFile(join(bench.dataset.root, archive.path), join(downloads, name));
      await Deno.writeTextFile(join(downloads, `${name}.part.json`), JSON.stringify({ url }));
    };
    const downloads = async () =>
      (await Array.fromAsync(Deno.readDir(join(bench.work, "downloads")))).map((e) => e.name);
    await t.step("a transfer killed before its archive was extracted", async () => {
      await resetWorkDir(bench, "download");
      await plant();
      await runTask("download", bench.args.download);
      assertEquals(await downloads(), []);
    });
    await t.step("a transfer killed after its archive was recorded done", async () => {
      await plant();
      await runTask("download", bench.args.download);
      assertEquals(await downloads(), []);
    });
    await runTask("sample", bench.args.sample);
    await runTask("encode", bench.args.encode);
    await t.step("encode killed after removing a video's frames, before recording it", async () => {
      // the state dropFrames leaves between its remove and its manifest update
      const m = Manifest.open(join(bench.work, "manifest.db"));
      const v = m.videos.list({ step: "encode", state: "done" })[0];
      const frames = v.steps.sample!.frames!;
      m.steps.markDone("sample", v.id, { path: join(bench.work, "frames", `${v.id}.npy`), frames });
      m.close();
      await runTask("encode", bench.args.encode);
      const after = Manifest.open(join(bench.work, "manifest.db"), { readOnly: true });
      try {
        assertEquals(after.videos.get(v.id)!.steps.sample!.path, null);
        assertEquals(after.videos.get(v.id)!.steps.sample!.frames, frames);
      } finally {
        after.close();
      }
    });
    await runTask("shard", bench.args.shard);
    const check = await checkWorkDir(bench.work, bench.reference.steps);
    assertEquals(check.problems, []);
    assert(check.identical);
  } finally {
    await bench.close();
    await cleanup();
  }
});

/** Starts a task the way a user does, with its stderr read line by line. */
function startTask(name: string, args: string[]) {
  const child = new Deno.Command("deno", {
    args: ["task", "--quiet", name, ...args],
    cwd: repoPath(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const seen: { text: string; resolve: () => void }[] = [];
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      for (const w of seen) if (stderr.includes(w.text)) w.resolve();
    }
  })();
  const stdout = new Response(child.stdout).text();
  return {
    /** Resolves once stderr holds `text`. */
    waitFor(text: string): Promise<void> {
      return new Promise((resolve) => {
        if (stderr.includes(text)) resolve();
        else seen.push({ text, resolve });
      });
    },
    async done() {
      const [status, out] = await Promise.all([child.status, stdout, reading]);
      return { code: status.code, stdout: out, stderr };
    },
  };
}

Deno.test("two runs on one work dir at once: the second waits, saying for whom, and writes nothing until the first is done", async (t) => {
  const { dir, cleanup } = await tempDir();
  const bench = await smallBench(dir);
  const shardFiles = async () =>
    (await Array.fromAsync(Deno.readDir(join(bench.work, "shards")))).map((e) => e.name);
  try {
    await t.step("shard waits while another run holds the lock", async () => {
      await resetWorkDir(bench, "shard");
      const holder = await lockWorkDir(bench.work);
      let released = false;
      try {
        const second = startTask("shard", bench.args.shard);
        await withTimeout(second.waitFor(`waiting for pid ${Deno.pid} `), 20_000);
        assertEquals(await shardFiles(), []);
        await new Promise((r) => setTimeout(r, 300));
        assertEquals(await shardFiles(), [], "nothing written while waiting");
        holder.release();
        released = true;
        const r = await second.done();
        assertEquals(r.code, 0, r.stderr + r.stdout);
      } finally {
        if (!released) holder.release();
      }
      const check = await checkWorkDir(bench.work, bench.reference.steps);
      assertEquals(check.problems, []);
      assert(check.identical);
    });
    await t.step(
      "two samples started together: one does the work, the other finds it done",
      async () => {
        await resetWorkDir(bench, "sample");
        const a = startTask("sample", bench.args.sample);
        const b = startTask("sample", bench.args.sample);
        const [ra, rb] = await Promise.all([a.done(), b.done()]);
        assertEquals([ra.code, rb.code], [0, 0], ra.stderr + rb.stderr);
        const outs = [ra.stdout, rb.stdout];
        const n = bench.dataset.videos.length;
        assertEquals(
          outs.filter((o) => o.includes(`nothing to do (${n} videos already sampled)`)).length,
          1,
          outs.join("\n"),
        );
        assertEquals(
          outs.filter((o) => o.includes(`sample: ${n} videos`)).length,
          1,
          outs.join("\n"),
        );
        await runTask("encode", bench.args.encode);
        await runTask("shard", bench.args.shard);
        const check = await checkWorkDir(bench.work, bench.reference.steps);
        assertEquals(check.problems, []);
        assert(check.identical);
      },
    );
  } finally {
    await bench.close();
    await cleanup();
  }
});

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
