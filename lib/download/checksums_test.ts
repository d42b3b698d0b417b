import { readChecksums } from "./checksums.ts";
import { ConfigError } from "../base/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

const A = "a".repeat(64);
const B = "0123456789ABCDEF".repeat(4);

async function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "checksums_test_" });
  try {
    const path = `${dir}/SHA256SUMS`;
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("checksums: sha256sum text and binary lines, keyed by base name, digests lower-cased", async () => {
  const text = `\uFEFF# made by sha256sum\r\n${A}  k700/train/part_0.tar.gz\r\n\r\n` +
    `${B} *vid 1.mp4\n   \n`;
  await withFile(text, async (path) => {
    const sums = await readChecksums(path);
    assertEquals([...sums], [["part_0.tar.gz", A], ["vid 1.mp4", B.toLowerCase()]]);
  });
});

Deno.test("checksums: the file agrees with sha256sum's own output for real files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checksums_test_" });
  try {
    await Deno.writeTextFile(`${dir}/x.txt`, "hello\n");
    await Deno.writeFile(`${dir}/y.bin`, new Uint8Array([0, 1, 2, 255]));
    const out = await new Deno.Command("sha256sum", { args: ["x.txt", "y.bin"], cwd: dir })
      .output();
    assert(out.success);
    await Deno.writeFile(`${dir}/sums`, out.stdout);
    const sums = await readChecksums(`${dir}/sums`);
    assertEquals(
      sums.get("x.txt"),
      "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
    );
    assertEquals(sums.size, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checksums: a malformed line is a ConfigError naming the file and line", async () => {
  for (
    const bad of [`${A.slice(1)}  short.tar`, `${A}`, `md5 ${A}  x.tar`, `${"g".repeat(64)}  x`]
  ) {
    await withFile(`${A}  ok.tar\n${bad}\n`, async (path) => {
      const e = await assertRejects(() => readChecksums(path), `${path}:2: expected`);
      assert(e instanceof ConfigError, String(e));
    });
  }
});
