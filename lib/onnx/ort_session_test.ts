import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { ConfigError } from "../base/mod.ts";
import { OnnxGraph } from "./onnx_graph.ts";
import { loadOrt } from "./ort.ts";
import { openSession } from "./ort_session.ts";
import type { ProviderName } from "./providers.ts";

/** A model that doubles a float vector. */
async function doubler(): Promise<Uint8Array> {
  const g = new OnnxGraph({ name: "doubler" });
  const x = g.input("x", "float32", ["N"]);
  g.node("Mul", [x, g.floats([2])], {}, { out: "y" });
  g.output("y", "float32", ["N"]);
  return await g.serialize();
}

Deno.test("openSession opens model bytes and a model file on the cpu provider, and they run", async () => {
  const bytes = await doubler();
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "doubler.onnx");
    await Deno.writeFile(path, bytes);
    const ort = await loadOrt();
    for (const model of [bytes, path]) {
      const { session, provider } = await openSession(model, { providers: ["cpu"], threads: 1 });
      try {
        assertEquals(provider, "cpu");
        const out = await session.run({ x: new ort.Tensor("float32", [1, -2.5, 3], [3]) });
        assertEquals(Array.from(out.y.data as Float32Array), [2, -5, 6]);
      } finally {
        await session.release();
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openSession refuses bytes that are not a model, naming the source on one line", async () => {
  const e = await assertRejects(
    () =>
      openSession(new TextEncoder().encode("not a model at all"), {
        providers: ["cpu"],
        source: "junk.onnx",
      }),
    /^junk\.onnx is not a loadable ONNX model: /,
  );
  assert(e instanceof ConfigError);
  assert(!e.message.includes("\n") && e.message.length < 300, e.message);
  assert(!e.message.includes("/onnxruntime_src/"), e.message);
});

Deno.test("openSession refuses a path that does not exist, naming the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "missing.onnx");
    const e = await assertRejects(
      () => openSession(path, { providers: ["cpu"] }),
      `${path} is not a loadable ONNX model`,
    );
    assert(e instanceof ConfigError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openSession falls back past a provider that does not load, reporting it once", async () => {
  const bytes = await doubler();
  const fallbacks: [ProviderName, string][] = [];
  const onFallback = (p: ProviderName, reason: string) => fallbacks.push([p, reason]);
  const first = await openSession(bytes, { providers: ["cuda", "cpu"], onFallback });
  await first.session.release();
  // Where the CUDA provider and its libraries are installed there is nothing to fall back from.
  if (first.provider === "cuda") return;
  assertEquals(first.provider, "cpu");
  assertEquals(fallbacks.map(([p]) => p), ["cuda"]);
  assert(fallbacks[0][1].includes("./kinembed gpu-setup"), fallbacks[0][1]);
  // The provider is remembered as unavailable: not tried (nor reported) again in this process.
  const second = await openSession(bytes, { providers: ["cuda", "cpu"], onFallback });
  await second.session.release();
  assertEquals(second.provider, "cpu");
  assertEquals(fallbacks.length, 1);
  // With no provider left, the refusal lists each provider's reason.
  const e = await assertRejects(
    () => openSession(bytes, { providers: ["cuda"], source: "doubler.onnx" }),
    /^no execution provider could open doubler\.onnx: cuda: .*shared library/,
  );
  assert(e instanceof ConfigError);
});
