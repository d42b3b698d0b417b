/**
 * The eval step's reports: `eval.json` (everything), `eval.md` (the card's accuracy tables with
 * the card's published numbers side by side) and `eval.html` (the same tables and inline SVG
 * plots: a histogram of per-class top-1 accuracy and the most frequent confusions).
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/mod.ts";
import type { Accuracy, PublishedAccuracies } from "../dataset/mod.ts";

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

/** A sample the evaluation could not use. */
export interface EvalProblem {
  /** `<shard> <key>`. */
  id: string;
  /** What was wrong. */
  error: string;
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
  /** Evaluations not run, with the reason. */
  notRun: { zeroShot?: string; linearProbe?: string };
  /** Samples left out, each named. */
  problems: EvalProblem[];
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
  const perClass: ClassAccuracy[] = [];
  for (let c = 0; c < K; c++) {
    if (count[c] === 0) continue;
    perClass.push({
      name: names[c],
      count: count[c],
      top1: hit1[c] / count[c],
      top5: hit5[c] / count[c],
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

function accuracyTable(ours: Accuracy, card: Accuracy | undefined): string[] {
  const rows: [string, number, number | undefined][] = [
    ["Top-1", ours.top1, card?.top1],
    ["Top-5", ours.top5, card?.top5],
    ["mean(Top1, Top5)", ours.mean, card?.mean],
  ];
  const diff = (a: number, b: number | undefined) =>
    b === undefined ? "–" : `${a - b >= 0 ? "+" : "−"}${Math.abs(a - b).toFixed(4)}`;
  return [
    "| | Accuracy | Card | Difference |",
    "| ---------------- | -------- | ---- | ---------- |",
    ...rows.map(([name, a, b]) => `| ${name} | ${fmt(a)} | ${b ?? "–"} | ${diff(a, b)} |`),
  ];
}

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

/**
 * The Markdown report: per evaluation, the card's table (Top-1, Top-5, mean) with the card's
 * published numbers and the difference, then what was run.
 * @param r the report
 * @returns Markdown text
 */
export function formatEvalMarkdown(r: EvalReport): string {
  const out = [
    "# kinembed eval",
    "",
    `Shards: \`${r.shards}\`` +
    (r.published ? ` · published numbers from \`${r.published.source}\`` : ""),
    "",
  ];
  if (r.zeroShot) {
    out.push(
      "### Zero-shot Evaluation",
      "",
      ...accuracyTable(r.zeroShot, r.published?.zeroShot),
      "",
    );
    out.push(zeroShotDetails(r.zeroShot), "");
  } else if (r.notRun.zeroShot) {
    out.push("### Zero-shot Evaluation", "", `Not run: ${r.notRun.zeroShot}`, "");
  }
  if (r.linearProbe) {
    out.push(
      "### Linear-probe Evaluation",
      "",
      ...accuracyTable(r.linearProbe, r.published?.linearProbe),
      "",
      probeDetails(r.linearProbe),
      "",
    );
  } else if (r.notRun.linearProbe) {
    out.push("### Linear-probe Evaluation", "", `Not run: ${r.notRun.linearProbe}`, "");
  }
  if (r.problems.length > 0) {
    out.push(`### Samples left out (${r.problems.length})`, "");
    for (const p of r.problems.slice(0, 100)) out.push(`- ${p.id}: ${p.error}`);
    if (r.problems.length > 100) out.push(`- … and ${r.problems.length - 100} more (eval.json)`);
    out.push("");
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
export function accuracyHistogramSvg(perClass: readonly ClassAccuracy[]): string {
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
export function confusionBarsSvg(confusions: readonly Confusion[], limit = 20): string {
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

function htmlTable(ours: Accuracy, card: Accuracy | undefined): string {
  const row = (name: string, a: number, b: number | undefined) =>
    `<tr><th>${name}</th><td>${fmt(a)}</td><td>${b ?? "–"}</td><td>${
      b === undefined ? "–" : (a - b >= 0 ? "+" : "−") + Math.abs(a - b).toFixed(4)
    }</td></tr>`;
  return `<table><tr><th></th><th>Accuracy</th><th>Card</th><th>Difference</th></tr>` +
    row("Top-1", ours.top1, card?.top1) + row("Top-5", ours.top5, card?.top5) +
    row("mean(Top1, Top5)", ours.mean, card?.mean) + `</table>`;
}

function htmlSection(
  title: string,
  s: EvalSection,
  card: Accuracy | undefined,
  details: string,
): string {
  return `<h2>${title}</h2>${htmlTable(s, card)}<p>${esc(details)}</p>` +
    `<h3>Per-class top-1 accuracy (${s.perClass.length} classes)</h3>${
      accuracyHistogramSvg(s.perClass)
    }` +
    `<h3>Top confusions</h3>${confusionBarsSvg(s.confusions)}`;
}

/**
 * The HTML report: the tables, and per evaluation a per-class accuracy histogram and the top
 * confusions, as inline SVG (one self-contained file).
 * @param r the report
 * @returns an HTML document
 */
export function formatEvalHtml(r: EvalReport): string {
  const parts = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>kinembed eval</title>`,
    `<style>body{font-family:system-ui,sans-serif;max-width:60em;margin:1em auto;padding:0 1em}` +
    `table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}` +
    `th:first-child{text-align:left}</style></head><body>`,
    `<h1>kinembed eval</h1><p>Shards: <code>${esc(r.shards)}</code>` +
    (r.published ? ` · published numbers from <code>${esc(r.published.source)}</code>` : "") +
    ` · ${esc(r.createdAt)}</p>`,
  ];
  if (r.zeroShot) {
    parts.push(
      htmlSection(
        "Zero-shot Evaluation",
        r.zeroShot,
        r.published?.zeroShot,
        zeroShotDetails(r.zeroShot),
      ),
    );
  } else if (r.notRun.zeroShot) {
    parts.push(`<h2>Zero-shot Evaluation</h2><p>Not run: ${esc(r.notRun.zeroShot)}</p>`);
  }
  if (r.linearProbe) {
    parts.push(htmlSection(
      "Linear-probe Evaluation",
      r.linearProbe,
      r.published?.linearProbe,
      probeDetails(r.linearProbe),
    ));
  } else if (r.notRun.linearProbe) {
    parts.push(`<h2>Linear-probe Evaluation</h2><p>Not run: ${esc(r.notRun.linearProbe)}</p>`);
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
