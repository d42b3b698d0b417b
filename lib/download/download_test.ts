import { mulberry32 } from "../base/mod.ts";
import { Manifest } from "../core/mod.ts";
import nodeAssert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join, relative } from "node:path";
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import tarStream from "tar-stream";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { startFaultServer } from "../../tests/support/fault_server.ts";
import { download } from "./download.ts";
import { parseKineticsCsv } from "./annotations.ts";
import { selectSubset } from "./subset.ts";
import { extractArchive } from "../tar/mod.ts";
import { readChecksums } from "./checksums.ts";

const assertMatch = (s: string, re: RegExp) => nodeAssert.match(s, re);

/** Deterministic, incompressible stand-in bytes for a video (no decoder reads them here). */
function fakeVideo(id: string, size = 40_000): Uint8Array {
  const rand = mulberry32(createHash("sha256").update(id).digest().readUInt32LE(0));
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

interface Member {
  name: string;
  data?: Uint8Array;
  type?: "file" | "symlink" | "link" | "directory" | "character-device";
  linkname?: string;
}

/** Writes a .tar.gz with tar-stream and node:zlib. */
async function makeArchive(path: string, members: Member[]): Promise<void> {
  const pack = tarStream.pack();
  for (const m of members) {
    const header = {
      name: m.name,
      type: m.type ?? "file",
      linkname: m.linkname,
      mtime: new Date(0),
    };
    pack.entry(header, m.data ? Buffer.from(m.data) : undefined);
  }
  pack.finalize();
  const chunks: Uint8Array[] = [];
  const gz = createGzip();
  gz.on("data", (c: Uint8Array) => chunks.push(c));
  await pipeline(pack, gz);
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeFile(path, Buffer.concat(chunks));
}

/** Every file under a folder, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else out.push(relative(dir, p));
    }
  };
  await walk(dir).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  return out.sort();
}

const yt = (c: string, n: number) => `${c.repeat(10)}${n}`;
const vid = (c: string, n: number) => `${yt(c, n)}_000000_000010`;

Deno.test("download: archives over HTTP with faults, unsafe members, extras, idempotent rerun", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_dl_" });
  const srv = join(dir, "srv");
  const work = join(dir, "work");
  const server = startFaultServer(srv);
  try {
    // classes and the videos each archive holds
    const classes: Record<string, string[]> = {
      abseiling: [vid("a", 1), vid("a", 2)],
      air_drumming: [vid("b", 1)],
      archery: [vid("c", 1)],
      bowling: [vid("d", 1), vid("d", 2)],
      cooking_egg: [vid("e", 1)],
      dancing: [vid("f", 1)],
      eating: [vid("g", 1)],
      fishing: [vid("i", 1)],
      golf: [vid("j", 1)],
      hiking: [vid("k", 1)],
    };
    for (const [cls, ids] of Object.entries(classes)) {
      const members: Member[] = [{ name: `${cls}/`, type: "directory" }];
      for (const id of ids) members.push({ name: `${cls}/${id}.mp4`, data: fakeVideo(id) });
      if (cls === "abseiling") {
        members.push({ name: "abseiling/zzzzzzzzzzz_000000_000010.mp4", data: fakeVideo("extra") });
      }
      await makeArchive(join(srv, "k700/train", `${cls}.tar.gz`), members);
    }
    // unsafe members around one good one
    await makeArchive(join(srv, "k700/train/juggling.tar.gz"), [
      { name: `../${vid("h", 2)}.mp4`, data: fakeVideo("evil") },
      { name: `/tmp/${vid("h", 3)}.mp4`, data: fakeVideo("abs") },
      { name: `juggling/${vid("h", 4)}.mp4`, type: "symlink", linkname: "/etc/passwd" },
      {
        name: `juggling/${vid("h", 5)}.mp4`,
        type: "link",
        linkname: `juggling/${vid("h", 1)}.mp4`,
      },
      { name: "juggling/dev", type: "character-device" },
      { name: `juggling/${vid("h", 1)}.mp4`, data: fakeVideo(vid("h", 1)) },
    ]);
    await makeArchive(join(srv, "k700/test/part_0.tar.gz"), [
      { name: `${vid("t", 1)}.mp4`, data: fakeVideo(vid("t", 1)) },
      { name: `${vid("t", 2)}.mp4`, data: fakeVideo(vid("t", 2)) },
    ]);
    await makeArchive(join(srv, "k700/val/zumba.tar.gz"), [
      { name: `zumba/${vid("z", 1)}.mp4`, data: fakeVideo(vid("z", 1)) },
    ]);

    const lines = ["label,youtube_id,time_start,time_end,split"];
    for (const [cls, ids] of Object.entries(classes)) {
      for (const id of ids) lines.push(`${cls.replace("_", " ")},${id.slice(0, 11)},0,10,train`);
    }
    lines.push(`abseiling,${yt("a", 3)},0,10,train`); // not in its archive
    lines.push(`abseiling,${yt("a", 4)},zero,10,train`); // line 15: bad time
    for (let n = 1; n <= 5; n++) lines.push(`juggling,${yt("h", n)},0,10,train`);
    await Deno.writeTextFile(join(dir, "train.csv"), lines.join("\r\n") + "\r\n");
    await Deno.writeTextFile(
      join(dir, "test.csv"),
      `youtube_id,time_start,time_end,split\n${yt("t", 1)},0,10,test\n${yt("t", 2)},0,10,test\n`,
    );
    await Deno.writeTextFile(
      join(dir, "validate.csv"),
      `label,youtube_id,time_start,time_end,split\nzumba,${yt("z", 1)},0,10,validate\n`,
    );
    const list = [...Object.keys(classes), "juggling"].map((c) => `k700/train/${c}.tar.gz`);
    list.push("k700/test/part_0.tar.gz", "k700/val/zumba.tar.gz");
    await Deno.writeTextFile(join(dir, "paths.txt"), list.join("\n") + "\n");
    const golfSha = "0".repeat(64);
    await Deno.writeTextFile(join(dir, "sums.txt"), `${golfSha}  golf.tar.gz\n`);

    server.fault("/k700/train/air_drumming.tar.gz", { kind: "status", status: 500, times: 2 });
    server.fault("/k700/train/archery.tar.gz", { kind: "status", status: 404 });
    server.fault("/k700/train/bowling.tar.gz", { kind: "drop", afterBytes: 30_000, times: 1 });
    server.fault(
      "/k700/train/cooking_egg.tar.gz",
      { kind: "drop", afterBytes: 20_000, times: 1 },
      { kind: "ignore-range" },
    );
    server.fault("/k700/train/dancing.tar.gz", { kind: "short", afterBytes: 10_000, times: 1 });
    server.fault("/k700/train/eating.tar.gz", {
      kind: "stall",
      afterBytes: 0,
      beforeHeaders: true,
    });
    server.fault("/k700/train/fishing.tar.gz", { kind: "stall", afterBytes: 8_000, times: 1 });
    server.fault("/k700/train/hiking.tar.gz", {
      kind: "status",
      status: 429,
      retryAfter: "0",
      times: 1,
    });

    const logs: string[] = [];
    const opts = {
      work,
      annotations: [join(dir, "train.csv"), join(dir, "test.csv"), join(dir, "validate.csv")],
      archives: [join(dir, "paths.txt")],
      baseUrl: server.url,
      checksums: join(dir, "sums.txt"),
      splits: ["train" as const, "test" as const],
      jobs: 3,
      timeoutMs: 1200, // long enough that a loaded CI machine does not time out a healthy transfer,
      retries: 2,
      retryBaseMs: 20,
      quiet: true,
      log: (l: string) => logs.push(l),
    };
    const report = await download(opts);

    // input: the bad line is named, the rest was read
    assertEquals(report.issues.length, 1);
    assertEquals(report.issues[0].line, 15);
    assertMatch(report.issues[0].message, /bad time_start "zero"/);
    assertEquals(report.selected, 20, JSON.stringify(report.issues));

    const reqs = (name: string) => server.requestsFor(`/k700/${name}`);
    assertEquals(reqs("train/air_drumming.tar.gz").map((r) => r.status), [500, 500, 200]);
    assertEquals(reqs("train/archery.tar.gz").map((r) => r.status), [404]);
    // dropped mid-body: the second request asks only for the rest
    const bowling = reqs("train/bowling.tar.gz");
    assertEquals(bowling.length, 2);
    assertEquals(bowling[0].range, null);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(bowling[1].range ?? "")?.[1]);
    assert(resumedAt > 0 && resumedAt <= 30_000, `resumed at ${bowling[1].range}`);
    assertEquals(bowling[1].status, 206);
    // a server ignoring Range: 200 instead of 206, so the file starts again and is still right
    const cooking = reqs("train/cooking_egg.tar.gz");
    assertEquals(cooking.map((r) => [r.range !== null, r.status]), [[false, 200], [true, 200]]);
    assert(logs.some((l) => /cooking_egg.*ignored Range/.test(l)));
    // a body shorter than its Content-Length: resumed
    const dancing = reqs("train/dancing.tar.gz");
    assertEquals(dancing.length, 2);
    assertMatch(dancing[1].range ?? "", /^bytes=\d+-$/);
    // stalled before answering, every time: timed out, retried twice, given up
    assertEquals(reqs("train/eating.tar.gz").length, 3);
    // stalled mid-body once: timed out, resumed
    const fishing = reqs("train/fishing.tar.gz");
    assertEquals(fishing.map((r) => r.range), [null, "bytes=8000-"]);
    assertEquals(reqs("train/hiking.tar.gz").map((r) => r.status), [429, 200]);
    // zumba is a val class: not selected, not fetched
    assertEquals(reqs("val/zumba.tar.gz").length, 0);
    assertEquals(report.archives.skipped, 1);

    const failures = Object.fromEntries(report.failures.map((f) => [f.id, f.error]));
    assertEquals(Object.keys(failures).sort(), [
      vid("a", 3),
      vid("c", 1),
      vid("g", 1),
      vid("h", 2),
      vid("h", 3),
      vid("h", 4),
      vid("h", 5),
      vid("j", 1),
    ]);
    assertEquals(failures[vid("a", 3)], "missing from archive");
    assertEquals(failures[vid("c", 1)], "archive archery.tar.gz failed: HTTP 404 Not Found");
    assertEquals(
      failures[vid("g", 1)],
      "archive eating.tar.gz failed: timed out: no response in 1.2s (after 3 attempts)",
    );
    assertMatch(failures[vid("j", 1)], /^archive golf\.tar\.gz failed: sha256 mismatch/);
    for (const n of [2, 3, 4, 5]) assertEquals(failures[vid("h", n)], "missing from archive");
    assertEquals(report.splits.train, { pending: 0, done: 10, failed: 8 });
    assertEquals(report.splits.test, { pending: 0, done: 2, failed: 0 });

    // unsafe members refused and named; the good one beside them extracted
    assertEquals(report.refused.map((r) => r.reason), [
      "path with `..`",
      "absolute path",
      'symlink to "/etc/passwd"',
      `hard link to "juggling/${vid("h", 1)}.mp4"`,
      "device file",
    ]);
    assert(logs.some((l) => l.includes("refused member") && l.includes("../")));
    assertEquals(report.extras, {
      count: 1,
      examples: ["abseiling/zzzzzzzzzzz_000000_000010.mp4"],
    });

    // exactly the expected files, each with the archive's bytes; nothing outside the work dir
    const done = [
      ["abseiling", vid("a", 1)],
      ["abseiling", vid("a", 2)],
      ["air_drumming", vid("b", 1)],
      ["bowling", vid("d", 1)],
      ["bowling", vid("d", 2)],
      ["cooking_egg", vid("e", 1)],
      ["dancing", vid("f", 1)],
      ["fishing", vid("i", 1)],
      ["hiking", vid("k", 1)],
      ["juggling", vid("h", 1)],
    ];
    const expected = [
      ...done.map(([c, id]) => `train/${c}/${id}.mp4`),
      `test/${vid("t", 1)}.mp4`,
      `test/${vid("t", 2)}.mp4`,
    ].sort();
    assertEquals(await filesUnder(join(work, "videos")), expected);
    const outside = (await filesUnder(dir)).filter((f) =>
      !f.startsWith("work/") && !f.startsWith("srv/")
    );
    assertEquals(outside.sort(), [
      "paths.txt",
      "sums.txt",
      "test.csv",
      "train.csv",
      "validate.csv",
    ]);
    const m = Manifest.open(join(work, "manifest.db"), { readOnly: true });
    try {
      for (const [, id] of done) {
        const rec = m.videos.get(id)!.steps.download!;
        assertEquals(rec.state, "done");
        const bytes = await Deno.readFile(rec.path!);
        assertEquals(sha256(bytes), sha256(fakeVideo(id)));
        assertEquals(rec.sha256, sha256(bytes));
      }
      const row = m.videos.get(vid("t", 1))!;
      assertEquals([row.split, row.label, row.timeStart, row.timeEnd], ["test", null, 0, 10]);
      assertEquals(m.archives.get(`${server.url}/k700/train/archery.tar.gz`)?.state, "failed");
      assertEquals(m.archives.get(`${server.url}/k700/train/bowling.tar.gz`)?.state, "done");
    } finally {
      m.close();
    }
    // downloads/ keeps only what a rerun can resume; finished archives are gone
    assertEquals(
      (await filesUnder(join(work, "downloads"))).filter((f) =>
        !f.endsWith(".part") && !f.endsWith(".part.json")
      ),
      [],
    );

    // faults gone: a rerun fetches only what failed (404, timeout, bad checksum file stays bad)
    for (const c of ["archery", "eating"]) server.fault(`/k700/train/${c}.tar.gz`);
    const before = server.requests.length;
    const second = await download({ ...opts, checksums: undefined });
    const again = server.requests.slice(before).map((r) => r.path).sort();
    assertEquals(again, [
      "/k700/train/archery.tar.gz",
      "/k700/train/eating.tar.gz",
      "/k700/train/golf.tar.gz",
    ]);
    assertEquals(second.nothingToDo, false);
    assertEquals(second.splits.train, { pending: 0, done: 13, failed: 5 });

    // everything settled: a third run sends no request at all and says so
    const n = server.requests.length;
    logs.length = 0;
    const third = await download({ ...opts, checksums: undefined });
    assertEquals(server.requests.length, n);
    assertEquals(third.requests, 0);
    assert(third.nothingToDo);
    assert(
      logs.includes("nothing to download: 15 videos already done, 5 failed earlier"),
      logs.join("\n"),
    );
    assertEquals(third.failures.map((f) => f.error), Array(5).fill("missing from archive"));
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extractArchive: a rerun reuses complete members; a truncated archive keeps what was whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_x_" });
  try {
    const ids = [1, 2, 3].map((n) => vid("x", n));
    const archive = join(dir, "x.tar.gz");
    await makeArchive(
      archive,
      ids.map((id) => ({ name: `x/${id}.mp4`, data: fakeVideo(id, 100_000) })),
    );
    const root = join(dir, "out");
    const place = (m: { name: string }) => join(root, m.name);
    const first = await extractArchive(archive, { root, place });
    assertEquals(first.extracted.map((e) => e.reused), [false, false, false]);
    const mtime = (await Deno.stat(join(root, `x/${ids[0]}.mp4`))).mtime;
    const second = await extractArchive(archive, { root, place });
    assertEquals(second.extracted.map((e) => e.reused), [true, true, true]);
    assertEquals(
      second.extracted.map((e) => e.sha256),
      ids.map((id) => sha256(fakeVideo(id, 100_000))),
    );
    assertEquals((await Deno.stat(join(root, `x/${ids[0]}.mp4`))).mtime, mtime);
    assertEquals(second.archiveSha256, sha256(await Deno.readFile(archive)));

    // cut the archive inside its third member
    const bytes = await Deno.readFile(archive);
    await Deno.writeFile(archive, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    const root2 = join(dir, "out2");
    await assertRejects(
      () => extractArchive(archive, { root: root2, place: (m) => join(root2, m.name) }),
      /corrupt archive: unexpected end of file/,
    );
    // what is there is whole (the member cut short was never renamed into place), no temp files
    const kept = await filesUnder(root2);
    assert(kept.includes(`x/${ids[0]}.mp4`) && !kept.includes(`x/${ids[2]}.mp4`), kept.join());
    assert(kept.every((f) => ids.some((id) => f === `x/${id}.mp4`)), kept.join());
    for (const f of kept) {
      const id = f.slice(2, -4);
      assertEquals(sha256(await Deno.readFile(join(root2, f))), sha256(fakeVideo(id, 100_000)));
    }
    // a placement outside the root is refused, member by member
    await Deno.writeFile(archive, bytes);
    const escape = await extractArchive(archive, {
      root: root2,
      place: () => join(dir, "evil.mp4"),
    });
    assertEquals(escape.refused.map((r) => r.reason), Array(3).fill(`resolves outside ${root2}`));
    assertEquals(escape.extracted, []);
    assertEquals((await filesUnder(dir)).includes("evil.mp4"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plain video lists: local files linked or copied (never moved), URLs fetched, failures named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_vl_" });
  const server = startFaultServer(join(dir, "srv"));
  try {
    await Deno.mkdir(join(dir, "srv"));
    await Deno.mkdir(join(dir, "in"));
    await Deno.writeFile(join(dir, "in", "my clip.mp4"), fakeVideo("local"));
    await Deno.writeFile(join(dir, "srv", "remote.mp4"), fakeVideo("remote"));
    await Deno.writeTextFile(
      join(dir, "list.csv"),
      [
        "path,label,split",
        "in/my clip.mp4,abseiling,train",
        `${server.url}/remote.mp4,archery,val`,
        `${server.url}/gone.mp4,archery,val`,
        "in/missing.mp4,archery,train",
      ].join("\n"),
    );
    const logs: string[] = [];
    const opts = {
      work: join(dir, "work"),
      videos: [join(dir, "list.csv")],
      quiet: true,
      retryBaseMs: 10,
      log: (l: string) => logs.push(l),
    };
    const report = await download(opts);
    assertEquals(report.splits.train, { pending: 0, done: 1, failed: 1 });
    assertEquals(report.splits.val, { pending: 0, done: 1, failed: 1 });
    const errors = report.failures.map((f) => f.error).sort();
    assertEquals(errors[0], "HTTP 404 Not Found");
    assertMatch(errors[1], /^no such file .*in\/missing\.mp4$/);
    assertEquals(server.requestsFor("/gone.mp4").length, 1);
    // the original is still there, unchanged
    assertEquals(
      sha256(await Deno.readFile(join(dir, "in", "my clip.mp4"))),
      sha256(fakeVideo("local")),
    );
    const files = await filesUnder(join(dir, "work", "videos"));
    assertEquals(files.length, 2);
    assertMatch(files[0], /^train\/abseiling\/my_clip_[0-9a-f]{8}\.mp4$/);
    assertEquals(files[1], "val/archery/remote.mp4");
    assertEquals(
      sha256(await Deno.readFile(join(dir, "work", "videos", files[1]))),
      sha256(fakeVideo("remote")),
    );

    // rerun: the done videos are not fetched again (the failed URL is retried)
    const n = server.requests.length;
    await download(opts);
    assertEquals(server.requests.slice(n).map((r) => r.path), ["/gone.mp4"]);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checksum files: sha256sum lines keyed by file name; a malformed line is named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_sum_" });
  try {
    const f = join(dir, "sums");
    await Deno.writeTextFile(
      f,
      `# k700\n${"A".repeat(64)}  train/abseiling.tar.gz\n${"b".repeat(64)} *x.tgz\n`,
    );
    assertEquals([...await readChecksums(f)], [["abseiling.tar.gz", "a".repeat(64)], [
      "x.tgz",
      "b".repeat(64),
    ]]);
    await Deno.writeTextFile(f, "nonsense\n");
    await assertRejects(() => readChecksums(f), /sums:1: expected/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task download: SIGKILL mid-archive, rerun resumes with Range, same files, then nothing to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_kill_" });
  const srv = join(dir, "srv");
  const server = startFaultServer(srv);
  try {
    const ids = [1, 2, 3].map((n) => vid("k", n));
    await makeArchive(
      join(srv, "train", "knitting.tar.gz"),
      ids.map((id) => ({ name: `knitting/${id}.mp4`, data: fakeVideo(id, 120_000) })),
    );
    await Deno.writeTextFile(
      join(dir, "train.csv"),
      "label,youtube_id,time_start,time_end,split\n" +
        ids.map((id) => `knitting,${id.slice(0, 11)},0,10,train`).join("\n") + "\n",
    );
    await Deno.writeTextFile(join(dir, "paths.txt"), `${server.url}/train/knitting.tar.gz\n`);
    const path = "/train/knitting.tar.gz";
    server.fault(path, { kind: "throttle", chunkBytes: 8_192, intervalMs: 50, times: 1 });
    const args = [
      "run",
      "-A",
      fileURLToPath(new URL("../../tasks/download.ts", import.meta.url)),
      "--work",
      join(dir, "work"),
      "--annotations",
      join(dir, "train.csv"),
      "--archives",
      join(dir, "paths.txt"),
      "--quiet",
    ];
    const cmd = () => new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" });
    const child = cmd().spawn();
    const t0 = Date.now();
    while ((server.bytesSent.get(path) ?? 0) < 48_000 && Date.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    const killed = await child.output();
    assertEquals(killed.signal, "SIGKILL");
    const sentBeforeKill = server.bytesSent.get(path)!;
    assert(sentBeforeKill >= 48_000 && sentBeforeKill < 360_000, `sent ${sentBeforeKill}`);

    const rerun = await cmd().output();
    const out = new TextDecoder().decode(rerun.stdout);
    assertEquals(rerun.code, 0, new TextDecoder().decode(rerun.stderr));
    assertMatch(out, /train: 3 done, 0 failed, 0 pending/);
    const reqs = server.requestsFor(path);
    assertEquals(reqs.length, 2);
    const from = Number(/^bytes=(\d+)-$/.exec(reqs[1].range ?? "")?.[1]);
    assert(from > 0 && from <= sentBeforeKill, `resumed with ${reqs[1].range}`);
    const files = await filesUnder(join(dir, "work", "videos"));
    assertEquals(files, ids.map((id) => `train/knitting/${id}.mp4`));
    for (const id of ids) {
      const got = await Deno.readFile(
        join(dir, "work", "videos", "train", "knitting", `${id}.mp4`),
      );
      assertEquals(sha256(got), sha256(fakeVideo(id, 120_000)));
    }
    const m = Manifest.open(join(dir, "work", "manifest.db"), { readOnly: true });
    try {
      assertEquals(m.steps.counts("download"), { pending: 0, done: 3, failed: 0 });
    } finally {
      m.close();
    }
    assertEquals(await filesUnder(join(dir, "work", "downloads")), []);

    const third = await cmd().output();
    assertEquals(third.code, 0);
    assertEquals(server.requestsFor(path).length, 2);
    assertMatch(
      new TextDecoder().decode(third.stderr),
      /nothing to download: 3 videos already done/,
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("download fetches again: a done video whose file is gone, and a corrupt archive once the server has a good one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_refetch_" });
  const srv = join(dir, "srv");
  const work = join(dir, "work");
  const server = startFaultServer(srv);
  try {
    // a plain list entry and an archive of two videos
    await Deno.mkdir(srv, { recursive: true });
    await Deno.writeFile(join(srv, "remote.mp4"), fakeVideo("remote"));
    await Deno.writeTextFile(
      join(dir, "list.csv"),
      `path,label,split\n${server.url}/remote.mp4,archery,val\n`,
    );
    const ids = [vid("m", 1), vid("m", 2)];
    const good = join(dir, "good.tar.gz");
    await makeArchive(good, ids.map((id) => ({ name: `bowling/${id}.mp4`, data: fakeVideo(id) })));
    // the archive as a broken mirror serves it: the second member's bytes damaged
    const bytes = await Deno.readFile(good);
    const bad = bytes.slice();
    for (let i = Math.floor(bad.length * 0.6); i < bad.length - 20; i++) bad[i] ^= 0x5a;
    await Deno.mkdir(join(srv, "k700/train"), { recursive: true });
    await Deno.writeFile(join(srv, "k700/train/bowling.tar.gz"), bad);
    await Deno.writeTextFile(
      join(dir, "train.csv"),
      "label,youtube_id,time_start,time_end,split\n" +
        ids.map((id) => `bowling,${id.slice(0, 11)},0,10,train`).join("\n") + "\n",
    );
    await Deno.writeTextFile(join(dir, "paths.txt"), "k700/train/bowling.tar.gz\n");
    const common = { baseUrl: server.url, quiet: true, retryBaseMs: 10, log: () => {} };
    const listRun = { ...common, work: join(work, "list"), videos: [join(dir, "list.csv")] };
    const archiveRun = {
      ...common,
      work: join(work, "archives"),
      annotations: [join(dir, "train.csv")],
      archives: [join(dir, "paths.txt")],
    };
    assertEquals((await download(listRun)).failures, []);
    const first = await download(archiveRun);
    const errors = first.failures.map((f) => f.error);
    assert(
      errors.some((e) => e.startsWith("archive bowling.tar.gz failed: corrupt archive: ")),
      errors.join("\n"),
    );
    const remote = join(work, "list", "videos", "val", "archery", "remote.mp4");
    assert(await Deno.stat(remote).then(() => true, () => false));

    // the file of a done video is removed; the server gets a good archive
    await Deno.remove(remote);
    await Deno.writeFile(join(srv, "k700/train/bowling.tar.gz"), bytes);
    const n = server.requests.length;
    assertEquals((await download(listRun)).failures, []);
    assertEquals((await download(archiveRun)).failures, []);
    assertEquals(
      server.requests.slice(n).map((r) => r.path),
      ["/remote.mp4", "/k700/train/bowling.tar.gz"],
    );
    assertEquals(sha256(await Deno.readFile(remote)), sha256(fakeVideo("remote")));
    for (const id of ids) {
      const p = join(work, "archives", "videos", "train", "bowling", `${id}.mp4`);
      assertEquals(sha256(await Deno.readFile(p)), sha256(fakeVideo(id)), id);
    }
    // and third runs have nothing to fetch
    const m = server.requests.length;
    await download(listRun);
    await download(archiveRun);
    assertEquals(server.requests.length, m);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("download: the subset drawn from staged rows is selectSubset's, duplicates are named, and only it reaches the manifest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const labels = ["yoga", "abseiling", "tai chi", '"dancing, ballet"'];
    const lines = ["label,youtube_id,time_start,time_end,split"];
    for (let i = 0; i < 60; i++) {
      const split = ["train", "validate", "test"][i % 3];
      const label = split === "test" ? "" : labels[(i * 7) % labels.length];
      lines.push(`${label},vid${String(i).padStart(8, "0")},${i},${i + 10},${split}`);
    }
    lines.push("yoga,vid00000003,3,13,train"); // a duplicate of line 5
    const csv = join(dir, "k.csv");
    await Deno.writeTextFile(csv, lines.join("\n") + "\n");
    await makeArchive(join(dir, "archives", "train", "yoga.tar.gz"), []);
    const list = join(dir, "archives.txt");
    await Deno.writeTextFile(list, "archives/train/yoga.tar.gz\n");
    const rows = parseKineticsCsv(await Deno.readTextFile(csv), csv).rows;
    for (
      const opts of [
        { perClass: 2, seed: 5 },
        { limit: 7, seed: 11 },
        { splits: ["train", "test"] as ("train" | "test")[], perClass: 3, limit: 8, seed: 0 },
        { splits: ["val"] as "val"[] },
      ]
    ) {
      const work = join(dir, `work_${JSON.stringify(opts).replace(/\W/g, "")}`);
      const report = await download({
        work,
        annotations: [csv],
        archives: [list],
        quiet: true,
        log: () => {},
        ...opts,
      });
      const want = selectSubset(rows, opts).map((r) => r.id);
      const m = Manifest.open(join(work, "manifest.db"), { readOnly: true });
      const got = Array.from(m.steps.videoSteps("download"), (v) => v.id);
      m.close();
      assert(want.length > 0 && want.length < rows.length, JSON.stringify(opts));
      assertEquals(got, want, JSON.stringify(opts));
      assertEquals(report.selected, want.length);
      assertEquals(report.issues.map((i) => `${i.line}: ${i.message}`), [
        `62: duplicate id vid00000003_000003_000013 (first at ${csv}:5)`,
      ]);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
