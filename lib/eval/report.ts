/**
 * The eval step's reports: `eval.json` (everything), `eval.md` (the card's accuracy tables with
 * the card's published numbers side by side, and the retrieval numbers) and `eval.html` (the same tables and inline SVG
 * plots: a histogram of per-class top-1 accuracy and the most frequent confusions).
 * @module
 */
import { join } from "node:path";
import { type Split, SPLITS, writeFileAtomic } from "../base/mod.ts";
import type { Accuracy, PublishedAccuracies, SplitTotals } from "../dataset/mod.ts";
import type { FrameCensus } from "./features.ts";
import type { CardProvenance } from "../webdataset/mod.ts";
import type { RetrievalScore } from "./retrieval.ts";

/** One class's accuracy on the scored split. */
export interface ClassAccuracy {
  /** Class name. */
  name: string;
  /** Samples of the class scored. */
  count: number;
  /** Fraction ranked first. */
  top1: number;
  /** Fraction among the first five. */
  top5: number;
  /** The class its samples were most often ranked first as instead (absent: never confused). */
  confusedWith?: string;
  /** How many of its samples went to `confusedWith`. */
  confusedCount?: number;
}

/** How often samples of one class were ranked first as another. */
export interface Confusion {
  /** The true class. */
  truth: string;
  /** The class ranked first instead. */
  predicted: string;
  /** How many samples. */
  count: number;
}

/** What both evaluations report. */
export interface EvalSection extends Accuracy {
  /** The split scored. */
  split: string;
  /** Samples scored (the denominator). */
  count: number;
  /** Per class, in class order (classes with samples only). */
  perClass: ClassAccuracy[];
  /** The most frequent confusions, most frequent first. */
  confusions: Confusion[];
  /** The provider the ONNX graphs ran on. */
  provider: string;
  /** Wall time in seconds. */
  seconds: number;
  /** How a clip's frames were used: the card's method, or mean pooling. */
  method?: string;
}

/** The zero-shot part of the report. */
export interface ZeroShotSection extends EvalSection {
  /** The text encoder. */
  textModel: string;
  /** Number of classes. */
  classes: number;
  /** Number of prompt templates. */
  templates: number;
  /** Videos without frames (counted wrong). */
  zeroFrame: number;
}

/** The linear-probe part of the report. */
export interface LinearProbeSection extends EvalSection {
  /** Training samples (with at least one frame). */
  trainCount: number;
  /** Training samples skipped for having no frames. */
  trainSkipped: number;
  /** Scored-split samples skipped for having no frames. */
  evalSkipped: number;
  /** Classes learned (labels seen in training). */
  classes: number;
  /** Scored samples whose class was never seen in training (counted wrong). */
  unseenClass: number;
  /** Inverse regularisation strength. */
  C: number;
  /** Iteration cap. */
  maxIter: number;
  /** L-BFGS iterations. */
  iterations: number;
  /** Objective evaluations. */
  evaluations: number;
  /** Why L-BFGS stopped. */
  stop: string;
  /** scikit-learn's objective at the solution: ΣCE + ‖W‖²/(2C). */
  objective: number;
  /** Largest gradient component at the solution. */
  gradMaxAbs: number;
}

/** The text-to-video retrieval part of the report (run with zero-shot). */
export interface RetrievalSection extends RetrievalScore {
  /** The split ranked. */
  split: string;
  /** Videos without frames (ranked last for every query). */
  zeroFrame: number;
  /** What the numbers are, in words. */
  definition: string;
  /** Wall time in seconds. */
  seconds: number;
}

/** A sample the evaluation could not use. */
export interface EvalProblem {
  /** `<shard> <key>`. */
  id: string;
  /** What was wrong. */
  error: string;
}

/**
 * Where the evaluated embeddings came from (from the shards' `manifest.json` when present): what
 * the shards' dataset card says, and when the report was made.
 */
export interface EvalProvenance extends CardProvenance {
  /** When the report was made (ISO 8601). */
  date: string;
}

/** Files eval writes besides the reports, for use elsewhere. */
export interface EvalArtefacts {
  /** Zero-shot class weights `[K, D]` float32 (`text_embeddings.npy`). */
  textEmbeddings?: string;
  /** Their classes, templates hash and text model (`text_embeddings.json`). */
  textEmbeddingsInfo?: string;
  /** Probe weights per pooling, `[D+1, K]` float64 (`probe_<pooling>.npy`), intercepts last. */
  probeWeights?: string[];
  /** Their classes and settings (`probe_<pooling>.json`). */
  probeInfo?: string[];
  /** The shard set's Hub card, when eval put its numbers in it. */
  card?: string;
}

/** Everything `eval.json` holds. */
export interface EvalReport {
  /** When the report was made (ISO 8601). */
  createdAt: string;
  /** The shard directory evaluated. */
  shards: string;
  /** The card's published numbers, when a card was read. */
  published?: PublishedAccuracies;
  /** Zero-shot results, when run. */
  zeroShot?: ZeroShotSection;
  /** Linear-probe results, when run. */
  linearProbe?: LinearProbeSection;
  /** Text-to-video retrieval with the zero-shot class embeddings as queries, when zero-shot ran. */
  retrieval?: RetrievalSection;
  /** Evaluations not run, with the reason. */
  notRun: { zeroShot?: string; linearProbe?: string };
  /** Samples left out, each named. */
  problems: EvalProblem[];
  /** Where the embeddings came from. */
  provenance?: EvalProvenance;
  /** Per split found: samples, tars, zero-frame samples, frames per video. */
  splits?: Partial<Record<Split, FrameCensus>>;
  /** The card's Data Splits totals, when the card has that section. */
  cardSplits?: SplitTotals;
  /** The pooling asked for (`centre`: the card's methods; `mean`; `all`: both). */
  pool?: string;
  /** Mean-pooled evaluations (`--pool mean|all`). */
  pooled?: { zeroShot?: ZeroShotSection; linearProbe?: LinearProbeSection };
  /** Files written for use elsewhere. */
  artefacts?: EvalArtefacts;
  /**
   * Fingerprint of the shards, models, lists and settings the report was made from: a rerun with
   * the same fingerprint reads the report back instead of evaluating again.
   */
  inputs?: string;
}

/**
 * Per-class accuracy and the most frequent confusions of ranked predictions.
 * @param names class names; truth indices point into them
 * @param truth true class per sample (-1: none, skipped)
 * @param predicted `[n, k]` ranked class indices into `names` (-1: no prediction)
 * @param k columns of `predicted`
 * @param topConfusions how many confusion pairs to keep (default 50)
 * @returns per class (classes with samples, in class order) and the confusions
 */
export function classBreakdown(
  names: readonly string[],
  truth: Int32Array,
  predicted: Int32Array,
  k: number,
  topConfusions = 50,
): { perClass: ClassAccuracy[]; confusions: Confusion[] } {
  const K = names.length;
  const count = new Float64Array(K);
  const hit1 = new Float64Array(K);
  const hit5 = new Float64Array(K);
  const pairs = new Map<number, number>();
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    if (t < 0) continue;
    count[t]++;
    const first = predicted[i * k];
    if (first === t) hit1[t]++;
    else if (first >= 0) pairs.set(t * K + first, (pairs.get(t * K + first) ?? 0) + 1);
    for (let j = 0; j < Math.min(5, k); j++) {
      if (predicted[i * k + j] === t) {
        hit5[t]++;
        break;
      }
    }
  }
  const worst = new Map<number, [number, number]>();
  for (const [pair, n] of pairs) {
    const t = Math.floor(pair / K), p = pair % K;
    const w = worst.get(t);
    if (!w || n > w[1] || (n === w[1] && p < w[0])) worst.set(t, [p, n]);
  }
  const perClass: ClassAccuracy[] = [];
  for (let c = 0; c < K; c++) {
    if (count[c] === 0) continue;
    const w = worst.get(c);
    perClass.push({
      name: names[c],
      count: count[c],
      top1: hit1[c] / count[c],
      top5: hit5[c] / count[c],
      ...(w ? { confusedWith: names[w[0]], confusedCount: w[1] } : {}),
    });
  }
  const confusions = [...pairs.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, topConfusions)
    .map(([pair, n]) => ({
      truth: names[Math.floor(pair / K)],
      predicted: names[pair % K],
      count: n,
    }));
  return { perClass, confusions };
}

const fmt = (x: number) => x.toFixed(4);

function zeroShotDetails(z: ZeroShotSection): string {
  return `${z.count} ${z.split} videos (${z.zeroFrame} without frames, counted wrong), ` +
    `${z.classes} classes × ${z.templates} templates, text model ${z.textModel}, ` +
    `${z.provider}, ${z.seconds.toFixed(1)} s`;
}

function probeDetails(p: LinearProbeSection): string {
  return `trained on ${p.trainCount} train samples (${p.trainSkipped} without frames skipped), ` +
    `scored on ${p.count} ${p.split} samples (${p.evalSkipped} without frames skipped, ` +
    `${p.unseenClass} of classes not in train counted wrong); ${p.classes} classes, C = ${p.C}, ` +
    `L-BFGS ${p.iterations} iterations (cap ${p.maxIter}, ${p.evaluations} evaluations, stopped: ` +
    `${p.stop}), objective ${p.objective.toFixed(4)}, ${p.provider}, ${p.seconds.toFixed(1)} s`;
}

/** The sections of a report in display order: label, card method or pooled, card numbers. */
function sectionsOf(r: EvalReport): {
  title: string;
  s: EvalSection;
  card?: Accuracy;
  details: string;
}[] {
  const zs = (title: string, x?: ZeroShotSection) =>
    x && { title, s: x, card: r.published?.zeroShot, details: zeroShotDetails(x) };
  const lp = (title: string, x?: LinearProbeSection) =>
    x && { title, s: x, card: r.published?.linearProbe, details: probeDetails(x) };
  return [
    zs("Zero-shot, card method (per-frame softmax mean)", r.zeroShot),
    zs("Zero-shot, mean-pooled clip", r.pooled?.zeroShot),
    lp("Linear probe, card method (centre frame)", r.linearProbe),
    lp("Linear probe, mean-pooled clip", r.pooled?.linearProbe),
  ].filter((x) => x !== undefined);
}

/**
 * Per-class accuracy sorted worst first: by top-1, then top-5, then more samples first, then name.
 * @param perClass per-class accuracies
 * @returns a sorted copy
 */
export function worstClassesFirst(perClass: readonly ClassAccuracy[]): ClassAccuracy[] {
  return [...perClass].sort((a, b) =>
    a.top1 - b.top1 || a.top5 - b.top5 || b.count - a.count ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/** One bin of a frames-per-video histogram. */
export interface FrameBin {
  /** Label, e.g. `0`, `5`, `8–15`. */
  label: string;
  /** Videos in the bin. */
  videos: number;
}

/**
 * Bins a frames-per-video census: one bin per frame count up to 24 frames, else 0, 1 and powers
 * of two (2–3, 4–7, ...). The 0-frame bin is always there.
 * @param perVideo frame count → videos
 * @returns the bins in order
 */
export function frameBins(perVideo: Record<string, number>): FrameBin[] {
  const entries = Object.entries(perVideo).map(([k, v]) => [Number(k), v] as const);
  const max = Math.max(0, ...entries.map(([k]) => k));
  const bins: { lo: number; hi: number; videos: number }[] = [];
  if (max <= 24) {
    for (let f = 0; f <= max; f++) bins.push({ lo: f, hi: f, videos: 0 });
  } else {
    bins.push({ lo: 0, hi: 0, videos: 0 }, { lo: 1, hi: 1, videos: 0 });
    for (let lo = 2; lo <= max; lo *= 2) bins.push({ lo, hi: 2 * lo - 1, videos: 0 });
  }
  for (const [k, v] of entries) bins.find((b) => k >= b.lo && k <= b.hi)!.videos += v;
  return bins.map((b) => ({
    label: b.lo === b.hi ? String(b.lo) : `${b.lo}–${b.hi}`,
    videos: b.videos,
  }));
}

function provenanceRows(p: EvalProvenance): [string, string][] {
  return [
    ["Model", p.model],
    ["Revision", p.revision],
    ["Model sha256", p.modelSha256],
    ["Preset", p.preset],
    ["FPS", p.fps],
    ["Dtype", p.dtype],
    ["Config hash", p.configHash],
    ["kinembed", p.kinembedVersion],
    ["Date", p.date],
  ];
}

function comparisonRows(r: EvalReport, kind: "zeroShot" | "linearProbe"): string[][] | undefined {
  const card = r.published?.[kind];
  const ours = r[kind];
  const pooled = r.pooled?.[kind];
  if (!ours && !pooled) return undefined;
  const d = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined
      ? "–"
      : `${a - b >= 0 ? "+" : "−"}${Math.abs(a - b).toFixed(4)}`;
  const v = (a: number | undefined) => (a === undefined ? "–" : fmt(a));
  const rows: [string, keyof Accuracy][] = [
    ["Top-1", "top1"],
    ["Top-5", "top5"],
    ["mean(Top1, Top5)", "mean"],
  ];
  if (!card) {
    // nothing published to compare with: the numbers alone
    return [
      ["", ...(ours ? ["Card method"] : []), ...(pooled ? ["Mean-pooled"] : [])],
      ...rows.map(([name, k]) => [
        name,
        ...(ours ? [v(ours[k])] : []),
        ...(pooled ? [v(pooled[k])] : []),
      ]),
    ];
  }
  // the card's published number, then each method run with its difference from it
  const head = ["", ...(ours ? ["Card method"] : []), "Card", "Difference"];
  if (pooled) head.push("Mean-pooled", "Difference");
  if (!ours) head.splice(2, 1); // mean only: "Card", then the pooled pair
  return [
    head,
    ...rows.map(([name, k]) => [
      name,
      ...(ours ? [v(ours[k]), card ? String(card[k]) : "–", d(ours[k], card?.[k])] : [
        card ? String(card[k]) : "–",
      ]),
      ...(pooled ? [v(pooled[k]), d(pooled[k], card?.[k])] : []),
    ]),
  ];
}

/** Where the report names the card: its published numbers, or that it has none. */
function cardSource(r: EvalReport): string | undefined {
  if (!r.published) return undefined;
  return r.published.zeroShot || r.published.linearProbe
    ? "published numbers from"
    : "no published numbers to compare with in";
}

/** The line under an evaluation's table when the card publishes no numbers for it. */
function noPublishedNote(r: EvalReport, kind: "zeroShot" | "linearProbe"): string | undefined {
  if (!r.published || r.published[kind]) return undefined;
  const what = kind === "zeroShot" ? "zero-shot" : "linear-probe";
  return `No published ${what} numbers to compare with: ${r.published.source} has none.`;
}

function mdTable(rows: string[][]): string[] {
  const [head, ...body] = rows;
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...body.map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`),
  ];
}

function perClassRows(s: EvalSection): string[][] {
  return [
    ["Class", "Count", "Top-1", "Top-5", "Most confused with"],
    ...worstClassesFirst(s.perClass).map((c) => [
      c.name,
      String(c.count),
      fmt(c.top1),
      fmt(c.top5),
      c.confusedWith ? `${c.confusedWith} (${c.confusedCount})` : "–",
    ]),
  ];
}

function totalsRows(r: EvalReport): string[][] {
  const rows = [["Split", "Samples", "Tars", "Card samples", "Card tars", "Without frames"]];
  for (const sp of SPLITS) {
    const f = r.splits?.[sp];
    const c = r.cardSplits?.[sp];
    if (!f && !c) continue;
    rows.push([
      sp,
      f ? String(f.samples) : "–",
      f ? String(f.tars) : "–",
      c ? String(c.samples) : "–",
      c ? String(c.tars) : "–",
      f ? String(f.zeroFrame) : "–",
    ]);
  }
  return rows;
}

/** Recall@K and hit@K of a retrieval section as table rows, with a header row. */
function retrievalRows(x: RetrievalSection): string[][] {
  return [
    ["", "@1", "@5", "@10"],
    ["Recall", fmt(x.recallAt1), fmt(x.recallAt5), fmt(x.recallAt10)],
    ["Hit", fmt(x.hitAt1), fmt(x.hitAt5), fmt(x.hitAt10)],
  ];
}

function retrievalDetails(x: RetrievalSection): string {
  return `mAP ${fmt(x.mAP)} over ${x.queries} classes with ${x.split} videos ` +
    `(${x.classesWithoutVideos} without, left out); ${x.videos} ${x.split} videos ranked ` +
    `(${x.zeroFrame} without frames, ranked last), ${x.seconds.toFixed(1)} s`;
}

/** Per-class average precision, lowest first (then more videos first, then name). */
function retrievalClassRows(x: RetrievalSection): string[][] {
  const sorted = [...x.perClass].sort((a, b) =>
    a.ap - b.ap || b.videos - a.videos || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
  return [["Class", "Videos", "AP"], ...sorted.map((c) => [c.name, String(c.videos), fmt(c.ap)])];
}

/**
 * The Markdown report: provenance; the split totals next to the card's; per evaluation the card's
 * table (Top-1, Top-5, mean) with the card's published numbers, the card's method and the
 * mean-pooled one side by side; what was run; text-to-video retrieval (recall@K, hit@K, mAP and
 * their definition); per-class tables worst first (per-class AP lowest first); the most confused
 * pairs; the frames-per-video counts per split.
 * @param r the report
 * @param opts `brief`: leave out the per-class, confusion and frames tables (for a terminal)
 * @returns Markdown text
 */
export function formatEvalMarkdown(r: EvalReport, opts: { brief?: boolean } = {}): string {
  const out = [
    "# kinembed eval",
    "",
    `Shards: \`${r.shards}\`` +
    (r.published ? ` · ${cardSource(r)} \`${r.published.source}\`` : ""),
    "",
  ];
  if (r.provenance) {
    out.push(
      "## Provenance",
      "",
      ...mdTable([["Item", "Value"], ...provenanceRows(r.provenance)]),
      "",
    );
  }
  if (r.splits || r.cardSplits) {
    out.push("## Split totals", "", ...mdTable(totalsRows(r)), "");
  }
  for (
    const [kind, title] of [["zeroShot", "Zero-shot"], ["linearProbe", "Linear-probe"]] as const
  ) {
    const rows = comparisonRows(r, kind);
    if (rows) {
      out.push(`### ${title} Evaluation`, "", ...mdTable(rows), "");
      const note = noPublishedNote(r, kind);
      if (note) out.push(note, "");
      for (const s of [r[kind], r.pooled?.[kind]]) {
        if (!s) continue;
        out.push(
          `${s.method ?? ""}: ` +
            (kind === "zeroShot"
              ? zeroShotDetails(s as ZeroShotSection)
              : probeDetails(s as LinearProbeSection)),
          "",
        );
      }
    } else if (r.notRun[kind]) {
      out.push(`### ${title} Evaluation`, "", `Not run: ${r.notRun[kind]}`, "");
    }
  }
  const x = r.retrieval;
  if (x) {
    out.push(
      "### Text-to-video Retrieval",
      "",
      ...mdTable(retrievalRows(x)),
      "",
      retrievalDetails(x),
      "",
      // the terminal summary leaves the long definition to the files
      ...(opts.brief ? [] : [`Definition: ${x.definition}`, ""]),
    );
  }
  for (const sec of opts.brief ? [] : sectionsOf(r)) {
    out.push(
      `## ${sec.title}: per class, worst first (${sec.s.perClass.length} classes)`,
      "",
      ...mdTable(perClassRows(sec.s)),
      "",
      `### ${sec.title}: most confused pairs`,
      "",
      ...mdTable([
        ["True class", "Ranked first instead", "Samples"],
        ...sec.s.confusions.slice(0, 20).map((c) => [c.truth, c.predicted, String(c.count)]),
      ]),
      "",
    );
  }
  if (x && !opts.brief) {
    out.push(
      `## Text-to-video retrieval: average precision per class, lowest first (${x.queries} classes)`,
      "",
      ...mdTable(retrievalClassRows(x)),
      "",
    );
  }
  if (r.splits && !opts.brief) {
    out.push("## Frames per video", "");
    for (const sp of SPLITS) {
      const f = r.splits[sp];
      if (!f) continue;
      const bins = frameBins(f.perVideo);
      out.push(
        `${sp}: ${f.samples} videos, ${f.frames} frames, ${f.zeroFrame} without frames`,
        "",
        ...mdTable([["Frames", ...bins.map((b) => b.label)], [
          "Videos",
          ...bins.map((b) => String(b.videos)),
        ]]),
        "",
      );
    }
  }
  if (r.artefacts) {
    const files = [
      r.artefacts.textEmbeddings,
      r.artefacts.textEmbeddingsInfo,
      ...(r.artefacts.probeWeights ?? []),
      ...(r.artefacts.probeInfo ?? []),
      r.artefacts.card,
    ].filter((f): f is string => f !== undefined);
    if (files.length > 0) {
      out.push("## Files for use elsewhere", "", ...files.map((f) => `- \`${f}\``), "");
    }
  }
  if (r.problems.length > 0) {
    out.push(`### Samples left out (${r.problems.length})`, "");
    for (const p of r.problems.slice(0, 100)) out.push(`- ${p.id}: ${p.error}`);
    if (r.problems.length > 100) out.push(`- … and ${r.problems.length - 100} more (eval.json)`);
    out.push("");
  }
  return out.join("\n");
}

/**
 * Eval's numbers for the shard set's Hub card: the card's tables (Top-1, Top-5, mean) under the
 * card's headings, so a card reader finds them where the published card has them.
 * @param r the report
 * @returns Markdown for between the card's eval markers
 */
export function formatCardEvalMarkdown(r: EvalReport): string {
  const out = [
    `Evaluated by kinembed ${
      r.provenance?.kinembedVersion ?? ""
    }, most recently on ${r.createdAt}.`,
    "",
  ];
  for (
    const [kind, title] of [["zeroShot", "Zero-shot"], ["linearProbe", "Linear-probe"]] as const
  ) {
    for (const s of [r[kind], r.pooled?.[kind]]) {
      if (!s) continue;
      const pooled = s === r.pooled?.[kind];
      out.push(
        `### ${title} Evaluation${pooled ? " (mean-pooled clip)" : ""}`,
        "",
        "| | Accuracy |",
        "| ---------------- | -------- |",
        `| Top-1 | ${fmt(s.top1)} |`,
        `| Top-5 | ${fmt(s.top5)} |`,
        `| mean(Top1, Top5) | ${fmt(s.mean)} |`,
        "",
        `${s.count} ${s.split} samples; ${s.method ?? ""}; evaluated ${r.createdAt}.`,
        "",
      );
    }
  }
  return out.join("\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

/**
 * An SVG histogram of per-class top-1 accuracy in ten bins of width 0.1.
 * @param perClass per-class accuracies
 * @returns the `<svg>` element
 */
function accuracyHistogramSvg(perClass: readonly ClassAccuracy[]): string {
  const bins = new Array(10).fill(0);
  for (const c of perClass) bins[Math.min(9, Math.floor(c.top1 * 10))]++;
  const W = 520, H = 250, left = 40, bottom = 30, top = 20;
  const max = Math.max(1, ...bins);
  const bw = (W - left - 10) / 10;
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  const bars = bins.map((b, i) =>
    `<rect x="${left + i * bw + 2}" y="${y(b)}" width="${bw - 4}" height="${y(0) - y(b)}" ` +
    `fill="#4878a8"><title>${(i / 10).toFixed(1)}–${
      ((i + 1) / 10).toFixed(1)
    }: ${b} classes</title></rect>` +
    `<text x="${left + i * bw + bw / 2}" y="${
      y(b) - 3
    }" font-size="10" text-anchor="middle">${b}</text>` +
    `<text x="${left + i * bw + bw / 2}" y="${
      H - bottom + 14
    }" font-size="10" text-anchor="middle">` +
    `${(i / 10).toFixed(1)}</text>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" ` +
    `aria-label="per-class top-1 accuracy histogram">` +
    `<line x1="${left}" y1="${y(0)}" x2="${W - 10}" y2="${y(0)}" stroke="#333"/>` + bars +
    `<text x="${W / 2}" y="${
      H - 2
    }" font-size="11" text-anchor="middle">per-class top-1 accuracy ` +
    `(bin start)</text><text x="12" y="${H / 2}" font-size="11" text-anchor="middle" ` +
    `transform="rotate(-90 12 ${H / 2})">classes</text></svg>`;
}

/**
 * An SVG bar chart of the most frequent confusions (`truth → predicted`).
 * @param confusions confusion pairs, most frequent first
 * @param limit how many bars (default 20)
 * @returns the `<svg>` element
 */
function confusionBarsSvg(confusions: readonly Confusion[], limit = 20): string {
  const shown = confusions.slice(0, limit);
  const rowH = 18, labelW = 360, W = 620;
  const H = Math.max(1, shown.length) * rowH + 10;
  const max = Math.max(1, ...shown.map((c) => c.count));
  const rows = shown.map((c, i) => {
    const w = (W - labelW - 50) * c.count / max;
    const label = `${c.truth} → ${c.predicted}`;
    return `<text x="${labelW - 6}" y="${i * rowH + 13}" font-size="11" text-anchor="end">` +
      `${esc(label.length > 60 ? label.slice(0, 57) + "…" : label)}</text>` +
      `<rect x="${labelW}" y="${i * rowH + 3}" width="${w}" height="${rowH - 6}" fill="#c05040">` +
      `<title>${esc(label)}: ${c.count}</title></rect>` +
      `<text x="${labelW + w + 4}" y="${i * rowH + 13}" font-size="11">${c.count}</text>`;
  }).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" ` +
    `aria-label="most frequent confusions">${
      rows || '<text x="4" y="14" font-size="11">no confusions</text>'
    }</svg>`;
}

function htmlRows(rows: string[][], cls = ""): string {
  const [head, ...body] = rows;
  return `<table${cls ? ` class="${cls}"` : ""}><thead><tr>${
    head.map((h) => `<th>${esc(h)}</th>`).join("")
  }</tr></thead><tbody>${
    body.map((r) =>
      `<tr>${r.map((c, i) => i === 0 ? `<th>${esc(c)}</th>` : `<td>${esc(c)}</td>`).join("")}</tr>`
    )
      .join("")
  }</tbody></table>`;
}

/**
 * An SVG histogram of frames per video for one split, the 0-frame bar in red.
 * @param split the split's name
 * @param census its frames-per-video counts
 * @returns the `<svg>` element
 */
export function framesHistogramSvg(split: string, census: FrameCensus): string {
  const bins = frameBins(census.perVideo);
  const W = 520, H = 200, left = 40, bottom = 30, top = 20;
  const max = Math.max(1, ...bins.map((b) => b.videos));
  const bw = (W - left - 10) / Math.max(1, bins.length);
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  const bars = bins.map((b, i) =>
    `<rect x="${left + i * bw + 1}" y="${y(b.videos)}" width="${Math.max(1, bw - 2)}" ` +
    `height="${y(0) - y(b.videos)}" fill="${b.label === "0" ? "#c05040" : "#4878a8"}">` +
    `<title>${b.label} frames: ${b.videos} videos</title></rect>` +
    `<text x="${left + i * bw + bw / 2}" y="${y(b.videos) - 3}" font-size="10" ` +
    `text-anchor="middle">${b.videos}</text>` +
    `<text x="${left + i * bw + bw / 2}" y="${H - bottom + 14}" font-size="10" ` +
    `text-anchor="middle">${b.label}</text>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" ` +
    `aria-label="frames per video, ${esc(split)}">` +
    `<line x1="${left}" y1="${y(0)}" x2="${W - 10}" y2="${y(0)}" stroke="#333"/>${bars}` +
    `<text x="${W / 2}" y="${H - 2}" font-size="11" text-anchor="middle">frames per video ` +
    `(${esc(split)}; ${census.zeroFrame} without frames)</text>` +
    `<text x="12" y="${H / 2}" font-size="11" text-anchor="middle" ` +
    `transform="rotate(-90 12 ${H / 2})">videos</text></svg>`;
}

/**
 * The HTML report, one self-contained file (inline CSS and SVG, no scripts): provenance, split
 * totals next to the card's, the accuracy tables (card, card method, mean-pooled), text-to-video
 * retrieval with its definition and per-class AP, and per
 * evaluation a per-class table sorted worst first, a per-class accuracy histogram and the most
 * confused pairs, then a frames-per-video histogram per split.
 * @param r the report
 * @returns an HTML document
 */
export function formatEvalHtml(r: EvalReport): string {
  const parts = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kinembed eval</title>`,
    `<style>body{font-family:system-ui,sans-serif;max-width:64em;margin:1em auto;padding:0 1em}` +
    `table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;` +
    `text-align:right}th:first-child{text-align:left}thead th{background:#eef}` +
    `table.classes{font-size:90%}table.classes td:last-child{text-align:left}` +
    `.scroll{max-height:28em;overflow:auto;display:inline-block}</style></head><body>`,
    `<h1>kinembed eval</h1><p>Shards: <code>${esc(r.shards)}</code>` +
    (r.published ? ` · ${cardSource(r)} <code>${esc(r.published.source)}</code>` : "") +
    ` · ${esc(r.createdAt)}</p>`,
  ];
  if (r.provenance) {
    parts.push(
      `<h2>Provenance</h2>${htmlRows([["Item", "Value"], ...provenanceRows(r.provenance)])}`,
    );
  }
  if (r.splits || r.cardSplits) parts.push(`<h2>Split totals</h2>${htmlRows(totalsRows(r))}`);
  for (
    const [kind, title] of [["zeroShot", "Zero-shot"], ["linearProbe", "Linear-probe"]] as const
  ) {
    const rows = comparisonRows(r, kind);
    if (rows) {
      parts.push(`<h2>${title} Evaluation</h2>${htmlRows(rows)}`);
      const note = noPublishedNote(r, kind);
      if (note) parts.push(`<p>${esc(note)}</p>`);
      for (const s of [r[kind], r.pooled?.[kind]]) {
        if (!s) continue;
        parts.push(
          `<p>${esc(s.method ?? "")}: ${
            esc(
              kind === "zeroShot"
                ? zeroShotDetails(s as ZeroShotSection)
                : probeDetails(s as LinearProbeSection),
            )
          }</p>`,
        );
      }
    } else if (r.notRun[kind]) {
      parts.push(`<h2>${title} Evaluation</h2><p>Not run: ${esc(r.notRun[kind]!)}</p>`);
    }
  }
  if (r.retrieval) {
    const x = r.retrieval;
    parts.push(
      `<h2>Text-to-video Retrieval</h2>${htmlRows(retrievalRows(x))}` +
        `<p>${esc(retrievalDetails(x))}</p><p>Definition: ${esc(x.definition)}</p>` +
        `<h3>Average precision per class, lowest first (${x.queries} classes)</h3>` +
        `<div class="scroll">${htmlRows(retrievalClassRows(x), "classes")}</div>`,
    );
  }
  for (const sec of sectionsOf(r)) {
    parts.push(
      `<h2>${esc(sec.title)}</h2>` +
        `<h3>Per class, worst first (${sec.s.perClass.length} classes)</h3>` +
        `<div class="scroll">${htmlRows(perClassRows(sec.s), "classes")}</div>` +
        `<h3>Per-class top-1 accuracy</h3>${accuracyHistogramSvg(sec.s.perClass)}` +
        `<h3>Most confused pairs</h3>${confusionBarsSvg(sec.s.confusions)}`,
    );
  }
  if (r.splits) {
    parts.push(`<h2>Frames per video</h2>`);
    for (const sp of SPLITS) {
      const f = r.splits[sp];
      if (f) parts.push(`<h3>${sp}</h3>${framesHistogramSvg(sp, f)}`);
    }
  }
  if (r.problems.length > 0) {
    parts.push(
      `<h2>Samples left out (${r.problems.length})</h2><ul>` +
        r.problems.slice(0, 100).map((p) => `<li>${esc(p.id)}: ${esc(p.error)}</li>`).join("") +
        `</ul>`,
    );
  }
  parts.push(`</body></html>\n`);
  return parts.join("\n");
}

/** Where {@linkcode writeEvalReports} put the reports. */
export interface EvalReportFiles {
  /** `eval.json`. */
  json: string;
  /** `eval.md`. */
  markdown: string;
  /** `eval.html`. */
  html: string;
}

/**
 * Writes `eval.json`, `eval.md` and `eval.html` into a directory (created when missing), each
 * atomically.
 * @param dir the reports directory
 * @param r the report
 * @returns the three paths
 */
export async function writeEvalReports(dir: string, r: EvalReport): Promise<EvalReportFiles> {
  await Deno.mkdir(dir, { recursive: true });
  const files = {
    json: join(dir, "eval.json"),
    markdown: join(dir, "eval.md"),
    html: join(dir, "eval.html"),
  };
  const enc = new TextEncoder();
  await writeFileAtomic(files.json, enc.encode(JSON.stringify(r, null, 2) + "\n"));
  await writeFileAtomic(files.markdown, enc.encode(formatEvalMarkdown(r)));
  await writeFileAtomic(files.html, enc.encode(formatEvalHtml(r)));
  return files;
}
