// The command line as a user meets it: every task's --json prints one JSON object on stdout
// (progress on stderr); a mistyped flag names the nearest one; a step on a missing work dir says
// so and makes nothing; a configuration mismatch names the flag; verify --shards on a work dir
// points to its shards.
import { taskFile, type TaskRun } from "./support/tasks.ts";
import { join } from "node:path";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";

/** The one JSON object a `--json` run prints, checked against its exit status. */
function jsonOf(name: string, r: TaskRun): Record<string, unknown> {
  const lines = r.stdout.trim().split("\n");
  assertEquals(lines.length, 1, `${name}: stdout is one line: ${r.stdout}\n${r.stderr}`);
  const o = JSON.parse(lines[0]) as Record<string, unknown>;
  assertEquals(o.task, name);
  assertEquals(o.exitCode, r.code, r.stderr);
  assertEquals(o.ok, r.code === 0);
  assert(typeof o.seconds === "number", "seconds");
  assert(typeof (o.failures as { count: number }).count === "number", "failures.count");
  return o;
}

Deno.test("every task: --json prints one JSON object; done work, failures and errors alike", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "w"),
      counts: { train: 6, val: 4, test: 2 },
      classes: ["abseiling", "archery", "zumba"],
    });
    const work = layout.root;
    const missing = join(dir, "missing");

    const shard = jsonOf(
      "shard",
      await task("shard", "--work", work, "--per-shard", "3", "--json"),
    );
    assertEquals([shard.written, shard.kept], [5, 0]);
    assertEquals((shard.splits as Record<string, { samples: number }>).train.samples, 6);

    const card = join(layout.shards, "README.md");
    const verify = jsonOf("verify", await task("verify", "--work", work, "--card", card, "--json"));
    assertEquals([verify.ok, verify.samples], [true, 12]);

    const ev = jsonOf(
      "eval",
      await task("eval", "--work", work, "--linear-probe", "--providers", "cpu", "--json"),
    );
    const lp = ev.linearProbe as { count: number; split: string };
    assertEquals([lp.count, lp.split], [4, "val"]);
    assert(
      (ev.artefacts as { probeWeights: string[] }).probeWeights[0].endsWith("probe_centre.npy"),
    );

    for (const step of ["sample", "encode"]) {
      const args = step === "encode"
        ? ["--model", repoPath("fixtures", "models", "vision_tiny.onnx"), "--providers", "cpu"]
        : [];
      const o = jsonOf(step, await task(step, "--work", work, ...args, "--json"));
      assertEquals([o.done, o.alreadyDone], [0, step === "encode" ? 12 : 0]);
    }

    // a shard that cannot be written: exit 1, the failures listed in a file
    await Deno.remove(join(layout.shards, "ds_000000.tar"));
    const firstEmb = [...Deno.readDirSync(layout.emb)].map((e) => e.name).sort();
    for (const f of firstEmb) await Deno.remove(join(layout.emb, f));
    const failed = await task("shard", "--work", work, "--per-shard", "3", "--json");
    const fo = jsonOf("shard", failed);
    const failures = fo.failures as { count: number; file: string; first: { id: string }[] };
    assertEquals(failed.code, 1, failed.stderr);
    assert(failures.count > 0 && failures.first.length > 0, JSON.stringify(failures));
    const tsv = await Deno.readTextFile(failures.file);
    assertEquals(tsv.trim().split("\n").length, failures.count + 1);

    // errors are JSON too, with exit 2
    const errors: [string, string[]][] = [
      ["download", ["--work", join(dir, "d"), "--json"]],
      ["run", ["--work", join(dir, "r"), "--json"]],
      ["merge", ["--work", missing, "--json"]],
      ["demo", ["--providers", "nope", "--json"]],
    ];
    for (const [name, args] of errors) {
      const r = await task(name, ...args);
      const o = jsonOf(name, r);
      assertEquals(r.code, 2, r.stderr);
      assert(typeof o.error === "string" && o.error.length > 0, r.stdout);
    }
    const gpu = jsonOf("gpu-setup", await task("gpu-setup", "--check", "--json"));
    assert(typeof gpu.report === "object", "gpu-setup reports what it found");
  } finally {
    await cleanup();
  }
});

Deno.test("CLI: nearest flag, missing work dir, mismatch by flag, verify --shards on a work dir", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const typo = await task("encode", "--modle", "x.onnx");
    assertEquals(typo.code, 2);
    assert(typo.stderr.includes("unknown flag --modle (did you mean --model?)"), typo.stderr);
    const far = await task("shard", "--zzzz");
    assertEquals(far.code, 2);
    assert(far.stderr.includes("unknown flag --zzzz") && !far.stderr.includes("did you mean"));

    const missing = join(dir, "nowhere");
    for (const step of ["sample", "encode", "shard", "eval", "verify"]) {
      const extra = step === "encode"
        ? ["--model", "m.onnx"]
        : step === "verify"
        ? ["--card", "card.md"]
        : [];
      const r = await task(step, "--work", missing, ...extra);
      assertEquals(r.code, 2, `${step}: ${r.stderr}`);
      assert(r.stderr.includes(`work dir ${missing} does not exist`), `${step}: ${r.stderr}`);
      assert(!(await Deno.stat(missing).then(() => true, () => false)), `${step} made it`);
    }

    const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "w"), counts: { train: 4 } });
    assertEquals((await task("shard", "--work", layout.root, "--per-shard", "3")).code, 0);
    const mismatch = await task("shard", "--work", layout.root, "--per-shard", "10");
    assertEquals(mismatch.code, 2);
    assert(
      mismatch.stderr.includes("made with --per-shard 3, this run asks for --per-shard 10"),
      mismatch.stderr,
    );
    assert(!mismatch.stderr.includes("per_shard"), mismatch.stderr);

    const card = join(layout.shards, "README.md");
    const v = await task("verify", "--shards", layout.root, "--card", card);
    assertEquals(v.code, 2);
    assert(v.stderr.includes(`use --work ${layout.root}, or --shards ${layout.shards}`), v.stderr);
  } finally {
    await cleanup();
  }
});

/** A task file run directly, arguments as a list. */
function task(name: string, ...args: string[]): Promise<TaskRun> {
  return taskFile(name, args);
}
