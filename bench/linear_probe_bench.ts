/**
 * Linear probe: kinembed (L-BFGS over an ONNX Runtime loss graph) against scikit-learn's
 * `LogisticRegression(C=0.316, max_iter=1000)` (lbfgs, Debian's `/usr/bin/python3`) on the same
 * synthetic CLIP-like features, in one run: fit wall time, iterations, objective, top-1/top-5 on
 * a validation set of the card's size.
 *
 * ```sh
 * deno run -A bench/linear_probe_bench.ts --train 20000 --record
 * ```
 *
 * The features imitate raw CLIP image embeddings: a common offset, per-dimension scales that decay
 * (an ill-conditioned problem), class means and noise; 700 classes, 512 dims.
 * @module
 */
import { join } from "node:path";
import { intFlag, runTask, stringFlag } from "../lib/cli/flags.ts";
import { parseProviders } from "../lib/onnx/providers.ts";
import { scoreLinearProbe, trainLinearProbe } from "../lib/eval/linear_probe.ts";
import { writeNpy } from "../lib/base/npy.ts";
import { recordTable } from "./results.ts";
import { CARD_SAMPLES } from "./card_totals.ts";
import { drawFeatures, featureModel } from "../fixtures/synthetic_features.ts";

const SKLEARN = `
import json, sys, time
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
d, max_iter = sys.argv[1], int(sys.argv[2])
X, y, Xv, yv = (np.load(f"{d}/{n}.npy") for n in ("X", "y", "Xv", "yv"))
y = y.astype(np.int64); yv = yv.astype(np.int64)
C = 0.316
t = time.perf_counter()
clf = LogisticRegression(C=C, max_iter=max_iter).fit(X, y)
seconds = time.perf_counter() - t
z = X.astype(np.float64) @ clf.coef_.T + clf.intercept_
m = z.max(axis=1, keepdims=True)
obj = float((m[:, 0] + np.log(np.exp(z - m).sum(axis=1)) - z[np.arange(len(y)), y]).sum()
            + (clf.coef_ ** 2).sum() / (2 * C))
r = np.argsort(-clf.decision_function(Xv), axis=1, kind="stable")[:, :5]
r = clf.classes_[r]
print(json.dumps({"seconds": seconds, "n_iter": int(clf.n_iter_[0]), "objective": obj,
                  "top1": float((r[:, 0] == yv).mean()), "top5": float((r == yv[:, None]).any(1).mean()),
                  "version": sklearn.__version__}))
`;

await runTask({
  name: "linear_probe_bench",
  summary: "Linear probe vs scikit-learn lbfgs on synthetic CLIP-like features (same run).",
  flags: {
    train: { type: "string", arg: "N", default: "20000", help: "training samples" },
    val: {
      type: "string",
      arg: "N",
      default: String(CARD_SAMPLES.val),
      help: "validation samples (the card's)",
    },
    classes: { type: "string", arg: "K", default: "700", help: "classes" },
    dim: { type: "string", arg: "D", default: "512", help: "feature width" },
    "max-iter": { type: "string", arg: "N", default: "1000", help: "iteration cap for both" },
    seed: { type: "string", arg: "S", default: "0", help: "feature seed" },
    providers: { type: "string", arg: "LIST", default: "cuda,cpu", help: "ONNX Runtime providers" },
    record: { type: "boolean", help: "put the table at the top of bench/RESULTS.md" },
    note: { type: "string", arg: "TEXT", help: "a sentence recorded under the table" },
  },
}, async (values) => {
  const n = intFlag(values, "train", 1)!;
  const nVal = intFlag(values, "val", 1)!;
  const K = intFlag(values, "classes", 2)!;
  const D = intFlag(values, "dim", 1)!;
  const maxIter = intFlag(values, "max-iter", 1)!;
  const seed = intFlag(values, "seed", 0)!;
  const providers = parseProviders(stringFlag(values, "providers")!);
  const model = featureModel(K, D, seed);
  const train = drawFeatures(model, n, seed + 1);
  const val = drawFeatures(model, nVal, seed + 2);
  const dir = await Deno.makeTempDir({ prefix: "kinembed_probe_bench_" });
  try {
    const f64 = (a: Int32Array) => Float64Array.from(a);
    await Deno.writeFile(
      join(dir, "X.npy"),
      writeNpy({ dtype: "<f4", shape: [n, D], data: train.features }),
    );
    await Deno.writeFile(
      join(dir, "y.npy"),
      writeNpy({ dtype: "<f8", shape: [n], data: f64(train.labels) }),
    );
    await Deno.writeFile(
      join(dir, "Xv.npy"),
      writeNpy({ dtype: "<f4", shape: [nVal, D], data: val.features }),
    );
    await Deno.writeFile(
      join(dir, "yv.npy"),
      writeNpy({ dtype: "<f8", shape: [nVal], data: f64(val.labels) }),
    );

    console.error(`kinembed: fitting ${n} × ${D}, ${K} classes`);
    const probe = await trainLinearProbe(train, K, { providers, maxIter });
    const ours = await scoreLinearProbe(probe, val, { providers });
    console.error(
      `kinembed: ${probe.seconds.toFixed(1)} s, ${probe.iterations} iterations (${probe.stop})`,
    );
    // Without centring the fit follows scikit-learn's path: the per-iteration cost compares alone.
    const plain = await trainLinearProbe(train, K, { providers, maxIter, centre: false });
    const plainScore = await scoreLinearProbe(plain, val, { providers });
    console.error(
      `kinembed, not centred: ${plain.seconds.toFixed(1)} s, ${plain.iterations} iterations`,
    );

    console.error("scikit-learn: fitting");
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-W", "ignore", "-c", SKLEARN, dir, String(maxIter)],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error("scikit-learn run failed");
    const sk = JSON.parse(new TextDecoder().decode(out.stdout));
    console.error(`scikit-learn: ${sk.seconds.toFixed(1)} s, ${sk.n_iter} iterations`);

    const f4 = (x: number) => x.toFixed(4);
    const rel = (x: number) => `${((x - sk.objective) / sk.objective).toExponential(1)} rel.`;
    const table = [
      `| ${n} train × ${D} dims, ${K} classes, ${nVal} val | scikit-learn ${sk.version} lbfgs | ` +
      `kinembed (ORT ${probe.provider}) | kinembed, not centred |`,
      "| --- | ---: | ---: | ---: |",
      `| fit wall time (s) | ${sk.seconds.toFixed(1)} | ${probe.seconds.toFixed(1)} (${
        (probe.seconds / sk.seconds).toFixed(2)
      }×) | ${plain.seconds.toFixed(1)} (${(plain.seconds / sk.seconds).toFixed(2)}×) |`,
      `| iterations (cap ${maxIter}), stop | ${sk.n_iter} | ${probe.iterations}, ${probe.stop} | ` +
      `${plain.iterations}, ${plain.stop} |`,
      `| time per iteration (s) | ${(sk.seconds / sk.n_iter).toFixed(3)} | ${
        (probe.seconds / probe.iterations).toFixed(3)
      } | ${(plain.seconds / plain.iterations).toFixed(3)} |`,
      `| objective ΣCE + ‖W‖²/(2C) | ${sk.objective.toFixed(3)} | ${probe.objective.toFixed(3)} ` +
      `(${rel(probe.objective)}) | ${plain.objective.toFixed(3)} (${rel(plain.objective)}) |`,
      `| val top-1 | ${f4(sk.top1)} | ${f4(ours.top1)} (${f4(ours.top1 - sk.top1)}) | ` +
      `${f4(plainScore.top1)} (${f4(plainScore.top1 - sk.top1)}) |`,
      `| val top-5 | ${f4(sk.top5)} | ${f4(ours.top5)} (${f4(ours.top5 - sk.top5)}) | ` +
      `${f4(plainScore.top5)} (${f4(plainScore.top5 - sk.top5)}) |`,
    ].join("\n");
    console.log(table);
    if (values.record === true) {
      const command = `deno run -A bench/linear_probe_bench.ts --train ${n} --val ${nVal} ` +
        `--classes ${K} --dim ${D} --max-iter ${maxIter} --seed ${seed} --providers ${
          providers.join(",")
        }`;
      await recordTable(
        "Linear probe: kinembed vs scikit-learn lbfgs",
        command,
        table,
        stringFlag(values, "note") ?? "",
      );
    }
    return 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
