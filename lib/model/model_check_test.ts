import { assert, assertEquals } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { writeFixtureCheckpoint } from "../../fixtures/clip_checkpoints.ts";
import { checkpointFiles, startFakeHub } from "../../tests/support/fake_hub.ts";
import { OnnxGraph } from "../onnx/mod.ts";
import { checkModel } from "./model_check.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kinembed-check-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("checkModel looks at an .onnx file's first byte and its kind, not its name alone", async () => {
  await withDir(async (dir) => {
    const g = new OnnxGraph({ name: "id" });
    g.node("Identity", [g.input("x", "float32", [1])], {}, { out: "y" });
    g.output("y", "float32", [1]);
    await Deno.writeFile(join(dir, "ok.onnx"), await g.serialize());
    assertEquals(await checkModel(join(dir, "ok.onnx")), null);
    const bad = "not an ONNX model (give an .onnx file, a checkpoint, or a hub repo id)";
    await Deno.writeFile(join(dir, "zeros.onnx"), new Uint8Array(64));
    assertEquals(await checkModel(join(dir, "zeros.onnx")), bad);
    await Deno.writeTextFile(join(dir, "text.onnx"), "<html>not found</html>");
    assertEquals(await checkModel(join(dir, "text.onnx")), bad);
    await Deno.writeFile(join(dir, "empty.onnx"), new Uint8Array(0));
    assertEquals(await checkModel(join(dir, "empty.onnx")), bad);
    await Deno.mkdir(join(dir, "folder.onnx"));
    assertEquals(await checkModel(join(dir, "folder.onnx")), "a folder, not a file");
    assertEquals(await checkModel(join(dir, "missing.onnx")), "not found");
    assertEquals(
      await checkModel("/dev/null"),
      "not a regular file (a device, FIFO or socket is never read)",
    );
    assertEquals(
      await checkModel("no-such-thing"),
      "not found (neither a file or folder here nor a hub repo id owner/name[@revision])",
    );
  });
});

Deno.test("checkModel opens a checkpoint's header and says why one does not read", async () => {
  await withDir(async (dir) => {
    await writeFixtureCheckpoint(join(dir, "ckpt"), { layout: "open_clip", seed: 1 });
    assertEquals(await checkModel(join(dir, "ckpt")), null);
    await Deno.writeTextFile(join(dir, "broken.safetensors"), "definitely not safetensors");
    const reason = await checkModel(join(dir, "broken.safetensors"));
    assert(reason?.startsWith("not a CLIP checkpoint: "), String(reason));
    assert(!reason?.includes("\n"));
    assertEquals(await checkModel(join(dir, "gone.safetensors")), "not found");
  });
});

Deno.test("checkModel asks the hub for the config alone, trying both layouts for an unknown repo", async () => {
  const hub = await startFakeHub();
  const dir = await Deno.makeTempDir({ prefix: "kinembed-check-" });
  try {
    await writeFixtureCheckpoint(join(dir, "ckpt"), { layout: "open_clip", seed: 2 });
    await hub.addRepo("acme/clip-oc", await checkpointFiles(join(dir, "ckpt")));
    const opts = {
      hub: { endpoint: hub.url, token: null, cacheDir: join(dir, "hub"), offline: false },
      hubClient: { fetcher: { retryBaseMs: 5, retryMaxMs: 20 }, retries: 1 },
    };
    assertEquals(await checkModel("acme/clip-oc", opts), null);
    // No weights were fetched: the CDN that serves them saw nothing.
    assertEquals(hub.cdn.requests.length, 0);
    assert(
      !hub.requests.some((r) => r.path.endsWith(".safetensors")),
      JSON.stringify(hub.requests),
    );
    const missing = await checkModel("acme/no-such-model", opts);
    // Both layouts were asked for; the reason is the last one's.
    assert(
      missing?.startsWith(
        "acme/no-such-model/open_clip_config.json@main: not found on the hub (HTTP 404",
      ),
      String(missing),
    );
    assert(
      hub.requests.some((r) => r.path.includes("acme/no-such-model/resolve/main/config.json")),
    );
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
});
