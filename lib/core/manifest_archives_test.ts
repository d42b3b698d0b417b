import { join } from "node:path";
import { Manifest } from "./manifest.ts";
import { assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

Deno.test("manifest archives: an outcome is recorded, replaced, and listed in URL order", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const m = Manifest.open(join(dir, "manifest.db"));
    const b = "http://127.0.0.1/b.tar.gz";
    const a = "http://127.0.0.1/a.tar.gz";
    assertEquals(m.archives.get(b), undefined);
    m.archives.put({ url: b, state: "failed", bytes: null, sha256: null, error: "HTTP 503" });
    m.archives.put({ url: a, state: "done", bytes: 12, sha256: "ab", error: null });
    assertEquals(m.archives.get(b)?.error, "HTTP 503");
    m.archives.put({ url: b, state: "done", bytes: 7, sha256: "cd", error: null });
    assertEquals(m.archives.all(), [
      { url: a, state: "done", bytes: 12, sha256: "ab", error: null },
      { url: b, state: "done", bytes: 7, sha256: "cd", error: null },
    ]);
    m.close();
  } finally {
    await cleanup();
  }
});
