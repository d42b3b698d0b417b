/**
 * The eval step: zero-shot and linear-probe accuracy of a directory of shards (a work dir's
 * `shards/`, or any published set with its `splits.csv`), computed as the CLIP-Kinetics700 card
 * computed them, reported next to the card's numbers in `eval.json`, `eval.md` and `eval.html`,
 * with text-to-video retrieval (the zero-shot class embeddings as queries) beside zero-shot.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { makeSyntheticWorkDir } from "../../fixtures/synthetic_work_dir.ts";
 * import { buildTextModel } from "../onnx/mod.ts";
 * import { shard } from "../shard/mod.ts";
 * import { evaluate } from "./eval.ts";
 * const dir = await Deno.makeTempDir();
 * // a work dir whose videos are encoded already (random embeddings)
 * const { layout } = await makeSyntheticWorkDir({ dir: join(dir, "work"), counts: { train: 6, val: 3 } });
 * await shard({ work: layout.root, quiet: true });
 * const textModel = join(dir, "text.onnx"); // a random-weight CLIP-shaped text tower
 * await Deno.writeFile(textModel, (await buildTextModel({ size: "tiny" })).bytes);
 * // zero-shot over the three synthetic classes with one prompt (default: the 700 and the 28 shipped)
 * const classes = join(dir, "classes.txt");
 * await Deno.writeTextFile(classes, "abseiling\nacting in play\nadjusting glasses\n");
 * const templates = join(dir, "templates.txt");
 * await Deno.writeTextFile(templates, "a video of {}.\n");
 * const { report } = await evaluate({
 *   work: layout.root,
 *   textModel,
 *   classes,
 *   templates,
 *   providers: ["cpu"],
 *   log: () => {},
 * });
 * strictEqual(report.linearProbe?.count, 3);
 * strictEqual(report.zeroShot?.count, 3);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import {
  ConfigError,
  KINEMBED_VERSION,
  meanPooledFeature,
  parseSplitName,
  pathExists,
  type Split,
  SPLITS,
  UsageError,
  writeFileAtomic,
  writeNpy,
} from "../base/mod.ts";
import { type RunConfig, workDirLayout } from "../core/mod.ts";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import {
  type ClipPooling,
  type FrameCensus,
  readClipFeatures,
  readFrameCensus,
  readVideoBatches,
  writeClipFeatures,
} from "./features.ts";
import {
  classBreakdown,
  type EvalArtefacts,
  type EvalProblem,
  type EvalProvenance,
  type EvalReport,
  type EvalReportFiles,
  formatCardEvalMarkdown,
  type LinearProbeSection,
  type RetrievalSection,
  writeEvalReports,
  type ZeroShotSection,
} from "./report.ts";
import {
  CARD_EVAL_START,
  cardProvenance,
  hubCardWithEval,
  readShardSplits,
  type ShardSplits,
  updateHubCardEval,
} from "../webdataset/mod.ts";
import { parseCardSplits, type SplitTotals } from "../dataset/mod.ts";
import type { ProviderName } from "../onnx/mod.ts";
import {
  DEFAULT_PROBE_C,
  DEFAULT_PROBE_MAX_ITER,
  type LinearProbe,
  scoreLinearProbe,
  trainLinearProbe,
} from "./linear_probe.ts";
import {
  defaultCardPath,
  loadClassNames,
  loadPromptTemplates,
  parseCardAccuracies,
} from "../dataset/mod.ts";
import { RETRIEVAL_DEFINITION, RetrievalIndex } from "./retrieval.ts";
import { topKAccuracy } from "./top_k.ts";
import { buildZeroShotClassifier, type ZeroShotClassifier } from "../text/mod.ts";
import { ZeroShotScorer } from "./zero_shot.ts";
import { resolveModel } from "../model/mod.ts";

/** Which clip features eval uses: the card's methods, mean pooling, or both side by side. */
export type EvalPooling = "centre" | "mean" | "all";

/** The poolings `--pool` accepts. */
export const EVAL_POOLINGS: readonly EvalPooling[] = ["centre", "mean", "all"];

/** Options of {@linkcode evaluate}. */
export interface EvalOptions {
  /** Work dir: shards from `<work>/shards`, reports into `<work>/reports`. */
  work?: string;
  /** A directory of shards with its `splits.csv` (instead of `work`). */
  shards?: string;
  /** Reports directory (default `<work>/reports`, or `reports` with `shards`). */
  out?: string;
  /**
   * Run zero-shot, and with it text-to-video retrieval (needs `textModel`). Neither flag set: both
   * where possible.
   */
  zeroShot?: boolean;
  /** Run the linear probe (needs train and the scored split). Neither flag set: both where possible. */
  linearProbe?: boolean;
  /** CLIP text encoder for zero-shot: an `.onnx` file, a checkpoint, or a hub repo id. */
  textModel?: string;
  /** Class list for zero-shot, one per line (default the shipped 700 Kinetics-700 names). */
  classes?: string;
  /** Prompt templates for zero-shot (default the shipped 28). */
  templates?: string;
  /** The split scored (default `val`); the probe trains on `train`. */
  split?: string;
  /** The probe's inverse regularisation (default 0.316). */
  C?: number;
  /** The probe's L-BFGS iteration cap (default 1000). */
  maxIter?: number;
  /** Execution providers tried in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** CPU threads for ONNX Runtime (default one per core). */
  threads?: number;
  /** Dataset card with the published accuracies (default the shipped CLIP-Kinetics700 card). */
  card?: string;
  /**
   * Clip features: `centre` (default; the card's methods: centre frame for the probe, per-frame
   * softmax mean for zero-shot), `mean` (the L2-normalised mean of the L2-normalised frames for
   * both), `all` (both, side by side).
   */
  pool?: EvalPooling;
  /**
   * Evaluate again even when the reports in the output folder were made from the same shards
   * with the same settings (by default such a rerun reads them back and does nothing).
   */
  force?: boolean;
  /**
   * Put the numbers into the shard set's dataset card (`README.md` beside the shards, written by
   * `shard`), keeping the sections of earlier numbers these do not replace. Default false: eval
   * writes only into its reports folder.
   */
  updateCard?: boolean;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
}

/** What {@linkcode evaluate} returns. */
export interface EvalResult {
  /** The report (also in `eval.json`). */
  report: EvalReport;
  /** Where the reports were written. */
  files: EvalReportFiles;
  /** Samples left out, each named (also in the report). */
  problems: EvalProblem[];
  /** True when the reports were up to date and read back instead of made. */
  upToDate?: boolean;
  /** The shard set's dataset card (when kinembed wrote one), and whether eval updated it. */
  card?: { path: string; updated: boolean };
}

/** Code-point order, as NumPy's `np.unique` sorts label strings (scikit-learn's `classes_`). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What an evaluation was asked for, checked: folders, split, evaluations and poolings. */
function evalPlan(opts: EvalOptions): {
  shardsDir: string;
  outDir: string;
  split: Split;
  pool: EvalPooling;
  poolings: ClipPooling[];
  wantZeroShot: boolean;
  wantProbe: boolean;
} {
  if (opts.work !== undefined && opts.shards !== undefined) {
    throw new UsageError("give one of --work DIR or --shards DIR, not both");
  }
  const layout = opts.shards === undefined ? workDirLayout(opts.work ?? "work") : undefined;
  const split = parseSplitName(opts.split ?? "val");
  if (!split) {
    throw new UsageError(`--split must be train, val or test, got ${JSON.stringify(opts.split)}`);
  }
  if (opts.zeroShot && !opts.textModel) {
    throw new UsageError("--zero-shot needs --text-model FILE (a CLIP text encoder)");
  }
  const pool = opts.pool ?? "centre";
  if (!EVAL_POOLINGS.includes(pool)) {
    throw new UsageError(`--pool must be centre, mean or all, got ${JSON.stringify(pool)}`);
  }
  return {
    shardsDir: resolve(opts.shards ?? layout!.shards),
    outDir: resolve(opts.out ?? layout?.reports ?? "reports"),
    split,
    pool,
    poolings: pool === "all" ? ["centre", "mean"] : [pool],
    // neither asked for: both where possible (zero-shot only with a text model)
    wantZeroShot: opts.zeroShot ?? (!opts.linearProbe && opts.textModel !== undefined),
    wantProbe: opts.linearProbe ?? !opts.zeroShot,
  };
}

/**
 * Runs the evaluations and writes the reports.
 * @param opts where the shards are, which evaluations, their settings
 * @returns the report, the files written and the samples left out
 * @throws {UsageError} for contradictory options (both `work` and `shards`, zero-shot without a
 *   text model)
 * @throws {ConfigError} when a requested evaluation lacks its split, or files are missing
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { join } from "node:path";
 * import { evaluate } from "./eval.ts";
 * import { formatSplitsCsv, sampleKey, ShardWriter } from "../webdataset/mod.ts";
 * import { writeNpy } from "../base/mod.ts";
 *
 * // a train tar and a val tar of two classes whose embeddings point different ways
 * const dir = await Deno.makeTempDir();
 * const text = new TextEncoder();
 * let n = 0;
 * for (const [tarFile, split] of [["ds_000000.tar", "train"], ["ds_000001.tar", "val"]] as const) {
 *   const w = await ShardWriter.create(join(dir, tarFile));
 *   for (const [c, label] of ["abseiling", "yoga", "abseiling", "yoga"].entries()) {
 *     const emb = new Float32Array(512);
 *     emb[c % 2] = 1;
 *     await w.addSample(sampleKey(n++), [
 *       { ext: "json", data: text.encode(`{"videoID":"v${n}","start_time":"000000","end_time":"000010"}`) },
 *       { ext: "npy", data: writeNpy({ dtype: "<f4", shape: [1, 512], data: emb }) },
 *       { ext: "txt", data: text.encode(label) },
 *     ]);
 *   }
 *   await w.commit();
 * }
 * await Deno.writeTextFile(join(dir, "splits.csv"), formatSplitsCsv([
 *   { tarFile: "ds_000000.tar", split: "train" },
 *   { tarFile: "ds_000001.tar", split: "val" },
 * ]));
 * // the linear probe needs no CLIP weights; zero-shot would take a textModel
 * const r = await evaluate({
 *   shards: dir,
 *   out: join(dir, "reports"),
 *   linearProbe: true,
 *   providers: ["cpu"],
 *   log: () => {},
 * });
 * strictEqual(r.report.linearProbe?.top1, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function evaluate(opts: EvalOptions): Promise<EvalResult> {
  const log = opts.log ?? ((line: string) => console.error(line));
  const { shardsDir, outDir, split, pool, poolings, wantZeroShot, wantProbe } = evalPlan(opts);
  const splits = await readShardSplits(shardsDir);
  const hubCard = await shardSetCard(shardsDir, opts.updateCard === true);
  const inputs = await evalInputs(opts, shardsDir, splits, {
    split,
    pool,
    zeroShot: wantZeroShot,
    linearProbe: wantProbe,
  });
  const done = opts.force ? null : await upToDateReports(outDir, inputs, log);
  if (done) {
    // the card is no input of the numbers: a rerun with --update-card puts the same ones in it
    const updated = opts.updateCard === true && await putInCard(shardsDir, done.report, outDir);
    return { ...done, card: hubCard === undefined ? undefined : { path: hubCard, updated } };
  }
  const evalTars = splits[split] ?? [];
  log(`eval: counting frames per video in ${shardsDir}`);
  const census: Partial<Record<Split, FrameCensus>> = {};
  if (evalTars.length > 0) {
    census[split] = await readFrameCensus(evalTars);
    refuseUnlabelled(split, census[split]!, splits);
  }
  const createdAt = new Date().toISOString();
  const report: EvalReport = {
    createdAt,
    shards: shardsDir,
    notRun: {},
    problems: [],
    pool,
    inputs,
  };
  const cardPath = opts.card ?? defaultCardPath;
  const cardText = await readCard(cardPath);
  report.published = parseCardAccuracies(cardText, cardPath);
  report.cardSplits = cardSplitsOrNone(cardText, cardPath);
  report.provenance = await readProvenance(shardsDir, createdAt);
  report.splits = {};
  for (const sp of SPLITS) {
    if (splits[sp]?.length) report.splits[sp] = census[sp] ?? await readFrameCensus(splits[sp]!);
  }
  const artefacts: EvalArtefacts = {};
  await Deno.mkdir(outDir, { recursive: true });

  if (wantZeroShot) {
    if (evalTars.length === 0) {
      if (opts.zeroShot) throw new ConfigError(`${shardsDir}/splits.csv lists no ${split} shards`);
      report.notRun.zeroShot = `no ${split} shards`;
    } else {
      const clf = await buildClassifier(opts, log);
      Object.assign(artefacts, await writeTextEmbeddings(outDir, clf, opts));
      // retrieval ranks the videos zero-shot reads: gathered during its first pass
      const index = new RetrievalIndex(clf.clf.dim, census[split]!.samples);
      let zeroFrame = 0;
      for (const p of poolings) {
        // the samples left out are the same for each pooling: named once
        const first = p === poolings[0];
        const problems = first ? report.problems : [];
        const z = await runZeroShot(
          opts,
          clf,
          p,
          split,
          evalTars,
          problems,
          log,
          first ? index : undefined,
        );
        if (first) zeroFrame = z.zeroFrame;
        if (p === "centre") report.zeroShot = z;
        else (report.pooled ??= {}).zeroShot = z;
      }
      report.retrieval = runRetrieval(index, clf.clf, split, zeroFrame, log);
    }
  } else if (opts.zeroShot === undefined && !opts.linearProbe) {
    report.notRun.zeroShot = "needs a CLIP text encoder (--text-model)";
  }
  if (wantProbe) {
    const trainTars = splits.train ?? [];
    const missing = [trainTars.length === 0 && "train", evalTars.length === 0 && split]
      .filter(Boolean);
    if (missing.length > 0) {
      const why = `${shardsDir}/splits.csv lists no ${missing.join(" or ")} shards`;
      if (opts.linearProbe) throw new ConfigError(why);
      report.notRun.linearProbe = why;
    } else {
      for (const p of poolings) {
        const features = join(outDir, `.probe_train_${p}.f32`);
        const { section, probe, classes } = await removedAfter(
          features,
          () => runLinearProbe(opts, p, split, trainTars, evalTars, features, log),
        );
        if (p === "centre") report.linearProbe = section;
        else (report.pooled ??= {}).linearProbe = section;
        const w = await writeProbe(outDir, p, probe, classes, section);
        (artefacts.probeWeights ??= []).push(w.weights);
        (artefacts.probeInfo ??= []).push(w.info);
      }
    }
  }
  report.artefacts = artefacts;
  return await writeReportsAndCard(report, outDir, shardsDir, hubCard, opts.updateCard === true);
}

/**
 * The shard set's card kinembed wrote (`README.md` with the eval markers), when there is one.
 * @throws {ConfigError} when the card is to be updated and there is none (before any work)
 */
async function shardSetCard(shardsDir: string, update: boolean): Promise<string | undefined> {
  const card = await hubCardWithEval(shardsDir);
  if (!update || card !== undefined) return card;
  const path = join(shardsDir, "README.md");
  throw new ConfigError(
    `--update-card: ${path} ` +
      ((await pathExists(path))
        ? `is not a card kinembed wrote (no ${CARD_EVAL_START} marker)`
        : "not found") +
      "; leave out --update-card (the reports do not need it)",
  );
}

/**
 * Writes the reports and, when asked, puts the numbers into the shard set's card first (named in
 * the reports when it was updated); a card that cannot be written loses no report.
 */
async function writeReportsAndCard(
  report: EvalReport,
  outDir: string,
  shardsDir: string,
  card: string | undefined,
  update: boolean,
): Promise<EvalResult> {
  let updated = false, cardError: unknown;
  if (update && card !== undefined) {
    updated = await putInCard(shardsDir, report, outDir).catch((e) => {
      cardError = e;
      return false;
    });
  }
  if (updated) (report.artefacts ??= {}).card = card;
  const files = await writeEvalReports(outDir, report);
  if (cardError !== undefined) throw cardError;
  return {
    report,
    files,
    problems: report.problems,
    card: card === undefined ? undefined : { path: card, updated },
  };
}

/**
 * Puts a report's numbers into the shard set's card; false when the report has none. A card that
 * cannot be written is a one-line error that says where the reports are.
 */
async function putInCard(shardsDir: string, report: EvalReport, outDir: string): Promise<boolean> {
  if (!report.zeroShot && !report.linearProbe && !report.pooled) return false;
  try {
    return await updateHubCardEval(shardsDir, formatCardEvalMarkdown(report)) !== undefined;
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
      throw new ConfigError(
        `--update-card: cannot write ${join(shardsDir, "README.md")} (${
          (e as Error).message.split("\n")[0]
        }); the reports are in ${outDir}`,
      );
    }
    throw e;
  }
}

/**
 * Refuses to score a split none of whose samples has a label (Kinetics' test split): every
 * sample would count as wrong.
 */
function refuseUnlabelled(split: Split, census: FrameCensus, splits: ShardSplits): void {
  if (census.samples === 0 || census.labelled > 0) return;
  const other = (["val", "train"] as const).find((s) => s !== split && splits[s]?.length);
  throw new ConfigError(
    `split ${split} has no labels (0 of ${census.samples} samples labelled); evaluate a ` +
      `labelled split${other ? ` (--split ${other})` : ""}`,
  );
}

export { evaluate as eval };

/**
 * A fingerprint of everything an evaluation depends on: the shards (splits.csv, and each tar's
 * name, size and modification time), the text model, class list, templates and card, the
 * settings, and this version of kinembed. Not whether the shard set's card is to be updated: that
 * changes no number, so a rerun asking for it reads the reports back and puts them in the card.
 */
async function evalInputs(
  opts: EvalOptions,
  shardsDir: string,
  splits: Partial<Record<Split, string[]>>,
  chosen: { split: Split; pool: string; zeroShot: boolean; linearProbe: boolean },
): Promise<string> {
  const fileId = async (path: string | undefined) => {
    if (path === undefined) return null;
    const info = await Deno.stat(path).catch(() => null);
    return info === null ? path : [resolve(path), info.size, info.mtime?.getTime() ?? null];
  };
  const tars: unknown[] = [];
  for (const sp of SPLITS) for (const t of splits[sp] ?? []) tars.push([sp, await fileId(t)]);
  const doc = {
    version: KINEMBED_VERSION,
    splitsCsv: await Deno.readTextFile(join(shardsDir, "splits.csv")).catch(() => null),
    tars,
    textModel: chosen.zeroShot ? await fileId(opts.textModel) : null,
    classes: await fileId(opts.classes),
    templates: await fileId(opts.templates),
    card: await fileId(opts.card ?? defaultCardPath),
    settings: {
      ...chosen,
      C: opts.C ?? DEFAULT_PROBE_C,
      maxIter: opts.maxIter ?? DEFAULT_PROBE_MAX_ITER,
      providers: opts.providers ?? null,
      threads: opts.threads ?? null,
    },
  };
  return createHash("sha256").update(JSON.stringify(doc)).digest("hex");
}

/**
 * The reports in `dir` when they were made from these inputs and all their files are there (and
 * a line saying so), else null.
 */
async function upToDateReports(
  dir: string,
  inputs: string,
  log: (line: string) => void,
): Promise<EvalResult | null> {
  const files = {
    json: join(dir, "eval.json"),
    markdown: join(dir, "eval.md"),
    html: join(dir, "eval.html"),
  };
  let report: EvalReport;
  try {
    report = JSON.parse(await Deno.readTextFile(files.json));
  } catch {
    return null;
  }
  if (report.inputs !== inputs) return null;
  // a zero-shot report made before retrieval was scored lacks its numbers: evaluate again
  if (report.zeroShot && !report.retrieval) return null;
  const a = report.artefacts ?? {};
  const wanted = [
    files.markdown,
    files.html,
    a.textEmbeddings,
    a.textEmbeddingsInfo,
    ...(a.probeWeights ?? []),
    ...(a.probeInfo ?? []),
  ].filter((p): p is string => typeof p === "string");
  for (const p of wanted) if (!(await pathExists(p))) return null;
  log(
    `eval: nothing to do: ${files.json} was made from these shards with these settings ` +
      "(--force to evaluate again)",
  );
  return { report, files, problems: report.problems ?? [], upToDate: true };
}

async function readCard(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`card ${path} not found`);
    throw e;
  }
}

function cardSplitsOrNone(text: string, path: string): SplitTotals | undefined {
  try {
    return parseCardSplits(text, path);
  } catch {
    return undefined; // a card without a Data Splits section: nothing to compare with
  }
}

/** Provenance from the shards' `manifest.json` (written by shard and merge), when there is one. */
async function readProvenance(shardsDir: string, date: string): Promise<EvalProvenance> {
  const text = await Deno.readTextFile(join(shardsDir, "manifest.json")).catch(() => null);
  let config: RunConfig = {}, hash = "unknown";
  if (text !== null) {
    try {
      const m = JSON.parse(text) as { config?: RunConfig; configHash?: string };
      config = m.config ?? {};
      hash = m.configHash ?? hash;
    } catch {
      // not kinembed's manifest: provenance unknown
    }
  }
  return { ...cardProvenance(config, hash), date };
}

interface BuiltClassifier {
  clf: ZeroShotClassifier;
  templates: string[];
}

async function buildClassifier(
  opts: EvalOptions,
  log: (line: string) => void,
): Promise<BuiltClassifier> {
  const classNames = await loadClassNames(opts.classes);
  const templates = await loadPromptTemplates(opts.templates);
  log(`zero-shot: encoding ${classNames.length} classes × ${templates.length} templates`);
  // a checkpoint or hub model is fetched and built into its text encoder once
  const textModel = await resolveModel(opts.textModel!, { tower: "text", log });
  const clf = await buildZeroShotClassifier(textModel.path, classNames, templates, {
    providers: opts.providers,
    threads: opts.threads,
    onFallback: (p, reason) =>
      log(`zero-shot: provider ${p} unavailable (${reason}), trying the next`),
  });
  return { clf, templates };
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n"));
}

/** The zero-shot class weights `[K, D]` and what they are, for use elsewhere. */
async function writeTextEmbeddings(
  outDir: string,
  built: BuiltClassifier,
  opts: EvalOptions,
): Promise<EvalArtefacts> {
  const { clf, templates } = built;
  const npy = join(outDir, "text_embeddings.npy");
  const info = join(outDir, "text_embeddings.json");
  await writeFileAtomic(
    npy,
    writeNpy({ dtype: "<f4", shape: [clf.numClasses, clf.dim], data: clf.weights }),
  );
  await writeJson(info, {
    what: "zero-shot class weights: per class the mean over the templates of the L2-normalised " +
      "text embeddings, L2-normalised again; rows in the order of classes",
    shape: [clf.numClasses, clf.dim],
    dtype: "float32",
    classes: clf.classNames,
    templates: templates.length,
    templatesSha256: sha256Hex(templates.join("\n")),
    textModel: opts.textModel,
    logitScale: 100,
  });
  return { textEmbeddings: npy, textEmbeddingsInfo: info };
}

/** The probe's weights `[D+1, K]` (intercepts last) and what they are, for use elsewhere. */
async function writeProbe(
  outDir: string,
  pooling: ClipPooling,
  probe: { weights: Float64Array; dim: number; numClasses: number },
  classes: string[],
  section: LinearProbeSection,
): Promise<{ weights: string; info: string }> {
  const weights = join(outDir, `probe_${pooling}.npy`);
  const info = join(outDir, `probe_${pooling}.json`);
  await writeFileAtomic(
    weights,
    writeNpy({ dtype: "<f8", shape: [probe.dim + 1, probe.numClasses], data: probe.weights }),
  );
  await writeJson(info, {
    what: "multinomial logistic regression: scores = [feature, 1] @ W; rows 0..D-1 the weights, " +
      "row D the intercepts; columns in the order of classes",
    feature: pooling === "centre"
      ? "the raw centre frame emb[floor(n/2)] (not normalised)"
      : "the L2-normalised mean of the L2-normalised frames",
    shape: [probe.dim + 1, probe.numClasses],
    dtype: "float64",
    classes,
    C: section.C,
    trainCount: section.trainCount,
    top1: section.top1,
    top5: section.top5,
    split: section.split,
  });
  return { weights, info };
}

async function runZeroShot(
  opts: EvalOptions,
  built: BuiltClassifier,
  pooling: ClipPooling,
  split: Split,
  tars: string[],
  problems: EvalProblem[],
  log: (line: string) => void,
  index?: RetrievalIndex,
): Promise<ZeroShotSection> {
  const t0 = performance.now();
  const { clf, templates } = built;
  const classNames = clf.classNames;
  const classIndex = new Map(classNames.map((n, i) => [n, i]));
  const scorer = await ZeroShotScorer.open(clf, {
    providers: opts.providers,
    threads: opts.threads,
  });
  const truth: number[] = [];
  const ranked: Int32Array[] = [];
  let zeroFrame = 0;
  try {
    for await (const batch of readVideoBatches(tars)) {
      const kept = batch.filter((v) => {
        if (classIndex.has(v.label)) return true;
        problems.push({
          id: `${v.shard} ${v.key}`,
          error: `label ${JSON.stringify(v.label)} is not in the class list` +
            (opts.classes ? ` (${opts.classes})` : ""),
        });
        return false;
      });
      for (const v of kept) {
        if (pooling === "centre" && v.frames.length > 0 && v.frames.length !== v.count * clf.dim) {
          throw new ConfigError(
            `${v.shard} ${v.key}: embeddings are ${
              v.frames.length / v.count
            } wide, the text model's ${clf.dim}`,
          );
        }
        truth.push(classIndex.get(v.label)!);
        if (v.count === 0) zeroFrame++;
      }
      // mean pooling: one unit-length feature per clip, scored as a one-frame video
      const feats = pooling === "mean"
        ? kept.map((v) => {
          if (v.count > 0 && v.frames.length !== v.count * clf.dim) {
            throw new ConfigError(
              `${v.shard} ${v.key}: embeddings are ${
                v.frames.length / v.count
              } wide, the text model's ${clf.dim}`,
            );
          }
          return v.count > 0 ? meanPooledFeature(v.frames, v.count, clf.dim) : v.frames;
        })
        : kept.map((v) => v.frames);
      for (const v of kept) index?.add(v.frames, v.count, classIndex.get(v.label)!);
      ranked.push(await scorer.predict(feats, 5));
    }
  } finally {
    await scorer.release();
  }
  const k = Math.min(5, clf.numClasses);
  const predicted = concat(ranked);
  const t = Int32Array.from(truth);
  const acc = topKAccuracy(predicted, k, t);
  const { perClass, confusions } = classBreakdown(classNames, t, predicted, k);
  log(
    `zero-shot (${pooling}): ${acc.count} ${split} videos, top-1 ${acc.top1.toFixed(4)}, top-5 ${
      acc.top5.toFixed(4)
    }`,
  );
  return {
    split,
    count: acc.count,
    top1: acc.top1,
    top5: acc.top5,
    mean: (acc.top1 + acc.top5) / 2,
    perClass,
    confusions,
    provider: scorer.provider,
    seconds: (performance.now() - t0) / 1000,
    textModel: opts.textModel!,
    classes: classNames.length,
    templates: templates.length,
    zeroFrame,
    method: pooling === "centre"
      ? "card method: mean over frames of per-frame softmax(100·x·W)"
      : "mean-pooled: softmax(100·p·W), p the L2-normalised mean of the L2-normalised frames",
  };
}

/** Ranks the split's videos for each class query and scores the rankings. */
function runRetrieval(
  index: RetrievalIndex,
  clf: ZeroShotClassifier,
  split: Split,
  zeroFrame: number,
  log: (line: string) => void,
): RetrievalSection {
  const t0 = performance.now();
  log(`retrieval: ranking ${index.size} ${split} videos for ${clf.numClasses} class queries`);
  const score = index.score(clf.weights, clf.classNames);
  log(
    `retrieval: mAP ${score.mAP.toFixed(4)}, recall@1/5/10 ${score.recallAt1.toFixed(4)}/` +
      `${score.recallAt5.toFixed(4)}/${score.recallAt10.toFixed(4)}, hit@1/5/10 ` +
      `${score.hitAt1.toFixed(4)}/${score.hitAt5.toFixed(4)}/${score.hitAt10.toFixed(4)} over ` +
      `${score.queries} classes with videos`,
  );
  return {
    split,
    ...score,
    zeroFrame,
    definition: RETRIEVAL_DEFINITION,
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Runs `fn`, then removes `path` (a scratch file `fn` writes), whether `fn` succeeded or not. */
async function removedAfter<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

async function runLinearProbe(
  opts: EvalOptions,
  pooling: ClipPooling,
  split: Split,
  trainTars: string[],
  evalTars: string[],
  featureFile: string,
  log: (line: string) => void,
): Promise<{ section: LinearProbeSection; probe: LinearProbe; classes: string[] }> {
  const t0 = performance.now();
  const what = pooling === "centre" ? "centre frames" : "mean-pooled clips";
  log(
    `linear probe: reading ${what} of ${trainTars.length} train and ${evalTars.length} ${split} shards`,
  );
  const train = await writeClipFeatures(trainTars, pooling, featureFile);
  const scored = await readClipFeatures(evalTars, pooling);
  if (train.keys.length === 0) throw new ConfigError("linear probe: no train sample has frames");
  if (scored.keys.length > 0 && scored.dim !== train.dim) {
    throw new ConfigError(
      `linear probe: train embeddings are ${train.dim} wide, ${split} ${scored.dim}`,
    );
  }
  // The classes are the labels seen in training, ordered as scikit-learn orders them.
  const classes = [...new Set(train.labels)].sort(byCodePoint);
  if (classes.length < 2) {
    throw new ConfigError(
      `linear probe: the train split has ${classes.length} class; it needs two or more`,
    );
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const unseen = [...new Set(scored.labels.filter((l) => !index.has(l)))].sort(byCodePoint);
  const names = [...classes, ...unseen];
  const allIndex = new Map(names.map((c, i) => [c, i]));
  const C = opts.C ?? DEFAULT_PROBE_C;
  const maxIter = opts.maxIter ?? DEFAULT_PROBE_MAX_ITER;
  log(
    `linear probe: ${train.keys.length} train samples, ${classes.length} classes, dim ${train.dim}, ` +
      `C=${C}, up to ${maxIter} iterations`,
  );
  let lastLog = performance.now();
  const probe = await trainLinearProbe(
    { path: train.path, labels: labelsOf(train, index), dim: train.dim },
    classes.length,
    {
      C,
      maxIter,
      providers: opts.providers,
      threads: opts.threads,
      onFallback: (p, reason) =>
        log(`linear probe: provider ${p} unavailable (${reason}), trying the next`),
      onIteration: (it) => {
        if (performance.now() - lastLog > 5000) {
          lastLog = performance.now();
          log(
            `linear probe: iteration ${it.iteration}, objective ${it.f.toFixed(4)}, max|grad| ${
              it.gradMaxAbs.toExponential(2)
            }`,
          );
        }
      },
    },
  );
  const score = await scoreLinearProbe(
    probe,
    { features: scored.features, labels: labelsOf(scored, index), dim: train.dim },
    { providers: opts.providers, threads: opts.threads },
  );
  const truthAll = Int32Array.from(scored.labels, (l) => allIndex.get(l)!);
  const { perClass, confusions } = classBreakdown(names, truthAll, score.predicted, score.k);
  log(
    `linear probe (${pooling}): ${probe.iterations} iterations (${probe.stop}), ${score.count} ${split} samples, ` +
      `top-1 ${score.top1.toFixed(4)}, top-5 ${score.top5.toFixed(4)}`,
  );
  const section: LinearProbeSection = {
    split,
    count: score.count,
    top1: score.top1,
    top5: score.top5,
    mean: (score.top1 + score.top5) / 2,
    perClass,
    confusions,
    provider: probe.provider,
    seconds: (performance.now() - t0) / 1000,
    trainCount: train.keys.length,
    trainSkipped: train.skipped.length,
    evalSkipped: scored.skipped.length,
    classes: classes.length,
    unseenClass: scored.labels.filter((l) => !index.has(l)).length,
    C,
    maxIter,
    iterations: probe.iterations,
    evaluations: probe.evaluations,
    stop: probe.stop,
    objective: probe.objective,
    gradMaxAbs: probe.gradMaxAbs,
    method: pooling === "centre"
      ? "card method: the raw centre frame emb[floor(n/2)]"
      : "mean-pooled: the L2-normalised mean of the L2-normalised frames",
  };
  return { section, probe, classes };
}

function labelsOf(frames: { labels: string[] }, index: Map<string, number>): Int32Array {
  return Int32Array.from(frames.labels, (l) => index.get(l) ?? -1);
}

function concat(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
