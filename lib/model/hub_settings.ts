/**
 * Where the model hub is and how to reach it, read from the same environment variables
 * `huggingface_hub` reads: `HF_ENDPOINT`, `HF_TOKEN` (or the token file under `HF_HOME`),
 * `HF_HUB_CACHE` / `HF_HOME`, `HF_HUB_OFFLINE`.
 * @module
 */
import { join } from "node:path";

/** The hub's default endpoint. */
export const DEFAULT_HUB_ENDPOINT = "https://huggingface.co";

/**
 * Hosts the default endpoint redirects large (LFS / Xet) files to; the model task may reach these
 * and the endpoint's own host, nothing else.
 */
export const DEFAULT_HUB_CDN_HOSTS: readonly string[] = [
  "cdn-lfs.huggingface.co",
  "cdn-lfs-us-1.huggingface.co",
  "cdn-lfs-eu-1.huggingface.co",
  "cdn-lfs.hf.co",
  "cdn-lfs-us-1.hf.co",
  "cdn-lfs-eu-1.hf.co",
  "cas-bridge.xethub.hf.co",
];

/** Environment variables the hub client reads. */
export const HUB_ENV_VARS: readonly string[] = [
  "HF_ENDPOINT",
  "HF_TOKEN",
  "HUGGING_FACE_HUB_TOKEN",
  "HF_TOKEN_PATH",
  "HF_HOME",
  "HF_HUB_CACHE",
  "HUGGINGFACE_HUB_CACHE",
  "HF_HUB_OFFLINE",
  "XDG_CACHE_HOME",
  "HOME",
  "KINEMBED_MODEL_CACHE",
];

/** How the hub is reached. */
export interface HubSettings {
  /** Base URL, no trailing slash (`https://huggingface.co`). */
  endpoint: string;
  /** Access token for gated or private repos. */
  token: string | null;
  /** The `huggingface_hub` cache folder (`…/huggingface/hub`). */
  cacheDir: string;
  /** No network: only the cache is used. */
  offline: boolean;
}

/**
 * The hub settings from the environment, as `huggingface_hub` computes them.
 * @param env reads a variable (default `Deno.env.get`)
 * @returns endpoint, token, cache folder, offline flag
 */
export function hubSettingsFromEnv(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): HubSettings {
  const home = env("HOME") ?? "/tmp";
  const hfHome = env("HF_HOME") ??
    join(env("XDG_CACHE_HOME") ?? join(home, ".cache"), "huggingface");
  const cacheDir = env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE") ?? join(hfHome, "hub");
  let token = env("HF_TOKEN") ?? env("HUGGING_FACE_HUB_TOKEN") ?? null;
  if (token === null) {
    try {
      token = Deno.readTextFileSync(env("HF_TOKEN_PATH") ?? join(hfHome, "token")).trim() || null;
    } catch {
      token = null;
    }
  }
  const offline = ["1", "true", "yes", "on"].includes((env("HF_HUB_OFFLINE") ?? "").toLowerCase());
  return {
    endpoint: (env("HF_ENDPOINT") ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, ""),
    token,
    cacheDir,
    offline,
  };
}

/**
 * The folder built models are cached in: `$KINEMBED_MODEL_CACHE`, else
 * `$XDG_CACHE_HOME/kinembed/models` (default `~/.cache/kinembed/models`).
 * @param env reads a variable
 * @returns the folder
 */
export function builtModelCacheDir(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): string {
  const explicit = env("KINEMBED_MODEL_CACHE");
  if (explicit) return explicit;
  return join(env("XDG_CACHE_HOME") ?? join(env("HOME") ?? "/tmp", ".cache"), "kinembed", "models");
}
