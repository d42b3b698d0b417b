/**
 * ONNX Runtime, loaded on first use: importing kinembed (to read shards, say) must not load
 * its native library or need `--allow-ffi`. Whatever opens a session awaits `loadOrt()` first;
 * code that runs after that reaches the module with `ortRuntime()`.
 * @module
 */
import type * as Ort from "onnxruntime-node";

/**
 * The onnxruntime-node version `deno.json` pins (recorded in the run config, and the version the
 * CUDA provider libraries must be built for).
 */
export const ONNXRUNTIME_VERSION = "1.29.0";

/** The `onnxruntime-node` module. */
export type OrtModule = typeof Ort;

/** An ONNX Runtime inference session (a type: naming it loads nothing). */
export type OrtSession = Awaited<ReturnType<OrtModule["InferenceSession"]["create"]>>;

let loaded: OrtModule | undefined;

/**
 * Loads ONNX Runtime's Node binding once (its native library needs FFI permission).
 * @returns the module
 */
export async function loadOrt(): Promise<OrtModule> {
  loaded ??= await import("onnxruntime-node");
  return loaded;
}

/**
 * The loaded module, for code that runs after a session was opened.
 * @returns the module
 * @throws Error when nothing has called `loadOrt()` yet (a bug, not a user error)
 */
export function ortRuntime(): OrtModule {
  if (!loaded) throw new Error("ONNX Runtime used before loadOrt(): open a session first");
  return loaded;
}
