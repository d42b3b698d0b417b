/**
 * Search queries as text-encoder input: CLIP's tokenizer, and what happens to a query longer than
 * the context length (one place, so the policy is changed here only).
 * @module
 */
import { type ClipTokenizer, CONTEXT_LENGTH } from "../text/mod.ts";
import { UsageError } from "../core/mod.ts";

/**
 * Reads a queries file's text: one query per line, blank lines and surrounding spaces dropped.
 * @param text the file's text
 * @returns the queries, in file order
 */
export function parseQueryLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
}

/**
 * Tokenizes queries for the text encoder. A query over the context length (77 ids) is cut as
 * `clip.tokenize(truncate=True)` does, with a warning naming it.
 * @param tokenizer CLIP's tokenizer
 * @param queries the queries
 * @param warn hears one line per query that was cut
 * @returns int64 ids `[queries.length, 77]`
 */
export function tokenizeQueries(
  tokenizer: ClipTokenizer,
  queries: readonly string[],
  warn: (line: string) => void,
): BigInt64Array {
  for (const [i, q] of queries.entries()) {
    if (q.trim() === "") throw new UsageError(`query ${i + 1} is empty`);
  }
  return tokenizer.tokenize(queries, {
    truncate: true,
    onTruncate: (cut) => {
      const shown = cut.text.length > 60 ? `${cut.text.slice(0, 57)}...` : cut.text;
      warn(
        `warning: query ${cut.index + 1} (${JSON.stringify(shown)}) needs ${cut.tokenCount} ` +
          `tokens, more than CLIP's ${CONTEXT_LENGTH}: searched with its first ${CONTEXT_LENGTH}`,
      );
    },
  });
}
