import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { ConfigError, UsageError } from "../base/mod.ts";
import { KNOWN_MODELS, parseModelSource } from "./model_source.ts";

Deno.test("parseModelSource reads repo ids, with and without a revision", () => {
  assertEquals(parseModelSource("openai/clip-vit-base-patch32"), {
    kind: "hub",
    repo: "openai/clip-vit-base-patch32",
    revision: null,
  });
  assertEquals(parseModelSource("laion/CLIP-ViT-B-32-laion2B-s34B-b79K@refs/pr/3"), {
    kind: "hub",
    repo: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    revision: "refs/pr/3",
  });
});

Deno.test("parseModelSource takes an existing path as local, even one named like a repo", async () => {
  const dir = await Deno.makeTempDir();
  const cwd = Deno.cwd();
  try {
    Deno.chdir(dir);
    await Deno.mkdir("openai/clip-vit-base-patch32", { recursive: true });
    await Deno.writeFile("weights.bin", new Uint8Array(4));
    await Deno.writeFile("model.safetensors", new Uint8Array(4));
    assertEquals(parseModelSource("openai/clip-vit-base-patch32"), {
      kind: "checkpoint",
      path: "openai/clip-vit-base-patch32",
    });
    assertEquals(parseModelSource("model.safetensors"), {
      kind: "checkpoint",
      path: "model.safetensors",
    });
    // Any other existing file is given to ONNX Runtime as it is.
    assertEquals(parseModelSource("weights.bin"), { kind: "onnx", path: "weights.bin" });
    // Missing files are classed by their extension, to be refused later naming the file.
    assertEquals(parseModelSource("absent.onnx"), { kind: "onnx", path: "absent.onnx" });
    assertEquals(parseModelSource(join(dir, "absent.safetensors")), {
      kind: "checkpoint",
      path: join(dir, "absent.safetensors"),
    });
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseModelSource refuses what is neither a path here nor a repo id", async () => {
  for (const spec of ["clip", "./missing/model", "/nowhere/at/all", "a/b/c", "owner/na me"]) {
    const e = await assertRejects(
      () => parseModelSource(spec),
      `model ${
        JSON.stringify(spec)
      } is neither a file or folder here nor a hub repo id (owner/name[@revision])`,
    );
    assert(e instanceof UsageError, spec);
  }
});

Deno.test("parseModelSource refuses a device or a FIFO before anything reads it", async () => {
  const e = await assertRejects(
    () => parseModelSource("/dev/null"),
    'model "/dev/null" is a character device',
  );
  assert(e instanceof ConfigError);
  const dir = await Deno.makeTempDir();
  try {
    const fifo = join(dir, "pipe.onnx");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success);
    await assertRejects(() => parseModelSource(fifo), "is a FIFO (named pipe), not a regular file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KNOWN_MODELS pin full commit hashes and parse as hub repo ids", () => {
  for (const [name, known] of Object.entries(KNOWN_MODELS)) {
    assert(/^[0-9a-f]{40}$/.test(known.revision), name);
    assert(known.layout === "transformers" || known.layout === "open_clip", name);
    assert(/\d+-d$/.test(known.description), name);
    assertEquals(parseModelSource(name), { kind: "hub", repo: name, revision: null });
  }
});
