import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { loadOrt } from "./ort.ts";
import { attr, OnnxGraph, readModel, readModelMetadata } from "./onnx_graph.ts";

/** y = LayerNorm(x @ w + b) over the last axis, with a float16 table and an int64 shape beside it. */
async function sampleModel(): Promise<{ bytes: Uint8Array; graph: OnnxGraph }> {
  const g = new OnnxGraph({ name: "sample", doc: "a test graph" });
  const x = g.input("x", "float32", ["N", 2]);
  const w = g.initializer("w", "float32", [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
  const b = g.initializer("b", "float32", [3], Float32Array.from([0.5, 0, -0.5]));
  g.initializer("half", "float16", [2], Uint16Array.from([0x3c00, 0xc000])); // 1, -2
  const shape = g.int64([-1, 3]);
  const h = g.node("Add", [g.node("MatMul", [x, w]), b]);
  const r = g.node("Reshape", [h, shape]);
  const ones = g.floats([1, 1, 1]);
  const zeros = g.floats([0, 0, 0]);
  g.node(
    "LayerNormalization",
    [r, ones, zeros],
    { axis: attr.int(-1), epsilon: attr.float(1e-5) },
    {
      out: "y",
    },
  );
  g.output("y", "float32", ["N", 3]);
  g.metadata("kinembed.kind", "sample");
  return { bytes: await g.serialize(), graph: g };
}

Deno.test("readModel reads back what OnnxGraph wrote: signature, initializers, ops, metadata", async () => {
  const { bytes, graph } = await sampleModel();
  const m = await readModel(bytes);
  assertEquals(m.opset, 17);
  assertEquals(m.inputs, [{ name: "x", dtype: "float32", dims: ["N", 2] }]);
  assertEquals(m.outputs, [{ name: "y", dtype: "float32", dims: ["N", 3] }]);
  assertEquals(m.ops, ["MatMul", "Add", "Reshape", "Constant", "Constant", "LayerNormalization"]);
  assertEquals(m.metadata, { "kinembed.kind": "sample" });
  assertEquals(await readModelMetadata(bytes), { "kinembed.kind": "sample" });
  assertEquals(Array.from(m.initializers.get("w")!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  assertEquals(m.initializers.get("half")!, {
    dtype: "float16",
    dims: [2],
    data: Uint16Array.from([0x3c00, 0xc000]),
  });
  const shape = [...m.initializers.values()].find((t) => t.dtype === "int64")!;
  assertEquals(Array.from(shape.data as BigInt64Array), [-1n, 3n]);
  // Float initializers (w, b, half) are parameters; the int64 shape and Constant nodes are not.
  assertEquals(graph.parameterCount(), 6 + 3 + 2);
  assertEquals(m.parameterCount, 6 + 3 + 2);
});

Deno.test("ONNX Runtime runs the serialised graph and computes what its nodes say", async () => {
  const { bytes } = await sampleModel();
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  try {
    const x = [1, 0, 0, 1];
    const out = await session.run({ x: new ort.Tensor("float32", Float32Array.from(x), [2, 2]) });
    const y = out.y.data as Float32Array;
    assertEquals(out.y.dims, [2, 3]);
    for (let n = 0; n < 2; n++) {
      const h = [0, 1, 2].map((j) =>
        x[n * 2] * [1, 2, 3][j] + x[n * 2 + 1] * [4, 5, 6][j] + [0.5, 0, -0.5][j]
      );
      const mean = h.reduce((a, v) => a + v, 0) / 3;
      const sd = Math.sqrt(h.reduce((a, v) => a + (v - mean) ** 2, 0) / 3 + 1e-5);
      h.forEach((v, j) => assert(Math.abs(y[n * 3 + j] - (v - mean) / sd) < 1e-4, `${n},${j}`));
    }
  } finally {
    await session.release();
  }
});

Deno.test("OnnxGraph hands out fresh names and refuses a name twice, a non-integer int, a wrong count", async () => {
  const g = new OnnxGraph({ name: "names" });
  g.input("matmul_0", "float32", [1]);
  assertEquals(g.fresh("matmul"), "matmul_1");
  assertEquals(g.fresh("matmul"), "matmul_2");
  await assertRejects(() => g.input("matmul_0", "float32", [1]), "value matmul_0 defined twice");
  await assertRejects(() => g.input("", "float32", [1]), "empty value name");
  await assertRejects(
    () => g.node("Flatten", ["matmul_0"], { axis: attr.int(1.5) }),
    "1.5 not int",
  );
  await assertRejects(
    () => g.initializer("t", "float32", [2, 2], new Float32Array(3)),
    "3 values for shape [2,2] (4 expected)",
  );
});
