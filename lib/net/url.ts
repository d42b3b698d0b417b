/**
 * URLs as the project meets them: whether a string is an http(s) URL, and the `host[:port]` a URL
 * connects to.
 * @module
 */

/**
 * Is this an http(s) URL?
 * @param s the candidate
 * @returns true for `http://` and `https://` strings
 */
export function isHttpUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/**
 * The `host[:port]` a URL connects to, as `--allow-net` takes it.
 * @param url the URL
 * @returns e.g. `127.0.0.1:8000`, or null when it is no URL or has no host
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { netHost } from "./url.ts";
 * strictEqual(netHost("http://127.0.0.1:8000/a.tar.gz"), "127.0.0.1:8000");
 * strictEqual(netHost("https://huggingface.co:443/x"), "huggingface.co");
 * strictEqual(netHost("not a url"), null);
 * ```
 */
export function netHost(url: string): string | null {
  try {
    const u = new URL(url);
    return u.host || null;
  } catch {
    return null;
  }
}
