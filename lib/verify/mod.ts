/**
 * The verify step: shards checked against a dataset card, sample by sample (three members per
 * key, keys unique and contiguous, `.npy` shape and finite values, `.json` fields, labels in the
 * class list, sha256 against the manifest), and the table of expected against found.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { formatVerifyReport, verify } from "./mod.ts";
 *
 * // a shard set with no tars, against a card promising one tar of validation samples
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(join(dir, "card.md"), "### Data Splits\n* Validation - 4 samples | 1 tar's\n");
 * await Deno.mkdir(join(dir, "shards"));
 * await Deno.writeTextFile(join(dir, "shards", "splits.csv"), "tar_file,split\n");
 * const report = await verify({ shards: join(dir, "shards"), card: join(dir, "card.md"), quiet: true });
 * strictEqual(report.ok, false);
 * ok(formatVerifyReport(report).includes("split val: 0 samples, the card says 4"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  formatVerifyReport,
  type SplitVerdict,
  verify,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyReport,
} from "./verify.ts";
export type { Split, SplitCount, SPLITS } from "../core/mod.ts";
