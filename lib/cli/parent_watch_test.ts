import { join } from "node:path";
import { assert } from "../../tests/support/assert.ts";
import { PARENT_POLL_MS } from "./parent_watch.ts";

/**
 * Whether a process runs (not gone, not a zombie), as `ps` sees it: the suite's permissions do
 * not let Deno read `/proc` itself.
 */
async function alive(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "stat=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  const state = new TextDecoder().decode(out.stdout).trim();
  return out.success && state !== "" && !state.startsWith("Z");
}

Deno.test("a watching process stops within a second of its parent's SIGKILL; a watched parent that lives keeps it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const child = join(dir, "child.ts");
    await Deno.writeTextFile(
      child,
      `import { watchParent } from ${
        JSON.stringify(new URL("./parent_watch.ts", import.meta.url).href)
      };
watchParent(() => Deno.exit(1));
await Deno.writeTextFile(Deno.args[0], String(Deno.pid));
setTimeout(() => {}, 60_000);
`,
    );
    const ready = join(dir, "ready");
    // the parent: a shell that starts the child in the background and waits for it
    const parent = new Deno.Command("bash", {
      args: ["-c", `"$0" run --allow-write "$1" "$2" & wait`, Deno.execPath(), child, ready],
      stdout: "null",
      stderr: "null",
    }).spawn();
    let pid = 0;
    for (let i = 0; i < 600 && pid === 0; i++) {
      pid = Number(await Deno.readTextFile(ready).catch(() => "0"));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert(pid > 0, "the child never started");
    await new Promise((r) => setTimeout(r, 3 * PARENT_POLL_MS));
    assert(await alive(pid), "the child stopped while its parent lived");
    parent.kill("SIGKILL");
    await parent.status;
    const killed = Date.now();
    while (await alive(pid)) {
      assert(Date.now() - killed < 1_000, `pid ${pid} still runs a second after its parent died`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
