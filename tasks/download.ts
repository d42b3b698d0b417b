/** `kinembed download`: annotations and archive lists (or a plain video list) → `<work>/videos/`. */
import {
  DOWNLOAD_TASK,
  downloadInputOptions,
  intFlag,
  noteFailureSummary,
  numberFlag,
  printableLine,
  runTask,
  stringFlag,
} from "../lib/cli/mod.ts";
import { download, formatIssue } from "../lib/download/mod.ts";
import { formatFailureSummary } from "../lib/core/mod.ts";

/** How many rejected input lines are printed one by one. */
const SHOWN_ISSUES = 20;

await runTask(DOWNLOAD_TASK, async (values) => {
  const report = await download({
    ...downloadInputOptions(values),
    work: stringFlag(values, "work")!,
    checksums: stringFlag(values, "checksums"),
    jobs: intFlag(values, "jobs", 1),
    timeoutMs: numberFlag(values, "timeout")! * 1000,
    retries: intFlag(values, "retries", 0),
    retryBaseMs: numberFlag(values, "retry-delay")! * 1000,
    quiet: values.quiet === true,
  });
  // lines quote the inputs (a CSV's fields, a server's words): each printable and bounded
  for (const note of report.notes) console.error(printableLine(note));
  for (const issue of report.issues.slice(0, SHOWN_ISSUES)) {
    console.error(printableLine(formatIssue(issue)));
  }
  if (report.issues.length > SHOWN_ISSUES) {
    console.error(`... and ${report.issues.length - SHOWN_ISSUES} more rejected lines`);
  }
  const a = report.archives;
  console.log(
    `download: ${report.selected} video${
      report.selected === 1 ? "" : "s"
    } selected (${report.added} new to the manifest, ` +
      `${report.doneBefore} already done)` +
      (report.issues.length > 0
        ? `; ${report.issues.length} input line${report.issues.length > 1 ? "s" : ""} rejected`
        : ""),
  );
  if (a.listed > 0) {
    console.log(
      `archives: ${a.listed} listed, ${a.processed} extracted, ${a.alreadyDone} already done, ` +
        `${a.skipped} skipped (no selected videos), ${a.failed.length} failed; ` +
        `${report.requests} HTTP requests, ${(report.bytes / 1e6).toFixed(1)} MB`,
    );
  }
  if (report.extras.count > 0) {
    console.log(
      `extras: ${report.extras.count} archive files match no annotation row and were not kept ` +
        `(e.g. ${report.extras.examples.join(", ")})`,
    );
  }
  if (report.refused.length > 0) {
    console.log(`refused: ${report.refused.length} unsafe archive members, not written`);
  }
  for (const [split, c] of Object.entries(report.splits)) {
    console.log(`${split}: ${c.done} done, ${c.failed} failed, ${c.pending} pending`);
  }
  for (const line of formatFailureSummary(report.failureSummary)) {
    console.error(printableLine(line));
  }
  noteFailureSummary(report.failureSummary);
  const code = report.failureSummary.total > 0 ? 1 : 0;
  return {
    code: report.issues.length > 0 ? 1 : code,
    summary: {
      selected: report.selected,
      added: report.added,
      doneBefore: report.doneBefore,
      rejectedLines: report.issues.length,
      archives: { ...a, failed: a.failed.length },
      requests: report.requests,
      bytes: report.bytes,
      refused: report.refused.length,
      splits: report.splits,
    },
  };
});
