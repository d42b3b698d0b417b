/**
 * GPU setup for encode: installs ONNX Runtime's CUDA execution provider libraries next to
 * onnxruntime-node's own library, and finds the CUDA 13 user-space libraries they need (system
 * loader paths, `LD_LIBRARY_PATH`, CUDA toolkits, Python venvs with NVIDIA's wheels).
 *
 * onnxruntime-node's `libonnxruntime.so.1` is CUDA-capable: it loads
 * `libonnxruntime_providers_shared.so` and `libonnxruntime_providers_cuda.so` from its own folder.
 * Its postinstall would fetch them from outside the npm registry; the npm package
 * `com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9` ships the same two files (ONNX Runtime
 * 1.29.0, CUDA 13) under `package/Plugins/Linux/x64/`.
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { extractArchive } from "../tar/mod.ts";
import { ONNXRUNTIME_VERSION } from "../onnx/mod.ts";
import { ConfigError, pathExists, sha256File, TEMP_SUFFIX, tempPathFor } from "../base/mod.ts";
import { readElfDynamicNames } from "./elf_needed.ts";

/** The npm package that ships the CUDA provider libraries. */
export const PROVIDER_PACKAGE = "com.github.asus4.onnxruntime.linux-x64-gpu";
/** Its version holding ONNX Runtime 1.29.0 built for CUDA 13. */
export const PROVIDER_PACKAGE_VERSION = "0.4.9";
/** Where the libraries sit inside the packed package. */
export const PROVIDER_PACKAGE_DIR = "package/Plugins/Linux/x64";
/** The provider libraries onnxruntime-node loads from its own folder. */
export const PROVIDER_LIBRARIES = [
  "libonnxruntime_providers_shared.so",
  "libonnxruntime_providers_cuda.so",
] as const;

/** A shared library the CUDA provider needs at run time. */
export interface CudaLibrarySpec {
  /** The name the loader looks for, e.g. `libcudart.so.13`. */
  soname: string;
  /** What it is. */
  what: string;
  /** The provider loads without it (cuDNN: only convolution kernels need it). */
  optional: boolean;
  /** Where to get it. */
  source: string;
}

/**
 * The CUDA libraries `libonnxruntime_providers_cuda.so` of ONNX Runtime 1.29.0 (package 0.4.9)
 * names as `NEEDED` (checked with `readelf -d`), plus cuDNN 9, which it opens at run time.
 */
export const CUDA_LIBRARIES: readonly CudaLibrarySpec[] = [
  {
    soname: "libcudart.so.13",
    what: "CUDA 13 runtime",
    optional: false,
    source: "pip install nvidia-cuda-runtime (13.x), or a CUDA 13 toolkit",
  },
  {
    soname: "libcublas.so.13",
    what: "cuBLAS (CUDA 13)",
    optional: false,
    source: "pip install nvidia-cublas (13.x), or a CUDA 13 toolkit",
  },
  {
    soname: "libcublasLt.so.13",
    what: "cuBLASLt (CUDA 13)",
    optional: false,
    source: "pip install nvidia-cublas (13.x), or a CUDA 13 toolkit",
  },
  {
    soname: "libcurand.so.10",
    what: "cuRAND (CUDA 13)",
    optional: false,
    source: "pip install nvidia-curand (10.4, CUDA 13), or a CUDA 13 toolkit",
  },
  {
    soname: "libcudnn.so.9",
    what: "cuDNN 9 (optional: convolutions)",
    optional: true,
    source: "pip install nvidia-cudnn-cu13",
  },
];

/** The driver's library the provider needs; it comes with the NVIDIA driver, not with CUDA. */
export const DRIVER_LIBRARY: CudaLibrarySpec = {
  soname: "libcuda.so.1",
  what: "NVIDIA driver",
  optional: false,
  source: "the NVIDIA driver",
};

/** Folders the dynamic loader searches by default (besides its cache). */
const LOADER_DEFAULT_DIRS = ["/lib", "/usr/lib", "/lib64", "/usr/lib64"];

/** Places a CUDA toolkit or a driver is often installed without being on the loader path. */
const TOOLKIT_DIRS = [
  "/usr/local/cuda/lib64",
  "/usr/local/cuda/targets/x86_64-linux/lib",
  "/usr/local/nvidia/lib64",
  "/usr/local/nvidia/lib",
  "/usr/lib/wsl/lib",
];

/** A folder searched for libraries and why it is searched. */
export interface SearchDir {
  /** The folder. */
  dir: string;
  /** Where it came from, e.g. `python venv /opt/venv`, `CUDA toolkit`. */
  origin: string;
}

/** Where to look: what the loader sees now, and folders it would need to be told about. */
export interface LibrarySearchPaths {
  /** `LD_LIBRARY_PATH`, split. */
  ldLibraryPath: string[];
  /** The loader cache (`ldconfig -p`): soname → path, x86-64 entries only. */
  ldconfig: Map<string, string>;
  /** The loader's default folders. */
  systemDirs: string[];
  /** Folders not on the loader path: venvs' NVIDIA wheels, CUDA toolkits, driver folders. */
  candidates: SearchDir[];
}

/** How a library was found. */
export type FoundVia = "LD_LIBRARY_PATH" | "ldconfig" | "system" | "not on the loader path";

/** Where one library is, if anywhere. */
export interface LibraryLocation {
  /** The library. */
  spec: CudaLibrarySpec;
  /** Its path, or null when missing. */
  path: string | null;
  /** How it was found (null when missing). */
  via: FoundVia | null;
  /** The search folder's origin, for libraries found off the loader path. */
  origin?: string;
}

/** Whether there is an NVIDIA GPU. */
export interface GpuInfo {
  /** A GPU was seen. */
  present: boolean;
  /** What nvidia-smi says (name, driver), or why none was seen. */
  description: string;
}

/** One provider library after installation. */
export interface InstalledLibrary {
  /** File name. */
  name: string;
  /** Installed path. */
  path: string;
  /** Size in bytes (checked equal to the source's). */
  bytes: number;
  /** An identical file was there already and was kept. */
  reused: boolean;
}

/** What an installation did. */
export interface ProviderInstall {
  /** What the libraries were taken from. */
  source: string;
  /** The two libraries. */
  libraries: InstalledLibrary[];
}

/** Options of {@linkcode gpuSetup}. */
export interface GpuSetupOptions {
  /** Only report; install nothing. */
  check?: boolean;
  /** The packed package (`.tgz`), its unpacked folder, or a folder holding the two libraries. */
  from?: string;
  /** Where `npm pack` puts the package (default `$XDG_CACHE_HOME/kinembed` or `~/.cache/kinembed`). */
  cacheDir?: string;
  /** onnxruntime-node's library folder (default: resolved from the project's `node_modules`). */
  ortDir?: string;
  /** More Python environments (venv roots, `site-packages`, or `nvidia` folders) to search. */
  venvs?: string[];
  /** Open a tiny model with the CUDA provider when everything is there (default true). */
  probe?: boolean;
  /** The npm binary (default `npm`). */
  npm?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Everything gpu-setup found and did. */
export interface GpuSetupReport {
  /** The GPU, if any. */
  gpu: GpuInfo;
  /** onnxruntime-node's library folder. */
  ortDir: string;
  /** What was installed (null with `check`). */
  install: ProviderInstall | null;
  /** The provider libraries in `ortDir`: size, or null when missing. */
  providers: { name: string; bytes: number | null }[];
  /** Where the list of needed CUDA libraries came from (the installed library's ELF header, or built in). */
  neededFrom: string;
  /** The CUDA libraries and the driver library, located. */
  libraries: LibraryLocation[];
  /** Folders to add to `LD_LIBRARY_PATH` (found libraries the loader would not see). */
  exportDirs: string[];
  /** The `export LD_LIBRARY_PATH=...` line, or null when nothing needs adding. */
  exportLine: string | null;
  /** Required libraries found nowhere. */
  missing: CudaLibrarySpec[];
  /** The CUDA provider opening a tiny model in a child process (null when not tried). */
  probe: { ok: boolean; message: string } | null;
  /** The CUDA provider can be used here. */
  ready: boolean;
  /** 0 done (or no GPU here), 1 a GPU is here but something is missing. */
  exitCode: number;
}

/** The project root (the folder holding `node_modules`). */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Finds onnxruntime-node's native library folder (`bin/napi-v6/linux/x64`) under a project's
 * `node_modules`, following Deno's symlinked layout.
 * @param root the project root (default: this checkout)
 * @returns the folder and the installed onnxruntime-node version
 * @throws ConfigError off linux-x64 or when onnxruntime-node is not installed
 */
export async function onnxruntimeLibraryDir(
  root: string = PROJECT_ROOT,
): Promise<{ dir: string; version: string }> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new ConfigError(
      `the CUDA provider libraries exist for linux x86_64 only; this is ${Deno.build.os} ${Deno.build.arch}`,
    );
  }
  const link = join(root, "node_modules", "onnxruntime-node");
  let pkg: string;
  try {
    pkg = await Deno.realPath(link);
  } catch {
    throw new ConfigError(
      `onnxruntime-node is not installed at ${link}: run ./kinembed bootstrap (deno install) first`,
    );
  }
  const version = JSON.parse(await Deno.readTextFile(join(pkg, "package.json"))).version as string;
  const dir = join(pkg, "bin", "napi-v6", "linux", "x64");
  try {
    await Deno.stat(join(dir, "libonnxruntime.so.1"));
  } catch {
    throw new ConfigError(`${dir} holds no libonnxruntime.so.1: onnxruntime-node is incomplete`);
  }
  return { dir, version };
}

/**
 * Parses `ldconfig -p` output into soname → path (x86-64 entries; the first of each name wins, as
 * for the loader).
 * @param text the output
 * @returns the loader cache
 */
export function parseLdconfig(text: string): Map<string, string> {
  const cache = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S.*)$/);
    if (!m || !m[2].includes("x86-64")) continue;
    if (!cache.has(m[1])) cache.set(m[1], m[3].trim());
  }
  return cache;
}

/**
 * The library folders of an `nvidia` Python namespace package: `cu13/lib` (the CUDA 13 wheels put
 * their libraries there) and every `<component>/lib`.
 * @param nvidiaDir a `site-packages/nvidia` folder
 * @returns the folders that exist, `cu13/lib` first
 */
export async function nvidiaWheelLibDirs(nvidiaDir: string): Promise<string[]> {
  const dirs: string[] = [];
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(nvidiaDir)) if (e.isDirectory) names.push(e.name);
  } catch {
    return [];
  }
  names.sort((a, b) => (a === "cu13" ? -1 : b === "cu13" ? 1 : a < b ? -1 : a > b ? 1 : 0));
  for (const n of names) {
    const lib = join(nvidiaDir, n, "lib");
    if (await isDir(lib)) dirs.push(lib);
  }
  return dirs;
}

/**
 * The `nvidia` package folders of a Python environment given as a venv root, a `site-packages`
 * folder, or the `nvidia` folder itself.
 * @param path the environment
 * @returns the `nvidia` folders found
 */
export async function nvidiaPackageDirs(path: string): Promise<string[]> {
  const p = resolve(path);
  if (p.endsWith("/nvidia") && await isDir(p)) return [p];
  if (await isDir(join(p, "nvidia"))) return [join(p, "nvidia")];
  const found: string[] = [];
  for (const lib of ["lib", "lib64"]) {
    try {
      for await (const e of Deno.readDir(join(p, lib))) {
        const nv = join(p, lib, e.name, "site-packages", "nvidia");
        if (e.name.startsWith("python") && await isDir(nv)) found.push(nv);
      }
    } catch { /* no such folder */ }
  }
  return found;
}

/**
 * Gathers the search paths of this machine: `LD_LIBRARY_PATH`, the loader cache, the loader's
 * default folders, CUDA toolkit and driver folders, and the NVIDIA wheels of Python environments
 * (`python3` on the PATH, `$VIRTUAL_ENV`, and `venvs`).
 * @param venvs more Python environments to search
 * @returns the search paths
 */
export async function machineSearchPaths(venvs: string[] = []): Promise<LibrarySearchPaths> {
  const ldLibraryPath = (Deno.env.get("LD_LIBRARY_PATH") ?? "").split(":").filter((d) => d);
  let ldconfig = new Map<string, string>();
  for (const bin of ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"]) {
    const out = await runQuiet(bin, ["-p"]);
    if (out !== null) {
      ldconfig = parseLdconfig(out);
      break;
    }
  }
  const candidates: SearchDir[] = [];
  const seen = new Set<string>();
  const addNvidia = async (nvidiaDir: string, origin: string) => {
    for (const d of await nvidiaWheelLibDirs(nvidiaDir)) {
      if (!seen.has(d)) candidates.push({ dir: d, origin }), seen.add(d);
    }
  };
  for (const v of venvs) {
    for (const nv of await nvidiaPackageDirs(v)) await addNvidia(nv, `python env ${v}`);
  }
  const pythons = new Set<string>();
  const venv = Deno.env.get("VIRTUAL_ENV");
  if (venv) pythons.add(join(venv, "bin", "python3"));
  pythons.add("python3");
  for (const py of pythons) {
    const out = await runQuiet(py, [
      "-c",
      "import nvidia\nfor p in nvidia.__path__: print(p)",
    ]);
    for (const nv of (out ?? "").split("\n").map((l) => l.trim()).filter((l) => l)) {
      await addNvidia(nv, `python ${py} (${dirname(nv)})`);
    }
  }
  const cudaHome = Deno.env.get("CUDA_HOME") ?? Deno.env.get("CUDA_PATH");
  const toolkit = [...(cudaHome ? [join(cudaHome, "lib64")] : []), ...TOOLKIT_DIRS];
  try {
    for await (const e of Deno.readDir("/usr/local")) {
      if (e.name.startsWith("cuda-")) toolkit.push(join("/usr/local", e.name, "lib64"));
    }
  } catch { /* no /usr/local */ }
  for (const d of toolkit) {
    if (!seen.has(d) && await isDir(d)) {
      candidates.push({ dir: d, origin: "CUDA toolkit / driver" });
    }
    seen.add(d);
  }
  const systemDirs = [...LOADER_DEFAULT_DIRS];
  return { ldLibraryPath, ldconfig, systemDirs, candidates };
}

/**
 * Locates each library the way the loader would (`LD_LIBRARY_PATH`, its cache, its default
 * folders), then in the candidate folders it does not search.
 * @param specs the libraries
 * @param paths where to look
 * @returns one location per library, in the order given
 */
export async function locateLibraries(
  specs: readonly CudaLibrarySpec[],
  paths: LibrarySearchPaths,
): Promise<LibraryLocation[]> {
  const out: LibraryLocation[] = [];
  for (const spec of specs) {
    let loc: LibraryLocation = { spec, path: null, via: null };
    for (const d of paths.ldLibraryPath) {
      if (await isFile(join(d, spec.soname))) {
        loc = { spec, path: join(d, spec.soname), via: "LD_LIBRARY_PATH" };
        break;
      }
    }
    const cached = paths.ldconfig.get(spec.soname);
    if (!loc.path && cached && await isFile(cached)) {
      loc = { spec, path: cached, via: "ldconfig" };
    }
    for (const d of loc.path ? [] : paths.systemDirs) {
      if (await isFile(join(d, spec.soname))) {
        loc = { spec, path: join(d, spec.soname), via: "system" };
        break;
      }
    }
    for (const c of loc.path ? [] : paths.candidates) {
      if (await isFile(join(c.dir, spec.soname))) {
        loc = {
          spec,
          path: join(c.dir, spec.soname),
          via: "not on the loader path",
          origin: c.origin,
        };
        break;
      }
    }
    out.push(loc);
  }
  return out;
}

/**
 * The folders to put on `LD_LIBRARY_PATH` so the loader sees every library found off its path.
 * @param locations located libraries
 * @returns folders in first-needed order, without repeats
 */
export function exportDirsFor(locations: readonly LibraryLocation[]): string[] {
  const dirs: string[] = [];
  for (const l of locations) {
    if (l.via === "not on the loader path" && l.path) {
      const d = dirname(l.path);
      if (!dirs.includes(d)) dirs.push(d);
    }
  }
  return dirs;
}

/**
 * The shell line that puts folders in front of `LD_LIBRARY_PATH`, keeping what is there.
 * @param dirs the folders
 * @returns e.g. `export LD_LIBRARY_PATH="/v/nvidia/cu13/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"`
 */
export function ldLibraryPathLine(dirs: readonly string[]): string {
  const value = dirs.map((d) => d.replace(/(["\\$`])/g, "\\$1")).join(":");
  return `export LD_LIBRARY_PATH="${value}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"`;
}

/**
 * Looks for an NVIDIA GPU: `nvidia-smi` first, then `/dev/nvidia0`.
 * @returns whether one is there and what it is
 */
export async function detectGpu(): Promise<GpuInfo> {
  const smi = await runQuiet("nvidia-smi", [
    "--query-gpu=name,driver_version,memory.total",
    "--format=csv,noheader",
  ]);
  if (smi !== null && smi.trim()) {
    return { present: true, description: smi.trim().split("\n").join("; ") };
  }
  if (await pathExists("/dev/nvidia0").catch(() => false)) {
    return { present: true, description: "/dev/nvidia0 exists (nvidia-smi did not answer)" };
  }
  return { present: false, description: "no NVIDIA GPU here (no nvidia-smi, no /dev/nvidia0)" };
}

/**
 * The provider libraries present in a folder.
 * @param ortDir onnxruntime-node's library folder
 * @returns name and size (null when missing) of each
 */
async function providerLibrariesIn(
  ortDir: string,
): Promise<{ name: string; bytes: number | null }[]> {
  const out = [];
  for (const name of PROVIDER_LIBRARIES) {
    const st = await Deno.stat(join(ortDir, name)).catch(() => null);
    out.push({ name, bytes: st?.isFile ? st.size : null });
  }
  return out;
}

/** The default folder `npm pack` writes the provider package to. */
export function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME") ?? "/tmp";
  return join(xdg ?? join(home, ".cache"), "kinembed");
}

/**
 * Installs the two provider libraries into onnxruntime-node's folder: from `from` (a packed
 * `.tgz`, the unpacked package, or a folder holding the two files), else from the package fetched
 * with `npm pack` into `cacheDir`. Each file is copied under a temp name, its size checked against
 * the source, and renamed into place; an identical file already there is kept.
 * @param opts the target folder, the source, the cache, npm, a log
 * @returns where the files came from and what was installed
 * @throws ConfigError when the source lacks a library, npm fails, or a copy comes out short
 */
export async function installProviderLibraries(opts: {
  ortDir: string;
  from?: string;
  cacheDir?: string;
  npm?: string;
  log?: (line: string) => void;
}): Promise<ProviderInstall> {
  const log = opts.log ?? (() => {});
  let source = opts.from;
  if (source === undefined) {
    const cache = opts.cacheDir ?? defaultCacheDir();
    const tgz = join(cache, `${PROVIDER_PACKAGE}-${PROVIDER_PACKAGE_VERSION}.tgz`);
    if (!await isFile(tgz)) {
      await Deno.mkdir(cache, { recursive: true });
      log(`fetching ${PROVIDER_PACKAGE}@${PROVIDER_PACKAGE_VERSION} with npm pack into ${cache}`);
      await npmPack(opts.npm ?? "npm", `${PROVIDER_PACKAGE}@${PROVIDER_PACKAGE_VERSION}`, cache);
      if (!await isFile(tgz)) throw new ConfigError(`npm pack wrote no ${tgz}`);
    } else log(`using ${tgz}`);
    source = tgz;
  }
  const st = await Deno.stat(source).catch(() => {
    throw new ConfigError(`--from ${source}: no such file or folder`);
  });
  if (st.isDirectory) return { source, libraries: await installFromDir(source, opts.ortDir, log) };
  // a packed package: unpack the two members next to their destination, then rename into place
  const staging = join(opts.ortDir, `.gpu-setup${TEMP_SUFFIX}`);
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  try {
    log(`unpacking ${source}`);
    const wanted = new Set(PROVIDER_LIBRARIES.map((n) => `${PROVIDER_PACKAGE_DIR}/${n}`));
    const report = await extractArchive(source, {
      root: staging,
      place: (m) => wanted.has(m.name) ? join(staging, m.name.split("/").pop()!) : null,
    }).catch((e) => {
      throw new ConfigError(`${source} is not a packed npm package: ${(e as Error).message}`);
    });
    const got = new Set(report.extracted.map((m) => m.name));
    const lacking = [...wanted].filter((w) => !got.has(w));
    if (lacking.length) {
      throw new ConfigError(
        `${source} is not ${PROVIDER_PACKAGE}: it lacks ${lacking.join(", ")}`,
      );
    }
    const libraries = await installFromDir(staging, opts.ortDir, log, true);
    return { source, libraries };
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

async function installFromDir(
  from: string,
  ortDir: string,
  log: (line: string) => void,
  move = false,
): Promise<InstalledLibrary[]> {
  const places = [from, join(from, PROVIDER_PACKAGE_DIR), join(from, "Plugins", "Linux", "x64")];
  let dir: string | undefined;
  for (const p of places) {
    if ((await Promise.all(PROVIDER_LIBRARIES.map((n) => isFile(join(p, n))))).every((x) => x)) {
      dir = p;
      break;
    }
  }
  if (!dir) {
    throw new ConfigError(
      `--from ${from}: found no ${PROVIDER_LIBRARIES.join(" and ")} (looked in ${
        places.join(", ")
      })`,
    );
  }
  const out: InstalledLibrary[] = [];
  for (const name of PROVIDER_LIBRARIES) {
    const src = join(dir, name);
    const dest = join(ortDir, name);
    const want = (await Deno.stat(src)).size;
    const have = await Deno.stat(dest).catch(() => null);
    if (have?.isFile && have.size === want && await sha256File(dest) === await sha256File(src)) {
      out.push({ name, path: dest, bytes: want, reused: true });
      log(`${name}: already installed (${formatBytes(want)})`);
      continue;
    }
    const tmp = tempPathFor(dest);
    try {
      if (move) await Deno.rename(src, tmp);
      else await Deno.copyFile(src, tmp);
      const f = await Deno.open(tmp, { read: true, write: true });
      await f.sync();
      f.close();
      const size = (await Deno.stat(tmp)).size;
      if (size !== want) {
        throw new ConfigError(`${name}: copied ${size} bytes of ${want} (disk full?)`);
      }
      await Deno.chmod(tmp, 0o755);
      await Deno.rename(tmp, dest);
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    const size = (await Deno.stat(dest)).size;
    if (size !== want) {
      throw new ConfigError(`${dest}: ${size} bytes after install, ${want} expected`);
    }
    out.push({ name, path: dest, bytes: size, reused: false });
    log(`${name}: installed (${formatBytes(size)}) in ${ortDir}`);
  }
  return out;
}

/**
 * Installs (unless `check`) and checks everything the CUDA provider needs, and tries it when a GPU
 * is here.
 * @param opts what to do; see {@linkcode GpuSetupOptions}
 * @returns the findings and the exit code
 * @example
 * ```ts
 * import { gpuSetup, formatGpuSetupReport } from "./gpu_setup.ts";
 * const r = await gpuSetup({ check: true, probe: false }); // only report, change nothing
 * for (const line of formatGpuSetupReport(r)) console.log(line);
 * ```
 */
export async function gpuSetup(opts: GpuSetupOptions = {}): Promise<GpuSetupReport> {
  const gpu = await detectGpu();
  let ortDir = opts.ortDir;
  if (ortDir === undefined) {
    const found = await onnxruntimeLibraryDir();
    if (found.version !== ONNXRUNTIME_VERSION) {
      throw new ConfigError(
        `onnxruntime-node is ${found.version}; the CUDA provider libraries are built for ${ONNXRUNTIME_VERSION}`,
      );
    }
    ortDir = found.dir;
  }
  const install = opts.check ? null : await installProviderLibraries({
    ortDir,
    from: opts.from,
    cacheDir: opts.cacheDir,
    npm: opts.npm,
    log: opts.log,
  });
  const providers = await providerLibrariesIn(ortDir);
  // the installed library says which CUDA libraries it needs; the built-in list is the fallback
  let specs: CudaLibrarySpec[] = [...CUDA_LIBRARIES];
  let neededFrom = "the built-in list (the provider library is not installed)";
  const cudaLib = join(ortDir, "libonnxruntime_providers_cuda.so");
  if (providers[1].bytes !== null) {
    try {
      const { needed } = await readElfDynamicNames(cudaLib);
      const cuda = needed.filter((n) => /^lib(cu|nv)/.test(n) && n !== DRIVER_LIBRARY.soname);
      specs = [
        ...cuda.map((n) =>
          CUDA_LIBRARIES.find((s) => s.soname === n) ??
            { soname: n, what: "needed by the CUDA provider", optional: false, source: "CUDA 13" }
        ),
        ...CUDA_LIBRARIES.filter((s) => s.optional && !cuda.includes(s.soname)),
      ];
      neededFrom = `the NEEDED entries of ${cudaLib}`;
    } catch (e) {
      neededFrom = `the built-in list (${(e as Error).message})`;
    }
  }
  const paths = await machineSearchPaths(opts.venvs ?? []);
  const libraries = await locateLibraries([...specs, DRIVER_LIBRARY], paths);
  const exportDirs = exportDirsFor(libraries);
  const missing = libraries.filter((l) =>
    !l.path && !l.spec.optional && (l.spec !== DRIVER_LIBRARY || gpu.present)
  ).map((l) => l.spec);
  const installed = providers.every((p) => p.bytes !== null);
  let probe: GpuSetupReport["probe"] = null;
  if (gpu.present && installed && missing.length === 0 && (opts.probe ?? true)) {
    probe = await probeCudaProvider(exportDirs);
  }
  const ready = gpu.present && installed && missing.length === 0 && (probe?.ok ?? true);
  return {
    gpu,
    ortDir,
    install,
    providers,
    neededFrom,
    libraries,
    exportDirs,
    exportLine: exportDirs.length ? ldLibraryPathLine(exportDirs) : null,
    missing,
    probe,
    ready,
    exitCode: gpu.present && !ready ? 1 : 0,
  };
}

/**
 * Opens a tiny model with the CUDA provider alone in a child process (the loader reads
 * `LD_LIBRARY_PATH` once, at process start) and runs it once.
 * @param extraDirs folders put in front of `LD_LIBRARY_PATH` for the child
 * @returns whether it worked and the child's one-line answer
 */
async function probeCudaProvider(
  extraDirs: readonly string[],
): Promise<{ ok: boolean; message: string }> {
  const env = { ...Deno.env.toObject() };
  const ld = [...extraDirs, ...(env.LD_LIBRARY_PATH ?? "").split(":").filter((d) => d)];
  env.LD_LIBRARY_PATH = ld.join(":");
  const script = fileURLToPath(new URL("./cuda_probe.ts", import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), {
    // what an ONNX Runtime session needs: its files, its native library, environment and system info
    args: [
      "run",
      "--allow-read",
      "--allow-ffi",
      "--allow-env",
      "--allow-sys",
      "--no-prompt",
      script,
    ],
    cwd: PROJECT_ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (out.success && text.startsWith("ok")) return { ok: true, message: text };
  const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" ");
  return { ok: false, message: text || err || `exit ${out.code}` };
}

/**
 * The report as lines for a terminal.
 * @param r the report
 * @returns one finding a line; the `export` line on a line of its own
 */
export function formatGpuSetupReport(r: GpuSetupReport): string[] {
  const lines: string[] = [];
  lines.push(`GPU: ${r.gpu.present ? r.gpu.description : r.gpu.description}`);
  const missingProv = r.providers.filter((p) => p.bytes === null).map((p) => p.name);
  lines.push(
    missingProv.length === 0
      ? `provider libraries in ${r.ortDir}: ${
        r.providers.map((p) => `${p.name} (${formatBytes(p.bytes!)})`).join(", ")
      }`
      : `provider libraries missing in ${r.ortDir}: ${missingProv.join(", ")}` +
        (r.install === null ? " (run ./kinembed gpu-setup to install them)" : ""),
  );
  lines.push(`CUDA libraries the CUDA provider needs, per ${r.neededFrom}:`);
  const width = Math.max(...r.libraries.map((l) => l.spec.soname.length));
  for (const l of r.libraries) {
    const name = l.spec.soname.padEnd(width);
    if (l.path) {
      const where = l.via === "not on the loader path"
        ? `${l.path} (${l.origin}; not on the loader path)`
        : `${l.path} (${l.via})`;
      lines.push(`  found   ${name}  ${where}`);
    } else {
      const opt = l.spec.optional ? ", optional" : "";
      lines.push(`  missing ${name}  ${l.spec.what}${opt}: ${l.spec.source}`);
    }
  }
  if (r.exportLine) {
    lines.push("before running encode, put the folders found above on the loader path:");
    lines.push(`  ${r.exportLine}`);
  }
  if (r.probe) {
    lines.push(
      `CUDA provider probe: ${r.probe.ok ? r.probe.message : `failed: ${r.probe.message}`}`,
    );
  }
  if (!r.gpu.present) {
    lines.push(
      "no GPU: encode uses the CPU here (--providers cuda,cpu falls back with one warning); " +
        (r.install ? "the provider libraries load only where a GPU is" : "nothing was changed"),
    );
  } else if (r.ready) {
    lines.push(
      `ready: encode --providers cuda,cpu will use the GPU${
        r.exportLine ? " (after the export above)" : ""
      }`,
    );
  } else if (r.missing.length || missingProv.length) {
    const what = [...missingProv, ...r.missing.map((s) => s.soname)];
    lines.push(`not ready: missing ${what.join(", ")}`);
  } else {
    lines.push("not ready: the CUDA provider did not load (see the probe line)");
  }
  return lines;
}

/**
 * Bytes as a short human number.
 * @param n bytes
 * @returns e.g. `229.8 MB`, `14.6 kB`
 */
function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

async function npmPack(npm: string, spec: string, dest: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(npm, {
      args: ["pack", "--silent", spec, "--pack-destination", dest],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new ConfigError(
      `cannot run ${npm} (${(e as Error).message}); fetch ${spec} elsewhere with npm pack and ` +
        "pass it with --from FILE.tgz",
    );
  }
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join(" ");
    throw new ConfigError(
      `npm pack ${spec} failed: ${err || `exit ${out.code}`}; on a machine without the npm ` +
        "registry, pass the package with --from FILE.tgz",
    );
  }
}

async function runQuiet(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(15_000),
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    return null;
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isFile ?? false;
}

async function isDir(path: string): Promise<boolean> {
  return (await Deno.stat(path).catch(() => null))?.isDirectory ?? false;
}
