/**
 * Hosts a list may not send requests to unless the user names them: link-local addresses
 * (169.254.0.0/16, fe80::/10, and their IPv4-mapped forms) and cloud metadata endpoints. A
 * downloaded list naming `http://169.254.169.254/...` would otherwise read a cloud machine's
 * credentials into the work dir.
 * @module
 */

/** Metadata endpoints that are not link-local addresses. */
const METADATA_HOSTS = new Set([
  "metadata.google.internal",
  "metadata",
  "[fd00:ec2::254]",
  "100.100.100.200",
]);

/** The 32-bit value of a dotted IPv4 address, or null. */
function ipv4Value(host: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** The IPv4 address an IPv4-mapped IPv6 host (`[::ffff:a9fe:a9fe]`) carries, or null. */
function mappedIpv4(host: string): number | null {
  const m = /^\[(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/i.exec(host);
  if (m) return ((parseInt(m[1], 16) << 16) | parseInt(m[2], 16)) >>> 0;
  const d = /^\[(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)\]$/i.exec(host);
  return d ? ipv4Value(d[1]) : null;
}

/**
 * Why a URL's host must not be contacted without being named, or null when it may be.
 * @param url an http(s) URL (its host as the URL parser normalises it: `http://2852039166/` is
 *   `169.254.169.254`)
 * @returns e.g. `link-local address 169.254.169.254`, or null
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { refusedHostReason } from "./host_policy.ts";
 * assertEquals(refusedHostReason("http://169.254.169.254/latest/"), "link-local address 169.254.169.254");
 * assertEquals(refusedHostReason("http://127.0.0.1:8000/a.tar.gz"), null);
 * ```
 */
export function refusedHostReason(url: string): string | null {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return null; // not a URL: the caller names it as a bad entry
  }
  if (METADATA_HOSTS.has(host)) return `cloud metadata address ${host}`;
  const v4 = ipv4Value(host) ?? mappedIpv4(host);
  if (v4 !== null && (v4 >>> 16) === 0xa9fe) return `link-local address ${host}`;
  // fe80::/10: the first 10 bits are 1111111010
  const v6 = /^\[([0-9a-f]{1,4}):/i.exec(host);
  if (v6 && (parseInt(v6[1], 16) & 0xffc0) === 0xfe80) return `link-local address ${host}`;
  return null;
}

/**
 * Is this URL's host one the user named (`--allow-host`)? Compared as the URL parser writes
 * hosts, with or without the port.
 * @param url the URL
 * @param allowed host names or `host:port`s as given
 * @returns true when named
 */
export function isNamedHost(url: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return false;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const norm = (h: string) => {
    try {
      return new URL(`http://${h}/`);
    } catch {
      return null;
    }
  };
  return allowed.some((a) => {
    const n = norm(a.trim());
    if (n === null) return false;
    return n.hostname === u.hostname && (n.port === "" || n.port === u.port);
  });
}

/**
 * The reason to refuse a URL before any request, or null: a link-local or metadata host that the
 * user did not name.
 * @param url the URL
 * @param allowed hosts named with `--allow-host`
 * @returns one line, or null
 */
export function refuseUnnamedHost(url: string, allowed: readonly string[]): string | null {
  const reason = refusedHostReason(url);
  if (reason === null || isNamedHost(url, allowed)) return null;
  return `refused ${reason} (give --allow-host ${new URL(url).host} to fetch from it)`;
}
