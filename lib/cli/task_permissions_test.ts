import { assert, assertEquals } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { taskLaunch } from "./task_permissions.ts";
import { DEFAULT_HUB_CDN_HOSTS } from "../model/mod.ts";
import { TASK_SPECS } from "./task_specs.ts";

function flag(flags: string[], name: string): string[] | null {
  const f = flags.find((x) => x === `--allow-${name}` || x.startsWith(`--allow-${name}=`));
  if (f === undefined) return null;
  return f.includes("=") ? f.slice(f.indexOf("=") + 1).split(",") : [];
}

Deno.test("a hub model: network to the endpoint and its CDN hosts only, the two caches writable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const vars: Record<string, string> = { HOME: dir, PATH: Deno.env.get("PATH") ?? "" };
    const env = (n: string) => vars[n];
    const args = ["--work", join(dir, "w"), "--model", "openai/clip-vit-base-patch32"];
    const l = await taskLaunch("encode", args, { cwd: dir, env });
    assertEquals(flag(l.flags, "net")?.sort(), ["huggingface.co", ...DEFAULT_HUB_CDN_HOSTS].sort());
    const write = flag(l.flags, "write")!;
    assert(write.includes(join(dir, ".cache", "huggingface", "hub")), write.join(" "));
    assert(write.includes(join(dir, ".cache", "kinembed", "models")), write.join(" "));
    assert(flag(l.flags, "env")!.includes("HF_TOKEN"));

    // a mirror: its host and the hosts named for its CDN, nothing else
    vars.HF_ENDPOINT = "http://127.0.0.1:1234";
    vars.KINEMBED_ALLOW_NET = "127.0.0.1:5678";
    vars.HF_HUB_CACHE = join(dir, "hf");
    const mirror = await taskLaunch("run", args, { cwd: dir, env });
    assertEquals(flag(mirror.flags, "net")?.sort(), ["127.0.0.1:1234", "127.0.0.1:5678"]);
    assert(flag(mirror.flags, "write")!.includes(join(dir, "hf")));

    // offline: no network at all
    vars.HF_HUB_OFFLINE = "1";
    const offline = await taskLaunch("eval", ["--work", dir, "--text-model", "a/b"], {
      cwd: dir,
      env,
    });
    assertEquals(flag(offline.flags, "net"), null);

    // an .onnx file or a checkpoint on disk: no network, no hub cache
    delete vars.HF_HUB_OFFLINE;
    const onnx = await taskLaunch("encode", ["--work", dir, "--model", "v.onnx"], {
      cwd: dir,
      env,
    });
    assertEquals(flag(onnx.flags, "net"), null);
    await Deno.mkdir(join(dir, "ckpt"));
    const local = await taskLaunch("encode", ["--work", join(dir, "w"), "--model", "ckpt"], {
      cwd: dir,
      env,
    });
    assertEquals(flag(local.flags, "net"), null);
    assert(flag(local.flags, "read")!.includes(join(dir, "ckpt")));
    assert(!flag(local.flags, "write")!.includes(join(dir, "hf")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every input flag a task declares is granted from the same declaration, at the caller's directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const env = (n: string) => n === "PATH" ? Deno.env.get("PATH") : undefined;
    for (const [task, spec] of Object.entries(TASK_SPECS)) {
      for (const [name, f] of Object.entries(spec.flags)) {
        if (f.access !== "read-file" && f.access !== "read-folder" && f.access !== "work") continue;
        const work = name !== "work" && spec.flags.work !== undefined ? ["--work", "w"] : [];
        const args = [`--${name}`, `in-${name}`, ...work];
        const l = await taskLaunch(task, args, { cwd: dir, env });
        assertEquals(l.cwd, dir);
        const read = flag(l.flags, "read");
        assert(
          l.flags.includes("--allow-read") || read?.includes(join(dir, `in-${name}`)),
          `${task} --${name}: ${l.flags.join(" ")}`,
        );
        if (f.access === "work") {
          assert(flag(l.flags, "write")?.includes(join(dir, `in-${name}`)), `${task} --${name}`);
        }
      }
    }
    // demo has no --ffmpeg flag, yet samples with ffmpeg and ffprobe
    const demo = await taskLaunch("demo", ["--work", "w"], { cwd: dir, env });
    assert(demo.env.FFMPEG_PATH && demo.env.FFPROBE_PATH, JSON.stringify(demo.env));
    assert(flag(demo.flags, "run")!.includes(demo.env.FFMPEG_PATH), demo.flags.join(" "));
    // eval --force (a switch) is parsed as the task parses it: the next flag keeps its value
    const l = await taskLaunch("eval", ["--force", "--card", "c.md", "--shards", "s"], {
      cwd: dir,
      env,
    });
    assert(flag(l.flags, "read")!.includes(join(dir, "c.md")), l.flags.join(" "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
