/**
 * The `--checksums` file of the download step: `sha256sum` lines that archives and videos are
 * checked against once fetched.
 * @module
 */
import { ConfigError } from "../base/mod.ts";

/**
 * Reads a checksum file in `sha256sum` format (`<hex>  <name>` or `<hex> *<name>`), keyed by the
 * file name without folders. Blank lines and `#` comments are skipped.
 * @param path the checksum file
 * @returns file name → lowercase hex digest
 * @throws ConfigError naming the file and line of a malformed entry
 */
export async function readChecksums(path: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const lines = (await Deno.readTextFile(path)).replace(/^\uFEFF/, "").split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+)$/.exec(line);
    if (!m) {
      throw new ConfigError(
        `${path}:${i + 1}: expected "<sha256>  <name>", got ${JSON.stringify(line)}`,
      );
    }
    const name = m[2].trim().split("/").pop()!;
    out.set(name, m[1].toLowerCase());
  });
  return out;
}
