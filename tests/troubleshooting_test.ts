/**
 * The messages docs/troubleshooting.md promises under "Permissions → What you may meet", produced
 * the way a user meets them: through `deno task <step>` (the launcher and its permissions).
 */
import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { lavfiVideo, repoPath, tempDir, workWithVideos } from "./support/media.ts";

async function denoTask(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  unset: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const all = { ...Deno.env.toObject(), ...env };
  for (const k of unset) delete all[k];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: repoPath(),
    env: all,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** One class, one train video, in one archive; the annotation CSV and the archive list. */
async function oneVideoDataset(
  dir: string,
): Promise<{ csv: string; tgz: Uint8Array<ArrayBuffer> }> {
  const video = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
  const id = "vidAAAAAAAA_000001_000011";
  const tgz = join(dir, "all.tar.gz");
  const py = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import sys,tarfile\nwith tarfile.open(sys.argv[1],'w:gz') as t: t.add(sys.argv[2], arcname=sys.argv[3])",
      tgz,
      video,
      `train/abseiling/${id}.mp4`,
    ],
  }).output();
  assert(py.success);
  const csv = join(dir, "train.csv");
  await Deno.writeTextFile(
    csv,
    "label,youtube_id,time_start,time_end,split\nabseiling,vidAAAAAAAA,1,11,train\n",
  );
  return { csv, tgz: await Deno.readFile(tgz) };
}

Deno.test("a server that redirects to another host: the archive fails naming the host; KINEMBED_ALLOW_NET lets the rerun fetch it", async () => {
  const { dir, cleanup } = await tempDir();
  const { csv, tgz } = await oneVideoDataset(dir);
  // the "CDN": another host name for this machine
  const cdn = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(tgz),
  );
  const cdnHost = `localhost:${cdn.addr.port}`;
  const origin = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.redirect(`http://${cdnHost}/all.tar.gz`, 302),
  );
  try {
    const list = join(dir, "list.txt");
    await Deno.writeTextFile(list, `http://127.0.0.1:${origin.addr.port}/all.tar.gz\n`);
    const work = join(dir, "work");
    const args = ["--work", work, "--annotations", csv, "--archives", list, "--quiet"];
    const refused = await denoTask("download", args);
    assertEquals(refused.code, 1, refused.stdout + refused.stderr);
    assert(
      refused.stderr.includes(
        `archive all.tar.gz: network access refused: Requires net access to "${cdnHost}"`,
      ),
      refused.stderr,
    );
    const allowed = await denoTask("download", args, { KINEMBED_ALLOW_NET: cdnHost });
    assertEquals(allowed.code, 0, allowed.stdout + allowed.stderr);
    const got = await Array.fromAsync(Deno.readDir(join(work, "videos", "train", "abseiling")));
    assertEquals(got.map((e) => e.name), ["vidAAAAAAAA_000001_000011.mp4"]);
  } finally {
    await origin.shutdown();
    await cdn.shutdown();
    await cleanup();
  }
});

Deno.test("a path with a comma: one line naming it, before the step starts", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const odd = join(dir, "a,b");
    await Deno.mkdir(odd);
    const list = join(odd, "list.txt");
    await Deno.writeTextFile(list, "http://127.0.0.1:9/x.tar.gz\n");
    const r = await denoTask("download", ["--work", join(dir, "work"), "--archives", list]);
    assertEquals(r.code, 2, r.stdout + r.stderr);
    assertEquals(
      r.stderr.trim(),
      `kinembed download: cannot grant read access to "${list}": Deno's permission lists are ` +
        "comma-separated, so a path or name with a comma cannot be allowed; rename it",
    );
    assert(!(await Deno.stat(join(dir, "work")).then(() => true, () => false)), "work dir made");
  } finally {
    await cleanup();
  }
});

Deno.test("ffmpeg missing: one line saying so, and no video is marked failed", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const v = await lavfiVideo(join(dir, "v.mp4"), "testsrc=s=160x120:r=10:d=1");
    await workWithVideos(work, [{ id: "v", path: v }]);
    // a PATH with deno and nothing else, and FFMPEG_PATH naming a binary that is not there
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    await Deno.symlink(Deno.execPath(), join(bin, "deno"));
    const gone = join(dir, "no-ffmpeg");
    const r = await denoTask("sample", ["--work", work], {
      PATH: bin,
      FFMPEG_PATH: gone,
      FFPROBE_PATH: gone,
    });
    assertEquals(r.code, 2, r.stdout + r.stderr);
    assertEquals(
      r.stderr.trim(),
      `kinembed sample: ffmpeg not found (${
        JSON.stringify(gone)
      }): install it, or point --ffmpeg ` +
        "or FFMPEG_PATH at the binary",
    );
    const again = await denoTask("sample", ["--work", work, "--quiet"]);
    assertEquals(again.code, 0, again.stdout + again.stderr);
    assert(again.stdout.includes("sample: 1 videos"), again.stdout);
  } finally {
    await cleanup();
  }
});
