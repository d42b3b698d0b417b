/**
 * The linear probe of the CLIP-Kinetics700 card: multinomial logistic regression with an L2
 * penalty, fitted as scikit-learn 1.2's `LogisticRegression(C=0.316, max_iter=1000)` (solver
 * `lbfgs`) fits it, on features as they are (no standardisation, as in that evaluation).
 *
 * scikit-learn minimises `Σᵢ CE(xᵢ) + ‖W‖² / (2C)` (intercept not penalised) with SciPy's L-BFGS-B
 * (`pgtol = tol = 1e-4`, `factr = 1e7`). That is `C·ΣCE + ½‖W‖²` divided by C: the same
 * minimiser. The objective and gradient are computed here in scikit-learn's scaling, so that the
 * stopping rules in {@linkcode minimizeLbfgs} see the same numbers.
 *
 * The matrix work runs in an ONNX Runtime graph (on the providers asked for, `cuda` then `cpu` by
 * default): per chunk of rows, `Z = X·W` (the intercept folded into W through a ones column of X),
 * `E = exp(Z − max)`, the gradient `Xᵀ(E/ΣE − Y)` with `Y` one-hot from integer labels inside the
 * graph (a Gemm with `transA`, so no transposed copy of X is kept), and the loss `Σ log ΣE − (z_y − max)` with the row sums and
 * the total in float64 (a float32 log-softmax is too noisy for the relative-reduction test). Only
 * the loss and the `(D+1)×K` gradient come back to JavaScript.
 *
 * By default the features are centred first (the mean moves into the unpenalised intercept
 * afterwards): the same problem and minimiser, better conditioned and with smaller float32
 * rounding, so the fit reaches scikit-learn's float64 objective, usually in fewer iterations.
 * Standardisation is not applied (the card's evaluation did not). Ranking ties go to the lower
 * class index. The result is deterministic given the data, the provider and the thread count.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { scoreLinearProbe, trainLinearProbe } from "./linear_probe.ts";
 * const train = { features: new Float32Array(4 * 2), labels: Int32Array.from([0, 1, 0, 1]), dim: 2 };
 * train.features.set([1, 0, 0, 1, 0.9, 0.1, 0.1, 0.9]);
 * const probe = await trainLinearProbe(train, 2, { providers: ["cpu"] });
 * const score = await scoreLinearProbe(probe, train, { providers: ["cpu"] });
 * strictEqual(score.top1, 1);
 * ```
 * @module
 */
import type * as ort from "onnxruntime-node";
import {
  attr,
  ONNX_DATA_TYPE,
  OnnxGraph,
  openSession,
  ortRuntime,
  type ProviderName,
} from "../onnx/mod.ts";
import { type LbfgsIteration, type LbfgsStop, minimizeLbfgs } from "./lbfgs.ts";
import { topKAccuracy, topKIndices, type TopKScore } from "./top_k.ts";

/** The card's regularisation: `C = 0.316`. */
export const DEFAULT_PROBE_C = 0.316;
/** The card's iteration cap. */
export const DEFAULT_PROBE_MAX_ITER = 1000;

/** Features and integer class labels, row-major. */
export interface ProbeDataset {
  /** `[n, dim]` float32 features, row-major. */
  features: Float32Array;
  /** `[n]` class indices in `0..numClasses-1`; -1 marks a class the probe does not know. */
  labels: Int32Array;
  /** Feature width. */
  dim: number;
}

/**
 * Training features kept in a file instead of memory (written by `writeClipFeatures`): the probe
 * reads them a chunk of rows at a time on every pass, so its memory does not grow with the
 * training set (536k × 512 float32 is 1.1 GB; a pass reads it back from the page cache in a
 * fraction of the time the graph takes over it).
 */
export interface ProbeFeatureFile {
  /** `[n, dim]` float32 rows, row-major, little-endian, nothing else. */
  path: string;
  /** `[n]` class indices in `0..numClasses-1`. */
  labels: Int32Array;
  /** Feature width. */
  dim: number;
}

/** A training set in memory or in a file. */
export type ProbeTrainingSet = ProbeDataset | ProbeFeatureFile;

/** Options of {@linkcode trainLinearProbe}. */
export interface LinearProbeOptions {
  /** Inverse regularisation strength (default 0.316). */
  C?: number;
  /** Most L-BFGS iterations (default 1000). */
  maxIter?: number;
  /** Gradient tolerance, scikit-learn's `tol` (default 1e-4). */
  tol?: number;
  /** L-BFGS-B's `factr` (default 1e7: relative reduction ≤ 2.2e-9). */
  factr?: number;
  /** Execution providers tried in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** CPU threads (default ONNX Runtime's: one per core). */
  threads?: number;
  /** Rows per graph run (default: what keeps one `[rows, K]` float32 tensor near 64 MiB). */
  chunkRows?: number;
  /**
   * Fit on mean-centred features and move the mean into the intercept afterwards (default true).
   * The intercept is not penalised, so the problem and its minimiser are the same; the float32
   * matrix products are more precise and the problem better conditioned, so L-BFGS gets as close
   * to the minimum as scikit-learn's float64 run does. False follows scikit-learn's path exactly.
   */
  centre?: boolean;
  /** Called after each L-BFGS iteration. */
  onIteration?: (info: LbfgsIteration) => void;
  /** Called for each provider that did not load. */
  onFallback?: (provider: ProviderName, reason: string) => void;
}

/** A fitted probe. */
export interface LinearProbe {
  /** Feature width D. */
  dim: number;
  /** Number of classes K. */
  numClasses: number;
  /** `[D+1, K]` row-major: rows 0..D-1 the weights, row D the intercepts. */
  weights: Float64Array;
  /** The C used. */
  C: number;
  /** scikit-learn's objective at the solution: `ΣCE + ‖W‖²/(2C)`. */
  objective: number;
  /** Largest absolute gradient component at the solution (scikit-learn's scaling). */
  gradMaxAbs: number;
  /** L-BFGS iterations. */
  iterations: number;
  /** Objective evaluations (graph passes over the training set). */
  evaluations: number;
  /** Why L-BFGS stopped. */
  stop: LbfgsStop;
  /** The provider the graph ran on. */
  provider: ProviderName;
  /** Training samples. */
  trainCount: number;
  /** Wall time of the fit in seconds. */
  seconds: number;
}

/** A chunk of training rows as the graph takes them (`x` null: read from the file each pass). */
interface TrainChunk {
  rows: number;
  start: number;
  x: ort.Tensor | null;
  y: ort.Tensor;
}

/**
 * The loss-and-gradient graph for K classes and D+1 columns (intercept folded in).
 * Inputs: `x [n, D+1]`, `y [n]` int64, `w [D+1, K]`. Outputs: `loss` (float64 scalar, `Σ CE`),
 * `grad [D+1, K]` (`Xᵀ(P − Y)`, a Gemm with `transA`: no transposed copy of the training set).
 */
function lossGradientGraph(d1: number, k: number): Promise<Uint8Array> {
  const g = new OnnxGraph({ name: "linear_probe_loss", doc: "softmax cross-entropy and gradient" });
  const x = g.input("x", "float32", ["n", d1]);
  const y = g.input("y", "int64", ["n"]);
  const w = g.input("w", "float32", [d1, k]);
  const z = g.node("MatMul", [x, w]);
  const zMax = g.node("ReduceMax", [z], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const shifted = g.node("Sub", [z, zMax]);
  const e = g.node("Exp", [shifted]);
  const axis1 = g.int64([1]);
  const sum = g.node("ReduceSum", [e, axis1], { keepdims: attr.int(1) });
  const p = g.node("Div", [e, sum]);
  const depth = g.int64([k], []);
  const values = g.floats([0, 1]);
  const onehot = g.node("OneHot", [y, depth, values], { axis: attr.int(-1) });
  const diff = g.node("Sub", [p, onehot]);
  g.node("Gemm", [x, diff], { transA: attr.int(1) }, { out: "grad" });
  // CE = log Σ exp(z − max) − (z_y − max): the row sums and the total are taken in float64, so
  // that the loss is precise enough for L-BFGS-B's relative-reduction test (2.2e-9); a float32
  // log-softmax over 700 classes is not.
  const e64 = g.node("Cast", [e], { to: attr.int(ONNX_DATA_TYPE.float64) });
  const logSum = g.node("Log", [g.node("ReduceSum", [e64, axis1], { keepdims: attr.int(0) })]);
  const yCol = g.node("Unsqueeze", [y, g.int64([1])]);
  const picked = g.node("GatherElements", [shifted, yCol], { axis: attr.int(1) });
  const picked64 = g.node("Cast", [picked], { to: attr.int(ONNX_DATA_TYPE.float64) });
  g.node(
    "Sub",
    [
      g.node("ReduceSum", [logSum], { keepdims: attr.int(0) }),
      g.node("ReduceSum", [picked64], { keepdims: attr.int(0) }),
    ],
    {},
    { out: "loss" },
  );
  g.output("loss", "float64", []);
  g.output("grad", "float32", [d1, k]);
  return g.serialize();
}

/** The scoring graph: `scores = X·W` for `x [n, D+1]`, `w [D+1, K]`. */
function scoreGraph(d1: number, k: number): Promise<Uint8Array> {
  const g = new OnnxGraph({ name: "linear_probe_scores" });
  const x = g.input("x", "float32", ["n", d1]);
  const w = g.input("w", "float32", [d1, k]);
  g.node("MatMul", [x, w], {}, { out: "scores" });
  g.output("scores", "float32", ["n", k]);
  return g.serialize();
}

/**
 * Rows per graph run: 8 MB of logits. The graph's working set (logits, softmax, their float64
 * sums: about ten `[rows, K]` tensors) is what ONNX Runtime's arena keeps, so this bounds the
 * probe's memory beyond its training matrix, at any number of samples.
 */
function defaultChunkRows(k: number): number {
  return Math.max(256, Math.floor((8 << 20) / 4 / Math.max(1, k)));
}

/**
 * Copies rows `[start, start+rows)` of `features` minus `shift` with a ones column appended:
 * `[rows, D+1]`.
 */
function withOnes(
  features: Float32Array,
  dim: number,
  start: number,
  rows: number,
  shift?: Float64Array,
): Float32Array {
  const src = features.subarray(start * dim, (start + rows) * dim);
  return withOnesInto(new Float32Array(rows * (dim + 1)), src, dim, rows, shift);
}

/** Writes `rows` rows of `src` minus `shift`, each with a 1 appended, into `out`. */
function withOnesInto(
  out: Float32Array,
  src: Float32Array,
  dim: number,
  rows: number,
  shift?: Float64Array,
): Float32Array {
  const d1 = dim + 1;
  const x = out.subarray(0, rows * d1);
  for (let r = 0; r < rows; r++) {
    const from = r * dim;
    if (shift) {
      for (let j = 0; j < dim; j++) x[r * d1 + j] = src[from + j] - shift[j];
    } else {
      x.set(src.subarray(from, from + dim), r * d1);
    }
    x[r * d1 + dim] = 1;
  }
  return x;
}

/** The mean of each feature, in float64 (summed in row order, from memory or the file). */
function featureMean(data: ProbeTrainingSet, chunkRows: number): Float64Array {
  const n = data.labels.length, D = data.dim;
  const mean = new Float64Array(D);
  const rows = new RowReader(data, Math.min(chunkRows, Math.max(1, n)));
  try {
    for (let start = 0; start < n; start += chunkRows) {
      const count = Math.min(chunkRows, n - start);
      const x = rows.read(start, count);
      for (let i = 0; i < count; i++) {
        for (let j = 0; j < D; j++) mean[j] += x[i * D + j];
      }
    }
  } finally {
    rows.close();
  }
  for (let j = 0; j < D; j++) mean[j] /= Math.max(1, n);
  return mean;
}

/** Rows of a training set, from memory or read from its file into one reused buffer. */
class RowReader {
  #data: ProbeTrainingSet;
  #file: Deno.FsFile | null = null;
  #buf: Float32Array | null = null;

  constructor(data: ProbeTrainingSet, maxRows: number) {
    this.#data = data;
    if ("path" in data) {
      this.#file = Deno.openSync(data.path, { read: true });
      this.#buf = new Float32Array(maxRows * data.dim);
    }
  }

  /** Rows `[start, start + count)`, valid until the next read. */
  read(start: number, count: number): Float32Array {
    const D = this.#data.dim;
    if (!("path" in this.#data)) {
      return this.#data.features.subarray(start * D, (start + count) * D);
    }
    const out = this.#buf!.subarray(0, count * D);
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    this.#file!.seekSync(start * D * 4, Deno.SeekMode.Start);
    for (let off = 0; off < bytes.length;) {
      const n = this.#file!.readSync(bytes.subarray(off));
      if (n === null || n === 0) {
        throw new RangeError(`${this.#data.path}: ends before row ${start + count}`);
      }
      off += n;
    }
    return out;
  }

  close(): void {
    this.#file?.close();
    this.#file = null;
  }
}

function checkDataset(data: ProbeTrainingSet, what: string): number {
  const n = data.labels.length;
  const values = "path" in data ? Deno.statSync(data.path).size / 4 : data.features.length;
  if (data.dim <= 0 || values !== n * data.dim) {
    throw new RangeError(
      `${what}: ${values} feature values for ${n} samples of width ${data.dim}`,
    );
  }
  return n;
}

/**
 * scikit-learn's objective `ΣCE + ‖W‖²/(2C)` and its gradient over a training set, evaluated by
 * the loss graph on ONNX Runtime. The training rows are copied once into graph-ready chunks
 * (with the ones column, labels as int64).
 */
export class ProbeObjective {
  readonly #session: ort.InferenceSession;
  readonly #chunks: TrainChunk[];
  /** Where chunks without `x` are read from, with the shift and a buffer for the graph's rows. */
  readonly #rows: { reader: RowReader; shift?: Float64Array; x: Float32Array } | null;
  readonly #dim: number;
  readonly #w32: Float32Array;
  readonly #wTensor: ort.Tensor;
  readonly #penalised: number;
  readonly #invC: number;
  /** The provider the graph runs on. */
  readonly provider: ProviderName;
  /** Number of parameters, `(D+1)·K`. */
  readonly size: number;

  private constructor(
    session: ort.InferenceSession,
    provider: ProviderName,
    chunks: TrainChunk[],
    rows: { reader: RowReader; shift?: Float64Array; x: Float32Array } | null,
    dim: number,
    numClasses: number,
    C: number,
  ) {
    this.#session = session;
    this.provider = provider;
    this.#chunks = chunks;
    this.#rows = rows;
    this.#dim = dim;
    this.size = (dim + 1) * numClasses;
    this.#w32 = new Float32Array(this.size);
    this.#wTensor = new (ortRuntime().Tensor)("float32", this.#w32, [dim + 1, numClasses]);
    this.#penalised = dim * numClasses; // the intercept row (the last K values) is not penalised
    this.#invC = 1 / C;
  }

  /**
   * Prepares the training set and opens the graph.
   * @param train features and labels (every label in `0..numClasses-1`), in memory (copied once
   *   into graph-ready chunks) or in a file (read a chunk at a time on every pass)
   * @param numClasses K
   * @param opts C, providers, threads, rows per graph run; `shift` is subtracted from every
   *   feature row (the centring of {@linkcode LinearProbeOptions.centre})
   * @returns the objective
   */
  static async open(
    train: ProbeTrainingSet,
    numClasses: number,
    opts: LinearProbeOptions & { shift?: Float64Array } = {},
  ): Promise<ProbeObjective> {
    const n = checkDataset(train, "linear probe training set");
    const C = opts.C ?? DEFAULT_PROBE_C;
    if (!(C > 0)) throw new RangeError(`linear probe: C must be positive, got ${C}`);
    const K = numClasses;
    const D = train.dim;
    const d1 = D + 1;
    for (let i = 0; i < n; i++) {
      const y = train.labels[i];
      if (!(y >= 0 && y < K)) {
        throw new RangeError(`linear probe: sample ${i} has class ${y} of ${K}`);
      }
    }
    const { session, provider } = await openSession(await lossGradientGraph(d1, K), {
      providers: opts.providers,
      threads: opts.threads,
      onFallback: opts.onFallback,
      source: "the linear probe graph",
    });
    const chunkRows = opts.chunkRows ?? defaultChunkRows(K);
    const inFile = "path" in train;
    const chunks: TrainChunk[] = [];
    for (let start = 0; start < n; start += chunkRows) {
      const rows = Math.min(chunkRows, n - start);
      const x = inFile ? null : withOnes(train.features, D, start, rows, opts.shift);
      const y = new BigInt64Array(rows);
      for (let r = 0; r < rows; r++) y[r] = BigInt(train.labels[start + r]);
      chunks.push({
        rows,
        start,
        x: x === null ? null : new (ortRuntime().Tensor)("float32", x, [rows, d1]),
        y: new (ortRuntime().Tensor)("int64", y, [rows]),
      });
    }
    const rows = inFile
      ? {
        reader: new RowReader(train, chunkRows),
        shift: opts.shift,
        x: new Float32Array(Math.min(chunkRows, n) * d1),
      }
      : null;
    return new ProbeObjective(session, provider, chunks, rows, D, K, C);
  }

  /**
   * Evaluates the objective and its gradient.
   * @param w `[D+1, K]` weights, the intercepts in the last row
   * @param grad receives the gradient, same layout
   * @returns the objective
   */
  async evaluate(w: Float64Array, grad: Float64Array): Promise<number> {
    const w32 = this.#w32;
    for (let i = 0; i < w.length; i++) w32[i] = w[i];
    grad.fill(0);
    let loss = 0;
    for (const c of this.#chunks) {
      const out = await this.#session.run({ x: c.x ?? this.#read(c), y: c.y, w: this.#wTensor });
      loss += Number((out.loss.data as Float64Array)[0]);
      const g = out.grad.data as Float32Array;
      for (let i = 0; i < g.length; i++) grad[i] += g[i];
      out.grad.dispose?.();
      out.loss.dispose?.();
    }
    let sq = 0;
    const invC = this.#invC;
    for (let i = 0; i < this.#penalised; i++) {
      sq += w[i] * w[i];
      grad[i] += invC * w[i];
    }
    return loss + 0.5 * invC * sq;
  }

  /** A file-backed chunk's rows, shifted and with the ones column, in the reused buffer. */
  #read(c: TrainChunk): ort.Tensor {
    const { reader, shift, x } = this.#rows!;
    const D = this.#dim;
    const raw = reader.read(c.start, c.rows);
    const out = withOnesInto(x, raw, D, c.rows, shift);
    return new (ortRuntime().Tensor)("float32", out, [c.rows, D + 1]);
  }

  /** Frees the session (and closes the features' file). */
  async release(): Promise<void> {
    this.#rows?.reader.close();
    await this.#session.release();
  }
}

/**
 * Fits the probe: multinomial logistic regression with L2 penalty, L-BFGS from zero weights.
 * @param train training features and labels (every label in `0..numClasses-1`), in memory or
 *   in a file ({@linkcode ProbeFeatureFile}: the memory used stays the same for any size)
 * @param numClasses K
 * @param opts C, iteration cap, tolerances, providers
 * @returns the fitted probe with its objective, iterations and stopping reason
 */
export async function trainLinearProbe(
  train: ProbeTrainingSet,
  numClasses: number,
  opts: LinearProbeOptions = {},
): Promise<LinearProbe> {
  const t0 = performance.now();
  const n = checkDataset(train, "linear probe training set");
  if (n === 0) throw new RangeError("linear probe: the training set is empty");
  const C = opts.C ?? DEFAULT_PROBE_C;
  const K = numClasses;
  const D = train.dim;
  const shift = opts.centre ?? true
    ? featureMean(train, opts.chunkRows ?? defaultChunkRows(K))
    : undefined;
  const objective = await ProbeObjective.open(train, K, { ...opts, shift });
  try {
    const res = await minimizeLbfgs(
      (w, g) => objective.evaluate(w, g),
      new Float64Array(objective.size),
      {
        memory: 10,
        maxIter: opts.maxIter ?? DEFAULT_PROBE_MAX_ITER,
        pgtol: opts.tol ?? 1e-4,
        factr: opts.factr ?? 1e7,
        onIteration: opts.onIteration,
      },
    );
    const weights = res.x;
    if (shift) {
      // z = (x − μ)·W + b = x·W + (b − μ·W)
      for (let k = 0; k < K; k++) {
        let muW = 0;
        for (let j = 0; j < D; j++) muW += shift[j] * weights[j * K + k];
        weights[D * K + k] -= muW;
      }
    }
    return {
      dim: D,
      numClasses: K,
      weights,
      C,
      objective: res.f,
      gradMaxAbs: res.gradMaxAbs,
      iterations: res.iterations,
      evaluations: res.evaluations,
      stop: res.stop,
      provider: objective.provider,
      trainCount: n,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await objective.release();
  }
}

/** Options of {@linkcode predictLinearProbe} and {@linkcode scoreLinearProbe}. */
export interface ProbePredictOptions {
  /** Ranked classes per sample (default 5). */
  k?: number;
  /** Execution providers tried in order (default `cuda`, `cpu`). */
  providers?: readonly ProviderName[];
  /** CPU threads. */
  threads?: number;
  /** Rows per graph run. */
  chunkRows?: number;
}

/**
 * Ranks the classes of each sample by the probe's scores `x·W + b`; ties go to the lower index.
 * @param probe the fitted probe
 * @param features `[n, D]` float32 features, row-major
 * @param opts k, providers
 * @returns `[n, k]` class indices, best first
 */
export async function predictLinearProbe(
  probe: LinearProbe,
  features: Float32Array,
  opts: ProbePredictOptions = {},
): Promise<Int32Array> {
  const D = probe.dim;
  const K = probe.numClasses;
  const k = Math.min(opts.k ?? 5, K);
  if (features.length % D !== 0) {
    throw new RangeError(`linear probe: ${features.length} values are not rows of width ${D}`);
  }
  const n = features.length / D;
  const out = new Int32Array(n * k);
  if (n === 0) return out;
  const { session } = await openSession(await scoreGraph(D + 1, K), {
    providers: opts.providers,
    threads: opts.threads,
    source: "the linear probe scoring graph",
  });
  try {
    const w = new (ortRuntime().Tensor)("float32", Float32Array.from(probe.weights), [D + 1, K]);
    const chunkRows = opts.chunkRows ?? defaultChunkRows(K);
    for (let start = 0; start < n; start += chunkRows) {
      const rows = Math.min(chunkRows, n - start);
      const x = new (ortRuntime().Tensor)("float32", withOnes(features, D, start, rows), [
        rows,
        D + 1,
      ]);
      const res = await session.run({ x, w });
      out.set(topKIndices(res.scores.data as Float32Array, rows, K, k), start * k);
      res.scores.dispose?.();
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Top-1/top-5 of a probe on a labelled set, with the ranked predictions. */
export interface ProbeScore extends TopKScore {
  /** `[n, k]` ranked class indices. */
  predicted: Int32Array;
  /** Columns of `predicted`. */
  k: number;
}

/**
 * Scores a probe: top-1 and top-5 accuracy on a labelled set (label -1: a class the probe never
 * saw, always wrong).
 * @param probe the fitted probe
 * @param data features and labels
 * @param opts providers
 * @returns accuracies and the ranked predictions
 */
export async function scoreLinearProbe(
  probe: LinearProbe,
  data: ProbeDataset,
  opts: ProbePredictOptions = {},
): Promise<ProbeScore> {
  checkDataset(data, "linear probe scoring set");
  const k = Math.min(opts.k ?? 5, probe.numClasses);
  const predicted = await predictLinearProbe(probe, data.features, { ...opts, k });
  return { ...topKAccuracy(predicted, k, data.labels), predicted, k };
}
