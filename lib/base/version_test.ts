import { KINEMBED_VERSION } from "./version.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

Deno.test("version: KINEMBED_VERSION is deno.json's version, a semver", async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { version: string };
  assertEquals(KINEMBED_VERSION, config.version);
  assert(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(KINEMBED_VERSION), KINEMBED_VERSION);
});
