import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { lavfiVideo, tempDir } from "../../tests/support/media.ts";
import { NO_SANDBOX, openDecodeSandbox, sandboxCandidates } from "./decode_sandbox.ts";
import { decodeFrames } from "./ffmpeg.ts";
import { defaultFfmpegBinary } from "./ffmpeg_binaries.ts";

const ffmpeg = defaultFfmpegBinary("ffmpeg");

Deno.test("decode sandbox: no network, nothing writable but the work dir, frames unchanged", async () => {
  const { dir, cleanup } = await tempDir();
  const work = join(dir, "work");
  await Deno.mkdir(work);
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    requests++;
    return new Response("x");
  });
  try {
    const s = await openDecodeSandbox(ffmpeg, await Deno.realPath(work));
    if (s.kind === "none") {
      // neither wrapper works here (the bootstrap installs bubblewrap where apt can): the
      // fallback line names why
      assert(/bwrap|unshare|neither/.test(s.note) && !s.note.includes("\n"), s.note);
      console.error(`decode sandbox: ${s.note}; the isolation checks did not run`);
      return;
    }
    const run = async (args: string[]) => {
      const { command, args: all } = s.wrap(ffmpeg, ["-v", "error", "-y", ...args]);
      return await new Deno.Command(command, { args: all, stdin: "null" }).output();
    };
    const url = `http://127.0.0.1:${server.addr.port}/v.mp4`;
    assert(!(await run(["-i", url, "-f", "null", "-"])).success, "a request must fail");
    assertEquals(requests, 0);
    // the control: outside the sandbox the same ffmpeg does reach the server
    await new Deno.Command(ffmpeg, { args: ["-v", "quiet", "-i", url, "-f", "null", "-"] })
      .output();
    assert(requests > 0, "ffmpeg made no request even without the sandbox");
    const frame = ["-f", "lavfi", "-i", "color=red:s=16x16:d=0.1", "-frames:v", "1"];
    assert((await run([...frame, join(work, "in.png")])).success, "a write into the work dir");
    if (s.kind === "bwrap") {
      const outside = await run([...frame, join(dir, "out.png")]);
      assert(!outside.success, "a write outside the work dir must fail");
    }
    // the same decode inside and outside the sandbox
    const clip = await lavfiVideo(join(dir, "c.mp4"), "testsrc2=s=320x240:r=25:d=2");
    const inside = await decodeFrames(clip, "c", { sandbox: s });
    const plain = await decodeFrames(clip, "c", { sandbox: NO_SANDBOX });
    assertEquals(inside.count, 2);
    assert(inside.data.every((v, i) => v === plain.data[i]), "sandboxed frames differ");
  } finally {
    await server.shutdown();
    await cleanup();
  }
});

Deno.test("decode sandbox: KINEMBED_SANDBOX=off or no wrapper falls back with one line", async () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const off = await openDecodeSandbox(ffmpeg, "/tmp", env({ KINEMBED_SANDBOX: "off" }));
  assertEquals([off.kind, off.note], ["none", "decoding without a sandbox (KINEMBED_SANDBOX=off)"]);
  const none = await openDecodeSandbox(ffmpeg, "/tmp", env({ PATH: "/nonexistent" }));
  assertEquals(none.kind, "none");
  assert(!none.note.includes("\n") && none.note.includes("neither bwrap nor unshare"), none.note);
  assertEquals(
    sandboxCandidates(env({ PATH: "/usr/bin", KINEMBED_SANDBOX: "unshare" }))
      .map((c) => c.kind),
    ["unshare"],
  );
  const u = await openDecodeSandbox(
    ffmpeg,
    "/tmp",
    env({ PATH: "/usr/bin:/bin", KINEMBED_SANDBOX: "unshare" }),
  );
  assertEquals(u.kind, "unshare", u.note);
});
