import { type LbfgsIteration, minimizeLbfgs, type ObjectiveWithGradient } from "./lbfgs.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { pythonJson } from "../../tests/support/python.ts";

interface QuadraticCase {
  n: number;
  A: number[];
  b: number[];
  /** The minimum, A⁻¹b, solved by NumPy. */
  xs: number[];
  scipy: { nit: number; nfev: number; x: number[]; stop: string };
}

// Convex quadratics f(x) = ½xᵀAx − bᵀx with a random rotation and condition numbers 10..1000,
// minimised by SciPy's L-BFGS-B (the Fortran 3.0 code this module follows) with its defaults
const PY_QUADRATICS = `
import json, numpy as np
from scipy.optimize import minimize
out = []
for n, cond, seed in ((2, 10, 0), (20, 100, 1), (60, 1000, 2)):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (q * np.geomspace(1, cond, n)) @ q.T
    A = (A + A.T) / 2
    b = rng.standard_normal(n)
    r = minimize(lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b), np.zeros(n), jac=True,
                 method="L-BFGS-B", options={"gtol": 1e-6, "maxiter": 1000})
    stop = "gradient" if "PROJECTED_GRADIENT" in r.message else \\
        "relative-reduction" if "REL_REDUCTION" in r.message else r.message
    out.append({"n": n, "A": A.ravel().tolist(), "b": b.tolist(),
                "xs": np.linalg.solve(A, b).tolist(),
                "scipy": {"nit": int(r.nit), "nfev": int(r.nfev), "x": r.x.tolist(), "stop": stop}})
print(json.dumps(out))
`;

function quadratic(c: QuadraticCase): ObjectiveWithGradient {
  return (x, g) => {
    let f = 0;
    for (let i = 0; i < c.n; i++) {
      let ax = 0;
      for (let j = 0; j < c.n; j++) ax += c.A[i * c.n + j] * x[j];
      g[i] = ax - c.b[i];
      f += 0.5 * x[i] * ax - c.b[i] * x[i];
    }
    return Promise.resolve(f);
  };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("lbfgs: convex quadratics take SciPy L-BFGS-B's path and stop where it stops", async () => {
  const cases = await pythonJson<QuadraticCase[]>(PY_QUADRATICS);
  for (const c of cases) {
    const x0 = new Float64Array(c.n);
    const r = await minimizeLbfgs(quadratic(c), x0, { pgtol: 1e-6 });
    const label = `n=${c.n}`;
    assertEquals(
      { nit: r.iterations, nfev: r.evaluations, stop: r.stop },
      { nit: c.scipy.nit, nfev: c.scipy.nfev, stop: c.scipy.stop },
      `${label}: iterations, evaluations and stop reason as SciPy's`,
    );
    assert(
      maxDiff(r.x, c.scipy.x) < 1e-7,
      `${label}: x within 1e-7 of SciPy's (${maxDiff(r.x, c.scipy.x)})`,
    );
    assert(x0.every((v) => v === 0), "the start point is left as it was");
    // pushed to the end, it reaches the known minimum A⁻¹b
    const tight = await minimizeLbfgs(quadratic(c), x0, { pgtol: 1e-10, factr: 0 });
    assert(maxDiff(tight.x, c.xs) < 1e-6, `${label}: ${maxDiff(tight.x, c.xs)} from A⁻¹b`);
    assert(tight.gradMaxAbs < 1e-6, `${label}: gradient ${tight.gradMaxAbs}`);
  }
});

const bowl: ObjectiveWithGradient = (x, g) => {
  let f = 0;
  for (let i = 0; i < x.length; i++) {
    f += (i + 1) * (x[i] - 1) ** 2;
    g[i] = 2 * (i + 1) * (x[i] - 1);
  }
  return Promise.resolve(f);
};

Deno.test("lbfgs: each iteration is reported, the objective never rises, the counts add up", async () => {
  const seen: LbfgsIteration[] = [];
  let calls = 0;
  const counted: ObjectiveWithGradient = (x, g) => (calls++, bowl(x, g));
  for (const memory of [1, 3, 10]) {
    seen.length = 0;
    calls = 0;
    const r = await minimizeLbfgs(counted, new Float64Array(12), {
      memory,
      factr: 0, // run on to the gradient test
      onIteration: (it) => seen.push(it),
    });
    assertEquals(r.stop, "gradient", `memory ${memory}`);
    assert(maxDiff(r.x, new Float64Array(12).fill(1)) < 1e-5);
    assertEquals(
      seen.map((s) => s.iteration),
      Array.from({ length: r.iterations }, (_, i) => i + 1),
    );
    seen.forEach((s, i) =>
      assert(i === 0 || s.f <= seen[i - 1].f, `f rose at iteration ${s.iteration}`)
    );
    assertEquals(r.evaluations, calls);
    assertEquals(seen.at(-1)!.evaluations, calls);
    assertEquals(r.gradMaxAbs, Math.max(...Array.from(r.grad, Math.abs)));
  }
  // started at the minimum: one evaluation, no iteration
  const at = await minimizeLbfgs(bowl, new Float64Array(4).fill(1));
  assertEquals([at.stop, at.iterations, at.evaluations, at.f], ["gradient", 0, 1, 0]);
  const none = await minimizeLbfgs(bowl, new Float64Array(4), { maxIter: 0 });
  assertEquals([none.stop, none.iterations], ["max-iterations", 0]);
  const few = await minimizeLbfgs(bowl, new Float64Array(30), { maxEvaluations: 4 });
  assertEquals(few.stop, "max-evaluations");
  assert(few.evaluations <= 4 + 20, `${few.evaluations} evaluations`);
});

Deno.test("lbfgs: a gradient that points uphill ends in line-search-failed; a NaN objective is refused", async () => {
  // the gradient's sign is flipped, so every search direction climbs
  const lying: ObjectiveWithGradient = async (x, g) => {
    const f = await bowl(x, g);
    for (let i = 0; i < g.length; i++) g[i] = -g[i];
    return f;
  };
  const r = await minimizeLbfgs(lying, new Float64Array(3));
  assertEquals([r.stop, r.iterations], ["line-search-failed", 0]);
  assert(r.evaluations > 1 && r.evaluations <= 21, `${r.evaluations} evaluations`);
  assertEquals(Array.from(r.x), [0, 0, 0], "the last accepted point is the start");
  // a function that turns NaN past x = 0.5
  const cliff: ObjectiveWithGradient = (x, g) => {
    g[0] = 2 * (x[0] - 3);
    return Promise.resolve(x[0] > 0.5 ? NaN : (x[0] - 3) ** 2);
  };
  await assertRejects(
    () => minimizeLbfgs(cliff, Float64Array.of(0)),
    "lbfgs: objective is NaN at iteration 0",
  );
});
