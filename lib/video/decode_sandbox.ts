/**
 * Runs ffmpeg over untrusted videos in a sandbox where the OS allows: Deno's permissions stop at
 * the child process, and the decoder (a 2018 static build by default) parses files downloaded
 * from anywhere. With bubblewrap (`bwrap`, Debian's `bubblewrap`) ffmpeg runs with no network,
 * its own IPC/UTS/cgroup (and, when not root, user) namespaces, the whole file system read-only
 * and the work dir the only writable path. Not a PID namespace: bwrap's init inside one is never
 * waited for, so the decoders' CPU would vanish from `getrusage`/`time` accounting (a
 * compromised decoder can still see and, as the same user, signal other processes). Without bwrap, `unshare --net` (util-linux) takes the
 * network away only. Where neither works (no namespaces in a container, another OS) decoding runs
 * unsandboxed and says so in one line.
 *
 * `KINEMBED_SANDBOX` chooses: `auto` (default: bwrap, else unshare, else none), `bwrap`,
 * `unshare` or `off`. A start costs about 1–2 ms of CPU per video (bench/RESULTS.md).
 * @module
 */
import { delimiter, join } from "node:path";

/** The kinds of sandbox. */
export type SandboxKind = "bwrap" | "unshare" | "none";

/** How decoder processes are started. */
export interface DecodeSandbox {
  /** What isolates them. */
  kind: SandboxKind;
  /** The wrapper binary (absent for `none`). */
  wrapper?: string;
  /** The command and arguments that run `bin args` inside the sandbox. */
  wrap(bin: string, args: readonly string[]): { command: string; args: string[] };
  /** One line saying what the sandbox is, or why there is none. */
  note: string;
}

/** No sandbox: the binary runs as it is. */
export const NO_SANDBOX: DecodeSandbox = {
  kind: "none",
  wrap: (bin, args) => ({ command: bin, args: [...args] }),
  note: "decoding without a sandbox",
};

/**
 * The sandbox wrappers to try, from `KINEMBED_SANDBOX` and what is on `PATH`.
 * @param env reads an environment variable (default `Deno.env.get`)
 * @returns kind and absolute path of each wrapper found, in order of preference
 */
export function sandboxCandidates(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): { kind: Exclude<SandboxKind, "none">; path: string }[] {
  const want = (env("KINEMBED_SANDBOX") ?? "auto").trim() || "auto";
  const kinds = want === "auto"
    ? ["bwrap", "unshare"] as const
    : want === "bwrap"
    ? ["bwrap"] as const
    : want === "unshare"
    ? ["unshare"] as const
    : [] as const;
  const out: { kind: Exclude<SandboxKind, "none">; path: string }[] = [];
  for (const kind of kinds) {
    for (const dir of (env("PATH") ?? "").split(delimiter)) {
      if (!dir.startsWith("/")) continue;
      const p = join(dir, kind);
      try {
        if (Deno.statSync(p).isFile) {
          out.push({ kind, path: p });
          break;
        }
      } catch { /* not here */ }
    }
  }
  return out;
}

function bwrapSandbox(wrapper: string, writable: string): DecodeSandbox {
  const prefix = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    .concat(["--bind", writable, writable, "--unshare-user-try", "--unshare-net"])
    .concat(["--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"])
    .concat(["--die-with-parent", "--new-session"]);
  return {
    kind: "bwrap",
    wrapper,
    wrap: (bin, args) => ({ command: wrapper, args: [...prefix, "--", bin, ...args] }),
    note: `decoding sandboxed by ${wrapper}: no network, file system read-only but ${writable}`,
  };
}

function unshareSandbox(wrapper: string): DecodeSandbox {
  // a user that is not root needs its own user namespace to own a network namespace
  const userNs = Deno.uid() === 0 ? [] : ["--map-root-user"];
  return {
    kind: "unshare",
    wrapper,
    wrap: (bin, args) => ({ command: wrapper, args: [...userNs, "--net", "--", bin, ...args] }),
    note: `decoding sandboxed by ${wrapper} --net: no network (install bubblewrap to make the ` +
      "file system read-only as well)",
  };
}

/**
 * Finds a sandbox that works here: each candidate runs `ffmpeg -version` once; the first that
 * succeeds is used.
 * @param ffmpeg the decoder binary
 * @param writable the one path the decoder may write (the work dir)
 * @param env reads an environment variable (default `Deno.env.get`)
 * @returns the sandbox, or {@linkcode NO_SANDBOX} with a note naming why
 */
export async function openDecodeSandbox(
  ffmpeg: string,
  writable: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<DecodeSandbox> {
  const want = (env("KINEMBED_SANDBOX") ?? "auto").trim() || "auto";
  if (want === "off") {
    return { ...NO_SANDBOX, note: "decoding without a sandbox (KINEMBED_SANDBOX=off)" };
  }
  if (!["auto", "bwrap", "unshare"].includes(want)) {
    return { ...NO_SANDBOX, note: `decoding without a sandbox: unknown KINEMBED_SANDBOX=${want}` };
  }
  const tried: string[] = [];
  for (const c of sandboxCandidates(env)) {
    const s = c.kind === "bwrap" ? bwrapSandbox(c.path, writable) : unshareSandbox(c.path);
    const { command, args } = s.wrap(ffmpeg, ["-hide_banner", "-version"]);
    try {
      const out = await new Deno.Command(command, { args, stdin: "null" }).output();
      if (out.success) return s;
      const why = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
      tried.push(`${c.kind}: ${why || `exit code ${out.code}`}`);
    } catch (e) {
      tried.push(`${c.kind}: ${(e as Error).message}`);
    }
  }
  const why = tried.length > 0 ? tried.join("; ") : "neither bwrap nor unshare found";
  return { ...NO_SANDBOX, note: `decoding without a sandbox (${why})` };
}
