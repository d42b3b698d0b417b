/**
 * The download step: annotations in (Kinetics CSV or JSON, plain video lists), a reproducible
 * subset, archives and videos fetched over HTTP (or read locally) and extracted, manifest rows out.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { parseKineticsCsv, selectSubset } from "./mod.ts";
 *
 * const { rows, issues } = parseKineticsCsv(
 *   "label,youtube_id,time_start,time_end,split\n" +
 *     "abseiling,abc123def45,10,20,train\nyoga,xyz987uvw65,0,10,validate\n",
 *   "kinetics.csv",
 * );
 * strictEqual(issues.length, 0);
 * deepStrictEqual(selectSubset(rows, { splits: ["val"] }).map((r) => r.label), ["yoga"]);
 * ```
 * @module
 */
export {
  type AnnotationIssue,
  type AnnotationSet,
  type CsvRecord,
  csvRecords,
  type DrawPlace,
  folderPlace,
  formatIssue,
  formatSkippedFiles,
  parseCsv,
  parseKineticsCsv,
  parseKineticsJson,
  parseVideoList,
  readAnnotations,
  readVideoLists,
  refuseEmptyInput,
  type SeenIds,
  UNLABELLED_SPLITS,
  videoFolderList,
  type VideoFolderListing,
} from "./annotations.ts";
export { parseSplits, selectSubset, type SubsetOptions } from "./subset.ts";
export { readChecksums } from "./checksums.ts";
export {
  type ArchiveFailure,
  download,
  type DownloadOptions,
  type DownloadReport,
  type RefusedArchiveMember,
  REPORTED_FAILURES,
} from "./download.ts";
export { binaryKind, readInputText, readTextIfText } from "./input_text.ts";
export type {
  FailedItem,
  FailureSummary,
  Split,
  SPLITS,
  StateCounts,
  StepState,
  VideoRow,
} from "../core/mod.ts";
