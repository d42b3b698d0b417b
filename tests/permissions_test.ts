/**
 * Least privilege: every task in deno.json starts through the launcher, never with -A, and each
 * task's own permission set (computed by lib/task_permissions.ts, exactly as the launcher does)
 * refuses a write outside the work dir and a network request (download: to any host its lists do
 * not name). The refusals are shown on the real entry points: a module preloaded into the very
 * process that then runs `tasks/<task>.ts` with its real arguments tries the write and the fetch,
 * and the task itself goes on to finish its work under the same flags.
 */
import { join } from "node:path";
import { syntheticCard } from "../fixtures/synthetic_work_dir.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { denoRunArgs, LAUNCHED_TASKS, taskLaunch } from "../lib/cli/task_permissions.ts";
import { download, formatIssue } from "../lib/download/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir } from "./support/media.ts";

const DENO_JSON = JSON.parse(await Deno.readTextFile(repoPath("deno.json"))) as {
  tasks: Record<string, string>;
  permissions: Record<string, Record<string, unknown>>;
};

Deno.test("deno.json: no task runs with -A or --allow-all; every pipeline task starts through the launcher, which can only read and start deno", () => {
  for (const [name, line] of Object.entries(DENO_JSON.tasks)) {
    assert(!/(^|\s)(-A|--allow-all)(\s|$)/.test(line), `${name}: ${line}`);
  }
  // the launcher's permission set, stated once
  const launcher = DENO_JSON.permissions.launcher;
  assertEquals(Object.keys(launcher).sort(), ["env", "read", "run"]);
  assertEquals([launcher.read, launcher.run], [true, ["deno"]]);
  assert(
    Array.isArray(launcher.env) && launcher.env.every((v) => /^[A-Z_]+$/.test(String(v))),
    `launcher env: ${launcher.env}`,
  );
  for (const name of Object.keys(LAUNCHED_TASKS)) {
    const line = DENO_JSON.tasks[name];
    assert(line !== undefined, `tasks/launch.ts launches ${name}, deno.json has no such task`);
    assertEquals(line, `deno run --quiet -P=launcher --no-prompt tasks/launch.ts ${name}`);
  }
});

interface Probe {
  write: string;
  read: string;
  net: string;
}

/** Serves one file and counts every request. */
function serve(files: Record<string, Uint8Array<ArrayBuffer>>) {
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    requests++;
    const body = files[new URL(req.url).pathname];
    return body ? new Response(body) : new Response("no", { status: 404 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get requests() {
      return requests;
    },
    close: () => server.shutdown(),
  };
}

Deno.test("each task's exact permissions: a write outside the work dir, a read outside its inputs and a network request are refused inside the real task process, which still does its work", async (t) => {
  const { dir, cleanup } = await tempDir();
  const outsideDir = join(dir, "outside");
  await Deno.mkdir(outsideDir);
  const secret = join(outsideDir, "secret.txt");
  await Deno.writeTextFile(secret, "not yours");
  const escape = join(outsideDir, "escaped.txt");
  const elsewhere = serve({}); // a host no list names
  // the dataset: 2 classes × (2 train + 1 val), in one archive served over HTTP
  const src = join(dir, "src");
  await Deno.mkdir(src);
  const classes = ["abseiling", "air drumming"];
  const looks = ["testsrc=s=160x120:r=10:d=1", "smptebars=s=160x120:r=10:d=1"];
  const rows = ["label,youtube_id,time_start,time_end,split"];
  const members: { name: string; file: string }[] = [];
  for (const [c, label] of classes.entries()) {
    const video = await lavfiVideo(join(src, `${c}.mp4`), looks[c]);
    for (const [i, split] of ["train", "train", "validate"].entries()) {
      const yt = `cls${c}vid${i}xxxx`.slice(0, 11);
      rows.push(`${label},${yt},${i},${i + 10},${split}`);
      const folder = split === "validate" ? "val" : "train";
      const id = `${yt}_${String(i).padStart(6, "0")}_${String(i + 10).padStart(6, "0")}`;
      members.push({ name: `${folder}/${label}/${id}.mp4`, file: video });
    }
  }
  const tgz = join(src, "all.tar.gz");
  const py = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import json,sys,tarfile\nwith tarfile.open(sys.argv[1],'w:gz') as t:\n" +
      "  [t.add(m['file'], arcname=m['name']) for m in json.loads(sys.argv[2])]",
      tgz,
      JSON.stringify(members),
    ],
  }).output();
  assert(py.success);
  const archives = serve({ "/all.tar.gz": await Deno.readFile(tgz) });
  await Deno.writeTextFile(join(src, "list.txt"), `${archives.url}/all.tar.gz\n`);
  await Deno.writeTextFile(join(src, "train.csv"), rows.join("\n") + "\n");
  await Deno.writeTextFile(join(src, "classes.txt"), classes.join("\n") + "\n");
  await Deno.writeTextFile(
    join(src, "card.md"),
    syntheticCard({ train: { samples: 4, tars: 1 }, val: { samples: 2, tars: 1 } }),
  );
  const models = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
  // the probe runs first in the task's own process, with the task's own flags
  const probe = join(dir, "probe.ts");
  await Deno.writeTextFile(
    probe,
    `const r: Record<string, string> = {};
try { Deno.writeTextFileSync(${JSON.stringify(escape)}, "escaped"); r.write = "allowed"; }
catch (e) { r.write = (e as Error).name; }
try { Deno.readTextFileSync(${JSON.stringify(secret)}); r.read = "allowed"; }
catch (e) { r.read = (e as Error).name; }
try { await (await fetch(${
      JSON.stringify(elsewhere.url + "/")
    })).body?.cancel(); r.net = "allowed"; }
catch (e) { r.net = (e as Error).name; }
console.log("PERMISSION-PROBE " + JSON.stringify(r));
`,
  );

  const work = join(dir, "work");
  const inputs = [
    "--annotations",
    join(src, "train.csv"),
    "--archives",
    join(src, "list.txt"),
  ];
  const model = ["--model", models.vision, "--providers", "cpu"];
  const cases: { task: string; args: string[]; code?: number[]; read?: string }[] = [
    { task: "download", args: ["--work", work, ...inputs, "--quiet"] },
    { task: "sample", args: ["--work", work, "--quiet"] },
    { task: "encode", args: ["--work", work, ...model, "--quiet"] },
    { task: "shard", args: ["--work", work, "--per-shard", "10", "--quiet"] },
    {
      task: "verify",
      args: [
        "--work",
        work,
        "--card",
        join(src, "card.md"),
        "--classes",
        join(src, "classes.txt"),
        "--quiet",
      ],
    },
    {
      task: "eval",
      args: [
        "--work",
        work,
        "--text-model",
        models.text,
        "--classes",
        join(src, "classes.txt"),
        "--providers",
        "cpu",
        "--quiet",
      ],
    },
    {
      task: "run",
      args: ["--work", join(dir, "work2"), ...inputs, ...model, "--per-shard", "10", "--quiet"],
    },
    // no workers ran here: merge refuses, after the probe
    { task: "merge", args: ["--work", join(dir, "work3")], code: [0, 1, 2] },
    { task: "demo", args: ["--work", join(dir, "work4"), "--help"] },
    // gpu-setup reads the whole machine (it searches library folders)
    { task: "gpu-setup", args: ["--help"], read: "allowed" },
  ];
  try {
    for (const c of cases) {
      await t.step(c.task, async () => {
        const launch = await taskLaunch(c.task, c.args, { cwd: repoPath() });
        for (const f of launch.flags) {
          assert(!/^--allow-(all|write|net|ffi|run)$/.test(f), `${c.task}: unscoped ${f}`);
        }
        const before = elsewhere.requests;
        const out = await new Deno.Command("deno", {
          args: denoRunArgs(launch, c.args, ["--preload", probe]),
          cwd: repoPath(),
          env: launch.env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        const stderr = new TextDecoder().decode(out.stderr);
        assert((c.code ?? [0]).includes(out.code), `${c.task} exited ${out.code}: ${stderr}`);
        const line = stdout.split("\n").find((l) => l.startsWith("PERMISSION-PROBE "));
        assert(line, stdout + stderr);
        const r = JSON.parse(line.slice("PERMISSION-PROBE ".length)) as Probe;
        assertEquals(r, { write: "NotCapable", read: c.read ?? "NotCapable", net: "NotCapable" });
        assertEquals(elsewhere.requests, before, "no request reached the other host");
        assert(!(await Deno.stat(escape).then(() => true, () => false)), `${escape} was written`);
      });
    }
    await t.step("download fetched from its list's host, and only there", () => {
      assert(archives.requests >= 2, `${archives.requests} requests`);
    });
  } finally {
    await elsewhere.close();
    await archives.close();
    await cleanup();
  }
});

Deno.test("the launcher runs exactly the computed flags (KINEMBED_SHOW_PERMISSIONS=1 prints them)", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    for (const name of Object.keys(LAUNCHED_TASKS)) {
      await t.step(name, async () => {
        assert(DENO_JSON.tasks[name] !== undefined, `deno.json has no task ${name}`);
        const args = name === "gpu-setup" || name === "model"
          ? ["--help"]
          : ["--help", "--work", join(dir, "work")];
        const out = await new Deno.Command("deno", {
          args: ["task", "--quiet", name, ...args],
          cwd: repoPath(),
          env: { KINEMBED_SHOW_PERMISSIONS: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stderr = new TextDecoder().decode(out.stderr);
        assertEquals(out.code, 0, stderr);
        const shown = stderr.split("\n").find((l) => l.startsWith("kinembed: "));
        assert(shown, stderr);
        const launch = await taskLaunch(name, args, { cwd: repoPath() });
        const env = Object.entries(launch.env).map(([k, v]) => `${k}=${v} `).join("");
        assertEquals(shown, `kinembed: ${env}deno ${denoRunArgs(launch, args).join(" ")}`);
      });
    }
  } finally {
    await cleanup();
  }
});

/** Where a program is on PATH, as the shell finds it. */
async function which(program: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `command -v ${program}`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** A `kinembed: ENV=... deno run --flag=a,b ... script args` line as env and flag → sorted values. */
function parseShown(line: string): { env: string[]; flags: Record<string, string[]> } {
  const words = line.replace(/^kinembed: /, "").split(" ");
  const env = words.slice(0, words.indexOf("deno")).sort();
  const flags: Record<string, string[]> = {};
  const script = words.findIndex((w) => w.endsWith(".ts"));
  for (const w of words.slice(0, script).filter((w) => w.startsWith("--"))) {
    const [flag, values] = w.split("=", 2);
    flags[flag] = values === undefined ? [] : values.split(",").sort();
  }
  return { env, flags };
}

Deno.test("each task's permissions, written out by hand: what --help --work W is granted", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const w = join(dir, "work");
    const repo = repoPath().replace(/\/$/, "");
    // the pinned static builds where the bootstrap installed them, else the ones on PATH
    const installed = async (tool: string) => {
      const p = join(repo, ".kinembed", "ffmpeg", tool);
      return await Deno.stat(p).then(() => p, () => which(tool));
    };
    const ffmpeg = Deno.env.get("FFMPEG_PATH") ?? await installed("ffmpeg");
    const ffprobe = Deno.env.get("FFPROBE_PATH") ?? await installed("ffprobe");
    // the decoder's sandbox tools, where the machine has them
    const sandboxTools = (await Promise.all(["bwrap", "unshare"].map(which))).filter(Boolean);
    const ortVersion = /@([\d.]+)$/.exec(
      (JSON.parse(await Deno.readTextFile(repoPath("deno.json"))).imports as Record<
        string,
        string
      >)[
        "onnxruntime-node"
      ],
    )![1];
    const ort = join(
      repo,
      "node_modules/.deno",
      `onnxruntime-node@${ortVersion}`,
      "node_modules/onnxruntime-node/bin",
    );
    const ff = [`FFMPEG_PATH=${ffmpeg}`, `FFPROBE_PATH=${ffprobe}`];
    const want: Record<string, { env: string[]; flags: Record<string, string[]> }> = {
      download: { env: [], flags: { "--allow-read": [w], "--allow-write": [w] } },
      sample: {
        env: ff,
        flags: {
          "--allow-read": [w, ffmpeg, ffprobe, ...sandboxTools],
          "--allow-write": [w],
          "--allow-run": [ffmpeg, ffprobe, ...sandboxTools],
          "--allow-env": [],
        },
      },
      encode: {
        env: [],
        flags: {
          "--allow-read": [w],
          "--allow-write": [w],
          "--allow-ffi": [ort],
          "--allow-env": ["SLURM_CPUS_PER_TASK"],
        },
      },
      shard: { env: [], flags: { "--allow-read": [w], "--allow-write": [w] } },
      verify: { env: [], flags: { "--allow-read": [w] } },
      eval: {
        env: [],
        flags: {
          "--allow-read": [w, join(repo, "data")],
          // the shards' dataset card only with --update-card (tests/eval_outputs_test.ts)
          "--allow-write": [join(w, "reports")],
          "--allow-ffi": [ort],
        },
      },
      merge: { env: [], flags: { "--allow-read": [w], "--allow-write": [w] } },
      run: {
        env: ff,
        flags: {
          "--allow-read": [w, ffmpeg, ffprobe, ...sandboxTools, join(repo, "data")],
          "--allow-write": [w],
          "--allow-run": [ffmpeg, ffprobe, ...sandboxTools],
          "--allow-ffi": [ort],
          "--allow-env": [],
        },
      },
    };
    for (const [name, expected] of Object.entries(want)) {
      const out = await new Deno.Command("deno", {
        args: ["task", "--quiet", name, "--help", "--work", w],
        cwd: repoPath(),
        env: { KINEMBED_SHOW_PERMISSIONS: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      const shown = stderr.split("\n").find((l) => l.startsWith("kinembed: "));
      assert(shown, `${name}: ${stderr}`);
      const got = parseShown(shown);
      for (const flags of [got.flags, expected.flags]) flags["--no-prompt"] = [];
      for (const v of Object.values(expected.flags)) v.sort();
      assertEquals(
        got,
        { env: [...expected.env].sort(), flags: expected.flags },
        `${name}: ${shown}`,
      );
    }
  } finally {
    await cleanup();
  }
});

Deno.test("host policy: a list naming 169.254.169.254 gets no network grant and no request, unless --allow-host names it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const list = join(dir, "train_path.txt");
    await Deno.writeTextFile(
      list,
      [
        "http://169.254.169.254/latest/meta-data/abseiling.tar.gz",
        "http://[::ffff:a9fe:a9fe]/acting.tar.gz",
        "http://[fe80::1]/adjusting.tar.gz",
        "http://127.0.0.1:9/air.tar.gz",
      ].join("\n") + "\n",
    );
    const csv = join(dir, "train.csv");
    await Deno.writeTextFile(
      csv,
      "label,youtube_id,time_start,time_end,split\nabseiling,aaaaaaaaaaa,0,10,train\n",
    );
    const args = ["--work", join(dir, "w"), "--annotations", csv, "--archives", list];
    const net = (flags: string[]) => flags.find((f) => f.startsWith("--allow-net="));
    assertEquals(net((await taskLaunch("download", args)).flags), "--allow-net=127.0.0.1:9");
    const named = await taskLaunch("download", [...args, "--allow-host", "169.254.169.254"]);
    assertEquals(net(named.flags), "--allow-net=127.0.0.1:9,169.254.169.254");

    const report = await download({
      work: join(dir, "w"),
      annotations: [csv],
      archives: [list],
      retries: 0,
      timeoutMs: 2000,
      quiet: true,
      log: () => {},
    });
    const issues = report.issues.map(formatIssue);
    assertEquals(issues.length, 3, issues.join("\n"));
    assert(
      issues[0].endsWith(
        "train_path.txt:1: http://169.254.169.254/latest/meta-data/abseiling.tar.gz: refused " +
          "link-local address 169.254.169.254 (give --allow-host 169.254.169.254 to fetch from it)",
      ),
      issues[0],
    );
    assert(issues[1].includes("train_path.txt:2: ") && issues[1].includes("link-local"), issues[1]);
    assert(issues[2].includes("train_path.txt:3: ") && issues[2].includes("[fe80::1]"), issues[2]);
    assertEquals(report.archives.listed, 1, "only the 127.0.0.1 archive is left");
  } finally {
    await cleanup();
  }
});
