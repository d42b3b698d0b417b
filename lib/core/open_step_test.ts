import { openStep } from "./open_step.ts";
import { WorkDirBusyError } from "../base/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("open_step: makes the work dir and its folders, clears stale temps, opens the manifest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "open_step_test_" });
  try {
    const work = `${dir}/runs/a`;
    await Deno.mkdir(`${work}/emb`, { recursive: true });
    // what a killed run leaves: temp files beside finished ones, which stay
    await Deno.writeTextFile(`${work}/emb/v1.npy.partial`, "half");
    await Deno.writeTextFile(`${work}/emb/v2.npy`, "whole");
    await Deno.mkdir(`${work}/shards`);
    await Deno.writeTextFile(`${work}/shards/train-000000.tar.partial`, "half");
    await Deno.mkdir(`${work}/videos`);
    await Deno.writeTextFile(`${work}/videos/kept.mp4.partial`, "resumable");
    const step = await openStep(work);
    try {
      assertEquals(step.layout.root, work);
      for (const d of ["videos", "downloads", "frames", "emb", "shards", "reports"]) {
        assert((await Deno.stat(`${work}/${d}`)).isDirectory, d);
      }
      assertEquals(await exists(`${work}/emb/v1.npy.partial`), false);
      assertEquals(await exists(`${work}/shards/train-000000.tar.partial`), false);
      assertEquals(await Deno.readTextFile(`${work}/emb/v2.npy`), "whole");
      // videos/ is not swept: a partial download there is resumed, not thrown away
      assertEquals(await exists(`${work}/videos/kept.mp4.partial`), true);
      assertEquals(step.manifest.config(), {});
      assert((await Deno.stat(`${work}/manifest.db`)).isFile);
    } finally {
      step.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("open_step: the lock is held until close; a second opener with wait: false is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "open_step_test_" });
  try {
    const first = await openStep(dir);
    const e = await assertRejects(
      () => openStep(dir, { wait: false }),
      `work dir ${dir} is in use by pid`,
    );
    assert(e instanceof WorkDirBusyError, String(e));
    first.close();
    const second = await openStep(dir, { wait: false });
    assertEquals(second.manifest.config(), {});
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("open_step: a manifest that cannot open releases the lock it took", async () => {
  const dir = await Deno.makeTempDir({ prefix: "open_step_test_" });
  try {
    await Deno.writeTextFile(
      `${dir}/manifest.db`,
      "this is not a database, it is text ".repeat(100),
    );
    const e = await assertRejects(() => openStep(dir, { wait: false }), "manifest.db");
    assert(!(e instanceof WorkDirBusyError), String(e));
    await Deno.remove(`${dir}/manifest.db`);
    const step = await openStep(dir, { wait: false });
    step.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("open_step: removeTemps: false leaves temp files to the step; onWait hears who holds the lock, then the lock is taken", async () => {
  const dir = await Deno.makeTempDir({ prefix: "open_step_test_" });
  try {
    await Deno.mkdir(`${dir}/shards`);
    await Deno.writeTextFile(`${dir}/shards/ds_000000.tar.partial`, "another worker's");
    const first = await openStep(dir, { removeTemps: false });
    assertEquals(await exists(`${dir}/shards/ds_000000.tar.partial`), true);
    const heard: string[] = [];
    const second = openStep(dir, { onWait: (holder) => void heard.push(holder) });
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(heard.length, 1);
    assert(heard[0].startsWith(`pid ${Deno.pid} `), heard[0]);
    first.close();
    (await second).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
