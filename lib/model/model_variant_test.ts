import { assertEquals } from "../../tests/support/assert.ts";
import { MODEL_VARIANTS } from "./model_store.ts";
import { variantForProvider } from "./model_variant.ts";
import { PROVIDERS } from "../onnx/mod.ts";

Deno.test("variantForProvider: auto is fp16-uint8 on CUDA only, float32 before a provider loads", () => {
  const auto = PROVIDERS.map((p) => [p, variantForProvider("auto", p)]);
  assertEquals(
    auto,
    PROVIDERS.map((p) => [p, p === "cuda" ? "fp16-uint8" : "float32"]),
  );
  assertEquals(variantForProvider("auto", null), "float32");
});

Deno.test("variantForProvider: an explicit variant stays, whatever the provider", () => {
  for (const v of MODEL_VARIANTS) {
    for (const p of [...PROVIDERS, null]) assertEquals(variantForProvider(v, p), v);
  }
});
