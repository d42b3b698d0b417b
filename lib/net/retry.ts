/**
 * The retry loop every HTTP request of the project goes through, and its policy pieces: which
 * statuses are worth another try, a server's `Retry-After`, exponential backoff with jitter, and
 * the wait between attempts.
 * @module
 */

/**
 * Is this status worth retrying?
 * @param status an HTTP status
 * @returns true for 408, 429 and 5xx
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date.
 * @param value the header (null when absent)
 * @param now the current time in ms since the epoch
 * @returns the delay in ms (≥ 0), or null when absent or unreadable
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

/**
 * The wait before retry number `failures`: exponential backoff with equal jitter, so concurrent
 * clients spread out (`base·2^(failures-1)`, capped, then a random point in its upper half); a
 * server's `Retry-After` wins when longer.
 * @param failures failed attempts so far (≥ 1)
 * @param baseMs wait after the first failure before jitter
 * @param maxMs cap of the exponential part
 * @param retryAfterMs what the server asked for, if anything
 * @param random source of jitter in [0, 1)
 * @returns milliseconds to wait
 */
export function retryDelayMs(
  failures: number,
  baseMs: number,
  maxMs: number,
  retryAfterMs: number | null = null,
  random: () => number = Math.random,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  // a server's Retry-After is honoured up to 10 minutes; longer asks are treated as that
  return retryAfterMs === null ? jittered : Math.max(jittered, Math.min(retryAfterMs, 600_000));
}

/**
 * Waits.
 * @param ms milliseconds
 * @returns a promise settled after `ms`
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * What an attempt of {@linkcode retrying} returns to be followed by another at once, with no
 * failure counted and no wait (a redirect followed, a transfer restarted from 0).
 */
export const AGAIN: unique symbol = Symbol("again");

/**
 * Runs attempts until one returns a value. After an attempt throws, `afterFailure` decides: it
 * throws to give up (its own error, or the attempt's) or returns how long to wait before the next
 * attempt. The caller's closures keep the counts and the policy; the loop is the same for all.
 * @param attempt one try: a value ends the loop, {@linkcode AGAIN} goes on at once
 * @param afterFailure given what the attempt threw: the wait in ms, or throws
 * @returns the first value an attempt returns
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { retrying } from "./retry.ts";
 * let calls = 0;
 * const answer = await retrying(async () => {
 *   if (++calls < 3) throw new Error("busy");
 *   return "ok";
 * }, (e) => {
 *   if (calls >= 5) throw e;
 *   return 1;
 * });
 * strictEqual(answer, "ok");
 * strictEqual(calls, 3);
 * ```
 */
export async function retrying<T>(
  attempt: () => Promise<T | typeof AGAIN>,
  afterFailure: (error: unknown) => number | Promise<number>,
): Promise<T> {
  for (;;) {
    let wait: number;
    try {
      const outcome = await attempt();
      if (outcome !== AGAIN) return outcome;
      continue;
    } catch (e) {
      wait = await afterFailure(e);
    }
    await sleep(wait);
  }
}
