/**
 * Limited-memory BFGS for smooth unconstrained minimisation, following what SciPy's L-BFGS-B
 * (Fortran 3.0, as scikit-learn's `lbfgs` solver calls it) does when no variable is bounded:
 * - memory `m` pairs (default 10), initial inverse Hessian `(sᵀy / yᵀy)·I`, a pair skipped when
 *   `sᵀy ≤ ε·(−sᵀg_old)`;
 * - the Moré–Thuente line search (MINPACK-2 `dcsrch`) with `ftol = 1e-3`, `gtol = 0.9`,
 *   `xtol = 0.1`, a first step of `1/‖d‖` on the very first iteration and 1 after, at most 20
 *   evaluations per search;
 * - a failed search restores the previous point, clears the memory and retries along the steepest
 *   descent; a failure with an empty memory stops the run (capped retries);
 * - stopping when `max|g| ≤ pgtol`, or when the relative reduction
 *   `(f_old − f) / max(|f_old|, |f|, 1) ≤ factr·ε` (ε = 2.22e-16), or after `maxIter` iterations.
 *
 * The objective is a callback, so the expensive part (here an ONNX Runtime graph) stays outside;
 * the vector work of the two-loop recursion is `O(m·n)` per iteration in float64.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { minimizeLbfgs } from "./lbfgs.ts";
 * // f(x) = Σ (x_i - i)²
 * const res = await minimizeLbfgs((x, g) => {
 *   let f = 0;
 *   for (let i = 0; i < x.length; i++) {
 *     f += (x[i] - i) ** 2;
 *     g[i] = 2 * (x[i] - i);
 *   }
 *   return Promise.resolve(f);
 * }, new Float64Array(5));
 * ok(res.x.every((v, i) => Math.abs(v - i) < 1e-6), `${res.x}`);
 * ```
 * @module
 */

/** Machine epsilon of float64, as L-BFGS-B's `epsmch`. */
const EPS = 2.220446049250313e-16;

/**
 * An objective with its gradient: fills `grad` (same length as `x`) and resolves to `f(x)`.
 * `x` must not be kept or changed.
 */
export type ObjectiveWithGradient = (x: Float64Array, grad: Float64Array) => Promise<number>;

/** Options of {@linkcode minimizeLbfgs}; the defaults are SciPy's for `L-BFGS-B`. */
export interface LbfgsOptions {
  /** Correction pairs kept (default 10). */
  memory?: number;
  /** Most iterations (default 1000, scikit-learn's `max_iter` for this use). */
  maxIter?: number;
  /** Relative-reduction factor: stop when it is ≤ `factr·ε` (default 1e7, so ≈ 2.2e-9). */
  factr?: number;
  /** Stop when the largest gradient component is ≤ this (default 1e-5; scikit-learn passes its `tol`). */
  pgtol?: number;
  /** Most objective evaluations in one line search (default 20). */
  maxLineSearch?: number;
  /** Most objective evaluations in all (default 15000). */
  maxEvaluations?: number;
  /** Called after each iteration. */
  onIteration?: (info: LbfgsIteration) => void;
}

/** What {@linkcode LbfgsOptions.onIteration} is told. */
export interface LbfgsIteration {
  /** Iterations done. */
  iteration: number;
  /** Objective at the new point. */
  f: number;
  /** Largest absolute gradient component at the new point. */
  gradMaxAbs: number;
  /** Objective evaluations so far. */
  evaluations: number;
}

/** Why the run stopped. */
export type LbfgsStop =
  | "gradient" // max|g| ≤ pgtol
  | "relative-reduction" // relative reduction of f ≤ factr·ε
  | "max-iterations"
  | "max-evaluations"
  | "line-search-failed"; // a search failed from the steepest descent too

/** The result of {@linkcode minimizeLbfgs}. */
export interface LbfgsResult {
  /** The last accepted point. */
  x: Float64Array;
  /** Objective at `x`. */
  f: number;
  /** Gradient at `x`. */
  grad: Float64Array;
  /** Largest absolute gradient component at `x`. */
  gradMaxAbs: number;
  /** Iterations done (accepted steps). */
  iterations: number;
  /** Objective evaluations. */
  evaluations: number;
  /** Times the memory was cleared after a failed line search. */
  restarts: number;
  /** Why it stopped. */
  stop: LbfgsStop;
}

/**
 * Minimises a smooth function with L-BFGS as SciPy's L-BFGS-B does for an unbounded problem.
 * @param fg the objective and its gradient
 * @param x0 the starting point (not changed)
 * @param opts memory, stopping rules, callback
 * @returns the last point, its value and gradient, counts and the reason to stop
 */
export async function minimizeLbfgs(
  fg: ObjectiveWithGradient,
  x0: Float64Array,
  opts: LbfgsOptions = {},
): Promise<LbfgsResult> {
  const m = opts.memory ?? 10;
  const maxIter = opts.maxIter ?? 1000;
  const ftol = (opts.factr ?? 1e7) * EPS;
  const pgtol = opts.pgtol ?? 1e-5;
  const maxLs = opts.maxLineSearch ?? 20;
  const maxEval = opts.maxEvaluations ?? 15000;
  const n = x0.length;

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let evaluations = 1;
  let f = await fg(x, g);
  checkFinite(f, 0);
  let gMax = maxAbs(g);
  let iterations = 0;
  let restarts = 0;
  const result = (stop: LbfgsStop): LbfgsResult => ({
    x,
    f,
    grad: g,
    gradMaxAbs: gMax,
    iterations,
    evaluations,
    restarts,
    stop,
  });
  if (gMax <= pgtol) return result("gradient");
  if (maxIter <= 0) return result("max-iterations");

  const memory = new CorrectionPairs(n, m);
  const d = new Float64Array(n);
  let xNew = new Float64Array(n);
  let gNew = new Float64Array(n);

  while (true) {
    memory.direction(g, d);
    const gd = dot(g, d);
    if (!(gd < 0)) {
      // Not a descent direction (rounding in a stale memory): start again from −g.
      if (memory.size === 0) return result("line-search-failed");
      memory.clear();
      restarts++;
      continue;
    }
    const dNorm = Math.sqrt(dot(d, d));
    // L-BFGS-B scales only the very first step; afterwards the quasi-Newton step has length 1.
    const stp0 = iterations === 0 ? Math.min(1 / dNorm, 1e10) : 1;
    const search = new MoreThuente(f, gd, stp0, 1e-3, 0.9, 0.1, 0, 1e10);
    let stp = stp0;
    let fNew = f;
    let ok = false;
    for (let k = 0; k < maxLs && evaluations < maxEval; k++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + stp * d[i];
      evaluations++;
      fNew = await fg(xNew, gNew);
      checkFinite(fNew, iterations);
      const gdNew = dot(gNew, d);
      const next = search.step(stp, fNew, gdNew);
      if (next === undefined) {
        ok = true;
        break;
      }
      stp = next;
    }
    if (!ok) {
      if (evaluations >= maxEval) return result("max-evaluations");
      // Restore the previous point (x, f, g are untouched) and retry with an empty memory.
      if (memory.size === 0) return result("line-search-failed");
      memory.clear();
      restarts++;
      continue;
    }
    // Accept: s = stp·d, y = gNew − g.
    const fOld = f;
    memory.push(d, stp, g, gNew, gd);
    [x, xNew] = [xNew, x];
    [g, gNew] = [gNew, g];
    f = fNew;
    gMax = maxAbs(g);
    iterations++;
    opts.onIteration?.({ iteration: iterations, f, gradMaxAbs: gMax, evaluations });
    if (iterations >= maxIter) return result("max-iterations");
    if (gMax <= pgtol) return result("gradient");
    if (fOld - f <= ftol * Math.max(Math.abs(fOld), Math.abs(f), 1)) {
      return result("relative-reduction");
    }
    if (evaluations >= maxEval) return result("max-evaluations");
  }
}

function checkFinite(f: number, iteration: number): void {
  if (!Number.isFinite(f)) {
    throw new RangeError(`lbfgs: objective is ${f} at iteration ${iteration}`);
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let mx = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > mx) mx = v;
  }
  return mx;
}

/** The last `m` pairs (s, y) and the two-loop recursion over them. */
class CorrectionPairs {
  readonly #s: Float64Array[] = [];
  readonly #y: Float64Array[] = [];
  readonly #rho: number[] = [];
  readonly #alpha: Float64Array;
  readonly #n: number;
  readonly #m: number;

  constructor(n: number, m: number) {
    this.#n = n;
    this.#m = m;
    this.#alpha = new Float64Array(m);
  }

  get size(): number {
    return this.#s.length;
  }

  clear(): void {
    this.#s.length = 0;
    this.#y.length = 0;
    this.#rho.length = 0;
  }

  /** Stores s = stp·d, y = gNew − gOld unless the curvature sᵀy is too small (L-BFGS-B's rule). */
  push(d: Float64Array, stp: number, gOld: Float64Array, gNew: Float64Array, gdOld: number): void {
    const n = this.#n;
    // Reuse the oldest pair's storage once the memory is full.
    const reuse = this.#s.length === this.#m;
    const s = reuse ? this.#s[0] : new Float64Array(n);
    const y = reuse ? this.#y[0] : new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = stp * d[i];
      y[i] = gNew[i] - gOld[i];
      sy += s[i] * y[i];
    }
    if (!(sy > EPS * (-gdOld * stp))) return; // skipped: keeps the memory positive definite
    if (reuse) {
      this.#s.shift();
      this.#y.shift();
      this.#rho.shift();
    }
    this.#s.push(s);
    this.#y.push(y);
    this.#rho.push(1 / sy);
  }

  /** d = −H·g by the two-loop recursion; H₀ = (sᵀy / yᵀy)·I from the newest pair, else I. */
  direction(g: Float64Array, d: Float64Array): void {
    const n = this.#n;
    const k = this.#s.length;
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let j = k - 1; j >= 0; j--) {
      const a = this.#rho[j] * dot(this.#s[j], d);
      this.#alpha[j] = a;
      const y = this.#y[j];
      for (let i = 0; i < n; i++) d[i] -= a * y[i];
    }
    if (k > 0) {
      const y = this.#y[k - 1];
      const gamma = 1 / (this.#rho[k - 1] * dot(y, y));
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = this.#rho[j] * dot(this.#y[j], d);
      const s = this.#s[j];
      const c = this.#alpha[j] - b;
      for (let i = 0; i < n; i++) d[i] += c * s[i];
    }
  }
}

/**
 * The Moré–Thuente line search of MINPACK-2 (`dcsrch`/`dcstep`), driven one evaluation at a time:
 * `step(stp, f, g)` takes φ(stp) and φ'(stp) and returns the next step to try, or `undefined` when
 * the search is done (converged, or stopped by a warning such as rounding limits, which L-BFGS-B
 * accepts too).
 */
class MoreThuente {
  #brackt = false;
  #stage = 1;
  readonly #finit: number;
  readonly #ginit: number;
  readonly #gtest: number;
  #width: number;
  #width1: number;
  #stx = 0;
  #fx: number;
  #gx: number;
  #sty = 0;
  #fy: number;
  #gy: number;
  #stmin = 0;
  #stmax: number;

  constructor(
    f0: number,
    g0: number,
    stp: number,
    readonly ftol: number,
    readonly gtol: number,
    readonly xtol: number,
    readonly stpmin: number,
    readonly stpmax: number,
  ) {
    this.#finit = f0;
    this.#ginit = g0;
    this.#gtest = ftol * g0;
    this.#width = stpmax - stpmin;
    this.#width1 = this.#width / 0.5;
    this.#fx = f0;
    this.#gx = g0;
    this.#fy = f0;
    this.#gy = g0;
    this.#stmax = stp + 4 * stp;
  }

  step(stp: number, f: number, g: number): number | undefined {
    const ftest = this.#finit + stp * this.#gtest;
    if (this.#stage === 1 && f <= ftest && g >= 0) this.#stage = 2;
    // Warnings end the search at the current step.
    if (this.#brackt && (stp <= this.#stmin || stp >= this.#stmax)) return undefined;
    if (this.#brackt && this.#stmax - this.#stmin <= this.xtol * this.#stmax) return undefined;
    if (stp === this.stpmax && f <= ftest && g <= this.#gtest) return undefined;
    if (stp === this.stpmin && (f > ftest || g >= this.#gtest)) return undefined;
    // Strong Wolfe conditions.
    if (f <= ftest && Math.abs(g) <= this.gtol * -this.#ginit) return undefined;

    let next: number;
    if (this.#stage === 1 && f <= this.#fx && f > ftest) {
      // Use the modified function ψ(stp) = φ(stp) − φ(0) − ftol·stp·φ'(0) until it is below 0.
      const gt = this.#gtest;
      const r = dcstep(
        this.#stx,
        this.#fx - this.#stx * gt,
        this.#gx - gt,
        this.#sty,
        this.#fy - this.#sty * gt,
        this.#gy - gt,
        stp,
        f - stp * gt,
        g - gt,
        this.#brackt,
        this.#stmin,
        this.#stmax,
      );
      this.#stx = r.stx;
      this.#sty = r.sty;
      this.#fx = r.fx + r.stx * gt;
      this.#fy = r.fy + r.sty * gt;
      this.#gx = r.dx + gt;
      this.#gy = r.dy + gt;
      this.#brackt = r.brackt;
      next = r.stp;
    } else {
      const r = dcstep(
        this.#stx,
        this.#fx,
        this.#gx,
        this.#sty,
        this.#fy,
        this.#gy,
        stp,
        f,
        g,
        this.#brackt,
        this.#stmin,
        this.#stmax,
      );
      this.#stx = r.stx;
      this.#sty = r.sty;
      this.#fx = r.fx;
      this.#fy = r.fy;
      this.#gx = r.dx;
      this.#gy = r.dy;
      this.#brackt = r.brackt;
      next = r.stp;
    }
    // Force a sufficient decrease in the size of the interval of uncertainty.
    if (this.#brackt) {
      if (Math.abs(this.#sty - this.#stx) >= 0.66 * this.#width1) {
        next = this.#stx + 0.5 * (this.#sty - this.#stx);
      }
      this.#width1 = this.#width;
      this.#width = Math.abs(this.#sty - this.#stx);
      this.#stmin = Math.min(this.#stx, this.#sty);
      this.#stmax = Math.max(this.#stx, this.#sty);
    } else {
      this.#stmin = next + 1.1 * (next - this.#stx);
      this.#stmax = next + 4 * (next - this.#stx);
    }
    next = Math.min(Math.max(next, this.stpmin), this.stpmax);
    // With no further progress possible, try the best step found so far.
    if (
      (this.#brackt && (next <= this.#stmin || next >= this.#stmax)) ||
      (this.#brackt && this.#stmax - this.#stmin <= this.xtol * this.#stmax)
    ) {
      next = this.#stx;
    }
    return next;
  }
}

/** One safeguarded step of MINPACK-2's `dcstep`: returns the updated interval and the new trial step. */
function dcstep(
  stx: number,
  fx: number,
  dx: number,
  sty: number,
  fy: number,
  dy: number,
  stp: number,
  fp: number,
  dp: number,
  brackt: boolean,
  stpmin: number,
  stpmax: number,
): {
  stx: number;
  fx: number;
  dx: number;
  sty: number;
  fy: number;
  dy: number;
  stp: number;
  brackt: boolean;
} {
  const sgnd = dp * (dx / Math.abs(dx));
  let stpf: number;
  if (fp > fx) {
    // Case 1: higher function value; the minimum is bracketed.
    const theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp < stx) gamma = -gamma;
    const p = (gamma - dx) + theta;
    const q = ((gamma - dx) + gamma) + dp;
    const r = p / q;
    const stpc = stx + r * (stp - stx);
    const stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) < Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    brackt = true;
  } else if (sgnd < 0) {
    // Case 2: lower value, derivatives of opposite sign; the minimum is bracketed.
    const theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
    if (stp > stx) gamma = -gamma;
    const p = (gamma - dp) + theta;
    const q = ((gamma - dp) + gamma) + dx;
    const r = p / q;
    const stpc = stp + r * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // Case 3: lower value, same sign, derivative decreasing in magnitude.
    const theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const p = (gamma - dp) + theta;
    const q = (gamma + (dx - dp)) + gamma;
    const r = p / q;
    let stpc: number;
    if (r < 0 && gamma !== 0) stpc = stp + r * (stx - stp);
    else if (stp > stx) stpc = stpmax;
    else stpc = stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      if (stp > stx) stpf = Math.min(stp + 0.66 * (sty - stp), stpf);
      else stpf = Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.min(stpmax, stpf);
      stpf = Math.max(stpmin, stpf);
    }
  } else {
    // Case 4: lower value, same sign, derivative not decreasing in magnitude.
    if (brackt) {
      const theta = 3 * (fp - fy) / (sty - stp) + dy + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
      let gamma = s * Math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s));
      if (stp > sty) gamma = -gamma;
      const p = (gamma - dp) + theta;
      const q = ((gamma - dp) + gamma) + dy;
      const r = p / q;
      stpf = stp + r * (sty - stp);
    } else if (stp > stx) {
      stpf = stpmax;
    } else {
      stpf = stpmin;
    }
  }
  // Update the interval which contains a minimiser.
  if (fp > fx) {
    sty = stp;
    fy = fp;
    dy = dp;
  } else {
    if (sgnd < 0) {
      sty = stx;
      fy = fx;
      dy = dx;
    }
    stx = stp;
    fx = fp;
    dx = dp;
  }
  return { stx, fx, dx, sty, fy, dy, stp: stpf, brackt };
}
