/**
 * A model hub on 127.0.0.1 that speaks the Hub's HTTP conventions for the tests: `HEAD`/`GET`
 * `/<owner>/<name>/resolve/<revision>/<file>` answer with `X-Repo-Commit` and an `ETag`; a
 * `.safetensors` file (an LFS file) answers `302` to a second server on another port (the "CDN",
 * a {@linkcode FaultServer} serving blobs by sha256, with Range and injectable faults) with its
 * sha256 in `X-Linked-Etag` and its size in `X-Linked-Size`. A gated repo answers 401 without the
 * token; an unknown repo, revision or file answers 404. Every request to either server is counted.
 * @module
 */
import { join } from "node:path";
import { type FaultServer, startFaultServer } from "./fault_server.ts";

/** One request the hub saw. */
export interface HubRequest {
  /** HEAD or GET. */
  method: string;
  /** The URL path. */
  path: string;
  /** The status answered. */
  status: number;
}

/** The running fake hub. */
export interface FakeHub {
  /** `http://127.0.0.1:<port>`: the value of `HF_ENDPOINT`. */
  url: string;
  /** The CDN server large files redirect to. */
  cdn: FaultServer;
  /** `127.0.0.1:<port>` of the CDN (for `KINEMBED_ALLOW_NET`). */
  cdnHost: string;
  /** Requests the hub itself saw. */
  requests: HubRequest[];
  /** Requests to the hub and the CDN together. */
  totalRequests(): number;
  /**
   * Publishes a repo's files at a commit (also reachable as `main`).
   * @returns the commit
   */
  addRepo(
    repo: string,
    files: Record<string, Uint8Array>,
    opts?: { gated?: boolean; commit?: string },
  ): Promise<string>;
  /** The CDN path of a published file (`/<sha256>`), to inject faults on. */
  cdnPath(repo: string, file: string): string;
  /** Makes the CDN serve other bytes than the hub announces for a file. */
  corrupt(repo: string, file: string): Promise<void>;
  /** Stops both servers and removes the CDN's folder. */
  close(): Promise<void>;
}

/** The token gated repos accept. */
export const FAKE_HUB_TOKEN = "hf_test_token";

async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Starts the hub and its CDN.
 * @returns the running hub
 */
export async function startFakeHub(): Promise<FakeHub> {
  const cdnRoot = await Deno.makeTempDir({ prefix: "kinembed-cdn-" });
  const cdn = startFaultServer(cdnRoot);
  const repos = new Map<
    string,
    { commit: string; gated: boolean; files: Map<string, { data: Uint8Array; sha: string }> }
  >();
  const requests: HubRequest[] = [];
  let commits = 0;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const seen: HubRequest = { method: req.method, path, status: 0 };
    requests.push(seen);
    const answer = (
      body: BodyInit | null,
      status: number,
      headers: Record<string, string> = {},
    ) => {
      seen.status = status;
      return new Response(req.method === "HEAD" ? null : body, { status, headers });
    };
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repo = m ? repos.get(m[1]) : undefined;
    if (!m || !repo) return answer("Repository not found", 404, { "x-error-code": "RepoNotFound" });
    if (repo.gated && req.headers.get("authorization") !== `Bearer ${FAKE_HUB_TOKEN}`) {
      return answer("Access to this repo is restricted", 401, { "x-error-code": "GatedRepo" });
    }
    if (m[2] !== "main" && m[2] !== repo.commit) {
      return answer("Revision not found", 404, { "x-error-code": "RevisionNotFound" });
    }
    const file = repo.files.get(m[3]);
    if (!file) return answer("Entry not found", 404, { "x-error-code": "EntryNotFound" });
    const common = { "x-repo-commit": repo.commit };
    if (m[3].endsWith(".safetensors")) {
      return answer(null, 302, {
        ...common,
        "x-linked-etag": `"${file.sha}"`,
        "x-linked-size": String(file.data.length),
        "etag": `"${file.sha.slice(0, 40)}"`,
        "location": `${cdn.url}/${file.sha}`,
      });
    }
    return answer(file.data as Uint8Array<ArrayBuffer>, 200, {
      ...common,
      "etag": `"${file.sha.slice(0, 40)}"`,
      "content-length": String(file.data.length),
    });
  });

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    cdn,
    cdnHost: new URL(cdn.url).host,
    requests,
    totalRequests: () => requests.length + cdn.requests.length,
    async addRepo(name, files, opts = {}) {
      const commit = opts.commit ??
        (await sha256Hex(new TextEncoder().encode(`${name}:${++commits}`))).slice(0, 40);
      const entries = new Map<string, { data: Uint8Array; sha: string }>();
      for (const [f, data] of Object.entries(files)) {
        const sha = await sha256Hex(data);
        entries.set(f, { data, sha });
        if (f.endsWith(".safetensors")) await Deno.writeFile(join(cdnRoot, sha), data);
      }
      repos.set(name, { commit, gated: opts.gated ?? false, files: entries });
      return commit;
    },
    cdnPath(repo, file) {
      return `/${repos.get(repo)!.files.get(file)!.sha}`;
    },
    async corrupt(repo, file) {
      const f = repos.get(repo)!.files.get(file)!;
      const bad = f.data.slice();
      bad[bad.length - 1] ^= 0xff;
      await Deno.writeFile(join(cdnRoot, f.sha), bad);
    },
    async close() {
      await server.shutdown();
      await cdn.close();
      await Deno.remove(cdnRoot, { recursive: true });
    },
  };
}

/**
 * The files of a checkpoint folder, to publish with {@linkcode FakeHub.addRepo}.
 * @param dir a folder written by the fixture checkpoint writer
 * @returns file name → bytes
 */
export async function checkpointFiles(dir: string): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) out[e.name] = await Deno.readFile(join(dir, e.name));
  }
  return out;
}
