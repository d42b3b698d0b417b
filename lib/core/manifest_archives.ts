/**
 * The archives (and directly fetched files) the download step fetched, with their size, hash and
 * outcome, so a rerun fetches only what is missing or failed.
 * @module
 */
import type { ManifestConnection, Row } from "./manifest_connection.ts";
import type { StepState } from "./manifest_rows.ts";

/** A downloaded archive (or directly fetched file) and what became of it. */
export interface ArchiveRow {
  /** The URL it was fetched from. */
  url: string;
  /** `done` once fetched, checked and extracted. */
  state: StepState;
  /** Bytes of the archive. */
  bytes: number | null;
  /** SHA-256 of the archive. */
  sha256: string | null;
  /** Why it failed. */
  error: string | null;
}

/** The archives (and directly fetched files) download fetched, and what became of each. */
export class ArchiveQueries {
  #c: ManifestConnection;

  /**
   * Queries on an open manifest; use `Manifest#archives`.
   * @param c the manifest's connection
   */
  constructor(c: ManifestConnection) {
    this.#c = c;
  }

  /**
   * A downloaded archive's record.
   * @param url the archive's URL
   * @returns its row, or undefined when never tried
   */
  get(url: string): ArchiveRow | undefined {
    const r = this.#c.stmt("SELECT * FROM archives WHERE url = ?").get(url) as Row | undefined;
    return r
      ? {
        url: String(r.url),
        state: r.state as StepState,
        bytes: r.bytes === null ? null : Number(r.bytes),
        sha256: r.sha256 === null ? null : String(r.sha256),
        error: r.error === null ? null : String(r.error),
      }
      : undefined;
  }

  /**
   * Records an archive's outcome.
   * @param row the archive
   */
  put(row: ArchiveRow): void {
    this.#c.write(
      `INSERT OR REPLACE INTO archives(url, state, bytes, sha256, error, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
      row.url,
      row.state,
      row.bytes,
      row.sha256,
      row.error,
      new Date().toISOString(),
    );
  }

  /**
   * Every archive's record.
   * @returns the rows in URL order
   */
  all(): ArchiveRow[] {
    return (this.#c.db.prepare("SELECT url FROM archives ORDER BY url").all() as { url: string }[])
      .map((r) => this.get(r.url)!);
  }
}
