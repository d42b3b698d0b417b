/**
 * Inputs are checked before any work, through the CLI as a user types it: every problem named
 * with its flag at once (exit 2, in seconds, nothing downloaded), a device or FIFO refused instead
 * of read forever, a value flag given twice refused, and relative paths (the default `--work`
 * too) taken from the directory the command is typed in, by `./kinembed` and by `deno task`.
 */
import { join } from "node:path";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { syntheticCard } from "../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir } from "./support/media.ts";

/** What a command printed, its exit code, and how long it took. */
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/**
 * Runs `./kinembed <task> ...` or `deno task <task> ...` from `cwd` (not the checkout), killed
 * after `limitMs` so that a command that reads forever fails the test instead of hanging it.
 */
async function typed(
  how: "kinembed" | "deno task",
  cwd: string,
  task: string,
  args: string[],
  limitMs = 120_000,
): Promise<Ran> {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    KINEMBED_QUIET: "1",
    NO_COLOR: "1",
  };
  // as in a fresh shell: deno task sets INIT_CWD itself; an inherited one would say otherwise
  delete env.INIT_CWD;
  const [program, ...pre] = how === "kinembed"
    ? [repoPath("kinembed")]
    : [Deno.execPath(), "task", "--quiet", "--config", repoPath("deno.json")];
  const t0 = performance.now();
  const out = await new Deno.Command(program, {
    args: [...pre, task, ...args],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(limitMs),
  }).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** One class, one train video in `all.tar.gz`; `train.csv` and `list.txt` (relative entry). */
async function oneVideoDataset(dir: string): Promise<void> {
  const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
  const py = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import sys,tarfile\nwith tarfile.open(sys.argv[1],'w:gz') as t: t.add(sys.argv[2], arcname=sys.argv[3])",
      join(dir, "all.tar.gz"),
      video,
      "train/abseiling/vidAAAAAAAA_000001_000011.mp4",
    ],
  }).output();
  assert(py.success);
  await Deno.remove(video);
  await Deno.writeTextFile(
    join(dir, "train.csv"),
    "label,youtube_id,time_start,time_end,split\nabseiling,vidAAAAAAAA,1,11,train\n",
  );
  await Deno.writeTextFile(join(dir, "list.txt"), "all.tar.gz\n");
}

/** The checkout's top-level entries: a relative --work must not land there. */
async function checkoutEntries(): Promise<Set<string>> {
  return new Set((await Array.fromAsync(Deno.readDir(repoPath()))).map((e) => e.name));
}

Deno.test("relative --annotations, --archives and --work are the caller's: ./kinembed download and deno task run from another directory", async () => {
  const { dir, cleanup } = await tempDir();
  const before = await checkoutEntries();
  try {
    await oneVideoDataset(dir);
    const got = await typed("kinembed", dir, "download", [
      "--annotations",
      "train.csv",
      "--archives",
      "list.txt",
      "--work",
      "w1",
      "--quiet",
    ]);
    assertEquals(got.code, 0, got.stdout + got.stderr);
    assert((await Deno.stat(join(dir, "w1", "manifest.db"))).isFile);
    assert(got.stdout.includes("1 video selected"), got.stdout);

    // the whole pipeline, with the default --work (work, in the caller's directory)
    const models = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const run = await typed("deno task", dir, "run", [
      "--annotations",
      "train.csv",
      "--archives",
      "list.txt",
      "--model",
      models.vision,
      "--providers",
      "cpu",
      "--quiet",
    ]);
    assertEquals(run.code, 0, run.stdout + run.stderr);
    assert((await Deno.stat(join(dir, "work", "shards", "splits.csv"))).isFile, run.stdout);
    assertEquals(
      [...await checkoutEntries()].filter((e) => !before.has(e)),
      [],
      "nothing new in the checkout",
    );
  } finally {
    await cleanup();
  }
});

Deno.test("a value flag given twice is refused naming it; a multiple flag still repeats", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const twice = await typed("deno task", dir, "shard", [
      "--work",
      "w",
      "--seed",
      "1",
      "--seed",
      "2",
    ]);
    assertEquals(twice.code, 2, twice.stderr);
    assertEquals(twice.stderr.split("\n")[0], "kinembed shard: --seed given twice; give it once");
    const twiceEq = await typed("kinembed", dir, "run", ["--model=a.onnx", "--model=b.onnx"]);
    assertEquals(twiceEq.code, 2, twiceEq.stderr);
    assertEquals(twiceEq.stderr.split("\n")[0], "kinembed run: --model given twice; give it once");
    // --annotations repeats: both files are looked at (and both named, being missing)
    const many = await typed("deno task", dir, "download", [
      "--annotations",
      "a.csv",
      "--annotations",
      "b.csv",
    ]);
    assertEquals(many.code, 2, many.stderr);
    assertEquals(many.stderr.trim().split("\n"), [
      "kinembed download: --annotations a.csv: not found",
      "kinembed download: --annotations b.csv: not found",
    ]);
  } finally {
    await cleanup();
  }
});

Deno.test("/dev/zero, a FIFO and /dev/stdin as inputs are refused at once, every one named, nothing read", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const fifo = join(dir, "fifo");
    const mk = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(mk.success);
    const got = await typed("deno task", dir, "run", [
      "--annotations",
      "/dev/zero",
      "--archives",
      "fifo",
      "--card",
      "fifo",
      "--classes",
      "/dev/stdin",
      "--model",
      "/dev/zero",
      "--text-model",
      "fifo",
      "--work",
      "w",
    ], 60_000);
    assertEquals(got.code, 2, got.stdout + got.stderr);
    const never = "not a regular file (a device, FIFO or socket is never read)";
    assertEquals(got.stderr.trim().split("\n").sort(), [
      `kinembed run: --annotations /dev/zero: ${never}`,
      `kinembed run: --archives fifo: ${never}`,
      `kinembed run: --card fifo: ${never}`,
      `kinembed run: --classes /dev/stdin: ${never}`,
      `kinembed run: --model /dev/zero: ${never}`,
      `kinembed run: --text-model fifo: ${never}`,
    ]);
    assert(got.seconds < 30, `${got.seconds.toFixed(1)} s`);
    // the steps alone refuse the same
    for (
      const [task, args] of [
        ["download", ["--annotations", "fifo", "--work", "w"]],
        ["verify", ["--shards", dir, "--card", "/dev/zero"]],
        ["eval", ["--shards", dir, "--templates", "fifo", "--card", "/dev/zero"]],
        ["encode", ["--work", "w", "--model", "fifo"]],
      ] as const
    ) {
      const step = await typed("kinembed", dir, task, [...args], 60_000);
      assertEquals(step.code, 2, `${task}: ${step.stderr}`);
      assert(step.stderr.includes(never), `${task}: ${step.stderr}`);
      assert(step.stderr.split("\n").every((l) => l.length < 300), step.stderr);
    }
    await Deno.stat(join(dir, "w")).then(
      () => assert(false, "a work dir was made"),
      () => {},
    );
  } finally {
    await cleanup();
  }
});

Deno.test("run: a bad --model and a bad --card are both named before anything is downloaded", async () => {
  const { dir, cleanup } = await tempDir();
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    return new Response("no", { status: 404 });
  });
  try {
    await Deno.writeTextFile(
      join(dir, "train.csv"),
      "label,youtube_id,time_start,time_end,split\nabseiling,vidAAAAAAAA,1,11,train\n",
    );
    await Deno.writeTextFile(
      join(dir, "list.txt"),
      `http://127.0.0.1:${server.addr.port}/all.tar.gz\n`,
    );
    await Deno.writeTextFile(join(dir, "model.onnx"), "this is not a model\n");
    await Deno.writeTextFile(join(dir, "card.md"), "# a card\n\nno splits here\n");
    const work = join(dir, "work");
    const got = await typed("deno task", dir, "run", [
      "--annotations",
      "train.csv",
      "--archives",
      "list.txt",
      "--model",
      "model.onnx",
      "--card",
      "card.md",
      "--work",
      work,
    ]);
    assertEquals(got.code, 2, got.stdout + got.stderr);
    assertEquals(got.stderr.trim().split("\n"), [
      "kinembed run: --model model.onnx: not an ONNX model (give an .onnx file, a checkpoint, " +
      "or a hub repo id)",
      'kinembed run: --card card.md: no "Data Splits" section',
    ]);
    assertEquals(requests, 0, "no request reached the archive host");
    const videos = await Array.fromAsync(Deno.readDir(join(work, "videos"))).catch(() => []);
    assertEquals(videos.length, 0, "no videos in the work dir");

    // a card without published accuracies but with its splits is fine input
    await Deno.writeTextFile(
      join(dir, "card.md"),
      syntheticCard({ train: { samples: 1, tars: 1 } }),
    );
    const cardOnly = await typed("deno task", dir, "verify", [
      "--shards",
      dir,
      "--card",
      "card.md",
    ]);
    assert(!cardOnly.stderr.includes("kinembed verify: --card"), cardOnly.stderr);
  } finally {
    await server.shutdown();
    await cleanup();
  }
});

Deno.test("a missing or wrong-kind input is named with its flag, not as an OS error", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "header-only.csv"),
      "label,youtube_id,time_start,time_end,split\n",
    );
    await Deno.writeTextFile(join(dir, "classes.txt"), "abseiling\nabseiling\n");
    const dl = await typed("kinembed", dir, "download", [
      "--annotations",
      "no/such/train.csv",
      "--annotations",
      "header-only.csv",
      "--videos",
      "no/such/folder",
    ]);
    assertEquals(dl.code, 2, dl.stderr);
    // a header without rows is download's to judge (after every flag's file is found)
    assertEquals(dl.stderr.trim().split("\n"), [
      "kinembed download: --annotations no/such/train.csv: not found",
      "kinembed download: --videos no/such/folder: not found",
    ]);
    assert(!dl.stderr.includes("os error"), dl.stderr);
    const ev = await typed("deno task", dir, "eval", [
      "--shards",
      "header-only.csv",
      "--classes",
      "classes.txt",
      "--card",
      dir,
    ]);
    assertEquals(ev.code, 2, ev.stderr);
    assertEquals(ev.stderr.trim().split("\n"), [
      "kinembed eval: --shards header-only.csv: not a folder",
      'kinembed eval: --classes classes.txt:2: duplicate class name "abseiling" (first on line 1)',
      "kinembed eval: --card " + dir + ": a folder, not a file",
    ]);
  } finally {
    await cleanup();
  }
});
