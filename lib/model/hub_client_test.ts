import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { join } from "node:path";
import { HubClient } from "./hub_client.ts";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const BODY = '{"projection_dim": 8}';

/**
 * A hub whose metadata requests for `test/busy` answer 503 `busy` times before the file's
 * metadata; `old/name` redirects (relatively) to `test/busy`, as a renamed repo does.
 */
async function withBusyHub(
  busy: number,
  fn: (client: HubClient, requests: string[], endpoint: string) => Promise<void>,
): Promise<void> {
  const requests: string[] = [];
  let answered = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(`${req.method} ${path}`);
    if (path.startsWith("/old/name/")) {
      return new Response(null, {
        status: 307,
        headers: { location: path.replace("/old/name/", "/test/busy/") },
      });
    }
    if (req.method === "HEAD" && answered++ < busy) return new Response(null, { status: 503 });
    return new Response(req.method === "HEAD" ? null : BODY, {
      headers: {
        "x-repo-commit": COMMIT,
        etag: '"cfg1"',
        "content-length": String(BODY.length),
      },
    });
  });
  const dir = await Deno.makeTempDir({ prefix: "kinembed-hub-client-" });
  const endpoint = `http://127.0.0.1:${server.addr.port}`;
  try {
    const client = new HubClient(
      { endpoint, token: null, cacheDir: join(dir, "hub"), offline: false },
      { fetcher: { retryBaseMs: 5, retryMaxMs: 20 }, retries: 2 },
    );
    await fn(client, requests, endpoint);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("hub metadata: a busy hub (503) is asked again with backoff, then the file is fetched", async () => {
  await withBusyHub(2, async (client, requests) => {
    const f = await client.download("test/busy", "config.json", "main");
    assertEquals(f.commit, COMMIT);
    assertEquals(await Deno.readTextFile(f.path), BODY);
    assertEquals(f.requests, 4);
    const head = "HEAD /test/busy/resolve/main/config.json";
    assertEquals(requests, [head, head, head, "GET /test/busy/resolve/main/config.json"]);
  });
});

Deno.test("hub metadata: a hub busy past the retries is named with the status and the attempts", async () => {
  await withBusyHub(100, async (client, requests, endpoint) => {
    await assertRejects(
      () => client.download("test/busy", "config.json", "main"),
      `test/busy/config.json@main: HTTP 503 after 3 attempts ` +
        `(${endpoint}/test/busy/resolve/main/config.json)`,
    );
    assertEquals(requests.length, 3);
  });
});

Deno.test("hub metadata: a relative redirect (a renamed repo) is followed at once, not counted as a failure", async () => {
  // two busy answers stay within the retries (2) only if the redirect is not counted as a failure
  await withBusyHub(2, async (client, requests) => {
    const f = await client.download("old/name", "config.json", "main");
    assertEquals(await Deno.readTextFile(f.path), BODY);
    assertEquals(requests, [
      "HEAD /old/name/resolve/main/config.json",
      "HEAD /test/busy/resolve/main/config.json",
      "HEAD /test/busy/resolve/main/config.json",
      "HEAD /test/busy/resolve/main/config.json",
      "GET /old/name/resolve/main/config.json",
      "GET /test/busy/resolve/main/config.json",
    ]);
  });
});
