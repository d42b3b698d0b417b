/**
 * Robust HTTP downloads to files: a limit on transfers in flight, connect and idle timeouts,
 * retries with exponential backoff and jitter on connection errors, 5xx, 408 and 429 (honouring
 * `Retry-After`) but never on other 4xx, `Range` resume of a partial file (restarting from zero
 * when a server ignores `Range`), a `Content-Length` check, and an optional SHA-256 check.
 *
 * A transfer writes `<dest>.part` (and `<dest>.part.json` with the validators that make a resume
 * safe) and renames it to `<dest>` only once complete and checked, so a killed run resumes where
 * it stopped.
 * @module
 */
import {
  asDiskFull,
  ConfigError,
  fileSize,
  isDiskFull,
  sha256File,
  writeAll,
  writeFileAtomic,
} from "../base/mod.ts";
import { AGAIN, isRetryableStatus, parseRetryAfter, retryDelayMs, retrying } from "./retry.ts";

/** An HTTP status that ends a transfer. */
export class HttpError extends Error {
  /** The error class name, shown in messages. */
  override name = "HttpError";
  /**
   * Builds `HTTP <status> <reason>`.
   * @param url the URL
   * @param status the HTTP status
   * @param statusText the server's reason phrase
   */
  constructor(readonly url: string, readonly status: number, statusText: string) {
    super(`HTTP ${status}${statusText ? " " + statusText : ""}`);
  }

  /** Whether trying again may help (408, 429 and 5xx). */
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

/** A transfer that failed for good (after its retries, or on an error retries cannot fix). */
export class FetchError extends Error {
  /** The error class name, shown in messages. */
  override name = "FetchError";
  /**
   * Builds the error.
   * @param url the URL
   * @param message one line: what failed last, and after how many attempts
   * @param status the last HTTP status, when the failure was one
   */
  constructor(readonly url: string, message: string, readonly status: number | null = null) {
    super(message);
  }
}

/** How transfers are made. */
export interface FetcherOptions {
  /** Transfers in flight at once (default 4). */
  jobs?: number;
  /** Longest wait for a response, and for each next piece of body, in ms (default 30 000). */
  timeoutMs?: number;
  /**
   * Retries after failed attempts that kept no new bytes (default 5). Attempts that do keep bytes
   * (a resume honoured with 206) are retried too, up to 20 × (`retries` + 1) attempts per file in
   * all.
   */
  retries?: number;
  /** Backoff after the first failure, in ms (default 1000). */
  retryBaseMs?: number;
  /** Cap of the backoff, in ms (default 60 000). */
  retryMaxMs?: number;
  /** Receives one line per retry, restart or resume. */
  log?: (line: string) => void;
}

/** Per-transfer options. */
export interface TransferOptions {
  /** Expected SHA-256 (lowercase hex) of the whole file. */
  sha256?: string;
  /** Called with the byte count of each piece of body written. */
  onBytes?: (n: number) => void;
  /** Extra request headers (e.g. `authorization`). */
  headers?: Record<string, string>;
}

/** What a finished transfer did. */
export interface TransferResult {
  /** The final file. */
  path: string;
  /** Its size. */
  bytes: number;
  /** HTTP requests sent for it. */
  requests: number;
  /** Bytes already on disk that the first request resumed from (0: started fresh). */
  resumedFrom: number;
  /** Times the file had to start again from zero (a server ignoring Range, a changed file). */
  restarts: number;
}

/** Validators of a partial file, kept beside it so a resume never splices two versions. */
interface PartMeta {
  url: string;
  etag: string | null;
  lastModified: string | null;
  total: number | null;
}

/**
 * Attempts per file, in all, for each attempt the retry policy allows: a transfer that keeps making
 * progress is resumed, but not without end.
 */
const ATTEMPTS_PER_TRY = 20;

/** What the attempts of one transfer found out about the server. */
interface TransferState {
  /** A request with `Range` was answered 200: whatever a broken attempt got was thrown away. */
  rangeIgnored: boolean;
}

/** One transfer's progress across its attempts. */
interface TransferRun {
  url: string;
  /** `<dest>.part`, the bytes received so far. */
  part: string;
  /** `<dest>.part.json`, the validators that make a resume safe. */
  metaPath: string;
  /** What the transfer did, returned when it completes. */
  result: TransferResult;
  state: TransferState;
  /** Failed attempts in a row that kept no new bytes. */
  failures: number;
  /** The most bytes the part file held after an attempt. */
  kept: number;
  /** The last failure, for the final message. */
  lastFailure: string;
  /** How many attempts in a row ended with `lastFailure`. */
  sameFailures: number;
}

/** Raised inside an attempt; `retryable` decides whether another attempt follows. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status: number | null = null,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

/** A body that ended before its declared length (always worth another attempt). */
class ShortBodyError extends AttemptError {
  constructor(received: number, declared: number) {
    super(`server sent ${received} of ${declared} bytes (Content-Length)`, true);
  }
}

/** Makes HTTP transfers to files with a shared limit on how many run at once. */
export class Fetcher {
  #jobs: number;
  #timeoutMs: number;
  #retries: number;
  #retryBaseMs: number;
  #retryMaxMs: number;
  #log: (line: string) => void;
  #active = 0;
  #waiting: (() => void)[] = [];
  #requests = 0;

  /**
   * Sets the limits and the retry policy.
   * @param opts limits, timeouts and retry policy
   */
  constructor(opts: FetcherOptions = {}) {
    this.#jobs = Math.max(1, opts.jobs ?? 4);
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#retries = opts.retries ?? 5;
    this.#retryBaseMs = opts.retryBaseMs ?? 1000;
    this.#retryMaxMs = opts.retryMaxMs ?? 60_000;
    this.#log = opts.log ?? (() => {});
  }

  /** HTTP requests sent so far by this fetcher. */
  get requests(): number {
    return this.#requests;
  }

  /**
   * Downloads a URL to a file, resuming `<dest>.part` when one is there.
   * @param url an http(s) URL
   * @param dest the final path (its folder must exist)
   * @param opts expected checksum and a byte counter
   * @returns what the transfer did
   * @throws FetchError when it fails for good (404, retries used up, checksum mismatch)
   * @example
   * ```ts
   * import { strictEqual } from "node:assert/strict";
   * import { join } from "node:path";
   * import { Fetcher } from "./http_fetch.ts";
   * const dir = await Deno.makeTempDir();
   * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("hello"));
   * const f = new Fetcher({ jobs: 4, timeoutMs: 30_000 });
   * const r = await f.fetchToFile(`http://127.0.0.1:${server.addr.port}/a.txt`, join(dir, "a.txt"));
   * strictEqual(r.bytes, 5);
   * await server.shutdown();
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async fetchToFile(
    url: string,
    dest: string,
    opts: TransferOptions = {},
  ): Promise<TransferResult> {
    while (this.#active >= this.#jobs) await new Promise<void>((r) => this.#waiting.push(r));
    this.#active++;
    try {
      return await this.#transfer(url, dest, opts);
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  async #transfer(url: string, dest: string, opts: TransferOptions): Promise<TransferResult> {
    const run: TransferRun = {
      url,
      part: `${dest}.part`,
      metaPath: `${dest}.part.json`,
      result: { path: dest, bytes: 0, requests: 0, resumedFrom: -1, restarts: 0 },
      state: { rangeIgnored: false },
      failures: 0,
      kept: -1,
      lastFailure: "",
      sameFailures: 0,
    };
    const { part, metaPath, result } = run;
    let checksumRestarted = false;
    while (true) {
      await retrying(() => this.#try(run, opts), (e) => this.#afterFailure(run, e));
      // complete: check it, then move it into place
      if (opts.sha256) {
        const got = await sha256File(part);
        if (got !== opts.sha256.toLowerCase()) {
          await removeQuietly(part, metaPath);
          // a resumed file may hold two versions of a changed resource: one clean fetch more
          if (
            !checksumRestarted &&
            (result.resumedFrom > 0 || result.restarts > 0 || run.failures > 0)
          ) {
            checksumRestarted = true;
            result.restarts++;
            this.#log(`${url}: sha256 mismatch after a resumed transfer; fetching again from 0`);
            continue;
          }
          throw new FetchError(url, `sha256 mismatch: expected ${opts.sha256}, got ${got}`);
        }
      }
      const f = await Deno.open(part, { read: true, write: true });
      try {
        await f.sync();
      } finally {
        f.close();
      }
      await Deno.rename(part, dest);
      await removeQuietly(metaPath);
      result.bytes = (await fileSize(dest)) ?? 0;
      result.resumedFrom = Math.max(0, result.resumedFrom);
      return result;
    }
  }

  /** One attempt of a transfer, resuming from what the part file holds. */
  async #try(run: TransferRun, opts: TransferOptions): Promise<"complete" | typeof AGAIN> {
    const { url, result } = run;
    const before = (await fileSize(run.part)) ?? 0;
    if (result.resumedFrom < 0) result.resumedFrom = before;
    run.kept = Math.max(run.kept, before);
    result.requests++;
    this.#requests++;
    const outcome = await this.#attempt(url, run.part, run.metaPath, before, run.state, opts);
    if (outcome === "complete") return outcome;
    result.restarts++;
    if (result.requests >= ATTEMPTS_PER_TRY * (this.#retries + 1)) {
      throw new FetchError(
        url,
        `${url}: the server answered ${result.restarts} requests with another range or ` +
          `another version of the file (after ${result.requests} attempts)`,
      );
    }
    return AGAIN;
  }

  /**
   * After a failed attempt: the wait before the next one, or the FetchError that ends the
   * transfer. Attempts that grew the part file reset the count of failures.
   */
  async #afterFailure(run: TransferRun, e: unknown): Promise<number> {
    const { url, part, metaPath, result } = run;
    if (e instanceof FetchError) throw e;
    // a full disk is no network failure: retrying cannot help
    if (isDiskFull(e)) throw asDiskFull(e, part);
    const err = e instanceof AttemptError ? e : classifyFetchError(e);
    if (!err.retryable) {
      // the resource is gone or refused: a partial copy of it is of no further use
      if (err.status !== null) await removeQuietly(part, metaPath);
      throw new FetchError(url, attemptsSuffix(err.message, result.requests), err.status);
    }
    // only growth past the most bytes the part file held is progress, so bytes thrown away (a
    // Range request answered with the whole file) never count as progress
    const size = (await fileSize(part)) ?? 0;
    const progressed = size > run.kept;
    run.kept = Math.max(run.kept, size);
    run.sameFailures = err.message === run.lastFailure ? run.sameFailures + 1 : 1;
    run.lastFailure = err.message;
    run.failures = progressed ? 1 : run.failures + 1;
    const maxAttempts = ATTEMPTS_PER_TRY * (this.#retries + 1);
    if (run.failures > this.#retries || result.requests >= maxAttempts) {
      throw new FetchError(
        url,
        attemptsSuffix(givingUp(url, err, run.sameFailures, run.state), result.requests),
        err.status,
      );
    }
    const wait = retryDelayMs(run.failures, this.#retryBaseMs, this.#retryMaxMs, err.retryAfterMs);
    this.#log(`${url}: ${err.message}; retry in ${(wait / 1000).toFixed(1)}s`);
    return wait;
  }

  /** One request: completes the part file, asks for a restart, or throws an AttemptError. */
  async #attempt(
    url: string,
    part: string,
    metaPath: string,
    offset: number,
    state: TransferState,
    opts: TransferOptions,
  ): Promise<"complete" | "restart"> {
    const meta = offset > 0 ? await readMeta(metaPath, url) : null;
    if (offset > 0 && meta === null) {
      // a partial file without validators cannot be trusted to belong to this URL
      await removeQuietly(part);
      offset = 0;
    }
    const watchdog = new Watchdog(this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, {
        headers: requestHeaders(offset, meta, opts.headers),
        signal: watchdog.signal,
        redirect: "follow",
      });
    } catch (e) {
      watchdog.stop();
      if (watchdog.reason) throw new AttemptError(watchdog.reason, true);
      throw e;
    }
    try {
      const target = await this.#openPart(url, res, part, metaPath, offset, meta, state);
      if (typeof target === "string") return target;
      await receiveBody(res, target, watchdog, (n) => opts.onBytes?.(n));
      if (target.total !== null && target.written > target.total) {
        await removeQuietly(part, metaPath);
        throw new AttemptError(
          `body longer than its Content-Length (${target.written} > ${target.total})`,
          true,
        );
      }
      return "complete";
    } finally {
      watchdog.stop();
    }
  }

  /**
   * Reads the response's status and headers: the part file to append to (a 206 for the asked
   * range) or to start afresh (a 200), or done ("complete", "restart"), or an AttemptError.
   */
  async #openPart(
    url: string,
    res: Response,
    part: string,
    metaPath: string,
    offset: number,
    meta: PartMeta | null,
    state: TransferState,
  ): Promise<PartTarget | "complete" | "restart"> {
    const length = res.headers.get("content-length");
    const bodyLength = length !== null && /^\d+$/.test(length) ? Number(length) : null;
    const range = parseContentRange(res.headers.get("content-range"));
    if (res.status === 206 && offset > 0) {
      if (range === null || range.start !== offset) {
        this.#log(`${url}: server answered a range other than bytes=${offset}-; restarting`);
        await res.body?.cancel();
        await removeQuietly(part, metaPath);
        return "restart";
      }
      // a server that ignores If-Range sends a piece of the new file: its validators say so
      if (changedSince(meta, res.headers)) {
        this.#log(`${url}: the file changed on the server; restarting from 0`);
        await res.body?.cancel();
        await removeQuietly(part, metaPath);
        return "restart";
      }
      const total = range.total ?? (bodyLength !== null ? offset + bodyLength : null);
      const file = await Deno.open(part, { append: true });
      return { file, total, written: offset, start: offset };
    }
    if (res.status === 200 || (res.status === 206 && range?.start === 0)) {
      if (offset > 0) {
        state.rangeIgnored = true;
        this.#log(`${url}: server ignored Range (200, not 206); restarting from 0`);
      }
      // an unasked-for 206 from 0 may still be a piece: its total is the file's size
      const total = res.status === 206 ? range?.total ?? bodyLength : bodyLength;
      const fresh: PartMeta = {
        url,
        etag: res.headers.get("etag"),
        lastModified: res.headers.get("last-modified"),
        total,
      };
      await writeFileAtomic(metaPath, new TextEncoder().encode(JSON.stringify(fresh)));
      const file = await Deno.open(part, { write: true, create: true, truncate: true });
      return { file, total, written: 0, start: 0 };
    }
    await res.body?.cancel();
    if (res.status === 416 && offset > 0) {
      const unsatisfied = /^bytes \*\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
      if (unsatisfied && Number(unsatisfied[1]) === offset && meta?.total === offset) {
        return "complete";
      }
      await removeQuietly(part, metaPath);
      return "restart";
    }
    throw new AttemptError(
      new HttpError(url, res.status, res.statusText).message,
      isRetryableStatus(res.status),
      res.status,
      parseRetryAfter(res.headers.get("retry-after")),
    );
  }
}

/** The part file a response's body goes to. */
interface PartTarget {
  /** Open for writing at its end. */
  file: Deno.FsFile;
  /** The whole file's size, when the server says it. */
  total: number | null;
  /** Bytes in the part file so far. */
  written: number;
  /** Bytes in the part file before this response's body. */
  start: number;
}

/** Aborts a request when no response, and then no data, comes within the timeout. */
class Watchdog {
  /** Why it aborted ("" while it has not). */
  reason = "";
  #ctrl = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ms: number;

  constructor(ms: number) {
    this.#ms = ms;
    this.#arm(`timed out: no response in ${(ms / 1000).toFixed(1)}s`);
  }

  /** The signal to pass to fetch. */
  get signal(): AbortSignal {
    return this.#ctrl.signal;
  }

  /** Data came: the timeout starts again, now for the next data. */
  fed(): void {
    this.#arm(`timed out: no data for ${(this.#ms / 1000).toFixed(1)}s`);
  }

  /** The request is over. */
  stop(): void {
    clearTimeout(this.#timer);
  }

  #arm(reason: string): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.reason = reason;
      this.#ctrl.abort();
    }, this.#ms);
  }
}

/**
 * The caller's headers, `Range` from the part file's size, and `If-Range` so a changed file
 * comes whole.
 */
function requestHeaders(
  offset: number,
  meta: PartMeta | null,
  extra: Record<string, string> = {},
): Headers {
  // identity: byte offsets and Content-Length must be those of the file itself
  const headers = new Headers({ ...extra, "accept-encoding": "identity" });
  if (offset > 0) {
    headers.set("range", `bytes=${offset}-`);
    // If-Range makes a server send the whole new file instead of a piece of a changed one
    const validator = meta?.etag && !meta.etag.startsWith("W/") ? meta.etag : meta?.lastModified;
    if (validator) headers.set("if-range", validator);
  }
  return headers;
}

/** Streams the body into the part file; a body cut short is a retryable AttemptError. */
async function receiveBody(
  res: Response,
  target: PartTarget,
  watchdog: Watchdog,
  onChunk: (bytes: number) => void,
): Promise<void> {
  try {
    if (res.body) {
      watchdog.fed();
      for await (const chunk of res.body) {
        watchdog.fed();
        await writeAll(target.file, chunk);
        target.written += chunk.length;
        onChunk(chunk.length);
      }
    }
  } catch (e) {
    if (watchdog.reason) throw new AttemptError(watchdog.reason, true);
    // a body cut off before its declared length: say how far it got, whichever way it ended
    if (target.total === null || target.written >= target.total || isDiskFull(e)) throw e;
  } finally {
    target.file.close();
  }
  if (target.total !== null && target.written < target.total) {
    throw new ShortBodyError(target.written - target.start, target.total - target.start);
  }
}

/**
 * The message of a transfer given up. Bodies cut short again and again name the URL, how many
 * attempts in a row ended so, and why retrying did not help when a server ignoring Range made each
 * attempt start again from 0.
 */
function givingUp(url: string, err: AttemptError, times: number, state: TransferState): string {
  const failure = err.message;
  if (times < 2 || !(err instanceof ShortBodyError)) return failure;
  const why = state.rangeIgnored
    ? "; the server answers Range requests with 200 and the whole file, so nothing received " +
      "could be kept"
    : "";
  return `${url}: ${failure} ${times} times${why}`;
}

/** Turns what fetch or a body read threw into an attempt error. */
function classifyFetchError(e: unknown): AttemptError {
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
    return new AttemptError(`network access refused: ${e.message}`, false);
  }
  if (e instanceof ConfigError) return new AttemptError(e.message, false);
  const msg = e instanceof Error
    ? (e.cause instanceof Error ? e.cause.message : e.message)
    : String(e);
  return new AttemptError(`connection failed: ${msg.split("\n")[0]}`, true);
}

function attemptsSuffix(message: string, requests: number): string {
  return requests > 1 ? `${message} (after ${requests} attempts)` : message;
}

/** `Content-Range: bytes a-b/total` (total may be `*`). */
function parseContentRange(
  value: string | null,
): { start: number; end: number; total: number | null } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? "");
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === "*" ? null : Number(m[3]) };
}

async function readMeta(path: string, url: string): Promise<PartMeta | null> {
  try {
    const meta = JSON.parse(await Deno.readTextFile(path)) as PartMeta;
    return meta.url === url ? meta : null;
  } catch {
    return null;
  }
}

async function removeQuietly(...paths: string[]): Promise<void> {
  for (const p of paths) await Deno.remove(p).catch(() => {});
}

/** Whether a response's validators show another version than the one the partial file holds. */
function changedSince(meta: PartMeta | null, headers: Headers): boolean {
  if (!meta) return false;
  const etag = headers.get("etag"), lastModified = headers.get("last-modified");
  if (meta.etag && etag) return etag !== meta.etag;
  if (meta.lastModified && lastModified) return lastModified !== meta.lastModified;
  return false;
}
