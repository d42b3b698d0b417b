/**
 * GPU setup: ONNX Runtime's CUDA provider libraries installed next to onnxruntime-node's own, the
 * CUDA 13 libraries they need found (loader paths, `LD_LIBRARY_PATH`, toolkits, Python venvs),
 * an ELF `NEEDED` reader to say what is missing, and a CUDA probe run in its own process.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { readElfDynamicNames } from "./mod.ts";
 *
 * // the libraries the running deno binary links against
 * const { needed } = await readElfDynamicNames(Deno.execPath());
 * ok(needed.some((name) => name.startsWith("libc.so")));
 * ```
 * @module
 */
export { type ElfDynamicNames, readElfDynamicNames } from "./elf_needed.ts";
export {
  CUDA_LIBRARIES,
  type CudaLibrarySpec,
  defaultCacheDir,
  detectGpu,
  DRIVER_LIBRARY,
  formatGpuSetupReport,
  type FoundVia,
  type GpuInfo,
  gpuSetup,
  type GpuSetupOptions,
  type GpuSetupReport,
  type InstalledLibrary,
  installProviderLibraries,
  type LibraryLocation,
  type LibrarySearchPaths,
  locateLibraries,
  machineSearchPaths,
  PROVIDER_LIBRARIES,
  PROVIDER_PACKAGE,
  PROVIDER_PACKAGE_DIR,
  PROVIDER_PACKAGE_VERSION,
  type ProviderInstall,
  type SearchDir,
} from "./gpu_setup.ts";
