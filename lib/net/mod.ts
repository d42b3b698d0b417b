/**
 * HTTP for the download step and the model hub alike: a fetcher that writes a URL to a file (a
 * limit on transfers in flight, `Range` resume, retries with backoff and jitter, `Retry-After`,
 * a checksum check), the one retry loop every request goes through, the hosts a list may not
 * reach unless the user names them, and URL helpers.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { Fetcher, netHost, refuseUnnamedHost } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("hello"));
 * const url = `http://127.0.0.1:${server.addr.port}/a.txt`;
 * strictEqual(refuseUnnamedHost(url, []), null);
 * strictEqual(netHost(url), `127.0.0.1:${server.addr.port}`);
 * const r = await new Fetcher({ jobs: 2 }).fetchToFile(url, join(dir, "a.txt"));
 * strictEqual(await Deno.readTextFile(r.path), "hello");
 * await server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  Fetcher,
  type FetcherOptions,
  FetchError,
  HttpError,
  type TransferOptions,
  type TransferResult,
} from "./http_fetch.ts";
export {
  AGAIN,
  isRetryableStatus,
  parseRetryAfter,
  retryDelayMs,
  retrying,
  sleep,
} from "./retry.ts";
export { isNamedHost, refusedHostReason, refuseUnnamedHost } from "./host_policy.ts";
export { isHttpUrl, netHost } from "./url.ts";
