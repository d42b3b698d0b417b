import { basename, dirname, join } from "node:path";
import {
  fileSize,
  openAtomic,
  pathExists,
  pathExistsSync,
  removeStaleTemps,
  sha256Bytes,
  sha256File,
  TEMP_SUFFIX,
  tempPathFor,
  writeAll,
  writeFileAtomic,
} from "./atomic_file.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { runPython } from "../../tests/support/python.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

// a child that streams into a file with openAtomic, says so, then waits to be killed
const CHILD = `
import { openAtomic, writeAll } from ${
  JSON.stringify(new URL("./atomic_file.ts", import.meta.url).href)
};
const out = await openAtomic(Deno.args[0]);
await writeAll(out.file, new Uint8Array(3 << 20).fill(7));
await out.file.sync();
console.log("written");
await new Promise(() => {});
`;

Deno.test("atomic file: a writer killed with SIGKILL leaves the old file whole and a temp that is swept", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const target = join(dir, "manifest.json");
    await Deno.writeTextFile(target, '{"old": true}');
    await Deno.writeTextFile(join(dir, "keep.tar"), "not a temp");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", CHILD, target],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    while (!said.includes("written")) {
      const { value, done } = await reader.read();
      if (done) break;
      said += value;
    }
    child.kill("SIGKILL");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    assertEquals(said.trim(), "written");
    assertEquals(status.signal, "SIGKILL");
    assertEquals(await Deno.readTextFile(target), '{"old": true}', "the final name is untouched");
    const temp = `.manifest.json.${child.pid}${TEMP_SUFFIX}`;
    assertEquals(await names(dir), [temp, "keep.tar", "manifest.json"]);
    assertEquals((await Deno.stat(join(dir, temp))).size, 3 << 20);
    assertEquals(await removeStaleTemps(dir), 1);
    assertEquals(await names(dir), ["keep.tar", "manifest.json"]);
    assertEquals(await removeStaleTemps(join(dir, "missing")), 0, "a missing folder is fine");
  } finally {
    await cleanup();
  }
});

Deno.test("atomic file: a write that fails half-way leaves the old file and no temp", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const target = join(dir, "splits.csv");
    await Deno.writeTextFile(target, "tar_file,split\n");
    // the second chunk is not bytes: writing it throws after the first chunk reached the temp file
    const broken = [new Uint8Array(1 << 20), null as unknown as Uint8Array];
    await assertRejects(() => writeFileAtomic(target, broken));
    assertEquals(await names(dir), ["splits.csv"]);
    assertEquals(await Deno.readTextFile(target), "tar_file,split\n");
    // a temp in a folder that does not exist: the open fails, nothing changes
    const tmp = join(dir, "nowhere", "x.partial");
    await assertRejects(() => writeFileAtomic(target, new Uint8Array(1), { tmp }));
    assertEquals(await Deno.readTextFile(target), "tar_file,split\n");
    // a good write replaces it whole, through the temp name given
    const chunks = [
      new TextEncoder().encode("tar_file,split\n"),
      new TextEncoder().encode("a,train\n"),
    ];
    await writeFileAtomic(target, chunks, { tmp: join(dir, ".custom.partial") });
    assertEquals(await Deno.readTextFile(target), "tar_file,split\na,train\n");
    assertEquals(await names(dir), ["splits.csv"]);
  } finally {
    await cleanup();
  }
});

Deno.test("atomic file: openAtomic commits by rename, aborts by removal", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const target = join(dir, "ds_000000.tar");
    assertEquals(tempPathFor(target), join(dir, `.ds_000000.tar.${Deno.pid}.partial`));
    assertEquals(dirname(tempPathFor(target)), dir, "a sibling, so the rename stays on one disk");
    const a = await openAtomic(target);
    assertEquals(basename(a.tmp), `.ds_000000.tar.${Deno.pid}.partial`);
    await writeAll(a.file, new Uint8Array(70_000).fill(1));
    assert(!(await pathExists(target)), "not visible before commit");
    await a.commit();
    assertEquals(await fileSize(target), 70_000);
    assertEquals(await names(dir), ["ds_000000.tar"]);
    const b = await openAtomic(target);
    await writeAll(b.file, new Uint8Array(5));
    await b.abort();
    await b.abort(); // twice is harmless
    assertEquals(await fileSize(target), 70_000);
    assertEquals(await names(dir), ["ds_000000.tar"]);
  } finally {
    await cleanup();
  }
});

Deno.test("atomic file: sha256 of files and bytes agree with Python's hashlib; stat helpers", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // larger than the 1 MiB read buffer and not a multiple of it
    const data = Uint8Array.from({ length: (2 << 20) + 12345 }, (_, i) => (i * 2654435761) >>> 24);
    const path = join(dir, "blob.bin");
    await Deno.writeFile(path, data);
    const py = (await runPython(
      "import hashlib, sys\nprint(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())",
      [path],
    )).trim();
    assertEquals(await sha256File(path), py);
    assertEquals(await sha256Bytes(data), py);
    assertEquals(
      await sha256Bytes(new Uint8Array(0)),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    await assertRejects(() => sha256File(join(dir, "missing.bin")));
    assertEquals(await fileSize(path), data.length);
    assertEquals(await fileSize(join(dir, "missing.bin")), null);
    assertEquals([await pathExists(dir), pathExistsSync(path)], [true, true]);
    assertEquals([await pathExists(join(dir, "no")), pathExistsSync(join(dir, "no"))], [
      false,
      false,
    ]);
  } finally {
    await cleanup();
  }
});
