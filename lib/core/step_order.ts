/**
 * Steps run in order: download → sample → encode → shard. A step whose predecessors produced
 * nothing yet (and failed nothing) would find nothing to do, so it is refused before it records
 * its settings or writes a file: the settings wanted later are then not held against the run.
 * @module
 */
import { ConfigError } from "../base/mod.ts";
import { type Manifest, STEPS } from "./manifest.ts";

/** A step that continues another: the per-video steps after download, and shard. */
export type ContinuingStep = "sample" | "encode" | "shard";

/** What each per-video step has produced, in the words of the refusal. */
const PRODUCED: Record<(typeof STEPS)[number], string> = {
  download: "downloaded",
  sample: "sampled",
  encode: "encoded",
};

/**
 * Refuses a step run out of order: neither it nor the steps before it have done or failed any
 * video, so there is nothing for it to work on. A rerun (the step, or a later one, has records or
 * shards), and a work dir where videos failed an earlier step, pass: those are reported as usual.
 * @param m the work dir's manifest
 * @param step the step about to run
 * @throws ConfigError naming the step(s) to run first, e.g. `nothing is sampled yet; run sample
 *   (or run)`
 */
export function requireEarlierSteps(m: Manifest, step: ContinuingStep): void {
  const at = step === "shard" ? STEPS.length : STEPS.indexOf(step);
  // this step or a later one has run: a rerun, or a work dir made otherwise (a merge, a copy)
  if (m.shards.all().length > 0 || STEPS.slice(at).some((s) => touched(m, s))) return;
  const before = STEPS.slice(0, at);
  const counts = before.map((s) => m.steps.counts(s));
  if (counts.some((c) => c.failed > 0)) return;
  const last = before.length - 1;
  if (counts[last].done > 0) return;
  if (step === "sample" && m.videos.count() === 0) {
    throw new ConfigError("no videos in the work dir; run download (or run)");
  }
  // from the first step that has done nothing on: each one's output is the next one's input
  const first = counts.findIndex((c) => c.done === 0);
  throw new ConfigError(
    `nothing is ${PRODUCED[before[last]]} yet; run ${before.slice(first).join(", then ")} ` +
      "(or run)",
  );
}

/** Whether a per-video step has done or failed any video. */
function touched(m: Manifest, step: (typeof STEPS)[number]): boolean {
  const c = m.steps.counts(step);
  return c.done + c.failed > 0;
}
