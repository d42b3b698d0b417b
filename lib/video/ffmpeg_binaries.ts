/**
 * Which ffmpeg and ffprobe decode. Measured on the real Kinetics clip, Debian's shared builds
 * spend about 0.2 s of CPU per process just starting (216 shared libraries); the static builds
 * shipped in the npm packages `@ffmpeg-installer/linux-x64` and `@ffprobe-installer/linux-x64`
 * start in 5 ms and give byte-identical frames (`ffmpeg_binaries_test.ts` checks a corpus). So
 * the default, in order, is: `--ffmpeg`/`--ffprobe` (or `setFfmpegPaths`), `FFMPEG_PATH` /
 * `FFPROBE_PATH`, the pinned static build that `./kinembed bootstrap` verified and installed under
 * `.kinembed/ffmpeg/`, then the one on `PATH`.
 *
 * The packages are pinned in `deno.json` and `deno.lock`; their postinstall (a `chmod`) never
 * runs. The bootstrap runs this file, which checks each binary's sha256 against the pin below
 * and copies it, executable, into `.kinembed/ffmpeg/`.
 *
 *   deno run --allow-read --allow-write=.kinembed lib/video/ffmpeg_binaries.ts
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, DecodeError, sha256File } from "../base/mod.ts";

/** The two programs. */
export type FfmpegTool = "ffmpeg" | "ffprobe";

/** A static build pinned by npm version and by the sha256 of its binary. */
export interface StaticBuild {
  /** The npm package that ships it (no postinstall is run). */
  npmPackage: string;
  /** Its npm version (also in `deno.json`). */
  npmVersion: string;
  /** sha256 of the binary inside the package. */
  sha256: string;
}

/** The pinned static builds (linux x86_64 only). */
export const STATIC_BUILDS: Readonly<Record<FfmpegTool, StaticBuild>> = {
  ffmpeg: {
    npmPackage: "@ffmpeg-installer/linux-x64",
    npmVersion: "4.1.0",
    sha256: "6d0c625dbd3f604ed2618981ba6fee7e29678855ab741d654cfc9effb0226624",
  },
  ffprobe: {
    npmPackage: "@ffprobe-installer/linux-x64",
    npmVersion: "5.2.0",
    sha256: "576c21674291ec1948d507ea8ab0d78eb6621a0be8c6f1a6db0f50c5fcb1e0f9",
  },
};

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

/** Where the bootstrap installs the verified static builds. */
export const STATIC_BUILD_DIR: string = join(REPO_ROOT, ".kinembed", "ffmpeg");

/**
 * The installed static build of a tool, if the bootstrap installed it.
 * @param tool ffmpeg or ffprobe
 * @returns its absolute path, or null (another platform, not installed, or not readable here)
 */
export function installedStaticBuild(tool: FfmpegTool): string | null {
  const path = join(STATIC_BUILD_DIR, tool);
  try {
    const s = Deno.statSync(path);
    return s.isFile && ((s.mode ?? 0o111) & 0o111) !== 0 ? path : null;
  } catch {
    return null;
  }
}

/**
 * The binary a tool runs when nothing names one: its environment variable, else the installed
 * static build, else the name (found on `PATH`).
 * @param tool ffmpeg or ffprobe
 * @param env reads an environment variable (default `Deno.env.get`)
 * @returns a path or a bare name
 */
export function defaultFfmpegBinary(
  tool: FfmpegTool,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): string {
  const fromEnv = env(tool === "ffmpeg" ? "FFMPEG_PATH" : "FFPROBE_PATH");
  if (fromEnv) return fromEnv;
  return installedStaticBuild(tool) ?? tool;
}

/** What identifies a binary in the run config. */
export interface BinaryIdentity {
  /** The first line of `-version`, e.g. `ffmpeg version 4.1-static`. */
  version: string;
  /** sha256 of the binary file. */
  sha256: string;
}

/**
 * The version line and sha256 of an ffmpeg or ffprobe binary. A binary in the static build
 * folder must still match its pin.
 * @param bin a path or a name on `PATH`
 * @returns the version line and sha256
 * @throws DecodeError when it cannot run; ConfigError when an installed static build was altered
 */
export async function binaryIdentity(bin: string): Promise<BinaryIdentity> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(bin, { args: ["-hide_banner", "-version"], stdin: "null" })
      .output();
  } catch (e) {
    throw new DecodeError("-", `cannot run ${bin}: ${(e as Error).message}`);
  }
  if (!out.success) throw new DecodeError("-", `cannot run ${bin}: exit code ${out.code}`);
  const version = new TextDecoder().decode(out.stdout).split("\n")[0]
    .replace(/ Copyright.*/, "").trim();
  const path = bin.includes("/") ? bin : whichOnPath(bin) ?? bin;
  const sha256 = await sha256File(path);
  for (const tool of ["ffmpeg", "ffprobe"] as const) {
    if (path === join(STATIC_BUILD_DIR, tool) && sha256 !== STATIC_BUILDS[tool].sha256) {
      throw new ConfigError(
        `${path}: sha256 ${sha256} is not the pinned ${STATIC_BUILDS[tool].npmPackage}@` +
          `${STATIC_BUILDS[tool].npmVersion} (${
            STATIC_BUILDS[tool].sha256
          }); run ./kinembed bootstrap`,
      );
    }
  }
  return { version, sha256 };
}

function whichOnPath(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      const p = join(dir, name);
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return null;
}

/**
 * Verifies the static builds in `node_modules` against their pins and installs them, executable,
 * into {@linkcode STATIC_BUILD_DIR}. A missing package or another platform is skipped (Debian's
 * ffmpeg then decodes); a binary whose sha256 differs from its pin is refused.
 * @param nodeModules the folder holding the npm packages (default the repository's)
 * @param dest where to install (default {@linkcode STATIC_BUILD_DIR})
 * @returns one line per tool saying what happened
 * @throws ConfigError on a sha256 mismatch
 */
export async function installStaticBuilds(
  nodeModules: string = join(REPO_ROOT, "node_modules"),
  dest: string = STATIC_BUILD_DIR,
): Promise<string[]> {
  await Deno.mkdir(dest, { recursive: true });
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return [`no static ffmpeg build for ${Deno.build.os}/${Deno.build.arch}: using ffmpeg on PATH`];
  }
  const lines: string[] = [];
  for (const tool of ["ffmpeg", "ffprobe"] as const) {
    const pin = STATIC_BUILDS[tool];
    const src = join(nodeModules, pin.npmPackage, tool);
    const to = join(dest, tool);
    if (await isFile(to) && await sha256File(to) === pin.sha256) {
      lines.push(`${tool}: ${pin.npmPackage}@${pin.npmVersion} already installed`);
      continue;
    }
    try {
      await Deno.stat(src);
    } catch {
      lines.push(`${tool}: ${src} is missing: using ${tool} on PATH`);
      continue;
    }
    const got = await sha256File(src);
    if (got !== pin.sha256) {
      throw new ConfigError(
        `${src}: sha256 ${got} is not the pinned ${pin.sha256} of ${pin.npmPackage}@${pin.npmVersion}`,
      );
    }
    const tmp = `${to}.tmp-${Deno.pid}`;
    await Deno.copyFile(src, tmp);
    await Deno.chmod(tmp, 0o555);
    await Deno.rename(tmp, to);
    lines.push(`${tool}: installed ${pin.npmPackage}@${pin.npmVersion} (sha256 verified)`);
  }
  return lines;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  try {
    for (const line of await installStaticBuilds()) console.error(`kinembed: ${line}`);
  } catch (e) {
    console.error(`kinembed: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
