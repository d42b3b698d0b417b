/**
 * Tar files: a streaming reader, a deterministic writer, and safe `.tar.gz` extraction.
 * @module
 */
export * from "./tar_reader.ts";
export * from "./tar_writer.ts";
export * from "./archive_extract.ts";
