import { join } from "node:path";
import { WorkDirBusyError } from "../base/mod.ts";
import { ensureWorkDir, lockWorkDir } from "./work_dir.ts";
import { assert, assertRejects } from "../../tests/support/assert.ts";
import { repoPath, tempDir } from "../../tests/support/media.ts";

Deno.test("work dir lock: a second process refuses (or waits) while the first holds it", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await ensureWorkDir(dir);
    const holder = join(dir, "holder.ts");
    await Deno.writeTextFile(
      holder,
      `import { lockWorkDir } from ${JSON.stringify(repoPath("lib", "core", "work_dir.ts"))};
await lockWorkDir(${JSON.stringify(dir)});
console.log("held");
await new Promise((r) => setTimeout(r, 1500));
// written while the lock is still held: the lock is released only when this process exits
Deno.writeTextFileSync(${JSON.stringify(join(dir, "holder-done"))}, "");`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", holder],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert((await reader.read()).value?.includes("held"));
    const e = await assertRejects(() => lockWorkDir(dir, { wait: false }), "is in use by pid");
    assert(e instanceof WorkDirBusyError);
    let waited = "";
    const lock = await lockWorkDir(dir, { onWait: (h) => (waited = h) });
    assert(waited.startsWith("pid "), `told whom it waited for: ${waited}`);
    // the holder finished its work before the lock came free
    assert(
      await Deno.stat(join(dir, "holder-done")).then(() => true, () => false),
      "got the lock early",
    );
    lock.release();
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await child.status;
  } finally {
    await cleanup();
  }
});
