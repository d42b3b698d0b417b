/**
 * A model hub client that follows the Hub's HTTP conventions: a `HEAD` of
 * `<endpoint>/<repo>/resolve/<revision>/<file>` (redirects not followed) answers with the commit
 * (`X-Repo-Commit`), the file's ETag (`X-Linked-Etag` for large files: their sha256; else `ETag`)
 * and size; the `GET` of the same URL redirects large files to a CDN host. Files land in the
 * `huggingface_hub` cache layout ({@linkcode HubRepoCache}); a file already there costs no request,
 * a transfer resumes with `Range` and retries like the download step, and a large file's sha256 is
 * checked before it is linked into a snapshot.
 *
 * @example
 * ```ts ignore
 * // reaches the model hub: not run by the tests (lib/model/model_store_test.ts runs a local hub)
 * import { HubClient } from "./hub_client.ts";
 * import { hubSettingsFromEnv } from "./hub_settings.ts";
 * const hub = new HubClient(hubSettingsFromEnv());
 * const f = await hub.download("openai/clip-vit-base-patch32", "config.json", "main");
 * console.log(f.path, f.commit);
 * ```
 * @module
 */
import { ConfigError } from "../base/mod.ts";
import { AGAIN, Fetcher, type FetcherOptions, retryDelayMs, retrying } from "../net/mod.ts";
import { HubRepoCache, isCommitHash } from "./hub_cache.ts";
import type { HubSettings } from "./hub_settings.ts";

/** A hub request or lookup that failed, naming the repo, file and revision. */
export class HubError extends ConfigError {
  /** The error class name, shown in messages. */
  override name = "HubError";
  /**
   * Builds the error.
   * @param message one line
   * @param status the HTTP status, when the hub answered one
   */
  constructor(message: string, readonly status: number | null = null) {
    super(message);
  }
}

/**
 * The hub could not be reached at all (connection refused, reset, no name, or no answer in time):
 * not a missing file, so the other checkpoint layout is not tried.
 */
export class HubUnreachableError extends HubError {
  /** The error class name, shown in messages. */
  override name = "HubUnreachableError";
}

/** How long the metadata request of one file may go unanswered, retries included. */
export const HUB_UNREACHABLE_AFTER_MS = 5000;

/** How long a hub that refuses connections (or has no address) is retried. */
const REFUSED_RETRY_MS = 2000;

/** Same-host redirects the metadata request follows before calling it a loop. */
const MAX_REDIRECTS = 5;

/** A file in the cache. */
export interface HubFile {
  /** Its snapshot path (`…/snapshots/<commit>/<file>`). */
  path: string;
  /** The commit it belongs to. */
  commit: string;
  /** HTTP requests this lookup sent (0: served from the cache). */
  requests: number;
}

/** Options of {@linkcode HubClient}. */
export interface HubClientOptions {
  /** Retry policy of transfers (default: as the download step). */
  fetcher?: FetcherOptions;
  /** Retries of the metadata request on 5xx (default 5). */
  retries?: number;
  /**
   * Milliseconds after which a hub that refuses connections or does not answer is given up on,
   * retries included (default {@linkcode HUB_UNREACHABLE_AFTER_MS}).
   */
  unreachableAfterMs?: number;
}

/** Reads files of hub repositories through the cache. */
export class HubClient {
  #fetcher: Fetcher;
  #retries: number;
  #retryBaseMs: number;
  #unreachableAfterMs: number;
  #requests = 0;

  /**
   * Builds a client.
   * @param settings endpoint, token, cache folder, offline flag
   * @param opts retry policy
   */
  constructor(readonly settings: HubSettings, opts: HubClientOptions = {}) {
    this.#fetcher = new Fetcher({ jobs: 2, ...opts.fetcher });
    this.#retries = opts.retries ?? opts.fetcher?.retries ?? 5;
    this.#retryBaseMs = opts.fetcher?.retryBaseMs ?? 1000;
    this.#unreachableAfterMs = opts.unreachableAfterMs ?? HUB_UNREACHABLE_AFTER_MS;
  }

  /** HTTP requests sent so far (metadata and transfers). */
  get requests(): number {
    return this.#requests + this.#fetcher.requests;
  }

  /**
   * The cached file if there is one, else fetched from the hub into the cache.
   * @param repo `owner/name`
   * @param file path in the repository
   * @param revision branch, tag or commit
   * @param opts `refresh`: ask the hub what a branch points to now even when it is cached
   * @returns the snapshot path and commit
   * @throws HubError naming the file and where it looked (offline and not cached, 401, 404, a
   *   sha256 mismatch, retries used up)
   */
  async download(
    repo: string,
    file: string,
    revision: string,
    opts: { refresh?: boolean } = {},
  ): Promise<HubFile> {
    const cache = new HubRepoCache(this.settings.cacheDir, repo);
    const before = this.requests;
    // a branch resolved once stays pinned to its commit until refreshed: reruns are reproducible
    if (!opts.refresh || isCommitHash(revision) || this.settings.offline) {
      const hit = await cache.cached(revision, file);
      if (hit) return { ...hit, requests: 0 };
    }
    if (this.settings.offline) {
      throw new HubError(
        `${repo}/${file}@${revision} is not in the cache (looked in ${cache.root}) and ` +
          "HF_HUB_OFFLINE is set: fetch it once online, or unset HF_HUB_OFFLINE",
      );
    }
    const url = `${this.settings.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${
      file.split("/").map(encodeURIComponent).join("/")
    }`;
    const meta = await this.#head(url, repo, file, revision);
    const blob = cache.blobPath(meta.etag);
    await Deno.mkdir(cache.root + "/blobs", { recursive: true });
    const release = await cache.lockBlob(meta.etag);
    try {
      await this.#fetchBlob(url, blob, meta, `${repo}/${file}@${revision}`);
    } finally {
      release();
    }
    const path = await cache.link(meta.commit, file, meta.etag);
    await cache.writeRef(revision, meta.commit);
    return { path, commit: meta.commit, requests: this.requests - before };
  }

  /** Fetches a blob unless another process (or an earlier run) has already. */
  async #fetchBlob(
    url: string,
    blob: string,
    meta: { etag: string; size: number | null },
    what: string,
  ): Promise<void> {
    try {
      await Deno.stat(blob);
    } catch {
      const auth: Record<string, string> = this.settings.token
        ? { authorization: `Bearer ${this.settings.token}` }
        : {};
      try {
        await this.#fetcher.fetchToFile(url, blob, {
          sha256: /^[0-9a-f]{64}$/.test(meta.etag) ? meta.etag : undefined,
          headers: auth,
        });
      } catch (e) {
        throw new HubError(`${what}: ${(e as Error).message} (${url})`);
      }
      if (meta.size !== null) {
        const got = (await Deno.stat(blob)).size;
        if (got !== meta.size) {
          await Deno.remove(blob).catch(() => {});
          throw new HubError(
            `${what}: got ${got} bytes, the hub announced ${meta.size} (${url})`,
          );
        }
      }
    }
  }

  /**
   * The metadata request, following only same-host redirects, with retries: a hub that does not
   * answer is given up on after a few seconds, naming the repo and the ways out.
   */
  #head(url: string, repo: string, file: string, revision: string): Promise<HubFileMeta> {
    const probe: HeadProbe = {
      url,
      what: `${repo}/${file}@${revision}`,
      at: url,
      visited: new Set([url]),
      failures: 0,
      unanswered: 0,
      quietSince: null,
    };
    return retrying(
      () => this.#headOnce(probe),
      (e) => this.#headFailed(probe, e, repo, file, revision),
    );
  }

  /** One metadata request: the answer, {@linkcode AGAIN} after a redirect, or an error. */
  async #headOnce(probe: HeadProbe): Promise<HubFileMeta | typeof AGAIN> {
    const { url, what, at, visited } = probe;
    // the time without an answer: a hub that answers (even 5xx) is not unreachable
    probe.quietSince ??= Date.now();
    const left = this.#unreachableAfterMs - (Date.now() - probe.quietSince);
    this.#requests++;
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (this.settings.token) headers.authorization = `Bearer ${this.settings.token}`;
    const res = await fetch(at, {
      method: "HEAD",
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(Math.max(1, left)),
    });
    await res.body?.cancel();
    const commit = res.headers.get("x-repo-commit");
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location");
      let next: URL | null = null;
      try {
        next = location ? new URL(location, at) : null;
      } catch { /* not a URL: reported below as an answer without X-Repo-Commit */ }
      // a relative redirect (a renamed repo) is followed, as is one to the same host that does
      // not carry the answer; one to a CDN host carries the answer in its headers
      const relative = location !== null && !/^[a-z]+:\/\//i.test(location);
      const sameHost = next !== null && next.origin === new URL(at).origin && commit === null;
      if (next !== null && (relative || sameHost)) {
        if (visited.has(next.href) || visited.size > MAX_REDIRECTS) {
          throw new HubError(
            `${what}: redirect loop: ${url} was redirected ${visited.size} times ` +
              `(${visited.has(next.href) ? "back" : "last"} to ${next.href}); ` +
              `is ${this.settings.endpoint} a model hub? (HF_ENDPOINT)`,
          );
        }
        visited.add(next.href);
        probe.at = next.href;
        return AGAIN;
      }
    } else if (res.status === 401 || res.status === 403) {
      throw new HubError(
        this.settings.token
          ? `${what}: the hub refused the token (HTTP ${res.status}); the repo may be gated ` +
            `(accept its conditions on the hub) or private (${url})`
          : `${what}: HTTP ${res.status}: the repo is gated or private (or does not exist); ` +
            `set HF_TOKEN to a token with access (${url})`,
        res.status,
      );
    } else if (res.status === 404) {
      throw new HubError(`${what}: not found on the hub (HTTP 404, ${url})`, 404);
    } else if (res.status >= 500 || res.status === 429 || res.status === 408) {
      throw new BusyHubAnswer(res.status);
    } else if (res.status !== 200) {
      throw new HubError(`${what}: HTTP ${res.status} (${url})`, res.status);
    }
    const etag = normalizeEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
    if (commit === null || !isCommitHash(commit) || etag === null) {
      throw new HubError(
        `${what}: the hub's answer lacks X-Repo-Commit or ETag; is ${this.settings.endpoint} ` +
          "a model hub? (HF_ENDPOINT)",
      );
    }
    const size = Number(res.headers.get("x-linked-size") ?? res.headers.get("content-length"));
    return { commit, etag, size: Number.isSafeInteger(size) && size > 0 ? size : null };
  }

  /**
   * After a failed metadata request: the wait before the next, or the HubError that ends it. A
   * busy hub (5xx, 429, 408) is retried `retries` times; a refused connection for a blip's
   * length, silence up to the whole time bound.
   */
  #headFailed(
    probe: HeadProbe,
    e: unknown,
    repo: string,
    file: string,
    revision: string,
  ): number {
    const { url, what } = probe;
    if (e instanceof HubError) throw e;
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new HubError(`${what}: network access refused: ${(e as Error).message}`);
    }
    if (e instanceof BusyHubAnswer) {
      if (++probe.failures > this.#retries) {
        throw new HubError(`${what}: HTTP ${e.status} after ${probe.failures} attempts (${url})`);
      }
      // the hub answered: the time without an answer starts again after the wait
      probe.quietSince = null;
      return retryDelayMs(probe.failures, this.#retryBaseMs, 60_000);
    }
    const unanswered = ++probe.unanswered;
    const wait = retryDelayMs(unanswered, 250, 2000);
    const elapsed = Date.now() - (probe.quietSince ?? Date.now());
    const cause = unreachableCause(e);
    const limit = cause === "no answer"
      ? this.#unreachableAfterMs
      : Math.min(REFUSED_RETRY_MS, this.#unreachableAfterMs);
    if (elapsed + wait >= limit) {
      throw new HubUnreachableError(
        `${repo}: cannot reach the model hub at ${this.settings.endpoint} for ${file}@` +
          `${revision} (${cause}; ${unanswered} ${unanswered === 1 ? "try" : "tries"} in ` +
          `${(elapsed / 1000).toFixed(1)} s): set HF_HUB_OFFLINE=1 to use the cache, give a ` +
          "local checkpoint path instead, or set HF_ENDPOINT to a mirror",
      );
    }
    return wait;
  }
}

/** What the metadata request of a file tells: its commit, ETag and size. */
interface HubFileMeta {
  commit: string;
  etag: string;
  size: number | null;
}

/** One file's metadata request across its attempts and redirects. */
interface HeadProbe {
  /** The URL first asked. */
  url: string;
  /** `repo/file@revision`, to start messages. */
  what: string;
  /** The URL asked now (after same-host redirects). */
  at: string;
  /** URLs asked so far, to see a redirect loop. */
  visited: Set<string>;
  /** Busy answers (5xx, 429, 408) so far. */
  failures: number;
  /** Requests that got no answer so far. */
  unanswered: number;
  /** When the current stretch without an answer began (null: at the next request). */
  quietSince: number | null;
}

/** A hub answer worth another try (5xx, 429, 408). */
class BusyHubAnswer extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** `W/"abc"` → `abc`; null when empty or not a safe file name. */
function normalizeEtag(v: string | null): string | null {
  if (v === null) return null;
  const e = v.replace(/^W\//, "").replace(/^"|"$/g, "");
  return /^[A-Za-z0-9._-]+$/.test(e) ? e : null;
}

/** A connection failure in a few words: refused, reset, no such host, or no answer in time. */
function unreachableCause(e: unknown): string {
  if (e instanceof DOMException && e.name === "TimeoutError") return "no answer";
  // fetch's own message is "fetch failed"; the reason is in its cause
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : "";
  const m = `${e instanceof Error ? e.message : String(e)}: ${cause}`;
  if (/refused/i.test(m)) return "connection refused";
  if (/reset|closed|broken pipe|incomplete/i.test(m)) return "connection closed";
  if (/dns|lookup|resolve|name or service/i.test(m)) return "host not found";
  return (cause || m).split("\n")[0].slice(0, 80);
}
