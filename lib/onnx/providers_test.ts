import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { ConfigError } from "../base/mod.ts";
import { parseProviders, PROVIDERS } from "./providers.ts";

Deno.test("parseProviders keeps the order given, trimmed and lower-cased, skipping empty items", () => {
  assertEquals(parseProviders("cuda,cpu"), ["cuda", "cpu"]);
  assertEquals(parseProviders(" CPU , WebGPU ,"), ["cpu", "webgpu"]);
  assertEquals(parseProviders("cpu"), ["cpu"]);
});

Deno.test("parseProviders accepts every provider it lists", () => {
  assertEquals(parseProviders(PROVIDERS.join(",")), [...PROVIDERS]);
});

Deno.test("parseProviders refuses an unknown name, naming it and the known ones", async () => {
  const e = await assertRejects(
    () => parseProviders("cpu,tensorrt"),
    'unknown execution provider "tensorrt"; known: cuda, webgpu, cpu',
  );
  assert(e instanceof ConfigError);
});

Deno.test("parseProviders refuses a list that names nothing", async () => {
  for (const text of ["", " , ,"]) {
    const e = await assertRejects(() => parseProviders(text), "--providers names no provider");
    assert(e instanceof ConfigError);
  }
});
