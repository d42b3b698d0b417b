import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { HubClient, HubUnreachableError } from "./hub_client.ts";
import { type HubSettings, hubSettingsFromEnv } from "./hub_settings.ts";
import { encoderCacheKey, resolveModel, type ResolveModelOptions } from "./model_store.ts";
import { listCachedModels } from "./model_catalog.ts";
import { ConfigError } from "../base/mod.ts";
import { parseModelSource } from "./model_source.ts";
import { readModel } from "../onnx/mod.ts";
import { writeFixtureCheckpoint } from "../../fixtures/clip_checkpoints.ts";
import {
  checkpointFiles,
  FAKE_HUB_TOKEN,
  type FakeHub,
  startFakeHub,
} from "../../tests/support/fake_hub.ts";

interface Env {
  hub: FakeHub;
  dir: string;
  settings: HubSettings;
  opts: ResolveModelOptions;
}

/** A fake hub with one transformers checkpoint as `test/clip-tiny`, and empty caches. */
async function withHub(fn: (env: Env) => Promise<void>): Promise<void> {
  const hub = await startFakeHub();
  const dir = await Deno.makeTempDir({ prefix: "kinembed-hub-" });
  try {
    await writeFixtureCheckpoint(join(dir, "ckpt"), { layout: "transformers", seed: 4 });
    await hub.addRepo("test/clip-tiny", await checkpointFiles(join(dir, "ckpt")));
    const settings: HubSettings = {
      endpoint: hub.url,
      token: null,
      cacheDir: join(dir, "hf", "hub"),
      offline: false,
    };
    const opts: ResolveModelOptions = {
      hub: settings,
      cacheDir: join(dir, "built"),
      hubClient: { fetcher: { retryBaseMs: 5, retryMaxMs: 20 }, retries: 2 },
    };
    await fn({ hub, dir, settings, opts });
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a hub model is fetched through the CDN redirect, built once, then costs 0 requests", async () => {
  await withHub(async ({ hub, settings, opts }) => {
    const first = await resolveModel("test/clip-tiny", opts);
    assert(first.built);
    assertEquals(first.kind, "hub");
    assertEquals(first.name, "test/clip-tiny");
    assertEquals(first.arch?.vision.embedDim, 32);
    // config.json (HEAD + GET), the weights (HEAD, GET redirected to the CDN)
    assertEquals(hub.cdn.requests.length, 1);
    assert(first.requests >= 4, `${first.requests} requests`);
    const model = await readModel(await Deno.readFile(first.path));
    assertEquals(model.outputs[0].dims, ["N", 32]);

    // the huggingface_hub layout: blobs by sha256, relative snapshot links, refs/main
    const repoDir = join(settings.cacheDir, "models--test--clip-tiny");
    const commit = (await Deno.readTextFile(join(repoDir, "refs", "main"))).trim();
    assertEquals(first.revision, commit);
    const link = await Deno.readLink(join(repoDir, "snapshots", commit, "model.safetensors"));
    assertEquals(link, `../../blobs/${first.checkpointSha256}`);

    const before = hub.totalRequests();
    const again = await resolveModel("test/clip-tiny", opts);
    assertEquals(hub.totalRequests(), before);
    assertEquals(again.requests, 0);
    assertEquals(again.built, false);
    assertEquals(again.path, first.path);
    const text = await resolveModel("test/clip-tiny", { ...opts, tower: "text" });
    assertEquals(hub.totalRequests(), before);
    assert(text.built);
  });
});

Deno.test("a cache pre-filled in huggingface_hub's layout is used with 0 requests", async () => {
  await withHub(async ({ hub, dir, settings, opts }) => {
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const repoDir = join(settings.cacheDir, "models--someone--prefilled");
    const files = await checkpointFiles(join(dir, "ckpt"));
    for (const [name, data] of Object.entries(files)) {
      const etag = name.endsWith(".safetensors")
        ? Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("")
        : `etag-of-${name}`;
      await Deno.mkdir(join(repoDir, "blobs"), { recursive: true });
      await Deno.writeFile(join(repoDir, "blobs", etag), data);
      await Deno.mkdir(join(repoDir, "snapshots", commit), { recursive: true });
      await Deno.symlink(`../../blobs/${etag}`, join(repoDir, "snapshots", commit, name));
    }
    await Deno.mkdir(join(repoDir, "refs"));
    await Deno.writeTextFile(join(repoDir, "refs", "main"), commit);
    const m = await resolveModel("someone/prefilled", opts);
    assertEquals(hub.totalRequests(), 0);
    assertEquals(m.revision, commit);
    assert(m.built);
    // an explicit commit is a cache hit too
    await resolveModel(`someone/prefilled@${commit}`, opts);
    assertEquals(hub.totalRequests(), 0);
  });
});

Deno.test("gated repo: 401 without a token says so, the token opens it", async () => {
  await withHub(async ({ hub, dir, settings, opts }) => {
    await hub.addRepo("test/gated", await checkpointFiles(join(dir, "ckpt")), { gated: true });
    await assertRejects(
      () => resolveModel("test/gated", opts),
      "test/gated/config.json@main: HTTP 401: the repo is gated or private",
    );
    const m = await resolveModel("test/gated", {
      ...opts,
      hub: { ...settings, token: FAKE_HUB_TOKEN },
    });
    assertEquals(m.name, "test/gated");
  });
});

Deno.test("404s name the file; an unknown repo tries both layouts", async () => {
  await withHub(async ({ hub, settings }) => {
    const client = new HubClient(settings);
    await assertRejects(
      () => client.download("test/clip-tiny", "missing.bin", "main"),
      "test/clip-tiny/missing.bin@main: not found on the hub (HTTP 404",
    );
    await assertRejects(
      () => resolveModel("test/nothing-here", { hub: settings }),
      "test/nothing-here/open_clip_config.json@main: not found",
    );
    assert(hub.requests.some((r) => r.path.endsWith("/config.json")));
  });
});

Deno.test("an open_clip repo, a dropped body resumed with Range", async () => {
  await withHub(async ({ hub, dir, opts }) => {
    await writeFixtureCheckpoint(join(dir, "oc"), { layout: "open_clip", seed: 5 });
    await hub.addRepo("test/open-clip", await checkpointFiles(join(dir, "oc")));
    const cdnPath = hub.cdnPath("test/open-clip", "open_clip_model.safetensors");
    hub.cdn.fault(cdnPath, { kind: "drop", afterBytes: 100_000, times: 1 });
    const m = await resolveModel("test/open-clip", opts);
    assertEquals(m.arch?.layout, "open_clip");
    const seen = hub.cdn.requestsFor(cdnPath);
    assertEquals(seen.length, 2);
    assertEquals(seen[0].fault, "drop");
    assertEquals(seen[1].range, "bytes=100000-");
  });
});

Deno.test("a wrong sha256 is refused and nothing is linked into the snapshot", async () => {
  await withHub(async ({ hub, settings, opts }) => {
    await hub.corrupt("test/clip-tiny", "model.safetensors");
    await assertRejects(() => resolveModel("test/clip-tiny", opts), "sha256 mismatch");
    const snapshots = join(settings.cacheDir, "models--test--clip-tiny", "snapshots");
    const linked: string[] = [];
    for await (const c of Deno.readDir(snapshots)) {
      for await (const f of Deno.readDir(join(snapshots, c.name))) linked.push(f.name);
    }
    assertEquals(linked, ["config.json"]);
  });
});

Deno.test("offline with no cache: an error naming the file and where it looked", async () => {
  await withHub(async ({ hub, settings, opts }) => {
    const e = await assertRejects(
      () => resolveModel("test/clip-tiny", { ...opts, hub: { ...settings, offline: true } }),
      "HF_HUB_OFFLINE",
    );
    assert(e.message.includes("config.json"), e.message);
    assert(e.message.includes(join(settings.cacheDir, "models--test--clip-tiny")), e.message);
    assertEquals(hub.totalRequests(), 0);
    // once fetched, offline works
    await resolveModel("test/clip-tiny", opts);
    const before = hub.totalRequests();
    await resolveModel("test/clip-tiny", { ...opts, hub: { ...settings, offline: true } });
    assertEquals(hub.totalRequests(), before);
  });
});

Deno.test("model names: files, checkpoints, repo ids with revisions", () => {
  assertEquals(parseModelSource("vision.onnx"), { kind: "onnx", path: "vision.onnx" });
  assertEquals(parseModelSource("openai/clip-vit-base-patch32"), {
    kind: "hub",
    repo: "openai/clip-vit-base-patch32",
    revision: null,
  });
  assertEquals(parseModelSource("a/b@v1.0"), { kind: "hub", repo: "a/b", revision: "v1.0" });
  assertEquals(parseModelSource("w.safetensors"), { kind: "checkpoint", path: "w.safetensors" });
  assertEquals(parseModelSource("lib").kind, "checkpoint");
});

Deno.test("a device or FIFO is not a model: refused by name before anything reads it", async () => {
  const err = (() => {
    try {
      parseModelSource("/dev/zero");
    } catch (e) {
      return e as Error;
    }
  })();
  assert(err instanceof ConfigError, String(err));
  assert(err.message.includes('"/dev/zero" is a character device'), err.message);
  const dir = await Deno.makeTempDir({ prefix: "kinembed-fifo-" });
  try {
    const fifo = join(dir, "w.safetensors");
    assert((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
    await assertRejects(() => resolveModel(fifo), "is a FIFO (named pipe)");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the build cache key covers the architecture: the same weights under a gelu config build again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed-key-" });
  try {
    const quick = join(dir, "quick"), gelu = join(dir, "gelu");
    await writeFixtureCheckpoint(quick, { layout: "open_clip", seed: 7 });
    await writeFixtureCheckpoint(gelu, { layout: "open_clip", seed: 7, activation: "gelu" });
    const opts = { cacheDir: join(dir, "built") };
    const a = await resolveModel(quick, opts);
    const b = await resolveModel(gelu, opts);
    assertEquals(a.checkpointSha256, b.checkpointSha256);
    assert(a.built && b.built, "the second was taken from the cache");
    assert(a.cacheKey !== b.cacheKey && a.path !== b.path, a.path);
    assertEquals(a.cacheKey, await encoderCacheKey(a.checkpointSha256!, a.arch!));
    assertEquals((await resolveModel(gelu, opts)).built, false);
    const record = JSON.parse(
      await Deno.readTextFile(join(dir, "built", b.cacheKey!, "model.json")),
    );
    assertEquals(record.cache_key, b.cacheKey);
    assertEquals(record.architecture.visionActivation, "gelu");
    // an encoder of the earlier layout (weights sha256 alone) is listed as unused, not reused
    const old = join(dir, "built", a.checkpointSha256!);
    await Deno.mkdir(old);
    await Deno.copyFile(a.path, join(old, "vision-float32-b1.onnx"));
    await Deno.writeTextFile(join(old, "model.json"), JSON.stringify({ name: quick }));
    const listed = await listCachedModels({
      ...opts,
      hub: { ...hubSettingsFromEnv(), cacheDir: dir },
    });
    const q = listed.find((m) => m.name === quick);
    assertEquals(q?.stale, [join(old, "vision-float32-b1.onnx")]);
    assertEquals(q?.built, [a.path]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a hub that refuses connections or never answers is given up on within the limit, naming the repo", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed-unreachable-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const c of listener) held.push(c);
    } catch { /* closed */ }
  })();
  try {
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = (closed.addr as Deno.NetAddr).port;
    closed.close();
    for (
      const [port, cause] of [
        [closedPort, "connection refused"],
        [(listener.addr as Deno.NetAddr).port, "no answer"],
      ] as const
    ) {
      const settings: HubSettings = {
        endpoint: `http://127.0.0.1:${port}`,
        token: null,
        cacheDir: join(dir, "hub"),
        offline: false,
      };
      const started = Date.now();
      const e = await assertRejects(
        () => resolveModel("test/away", { hub: settings, hubClient: { unreachableAfterMs: 1500 } }),
        `test/away: cannot reach the model hub at ${settings.endpoint} for config.json@main (${cause}`,
      );
      assert(e instanceof HubUnreachableError, String(e));
      assert(Date.now() - started < 4000, `${Date.now() - started} ms`);
    }
  } finally {
    listener.close();
    await accepting;
    for (const c of held) c.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a redirect loop is named, with the URL", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => new Response(null, { status: 307, headers: { location: new URL(req.url).pathname } }),
  );
  const dir = await Deno.makeTempDir({ prefix: "kinembed-loop-" });
  try {
    const endpoint = `http://127.0.0.1:${server.addr.port}`;
    const client = new HubClient({ endpoint, token: null, cacheDir: dir, offline: false });
    await assertRejects(
      () => client.download("test/loop", "config.json", "main"),
      `test/loop/config.json@main: redirect loop: ${endpoint}/test/loop/resolve/main/config.json`,
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
