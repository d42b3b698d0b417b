/**
 * What a task prints when it cannot go on, produced through `deno task <step>` as a user meets it:
 * a damaged `manifest.db`, messages carrying control bytes or thousands of characters, an
 * unexpected error; the bootstrap script's last line when apt fails; `sample`'s memory on a
 * large video.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "./support/media.ts";
import { denoTask, type TaskRun } from "./support/tasks.ts";
import { syntheticCard } from "../fixtures/synthetic_work_dir.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";

const MODELS = repoPath("fixtures", "models");

/** stderr's lines, without the empty ones. */
function lines(r: TaskRun): string[] {
  return r.stderr.split("\n").filter((l) => l.trim() !== "");
}

/** Fails when a run printed a stack trace, an unprintable byte or an overlong line. */
function assertPrintable(r: TaskRun, what: string): void {
  const all = r.stdout + r.stderr;
  assert(!/^\s+at /m.test(all), `${what}: a stack trace:\n${all}`);
  assert(
    // deno-lint-ignore no-control-regex
    !/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(all),
    `${what}: control bytes: ${JSON.stringify(all)}`,
  );
  for (const l of all.split("\n")) {
    assert([...l].length <= 300, `${what}: a line of ${[...l].length} characters: ${l}`);
  }
}

Deno.test("a truncated or garbage manifest.db: every task that opens the work dir names the file in one line, exit 2, and leaves it as it was", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=64x48:r=5:d=1");
    const videos = join(dir, "videos");
    await Deno.mkdir(join(videos, "abseiling"), { recursive: true });
    await Deno.copyFile(video, join(videos, "abseiling", "v.mp4"));
    const good = join(dir, "good");
    await workWithVideos(
      good,
      Array.from({ length: 400 }, (_, i) => ({ id: `v${i}_000000_000010`, path: video })),
    );
    const full = await Deno.readFile(join(good, "manifest.db"));
    assert(full.length > 16384, `a manifest of ${full.length} bytes is too small to cut`);
    const garbage = new Uint8Array(5000).map((_, i) => (i * 7919 + 13) % 256);
    const card = join(dir, "README.md");
    await Deno.writeTextFile(card, syntheticCard({ train: { samples: 1, tars: 1 } }));
    const { vision } = await ensureFixtureModels(MODELS, "tiny");
    const model = ["--model", vision, "--providers", "cpu"];
    const cases: [string, Uint8Array, string, string, string[]][] = [
      [
        "truncated",
        full.subarray(0, full.length >> 1),
        "sample",
        "database disk image is malformed",
        [
          "--jobs",
          "1",
        ],
      ],
      [
        "truncated",
        full.subarray(0, full.length - 4096),
        "shard",
        "database disk image is malformed",
        [],
      ],
      ["garbage", garbage, "download", "file is not a database", ["--videos", videos]],
      ["garbage", garbage, "encode", "file is not a database", model],
      ["garbage", garbage, "shard", "file is not a database", []],
      ["garbage", garbage, "verify", "file is not a database", ["--card", card]],
      ["garbage", garbage, "run", "file is not a database", ["--videos", videos, ...model]],
    ];
    for (const [kind, bytes, task, reason, args] of cases) {
      await t.step(`${kind}: ${task}`, async () => {
        const work = join(dir, `${kind}-${task}`);
        await Deno.mkdir(work);
        await Deno.mkdir(join(work, "shards"));
        const db = join(work, "manifest.db");
        await Deno.writeFile(db, bytes);
        const r = await denoTask(task, ["--work", work, ...args]);
        assertEquals(r.code, 2, r.stderr);
        assertPrintable(r, task);
        // (run names the step it is in: `== download`)
        assertEquals(lines(r).filter((l) => !l.startsWith("== ")), [
          `kinembed ${task}: ${db} is not a kinembed manifest (${reason}); ` +
          "move it away and run download again, or restore it from a copy",
        ]);
        // nothing was written over it
        assertEquals(await Deno.readFile(db), bytes);
      });
    }
  } finally {
    await cleanup();
  }
});

Deno.test("a message carrying control bytes and thousands of characters prints as one escaped line of at most 300 characters", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "not a folder\n");
    // a work dir path (as a script might build it) with an escape sequence, a newline and length
    const work = join(file, "w\u001b[2J\nrm -rf ~" + "x".repeat(2000));
    const r = await denoTask("shard", ["--work", work]);
    assertEquals(r.code, 2, r.stderr);
    assertPrintable(r, "shard");
    const out = lines(r);
    assertEquals(out.length, 1, r.stderr);
    assert(out[0].startsWith(`kinembed shard: `), out[0]);
    assert(out[0].includes(`${file}/w\\x1b[2J\\nrm -rf ~xxx`), out[0]);
    assert(out[0].includes("…"), out[0]);
    // the end of the message survives the cut
    assert(/x'?$/.test(out[0]), out[0]);
  } finally {
    await cleanup();
  }
});

Deno.test("an unexpected error: one line with the message and the file holding its stack; KINEMBED_DEBUG=1 prints the stack", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    await workWithVideos(work, []);
    // an SQLite file of another program named manifest.db: no kinembed message foresees it
    const db = join(work, "manifest.db");
    await Deno.remove(db);
    const py = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table meta(k, v)'); c.commit()",
        db,
      ],
    }).output();
    assert(py.success);
    const r = await denoTask("shard", ["--work", work]);
    assertEquals(r.code, 2, r.stderr);
    assertPrintable(r, "shard");
    const detail = join(work, "reports", "shard_error.txt");
    assertEquals(lines(r), [
      `kinembed shard: unexpected error: no such column: value; the stack is in ${detail}`,
    ]);
    const stack = await Deno.readTextFile(detail);
    assert(stack.includes(`kinembed shard --work ${work}`), stack);
    assert(/no such column: value\n\s+at /.test(stack), stack);

    // sample may read the environment (shard may not: it points to the file as above)
    const debug = await denoTask("sample", ["--work", work], { KINEMBED_DEBUG: "1" });
    assertEquals(debug.code, 2);
    const out = lines(debug);
    assertEquals(
      out[0],
      "kinembed sample: unexpected error: no such column: value; the stack follows",
    );
    assert(out.slice(1).some((l) => /^\s+at /.test(l)), debug.stderr);
  } finally {
    await cleanup();
  }
});

Deno.test("./kinembed test while another apt holds the lock: it waits, says so, prints one line per failed install, and still ends with a tests: line", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // a PATH of the script's own tools and an apt-get that always finds the lock held; readelf
    // and chromium are left out, so the test bootstrap must install one of them
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    const tools = [
      "bash",
      "dirname",
      "id",
      "deno",
      "head",
      "cut",
      "cat",
      "sha256sum",
      "ffmpeg",
      "ffprobe",
      "bwrap",
      "mktemp",
      "grep",
      "tail",
      "tr",
      "rm",
      "touch",
      "sed",
      "tee",
      "env",
    ];
    for (const tool of tools) {
      const which = await new Deno.Command("bash", { args: ["-c", `command -v ${tool}`] })
        .output();
      const path = new TextDecoder().decode(which.stdout).trim();
      if (which.success && path.startsWith("/")) await Deno.symlink(path, join(bin, tool));
    }
    const log = join(dir, "apt.log");
    await Deno.writeTextFile(
      join(bin, "apt-get"),
      `#!/bin/bash
echo "apt-get $*" >> ${JSON.stringify(log)}
echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
echo "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?" >&2
exit 100
`,
      { mode: 0o755 },
    );
    const out = await new Deno.Command(repoPath("kinembed"), {
      args: ["test"],
      env: { PATH: bin, KINEMBED_APT_WAIT: "7", HOME: dir },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout), stderr = dec.decode(out.stderr);
    assert(!out.success, stderr);
    // the harness's line, last on stdout
    assertEquals(stdout.trim().split("\n").at(-1), "tests: 0 passed, 1 failed", stdout + stderr);
    const failed = stderr.split("\n").filter((l) => l.startsWith("kinembed: could not install "));
    assert(failed.length >= 1, stderr);
    for (const l of failed) {
      assert(
        /^kinembed: could not install .+ from apt \(apt-get exit \d+: .+\); install it by hand, or run again once apt is free$/
          .test(l),
        l,
      );
      assert(l.length <= 300, l);
    }
    if (Deno.uid() === 0) {
      // as root the script runs apt-get itself: it tried, saw the lock, waited with a bound
      assert(stderr.includes("kinembed: waiting for apt (another install is running)…"), stderr);
      assert(failed[0].includes("apt-get exit 100: E: Unable to acquire the dpkg frontend lock"));
      const calls = (await Deno.readTextFile(log)).trim().split("\n");
      const installs = calls.filter((c) => c.includes(" install "));
      assert(installs[0].startsWith("apt-get -o DPkg::Lock::Timeout=0 install -y -qq "), calls[0]);
      assertEquals(installs[1], installs[0].replace("Timeout=0", "Timeout=7"));
    }
  } finally {
    await cleanup();
  }
});

/**
 * Watches the peak resident memory (VmHWM) of the process, under the command it starts, whose
 * command line holds `marker`, and prints it last (KiB) on stderr. Python, because Deno reads
 * /proc only with --allow-all.
 */
const PEAK_WATCHER = `
import os, subprocess, sys, time
marker, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(cmd)
peak = 0
def under(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open(f"/proc/{d}/stat").read()
                kids.setdefault(int(st.rsplit(")", 1)[1].split()[1]), []).append(int(d))
            except OSError:
                pass
    todo, out = [root], []
    while todo:
        x = todo.pop()
        out.append(x)
        todo += kids.get(x, [])
    return out
while p.poll() is None:
    for pid in under(p.pid):
        try:
            if marker not in open(f"/proc/{pid}/cmdline").read():
                continue
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    time.sleep(0.02)
print(f"peak {peak}", file=sys.stderr)
sys.exit(p.returncode)
`;

/**
 * Runs `deno task sample --work <work>` and returns what it printed and the peak resident memory
 * of the process that runs tasks/sample.ts (not the launcher, not ffmpeg), in KiB.
 */
async function samplePeakKiB(work: string): Promise<{ run: TaskRun; peakKiB: number }> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", PEAK_WATCHER, "tasks/sample.ts", "deno", "task", "--quiet", "sample"]
      .concat(["--work", work, "--jobs", "1"]),
    cwd: repoPath(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stderr = dec.decode(out.stderr);
  const peak = /peak (\d+)\n$/.exec(stderr);
  return {
    run: { code: out.code, stdout: dec.decode(out.stdout), stderr },
    peakKiB: peak ? Number(peak[1]) : 0,
  };
}

Deno.test("sample holds no full-size frame: a 4096×4096 video costs its process less than half a frame more than a 320×240 one", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const peaks: number[] = [];
    for (const [name, size] of [["small", "320x240"], ["large", "4096x4096"]]) {
      const video = await lavfiVideo(join(dir, `${name}.mp4`), `testsrc=s=${size}:r=2:d=2`, [
        "-preset",
        "ultrafast",
      ]);
      const work = join(dir, name);
      await workWithVideos(work, [{ id: name, path: video }]);
      const { run, peakKiB } = await samplePeakKiB(work);
      assertEquals(run.code, 0, run.stderr);
      assert(run.stdout.includes("1 videos, 2 frames"), run.stdout);
      assert(peakKiB > 0, "the sample process was not seen");
      peaks.push(peakKiB);
    }
    // one 4096×4096 RGB frame is 48 MiB; the code that held a whole frame (and a fresh pipe
    // chunk per read) peaked 80 MiB above the small video, rows streamed through the resize ~10
    const frameKiB = 4096 * 4096 * 3 / 1024;
    const extra = peaks[1] - peaks[0];
    assert(
      extra < frameKiB / 2,
      `sample's peak grew by ${(extra / 1024).toFixed(0)} MiB (${
        peaks.map((p) => (p / 1024).toFixed(0)).join(" → ")
      } MiB)`,
    );
  } finally {
    await cleanup();
  }
});

Deno.test("download: a rejected line quoting a field of thousands of characters is printed in at most 300, naming the file and line", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const csv = join(dir, "train.csv");
    await Deno.writeTextFile(
      csv,
      "label,youtube_id,time_start,time_end,split\n" +
        `abseiling,vidAAAAAAAA,${"9".repeat(3000)}x,11,train\n`,
    );
    const archives = join(dir, "archives.txt");
    await Deno.writeTextFile(archives, "");
    const r = await denoTask("download", [
      "--annotations",
      csv,
      "--archives",
      archives,
      "--work",
      join(dir, "work"),
    ]);
    assertPrintable(r, "download");
    const line = lines(r).find((l) => l.startsWith(`${csv}:2: bad time_start "999`));
    assert(line !== undefined, r.stderr);
    assert(line.includes("…") && line.endsWith(`99x"`), line);
  } finally {
    await cleanup();
  }
});
