import { join } from "node:path";
import { minimizeLbfgs } from "./lbfgs.ts";
import { predictLinearProbe, scoreLinearProbe, trainLinearProbe } from "./linear_probe.ts";
import { writeNpy } from "../base/mod.ts";
import { topKIndices } from "./top_k.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { normals } from "../../fixtures/synthetic_features.ts";

function assertAlmostEquals(actual: number, expected: number, tol: number): void {
  assert(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);
}

/** Class means plus isotropic noise, with a common offset: separable in part, noisy. */
function makeProblem(n: number, k: number, d: number, seed: number, means?: Float32Array) {
  const rnd = normals(seed);
  const mu = means ?? Float32Array.from({ length: k * d }, () => 0.3 * rnd());
  const features = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = Math.floor(((i * 7919) % n) / n * k);
    labels[i] = y;
    for (let j = 0; j < d; j++) features[i * d + j] = 0.5 + mu[y * d + j] + rnd();
  }
  return { features, labels, dim: d, means: mu };
}

const SKLEARN = `
import json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
d = sys.argv[1]
X, y, Xv, yv, W = (np.load(f"{d}/{n}.npy") for n in ("X", "y", "Xv", "yv", "W"))
y = y.astype(np.int64); yv = yv.astype(np.int64)
C = 0.316
clf = LogisticRegression(C=C, max_iter=1000).fit(X, y)

def objective(coef, intercept):
    z = X.astype(np.float64) @ coef.T + intercept
    m = z.max(axis=1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1)))
    return float((lse - z[np.arange(len(y)), y]).sum() + (coef ** 2).sum() / (2 * C))

def ranks(scores):
    return np.argsort(-scores, axis=1, kind="stable")[:, :5]

r = ranks(clf.decision_function(Xv))
ours = W[:-1].T.astype(np.float64), W[-1].astype(np.float64)
r_ours = ranks(Xv.astype(np.float64) @ ours[0].T + ours[1])
print(json.dumps({
  "n_iter": int(clf.n_iter_[0]),
  "objective": objective(clf.coef_, clf.intercept_),
  "objective_ours": objective(*ours),
  "top1": float((r[:, 0] == yv).mean()),
  "top5": float((r == yv[:, None]).any(axis=1).mean()),
  "top1_ours_f64": float((r_ours[:, 0] == yv).mean()),
}))
`;

Deno.test("linear probe matches scikit-learn's LogisticRegression(C=0.316, max_iter=1000)", async () => {
  const K = 30, D = 128;
  const train = makeProblem(3000, K, D, 1);
  const val = makeProblem(1000, K, D, 2, train.means);
  const dir = await Deno.makeTempDir({ prefix: "kinembed_probe_" });
  try {
    const probe = await trainLinearProbe(train, K, { providers: ["cpu"] });
    assert(probe.iterations > 5 && probe.iterations < 1000, `iterations ${probe.iterations}`);
    assert(
      probe.stop === "relative-reduction" || probe.stop === "gradient",
      `stopped: ${probe.stop}`,
    );
    const ours = await scoreLinearProbe(probe, val, { providers: ["cpu"] });

    const f64 = (a: Int32Array) => Float64Array.from(a);
    await Deno.writeFile(
      join(dir, "X.npy"),
      writeNpy({ dtype: "<f4", shape: [3000, D], data: train.features }),
    );
    await Deno.writeFile(
      join(dir, "y.npy"),
      writeNpy({ dtype: "<f8", shape: [3000], data: f64(train.labels) }),
    );
    await Deno.writeFile(
      join(dir, "Xv.npy"),
      writeNpy({ dtype: "<f4", shape: [1000, D], data: val.features }),
    );
    await Deno.writeFile(
      join(dir, "yv.npy"),
      writeNpy({ dtype: "<f8", shape: [1000], data: f64(val.labels) }),
    );
    await Deno.writeFile(
      join(dir, "W.npy"),
      writeNpy({ dtype: "<f8", shape: [D + 1, K], data: probe.weights }),
    );
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", SKLEARN, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const sk = JSON.parse(new TextDecoder().decode(out.stdout));

    assert(Math.abs(ours.top1 - sk.top1) <= 0.01, `top-1 ${ours.top1} vs sklearn ${sk.top1}`);
    assert(Math.abs(ours.top5 - sk.top5) <= 0.01, `top-5 ${ours.top5} vs sklearn ${sk.top5}`);
    // The same problem solved to the same precision: objectives agree to 1e-6 relative, ours
    // recomputed in float64 by NumPy from our weights and our own float64-summed value alike.
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    assert(
      rel(sk.objective_ours, sk.objective) < 1e-6,
      `objective ${sk.objective_ours} vs ${sk.objective}`,
    );
    assert(rel(probe.objective, sk.objective_ours) < 1e-6, `graph objective ${probe.objective}`);
    // Our float32 scoring ranks as NumPy's float64 does with our weights.
    assertAlmostEquals(ours.top1, sk.top1_ours_f64, 0.002);
    // Centring makes the problem better conditioned: no more iterations than scikit-learn.
    assert(probe.iterations <= sk.n_iter, `${probe.iterations} vs ${sk.n_iter} iterations`);
    console.log(
      `probe: ${probe.iterations} iterations (sklearn ${sk.n_iter}), objective ${probe.objective} ` +
        `(sklearn ${sk.objective}), top-1 ${ours.top1} (${sk.top1}), top-5 ${ours.top5} (${sk.top5})`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("linear probe: deterministic, intercept learned, separable toy problem", async () => {
  // Two well-separated clusters far from the origin: the intercept must carry the offset.
  const features = Float32Array.from([5, 5.2, 5.1, 5, 6, 7, 6.1, 7.2, 5.2, 5.1, 6.2, 6.9]);
  const labels = Int32Array.from([0, 0, 1, 1, 0, 1]);
  const data = { features, labels, dim: 2 };
  const a = await trainLinearProbe(data, 2, { providers: ["cpu"] });
  const b = await trainLinearProbe(data, 2, { providers: ["cpu"] });
  assertEquals(a.weights, b.weights);
  assertEquals(a.iterations, b.iterations);
  assertEquals(a.provider, "cpu");
  const s = await scoreLinearProbe(a, data, { providers: ["cpu"] });
  assertEquals(s.top1, 1);
  assertEquals(s.k, 2);
  assertEquals(
    await predictLinearProbe(a, Float32Array.from([6, 7]), { providers: ["cpu"], k: 1 }),
    Int32Array.from([1]),
  );
  await assertRejects(
    () => trainLinearProbe({ features, labels: Int32Array.from([0, 0, 2, 1, 0, 1]), dim: 2 }, 2),
    "sample 2 has class 2",
  );
});

Deno.test("lbfgs: Rosenbrock to its minimum, quadratic in few iterations, iteration cap", async () => {
  const rosen = (x: Float64Array, g: Float64Array) => {
    let f = 0;
    g.fill(0);
    for (let i = 0; i + 1 < x.length; i++) {
      const a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
      f += 100 * a * a + b * b;
      g[i] += -400 * x[i] * a - 2 * b;
      g[i + 1] += 200 * a;
    }
    return Promise.resolve(f);
  };
  const r = await minimizeLbfgs(rosen, Float64Array.from([-1.2, 1, -1.2, 1]), { pgtol: 1e-8 });
  for (const v of r.x) assertAlmostEquals(v, 1, 1e-4);
  assert(r.iterations < 100, `${r.iterations} iterations`);

  const quad = (x: Float64Array, g: Float64Array) => {
    let f = 0;
    for (let i = 0; i < x.length; i++) {
      const s = (i + 1) * (x[i] - i);
      f += 0.5 * s * (x[i] - i);
      g[i] = s;
    }
    return Promise.resolve(f);
  };
  const q = await minimizeLbfgs(quad, new Float64Array(8), { pgtol: 1e-9, factr: 0 });
  assertEquals(q.stop, "gradient");
  for (let i = 0; i < 8; i++) assertAlmostEquals(q.x[i], i, 1e-8);
  const capped = await minimizeLbfgs(rosen, Float64Array.from([-1.2, 1]), { maxIter: 3 });
  assertEquals(capped.stop, "max-iterations");
  assertEquals(capped.iterations, 3);
});

Deno.test("topKIndices ranks best first and breaks ties by the lower index", () => {
  const scores = Float32Array.from([
    0.1,
    0.5,
    0.5,
    0.2, // tie between 1 and 2
    0.3,
    0.3,
    0.3,
    0.3, // all equal
    NaN,
    1,
    -1,
    0, // NaN last
  ]);
  assertEquals(topKIndices(scores, 3, 4, 3), Int32Array.from([1, 2, 3, 0, 1, 2, 1, 3, 2]));
});

Deno.test("linear probe: features in a file give the same fit as in memory, a chunk of rows at a time", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { features, labels, dim } = makeProblem(700, 5, 12, 3);
    const path = join(dir, "train.f32");
    await Deno.writeFile(
      path,
      new Uint8Array(features.buffer, features.byteOffset, features.byteLength),
    );
    // small chunks, so that the file is read in many pieces on every pass
    const opts = { providers: ["cpu" as const], chunkRows: 64 };
    const inMemory = await trainLinearProbe({ features, labels, dim }, 5, opts);
    const fromFile = await trainLinearProbe({ path, labels, dim }, 5, opts);
    assert(inMemory.iterations > 3, `${inMemory.iterations} iterations`);
    assertEquals(fromFile.weights, inMemory.weights);
    assertEquals(fromFile.objective, inMemory.objective);
    assertEquals(fromFile.iterations, inMemory.iterations);
    // a file that does not hold n × dim values is refused before any work
    await Deno.writeFile(path, new Uint8Array(4 * (700 * 12 - 1)));
    await assertRejects(
      () => trainLinearProbe({ path, labels, dim }, 5, opts),
      "8399 feature values for 700 samples of width 12",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
