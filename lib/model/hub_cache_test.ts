import { assert, assertEquals } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { HubRepoCache, isCommitHash } from "./hub_cache.ts";

const COMMIT = "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268";
const ETAG = "a".repeat(64);

async function withCache(fn: (cache: HubRepoCache, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(new HubRepoCache(dir, "openai/clip-vit-base-patch32"), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("isCommitHash takes 40 lowercase hex digits only", () => {
  assert(isCommitHash(COMMIT));
  for (const r of ["main", COMMIT.toUpperCase(), COMMIT.slice(1), `${COMMIT}0`, "v1.0"]) {
    assert(!isCommitHash(r), r);
  }
});

Deno.test("HubRepoCache lays files out as huggingface_hub does, readable by Python", async () => {
  await withCache(async (cache, dir) => {
    assertEquals(cache.root, join(dir, "models--openai--clip-vit-base-patch32"));
    await Deno.mkdir(join(cache.root, "blobs"), { recursive: true });
    await Deno.writeTextFile(cache.blobPath(ETAG), '{"projection_dim": 512}');
    const path = await cache.link(COMMIT, "nested/config.json", ETAG);
    assertEquals(path, join(cache.root, "snapshots", COMMIT, "nested", "config.json"));
    // The link is relative, so the cache still works when moved; Python resolves it to the blob.
    assertEquals(await Deno.readLink(path), `../../../blobs/${ETAG}`);
    const py = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        "import os,sys,json; p=sys.argv[1]; print(os.path.realpath(p)); print(json.load(open(p))['projection_dim'])",
        path,
      ],
    }).output();
    assert(py.success, new TextDecoder().decode(py.stderr));
    assertEquals(
      new TextDecoder().decode(py.stdout),
      `${await Deno.realPath(cache.blobPath(ETAG))}\n512\n`,
    );
    assertEquals(await cache.blobOf(path), ETAG);
    // Linking again replaces the link.
    assertEquals(await cache.link(COMMIT, "nested/config.json", ETAG), path);
  });
});

Deno.test("HubRepoCache resolves revisions through refs/ and finds cached files without the network", async () => {
  await withCache(async (cache) => {
    assertEquals(await cache.commitOf("main"), null);
    assertEquals(await cache.commitOf(COMMIT), COMMIT);
    assertEquals(await cache.cached("main", "config.json"), null);
    await cache.writeRef("main", COMMIT);
    assertEquals(await Deno.readTextFile(join(cache.root, "refs", "main")), COMMIT);
    assertEquals(await cache.commitOf("main"), COMMIT);
    // A commit is not written as a ref; a ref holding no commit resolves to nothing.
    await cache.writeRef(COMMIT, COMMIT);
    assertEquals(
      await Array.fromAsync(Deno.readDir(join(cache.root, "refs"))).then((a) =>
        a.map((e) => e.name)
      ),
      ["main"],
    );
    await cache.writeRef("refs/pr/1", "garbage");
    assertEquals(await cache.commitOf("refs/pr/1"), null);

    assertEquals(await cache.cached("main", "config.json"), null);
    await Deno.mkdir(join(cache.root, "blobs"), { recursive: true });
    await Deno.writeTextFile(cache.blobPath(ETAG), "{}");
    const path = await cache.link(COMMIT, "config.json", ETAG);
    assertEquals(await cache.cached("main", "config.json"), { path, commit: COMMIT });
    // A dangling link (its blob deleted) is not a cached file.
    await Deno.remove(cache.blobPath(ETAG));
    assertEquals(await cache.cached("main", "config.json"), null);
  });
});

Deno.test("HubRepoCache.blobOf finds a hard-linked snapshot file's blob by inode", async () => {
  await withCache(async (cache) => {
    await Deno.mkdir(join(cache.root, "blobs"), { recursive: true });
    await Deno.writeTextFile(cache.blobPath("other"), "x");
    await Deno.writeTextFile(cache.blobPath(ETAG), "y");
    const path = cache.snapshotPath(COMMIT, "model.safetensors");
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.link(cache.blobPath(ETAG), path);
    assertEquals(await cache.blobOf(path), ETAG);
    const loose = cache.snapshotPath(COMMIT, "loose.txt");
    await Deno.writeTextFile(loose, "y");
    assertEquals(await cache.blobOf(loose), null);
  });
});

Deno.test("HubRepoCache.lockBlob takes huggingface_hub's lock file and releases it", async () => {
  await withCache(async (cache, dir) => {
    const release = await cache.lockBlob(ETAG);
    const lock = join(dir, ".locks", "models--openai--clip-vit-base-patch32", `${ETAG}.lock`);
    assert((await Deno.stat(lock)).isFile);
    release();
    // Released: it can be taken again at once.
    (await cache.lockBlob(ETAG))();
  });
});
