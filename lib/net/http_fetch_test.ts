import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { Fetcher, FetchError } from "./http_fetch.ts";

const SIZE = 200_000;
const version = (seed: number) => Uint8Array.from({ length: SIZE }, (_, i) => (i * seed + 7) % 251);

/**
 * Serves `/f.bin`: the first request gets version 1 and breaks off after 50 kB; after that the
 * file on the server is version 2. With `ifRange` the server honours If-Range (a stale validator
 * gets the whole new file); without it, it answers every Range with a piece of the new file.
 */
function changingServer(ifRange: boolean) {
  const v1 = version(3), v2 = version(5);
  const seen: { range: string | null; ifRange: string | null; status: number }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const range = req.headers.get("range"), cond = req.headers.get("if-range");
    if (seen.length === 0) {
      seen.push({ range, ifRange: cond, status: 200 });
      const body = new ReadableStream<Uint8Array>({
        async start(c) {
          c.enqueue(v1.slice(0, 50_000));
          // let the bytes reach the client, then end short of the declared length
          await new Promise((r) => setTimeout(r, 200));
          c.close();
        },
      });
      return new Response(body, {
        headers: { etag: '"v1"', "content-length": String(SIZE) },
      });
    }
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    const whole = !m || (ifRange && cond !== '"v2"');
    const start = whole ? 0 : Number(m![1]);
    seen.push({ range, ifRange: cond, status: whole ? 200 : 206 });
    const headers: Record<string, string> = {
      etag: '"v2"',
      "content-length": String(SIZE - start),
    };
    if (!whole) headers["content-range"] = `bytes ${start}-${SIZE - 1}/${SIZE}`;
    return new Response(v2.slice(start), { status: whole ? 200 : 206, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/f.bin`,
    v2,
    seen,
    close: () => server.shutdown(),
  };
}

for (const ifRange of [true, false]) {
  Deno.test(`fetch: a file that changed on the server between two attempts comes out whole and new (server ${ifRange ? "honours" : "ignores"} If-Range)`, async () => {
    const { dir, cleanup } = await tempDir();
    const srv = changingServer(ifRange);
    try {
      const logs: string[] = [];
      const f = new Fetcher({ retryBaseMs: 5, retryMaxMs: 10, log: (l) => logs.push(l) });
      const dest = join(dir, "f.bin");
      const r = await f.fetchToFile(srv.url, dest);
      const got = await Deno.readFile(dest);
      const differing = got.length === SIZE ? got.filter((v, i) => v !== srv.v2[i]).length : -1;
      assertEquals(differing, 0, "bytes differ from the new version");
      // the resume asked for the rest of version 1 only
      assertEquals(srv.seen[1].range, "bytes=50000-");
      assertEquals(srv.seen[1].ifRange, '"v1"');
      if (!ifRange) {
        assert(r.restarts >= 1, `restarts ${r.restarts}`);
        assert(
          logs.some((l) => l.includes("the file changed on the server; restarting from 0")),
          logs.join("\n"),
        );
      }
      assertEquals(await Array.fromAsync(Deno.readDir(dir)).then((e) => e.map((x) => x.name)), [
        "f.bin",
      ]);
    } finally {
      await srv.close();
      await cleanup();
    }
  });
}

/**
 * Serves `/f.bin` (5000 bytes) declaring its full length but sending at most `piece` bytes per
 * answer; with `ranges` it answers Range with 206 and the rest, without it always with 200 from 0.
 */
function shortBodyServer(piece: number, ranges: boolean) {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13 + 1) % 251);
  const seen: number[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    onError: () => new Response("server error", { status: 500 }),
  }, (req) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
    const start = ranges && m ? Number(m[1]) : 0;
    seen.push(start > 0 ? 206 : 200);
    const headers = new Headers({ "content-length": String(data.length - start), etag: '"a"' });
    if (start > 0) headers.set("content-range", `bytes ${start}-${data.length - 1}/${data.length}`);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(data.slice(start, start + piece));
        c.close();
      },
    });
    return new Response(body, { status: start > 0 ? 206 : 200, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/f.bin`,
    data,
    seen,
    close: () => server.shutdown(),
  };
}

Deno.test("fetch: bodies cut short by a server ignoring Range are no progress: retries+1 attempts, then a message naming the URL, the bytes and the count", async () => {
  const { dir, cleanup } = await tempDir();
  const srv = shortBodyServer(1000, false);
  try {
    const f = new Fetcher({ retries: 2, retryBaseMs: 1, retryMaxMs: 2 });
    const err = await f.fetchToFile(srv.url, join(dir, "f.bin")).then(() => null, (e) => e);
    assert(err instanceof FetchError, String(err));
    assertEquals(
      err.message,
      `${srv.url}: server sent 1000 of 5000 bytes (Content-Length) 3 times; the server answers ` +
        "Range requests with 200 and the whole file, so nothing received could be kept " +
        "(after 3 attempts)",
    );
    assertEquals(srv.seen, [200, 200, 200]);
  } finally {
    await srv.close();
    await cleanup();
  }
});

Deno.test("fetch: a resume that keeps making progress goes on past --retries, but not past 20 × (retries + 1) attempts", async () => {
  const { dir, cleanup } = await tempDir();
  const whole = shortBodyServer(1000, true);
  const trickle = shortBodyServer(100, true);
  try {
    const f = new Fetcher({ retries: 1, retryBaseMs: 1, retryMaxMs: 2 });
    const r = await f.fetchToFile(whole.url, join(dir, "whole.bin"));
    assertEquals([r.requests, r.bytes], [5, 5000]);
    assertEquals(await Deno.readFile(join(dir, "whole.bin")), whole.data);
    // 50 pieces would be needed: given up at 40 attempts, the part file kept for a rerun
    const err = await f.fetchToFile(trickle.url, join(dir, "trickle.bin")).then(
      () => null,
      (e) => e,
    );
    assert(err instanceof FetchError, String(err));
    assertEquals(err.message, "server sent 100 of 1100 bytes (Content-Length) (after 40 attempts)");
    assertEquals(trickle.seen.length, 40);
    assertEquals((await Deno.stat(join(dir, "trickle.bin.part"))).size, 4000);
  } finally {
    await whole.close();
    await trickle.close();
    await cleanup();
  }
});
