/**
 * The ONNX Runtime execution providers kinembed knows, and the `--providers` parser. Kept apart
 * from the encoder so that parsing flags does not load ONNX Runtime's native library.
 * @module
 */
import { ConfigError } from "../base/mod.ts";

/** Execution providers kinembed knows. */
export const PROVIDERS = ["cuda", "webgpu", "cpu"] as const;
/** An ONNX Runtime execution provider. */
export type ProviderName = typeof PROVIDERS[number];

/**
 * Parses a `--providers` list such as `cuda,cpu`.
 * @param text comma-separated provider names
 * @returns the names, checked
 */
export function parseProviders(text: string): ProviderName[] {
  const names = text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
  for (const n of names) {
    if (!(PROVIDERS as readonly string[]).includes(n)) {
      throw new ConfigError(
        `unknown execution provider ${JSON.stringify(n)}; known: ${PROVIDERS.join(", ")}`,
      );
    }
  }
  if (names.length === 0) throw new ConfigError("--providers names no provider");
  return names as ProviderName[];
}
