import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { loadOrt, ONNXRUNTIME_VERSION, ortRuntime } from "./ort.ts";

Deno.test("ortRuntime refuses before loadOrt, then returns the module loadOrt loaded", async () => {
  // Each test file runs in its own isolate, so nothing has loaded ONNX Runtime yet.
  await assertRejects(() => ortRuntime(), "before loadOrt()");
  const first = await loadOrt();
  assert(first === ortRuntime());
  assert(first === await loadOrt(), "a second loadOrt returns the same module");
  assert(typeof first.InferenceSession.create === "function");
});

Deno.test("ONNXRUNTIME_VERSION is the version deno.json pins and the loaded binding reports", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  const pinned = JSON.stringify(config.imports ?? {}).match(/onnxruntime-node@([\d.]+)/)?.[1];
  assertEquals(pinned, ONNXRUNTIME_VERSION);
  const ort = await loadOrt();
  assertEquals(ort.env.versions.common, ONNXRUNTIME_VERSION);
});
