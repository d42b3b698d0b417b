import { ensureFixtureModels } from "../../fixtures/make_models.ts";
import { buildZeroShotClassifier, classWeightsFromTextEmbeddings } from "./class_weights.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath } from "../../tests/support/media.ts";

const MODELS = repoPath("fixtures", "models");

Deno.test("class weights: templates averaged after normalising, then normalised", () => {
  // 2 classes × 2 templates × 2 dims; the second template's embeddings are long, which must not
  // give them more weight.
  const emb = Float32Array.from([1, 0, 0, 10, /* class 1: */ 3, 4, 0, -2]);
  const w = classWeightsFromTextEmbeddings(emb, 2, 2, 2);
  const s = Math.SQRT1_2;
  const close = (a: number, b: number) => Math.abs(a - b) < 1e-6;
  assert(close(w[0], s) && close(w[1], s), `class 0: ${w[0]}, ${w[1]}`);
  const m = [(0.6 + 0) / 2, (0.8 - 1) / 2], n = Math.hypot(...m);
  assert(close(w[2], m[0] / n) && close(w[3], m[1] / n), `class 1: ${w[2]}, ${w[3]}`);
});

Deno.test("zero-shot classifier from the tiny CLIP text model", async () => {
  const { text, vision } = await ensureFixtureModels(MODELS, "tiny");
  const classes = ["abseiling", "air drumming", "zumba"];
  const templates = ["a photo of {}.", "a video of a person {}."];
  const clf = await buildZeroShotClassifier(text, classes, templates, {
    providers: ["cpu"],
    batchSize: 4,
  });
  assertEquals(clf.numClasses, 3);
  assertEquals(clf.dim, 512);
  assertEquals(clf.provider, "cpu");
  for (let c = 0; c < 3; c++) {
    const row = clf.weights.subarray(c * 512, (c + 1) * 512);
    assert(Math.abs(Math.hypot(...row) - 1) < 1e-5, "unit rows");
  }
  // The same prompts in another batch size give the same weights.
  const again = await buildZeroShotClassifier(text, classes, templates, { providers: ["cpu"] });
  assert(again.weights.every((v, i) => Math.abs(v - clf.weights[i]) < 1e-6));
  await assertRejects(
    () => buildZeroShotClassifier(vision, classes, templates, { providers: ["cpu"] }),
    "expected input input_ids",
  );
});
