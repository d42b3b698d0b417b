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
};

Deno.test("deno.json: no task runs with -A or --allow-all; every pipeline task starts through the launcher, which can only read and start deno", () => {
  for (const [name, line] of Object.entries(DENO_JSON.tasks)) {
    assert(!/(^|\s)(-A|--allow-all)(\s|$)/.test(line), `${name}: ${line}`);
  }
  for (const name of Object.keys(LAUNCHED_TASKS)) {
    const line = DENO_JSON.tasks[name];
    if (line === undefined) continue; // a task not in deno.json (yet)
    const m = /^deno run (.*) tasks\/launch\.ts (\S+)$/.exec(line);
    assert(m, `${name}: ${line}`);
    assertEquals(m[2], name);
    const flags = m[1].split(" ");
    assertEquals(flags.filter((f) => !f.startsWith("--allow-env=")), [
      "--allow-read",
      "--allow-run=deno",
      "--no-prompt",
    ], line);
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
      if (DENO_JSON.tasks[name] === undefined) continue;
      await t.step(name, async () => {
        const args = name === "gpu-setup" ? ["--help"] : ["--help", "--work", join(dir, "work")];
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
