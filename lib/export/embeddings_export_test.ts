import { join } from "node:path";
import { makeSyntheticWorkDir } from "../../fixtures/synthetic_work_dir.ts";
import { shard } from "../shard/mod.ts";
import { readNpy, toFloat32 } from "../base/mod.ts";
import { EXPORT_RECORD, exportEmbeddings } from "./embeddings_export.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

Deno.test("exportEmbeddings: an export stopped before its record says complete is written again; every row has unit length; a copy of the shards is the same shards", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "work"),
      counts: { train: 5 },
      dim: 16,
      frames: (i) => 1 + i,
    });
    await shard({ work: layout.root, quiet: true });
    const out = join(dir, "export");
    const opts = { shards: layout.shards, out, partSize: 2, log: () => {} };
    const first = await exportEmbeddings({ ...opts, dtype: "float32" });
    assertEquals([first.rows, first.parts, first.dim], [5, 3, 16]);
    // as if killed before the end: the record not complete, a part gone
    const recordPath = join(out, EXPORT_RECORD);
    const record = JSON.parse(await Deno.readTextFile(recordPath));
    await Deno.writeTextFile(recordPath, JSON.stringify({ ...record, complete: false }));
    await Deno.remove(join(out, "img_emb", "img_emb_2.npy"));
    const again = await exportEmbeddings({ ...opts, dtype: "float32" });
    assertEquals([again.nothingToDo, again.rows, again.parts], [false, 5, 3]);
    for (let i = 0; i < 3; i++) {
      const a = readNpy(await Deno.readFile(join(out, "img_emb", `img_emb_${i}.npy`)));
      const v = toFloat32(a);
      for (let r = 0; r < a.shape[0]; r++) {
        const norm = Math.hypot(...v.subarray(r * 16, (r + 1) * 16));
        assert(Math.abs(norm - 1) < 1e-6, `part ${i} row ${r}: norm ${norm}`);
      }
    }
    assertEquals(JSON.parse(await Deno.readTextFile(recordPath)).complete, true);
    // a copy of the set (new times, the same manifest.json sha256s) is the same shards
    const copy = join(dir, "copy");
    await Deno.mkdir(copy);
    for await (const e of Deno.readDir(layout.shards)) {
      await Deno.copyFile(join(layout.shards, e.name), join(copy, e.name));
    }
    const copied = await exportEmbeddings({ ...opts, shards: copy, dtype: "float32" });
    assertEquals(copied.nothingToDo, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
