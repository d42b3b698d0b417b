/**
 * Faults of download's transfers and extraction, met the way a user meets them (`deno task
 * download`, through the launcher and its permissions): a server whose bodies are always cut short,
 * a disk that fills up while an archive is extracted, and archives that expand without bound.
 * Each task run is bounded by `timeout`, which ends the launcher and the step it started.
 */
import { basename, join } from "node:path";
import { Manifest } from "../lib/core/manifest.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";

/** Longest a task run may take before the test fails (seconds). */
const TASK_LIMIT_S = 90;

/** Runs `deno task --quiet download <args>`, killed (with its children) past TASK_LIMIT_S. */
async function download(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("timeout", {
    // timeout signals its whole process group: the launcher and the step it started
    args: [
      "-k",
      "5",
      String(TASK_LIMIT_S),
      Deno.execPath(),
      "task",
      "--quiet",
      "download",
      ...args,
    ],
    cwd: repoPath(),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const r = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  assert(r.code !== 124 && r.code !== 137, `download ran past ${TASK_LIMIT_S}s:\n${r.stderr}`);
  return r;
}

/** Writes a `.tar.gz` with Python's tarfile: real bytes, or only a header declaring `size`. */
async function pythonTarGz(
  path: string,
  members: { name: string; size: number; fill: "random" | "zeros" | "header-only" }[],
): Promise<void> {
  const script = `
import io, json, os, sys, tarfile, gzip
members = json.loads(sys.argv[2])
with gzip.open(sys.argv[1], "wb", compresslevel=9) as gz:
    t = tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT)
    for m in members:
        info = tarfile.TarInfo(m["name"])
        info.size = m["size"]
        if m["fill"] == "header-only":
            # the header alone, then a little of the body it announces: nothing reads further
            gz.write(info.tobuf(tarfile.GNU_FORMAT))
            gz.write(bytes(4096))
            break
        data = os.urandom(m["size"]) if m["fill"] == "random" else bytes(m["size"])
        t.addfile(info, io.BytesIO(data))
    else:
        t.close()
`;
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, path, JSON.stringify(members)],
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

/** Annotations for the given YouTube ids (class abseiling, train split, 1–11 s). */
async function annotations(path: string, youtubeIds: string[]): Promise<void> {
  await Deno.writeTextFile(
    path,
    "label,youtube_id,time_start,time_end,split\n" +
      youtubeIds.map((y) => `abseiling,${y},1,11,train\n`).join(""),
  );
}

/** The download states of the manifest's videos, by id. */
function downloadStates(work: string): Record<string, string> {
  const m = Manifest.open(join(work, "manifest.db"), { readOnly: true });
  try {
    const out: Record<string, string> = {};
    for (
      const id of ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"].map((y) => `${y}_000001_000011`)
    ) {
      const s = m.videos.get(id)?.steps.download?.state;
      if (s !== undefined) out[id] = s;
    }
    return out;
  } finally {
    m.close();
  }
}

const FILE_SIZE = 5000;
const PIECE = 1000;
const content = Uint8Array.from({ length: FILE_SIZE }, (_, i) => (i * 31 + 7) % 251);

/**
 * `/lying.mp4` declares 5000 bytes, sends 1000 and ends, ignoring Range (always 200).
 * `/resumable.mp4` honours Range (206) but sends at most 1000 bytes per answer.
 */
function shortBodyServer() {
  const seen: { path: string; range: string | null; status: number }[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    // a body cut short is the point: keep the log quiet
    onError: () => new Response("server error", { status: 500 }),
  }, (req) => {
    const path = new URL(req.url).pathname;
    const range = req.headers.get("range");
    const m = /^bytes=(\d+)-$/.exec(range ?? "");
    const start = path === "/resumable.mp4" && m ? Number(m[1]) : 0;
    const status = start > 0 ? 206 : 200;
    seen.push({ path, range, status });
    const headers = new Headers({ "content-length": String(FILE_SIZE - start), etag: '"v1"' });
    if (status === 206) {
      headers.set("content-range", `bytes ${start}-${FILE_SIZE - 1}/${FILE_SIZE}`);
    }
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(content.slice(start, start + PIECE));
        c.close();
      },
    });
    return new Response(body, { status, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requestsFor: (path: string) => seen.filter((s) => s.path === path),
    close: () => server.shutdown(),
  };
}

Deno.test("download: a server that cuts every body short and ignores Range gets retries+1 requests, and the failure names the URL and what happened; a server honouring Range is resumed to the end", async () => {
  const { dir, cleanup } = await tempDir();
  const server = shortBodyServer();
  try {
    const list = join(dir, "videos.csv");
    await Deno.writeTextFile(
      list,
      `path,label,split\n${server.url}/lying.mp4,abseiling,train\n` +
        `${server.url}/resumable.mp4,abseiling,train\n`,
    );
    const work = join(dir, "work");
    const r = await download([
      "--work",
      work,
      "--videos",
      list,
      "--retries",
      "2",
      "--retry-delay",
      "0.01",
      "--jobs",
      "1",
      "--quiet",
    ]);
    assertEquals(r.code, 1, r.stderr + r.stdout);
    // today's code sent hundreds of requests a second, without end
    assertEquals(server.requestsFor("/lying.mp4").map((s) => [s.range, s.status]), [
      [null, 200],
      ["bytes=1000-", 200],
      ["bytes=1000-", 200],
    ]);
    const want =
      `${server.url}/lying.mp4: server sent 1000 of 5000 bytes (Content-Length) 3 times; ` +
      "the server answers Range requests with 200 and the whole file, so nothing received could " +
      "be kept (after 3 attempts)";
    const failed = r.stderr.split("\n").filter((l) => l.endsWith(want));
    assert(failed.length >= 1, `no line ending with ${want} in:\n${r.stderr}`);
    for (const line of r.stderr.split("\n")) assert(line.length < 300, line);
    // five answers of 1000 bytes each, every one kept: more attempts than --retries allows
    // failures, as each made progress
    assertEquals(server.requestsFor("/resumable.mp4").map((s) => s.status), [
      200,
      206,
      206,
      206,
      206,
    ]);
    assert(r.stdout.includes("train: 1 done, 1 failed, 0 pending"), r.stdout);
    const files: string[] = [];
    for await (const e of Deno.readDir(join(work, "videos", "train", "abseiling"))) {
      files.push(e.name);
    }
    assertEquals(files.length, 1, files.join(", "));
    assertEquals(
      await Deno.readFile(join(work, "videos", "train", "abseiling", files[0])),
      content,
    );
  } finally {
    await server.close();
    await cleanup();
  }
});

/** Can this process mount a tmpfs here (root in CI; not in every container)? */
async function canMount(dir: string): Promise<boolean> {
  const out = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
    stderr: "null",
  }).output().catch(() => null);
  if (!out?.success) return false;
  await umount(dir);
  return true;
}

async function umount(dir: string): Promise<void> {
  await new Deno.Command("umount", { args: [dir], stderr: "null" }).output();
}

async function mount(dir: string, opts: string[]): Promise<void> {
  const out = await new Deno.Command("mount", { args: [...opts, dir], stderr: "piped" }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("download: a disk that fills up while an archive is extracted is reported as a full disk naming the work dir (exit 2), the members before it are kept, and a rerun with room finishes", async (t) => {
  const { dir, cleanup } = await tempDir();
  const mnt = join(dir, "mnt");
  await Deno.mkdir(mnt);
  if (!(await canMount(mnt))) {
    await t.step({ name: "tmpfs mount not permitted here", ignore: true, fn: () => {} });
    await cleanup();
    return;
  }
  try {
    const archive = join(dir, "abseiling.tar.gz");
    const small = 50_000;
    await pythonTarGz(archive, [
      { name: "train/abseiling/aaaaaaaaaaa_000001_000011.mp4", size: small, fill: "random" },
      { name: "train/abseiling/bbbbbbbbbbb_000001_000011.mp4", size: small, fill: "random" },
      // more than the whole disk holds
      { name: "train/abseiling/ccccccccccc_000001_000011.mp4", size: 6_000_000, fill: "random" },
    ]);
    await Deno.writeTextFile(join(dir, "list.txt"), "abseiling.tar.gz\n");
    await annotations(join(dir, "train.csv"), ["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc"]);
    await mount(mnt, ["-t", "tmpfs", "-o", "size=4m", "tmpfs"]);
    try {
      const work = join(mnt, "work");
      const args = [
        "--work",
        work,
        "--annotations",
        join(dir, "train.csv"),
        "--archives",
        join(dir, "list.txt"),
        "--quiet",
      ];
      const full = await download(args);
      assertEquals(full.code, 2, full.stderr + full.stdout);
      const lines = full.stderr.trim().split("\n");
      assertEquals(lines.length, 1, full.stderr);
      const dest = join(work, "videos", "train", "abseiling", "ccccccccccc_000001_000011.mp4");
      // the task may read only its work dir: the device is named by number and that folder; a
      // line longer than 300 characters (long temp paths) keeps its start and end around a "…"
      const expected = `kinembed download: no space left on device 0:0 (holding ${work}) writing ` +
        `${dest}; the 2 members of ${basename(archive)} extracted before it are kept; free ` +
        "space and run again (finished work is kept)";
      const pattern = expected.length <= 300
        ? new RegExp(`^${escapeRegExp(expected).replace("device 0:0", "device \\d+:\\d+")}$`)
        : /^kinembed download: no space left on device \d+:\d+ \(holding .*….*; free space and run again \(finished work is kept\)$/;
      assert(pattern.test(lines[0]), lines[0]);
      assert(lines[0].length <= 300, lines[0]);
      assert(!full.stderr.includes("corrupt archive"), full.stderr);
      const states = downloadStates(work);
      assertEquals(
        [states["aaaaaaaaaaa_000001_000011"], states["bbbbbbbbbbb_000001_000011"]],
        ["done", "done"],
      );
      assert(states["ccccccccccc_000001_000011"] !== "done", JSON.stringify(states));
      // no half-written member is left behind
      const left: string[] = [];
      for await (const e of Deno.readDir(join(work, "videos", "train", "abseiling"))) {
        left.push(e.name);
      }
      assertEquals(left.sort(), [
        "aaaaaaaaaaa_000001_000011.mp4",
        "bbbbbbbbbbb_000001_000011.mp4",
      ]);

      await mount(mnt, ["-o", "remount,size=16m"]);
      const again = await download(args);
      assertEquals(again.code, 0, again.stderr + again.stdout);
      assert(again.stdout.includes("train: 3 done, 0 failed, 0 pending"), again.stdout);
      const size = (await Deno.stat(dest)).size;
      assertEquals(size, 6_000_000);
    } finally {
      await umount(mnt);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("download: an archive member declaring more than 4 GiB, or an archive expanding more than 100×, is refused naming the archive (and member); the members before it are kept", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    await annotations(join(dir, "train.csv"), ["aaaaaaaaaaa", "bbbbbbbbbbb"]);
    const args = (work: string, list: string) => [
      "--work",
      work,
      "--annotations",
      join(dir, "train.csv"),
      "--archives",
      list,
      "--quiet",
    ];
    const good = "train/abseiling/aaaaaaaaaaa_000001_000011.mp4";
    const bomb = "train/abseiling/bbbbbbbbbbb_000001_000011.mp4";

    await t.step("a member declaring 5 GiB", async () => {
      const archive = join(dir, "huge", "abseiling.tar.gz");
      await Deno.mkdir(join(dir, "huge"));
      await pythonTarGz(archive, [
        { name: good, size: 20_000, fill: "random" },
        { name: bomb, size: 5 * 1024 ** 3, fill: "header-only" },
      ]);
      await Deno.writeTextFile(join(dir, "huge", "list.txt"), "abseiling.tar.gz\n");
      const work = join(dir, "work-huge");
      const r = await download(args(work, join(dir, "huge", "list.txt")));
      assertEquals(r.code, 1, r.stderr + r.stdout);
      const want = `archive abseiling.tar.gz: member ${JSON.stringify(bomb)} declares ` +
        `${5 * 1024 ** 3} bytes, over the 4 GiB limit for one member: refused as a ` +
        "decompression bomb; members extracted before are kept";
      assert(r.stderr.split("\n").includes(want), `no line ${want} in:\n${r.stderr}`);
      assert(!r.stderr.includes("corrupt archive"), r.stderr);
      assertEquals(downloadStates(work), {
        "aaaaaaaaaaa_000001_000011": "done",
        "bbbbbbbbbbb_000001_000011": "failed",
      });
    });

    await t.step("members expanding 1000× (each under the member limit)", async () => {
      const archive = join(dir, "zeros", "abseiling.tar.gz");
      await Deno.mkdir(join(dir, "zeros"));
      // names that match no annotation row: their bytes are read and dropped, never written
      await pythonTarGz(archive, [
        { name: good, size: 20_000, fill: "random" },
        ...[1, 2, 3].map((i) => ({
          name: `train/abseiling/zzzzzzzzzz${i}_000001_000011.mp4`,
          size: 30 * 1024 ** 2,
          fill: "zeros" as const,
        })),
        { name: bomb, size: 20_000, fill: "random" },
      ]);
      assert((await Deno.stat(archive)).size < 1024 ** 2, "the archive is small");
      await Deno.writeTextFile(join(dir, "zeros", "list.txt"), "abseiling.tar.gz\n");
      const work = join(dir, "work-zeros");
      const r = await download(args(work, join(dir, "zeros", "list.txt")));
      assertEquals(r.code, 1, r.stderr + r.stdout);
      const line = r.stderr.split("\n").find((l) =>
        l.startsWith("archive abseiling.tar.gz: expands more than 100× (")
      );
      assert(line, r.stderr);
      assert(
        line.endsWith("): refused as a decompression bomb; members extracted before are kept"),
        line,
      );
      assertEquals(downloadStates(work), {
        "aaaaaaaaaaa_000001_000011": "done",
        "bbbbbbbbbbb_000001_000011": "failed",
      });
    });
  } finally {
    await cleanup();
  }
});

/** A string's regular-expression metacharacters escaped. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
