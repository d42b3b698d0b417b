/**
 * A real HTTP server on 127.0.0.1 (`Deno.serve`, port 0) that serves a folder with Range support
 * and injects faults per path, counting every request, for the download tests.
 * @module
 */
import { join, normalize } from "node:path";

/**
 * A fault served for a path, for `times` requests (always when `times` is absent); a path's faults
 * apply one after the other, then it is served normally.
 */
export type FaultMode =
  /** Answers with this status and no file. */
  | { kind: "status"; status: number; times?: number; retryAfter?: string }
  /** Sends the headers for the whole answer, `afterBytes` of body, then breaks the connection. */
  | { kind: "drop"; afterBytes: number; times?: number }
  /** Declares the full Content-Length but ends the body after `afterBytes`. */
  | { kind: "short"; afterBytes: number; times?: number }
  /** Ignores Range: always 200 with the whole file. */
  | { kind: "ignore-range"; times?: number }
  /** Sends `afterBytes` of body (0: not even headers when `beforeHeaders`) and then nothing. */
  | { kind: "stall"; afterBytes: number; beforeHeaders?: boolean; times?: number }
  /** Sends the body in `chunkBytes` pieces every `intervalMs`. */
  | { kind: "throttle"; chunkBytes: number; intervalMs: number; times?: number };

/** One request the server saw. */
export interface SeenRequest {
  /** The URL path. */
  path: string;
  /** The Range header, if any. */
  range: string | null;
  /** The status answered. */
  status: number;
  /** The fault applied, if any. */
  fault: FaultMode["kind"] | null;
}

/** The running server. */
export interface FaultServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request so far, in order. */
  requests: SeenRequest[];
  /** Body bytes sent so far per path. */
  bytesSent: Map<string, number>;
  /** Sets the faults of a path, in the order they apply (none: serve it normally). */
  fault(path: string, ...modes: FaultMode[]): void;
  /** The requests for one path. */
  requestsFor(path: string): SeenRequest[];
  /** Stops the server, ending stalled answers. */
  close(): Promise<void>;
}

/**
 * Starts a server over a folder.
 * @param root the folder served at `/`
 * @returns the running server
 */
export function startFaultServer(root: string): FaultServer {
  const faults = new Map<string, { modes: FaultMode[]; used: number }>();
  const requests: SeenRequest[] = [];
  const bytesSent = new Map<string, number>();
  const cleanups = new Set<() => void>();
  const count = (path: string, n: number) => bytesSent.set(path, (bytesSent.get(path) ?? 0) + n);

  const handler = async (req: Request): Promise<Response> => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const range = req.headers.get("range");
    const seen: SeenRequest = { path, range, status: 0, fault: null };
    requests.push(seen);
    const answer = (res: Response) => {
      seen.status = res.status;
      return res;
    };
    const f = faults.get(path);
    let mode: FaultMode | null = null;
    while (f && f.modes.length > 0) {
      const head = f.modes[0];
      if (head.times === undefined || f.used < head.times) {
        f.used++;
        mode = head;
        seen.fault = mode.kind;
        break;
      }
      f.modes.shift();
      f.used = 0;
    }
    if (mode?.kind === "status") {
      const headers = mode.retryAfter ? { "retry-after": mode.retryAfter } : undefined;
      return answer(new Response(`fault ${mode.status}\n`, { status: mode.status, headers }));
    }
    if (mode?.kind === "stall" && mode.beforeHeaders) {
      await new Promise<void>((resolve) => {
        const done = () => {
          cleanups.delete(done);
          resolve();
        };
        // held until close(): the client gives up on its own timeout
        cleanups.add(done);
      });
      return answer(new Response("too late", { status: 503 }));
    }
    const file = join(root, normalize(path).replace(/^(\.\.[/\\])+/, ""));
    let data: Uint8Array<ArrayBuffer>;
    try {
      data = await Deno.readFile(file);
    } catch {
      return answer(new Response("not found\n", { status: 404 }));
    }
    let start = 0;
    let status = 200;
    const headers = new Headers({ "etag": `"${data.length}"`, "accept-ranges": "bytes" });
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m && mode?.kind !== "ignore-range") {
      start = Number(m[1]);
      if (start >= data.length) {
        headers.set("content-range", `bytes */${data.length}`);
        return answer(new Response(null, { status: 416, headers }));
      }
      status = 206;
      headers.set("content-range", `bytes ${start}-${data.length - 1}/${data.length}`);
    }
    const body = data.subarray(start);
    headers.set("content-length", String(body.length));
    if (!mode || mode.kind === "ignore-range") {
      count(path, body.length);
      return answer(new Response(body, { status, headers }));
    }
    let stream: ReadableStream<Uint8Array>;
    if (mode.kind === "throttle") {
      const { chunkBytes, intervalMs } = mode;
      let off = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stop = () => clearTimeout(timer);
      stream = new ReadableStream({
        pull(c) {
          return new Promise<void>((resolve) => {
            cleanups.add(stop);
            timer = setTimeout(() => {
              cleanups.delete(stop);
              const piece = body.subarray(off, off + chunkBytes);
              off += piece.length;
              count(path, piece.length);
              try {
                c.enqueue(piece);
                if (off >= body.length) c.close();
              } catch {
                // the client went away between the tick and this callback: nothing to send to
              }
              resolve();
            }, intervalMs);
          });
        },
        cancel: () => {
          stop();
          cleanups.delete(stop);
        },
      });
    } else {
      const head = body.subarray(0, mode.afterBytes);
      const kind = mode.kind;
      stream = new ReadableStream({
        start(c) {
          c.enqueue(head);
          count(path, head.length);
          if (kind === "short") c.close();
          else if (kind === "drop") setTimeout(() => c.error(new Error("dropped by test")), 10);
          else {
            const end = () => {
              cleanups.delete(end);
              try {
                c.close();
              } catch { /* already cancelled */ }
            };
            cleanups.add(end);
          }
        },
        cancel: () => {},
      });
    }
    return answer(new Response(stream, { status, headers }));
  };

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    // a broken body is the point of some faults: keep the log quiet
    onError: () => new Response("server error", { status: 500 }),
  }, handler);

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    bytesSent,
    fault(path, ...modes) {
      if (modes.length === 0) faults.delete(path);
      else faults.set(path, { modes, used: 0 });
    },
    requestsFor(path) {
      return requests.filter((r) => r.path === path);
    },
    async close() {
      for (const c of [...cleanups]) c();
      await server.shutdown();
    },
  };
}
