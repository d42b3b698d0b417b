import { assert, assertRejects } from "../../tests/support/assert.ts";
import { fileURLToPath } from "node:url";
import { ortRuntime } from "../onnx/mod.ts";

const PROBE = fileURLToPath(new URL("./cuda_probe.ts", import.meta.url));

Deno.test("importing the probe runs nothing and loads no ONNX Runtime", async () => {
  await import("./cuda_probe.ts");
  await assertRejects(() => ortRuntime(), "before loadOrt()");
});

Deno.test("the probe answers on one stdout line: ok with the batch it ran, or why CUDA did not open", async () => {
  // The permissions gpu-setup gives it; an empty library folder in front changes nothing here.
  const empty = await Deno.makeTempDir();
  try {
    const env = { ...Deno.env.toObject() };
    env.LD_LIBRARY_PATH = [empty, env.LD_LIBRARY_PATH ?? ""].filter((d) => d).join(":");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-ffi",
        "--allow-env",
        "--allow-sys",
        "--no-prompt",
        PROBE,
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    assert(lines.length === 1 && lines[0].length > 0, JSON.stringify(lines));
    const line = lines[0];
    if (out.success) {
      assert(
        /^ok: the cuda provider opened a model and ran it \(2 × 512, \d+ ms\)$/.test(line),
        line,
      );
    } else {
      assert(out.code === 1, `exit ${out.code}`);
      assert(!line.startsWith("ok") && line.length <= 400, line);
      // The reason names the provider that did not open, not a stack trace.
      assert(/cuda/i.test(line) && !/^\s+at /m.test(line), line);
    }
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});
