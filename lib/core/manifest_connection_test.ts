import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { ManifestConnection } from "./manifest_connection.ts";
import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

Deno.test("manifest connection: outputs inside the work dir are stored relative, and resolved back", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "manifest.db");
    const c = new ManifestConnection(path, new DatabaseSync(path));
    assertEquals(c.stored(join(dir, "emb", "a.npy")), "emb/a.npy");
    assertEquals(c.stored("/elsewhere/a.mp4"), "/elsewhere/a.mp4");
    assertEquals(c.stored(null), null);
    assertEquals(c.resolved("emb/a.npy"), join(dir, "emb", "a.npy"));
    assertEquals(c.resolved("/elsewhere/a.mp4"), "/elsewhere/a.mp4");
    assertEquals(c.resolved(null), null);
    c.db.close();
  } finally {
    await cleanup();
  }
});

Deno.test("manifest connection: a transaction that throws writes nothing", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "manifest.db");
    const c = new ManifestConnection(path, new DatabaseSync(path));
    c.db.exec("CREATE TABLE t (x INTEGER)");
    await assertRejects(() =>
      c.tx(() => {
        c.write("INSERT INTO t VALUES (?)", 1);
        throw new Error("stop");
      }), "stop");
    assertEquals(c.stmt("SELECT COUNT(*) AS n FROM t").get()?.n, 0);
    assertEquals(c.tx(() => c.write("INSERT INTO t VALUES (?)", 2).changes), 1);
    c.db.close();
  } finally {
    await cleanup();
  }
});
