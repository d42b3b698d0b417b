import { join } from "node:path";
import { FormatError } from "../base/mod.ts";
import { encodeSafetensors, SafetensorsFile, type SafetensorsTensor } from "./safetensors.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { pythonJson } from "../../tests/support/python.ts";

// An independent reader written from the format's description (8-byte little-endian header
// length, JSON header, raw little-endian tensors), with numpy; bfloat16 is widened by putting its
// bits in the top half of a float32. Values come back as strings so NaN and ±inf survive JSON.
const PY_READ = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
out = {"header_len": n, "metadata": header.pop("__metadata__", None), "tensors": {}}
for name, t in header.items():
    b, e = t["data_offsets"]
    buf = data[b:e]
    if t["dtype"] == "BF16":
        v = (np.frombuffer(buf, "<u2").astype("<u4") << 16).view("<f4")
    else:
        v = np.frombuffer(buf, {"F32": "<f4", "F16": "<f2"}[t["dtype"]]).astype("<f4")
    out["tensors"][name] = {"dtype": t["dtype"], "shape": t["shape"], "values": [repr(float(x)) for x in v]}
print(json.dumps(out))
`;

// A file written from the same description by Python: tensors stored in the reverse of their
// header order, an integer tensor beside the float ones, metadata
const PY_WRITE = `
import json, struct, sys, numpy as np
tensors = [("visual.proj", "F32", np.arange(6, dtype="<f4").reshape(2, 3) / 4),
           ("token_embedding", "F16", np.array([0.5, -1.5, 65504, 1e-7], "<f2")),
           ("ln.bias", "BF16", np.array([0x3f80, 0xc000, 0x7f80], "<u2")),
           ("position_ids", "I64", np.arange(4, dtype="<i8"))]
header, blobs, at = {"__metadata__": {"format": "pt"}}, [], 0
for name, dtype, a in reversed(tensors):
    b = a.tobytes()
    header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
    blobs.append(b)
    at += len(b)
text = json.dumps({k: header[k] for k in ["__metadata__"] + [t[0] for t in tensors]}).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
`;

const values = [0, -0, 1, -2.5, 1 / 3, 65504, 70000, 1e-8, Infinity, -Infinity, NaN, 3.4e38];

/** A value as Python's repr wrote it ("nan", "inf", "-0.0", "0.3333333432674408"). */
function fromRepr(text: string): number {
  return text === "nan"
    ? NaN
    : text === "inf"
    ? Infinity
    : text === "-inf"
    ? -Infinity
    : Number(text);
}

Deno.test("safetensors: what we write, an independent numpy reader reads, and so do we", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const tensors: SafetensorsTensor[] = [
      { name: "a.f32", dtype: "F32", shape: [3, 4], data: Float32Array.from(values) },
      { name: "b.f16", dtype: "F16", shape: [12], data: Float32Array.from(values) },
      { name: "c.bf16", dtype: "BF16", shape: [2, 2, 3], data: Float32Array.from(values) },
      { name: "d.empty", dtype: "F32", shape: [0, 512], data: new Float32Array(0) },
    ];
    const path = join(dir, "model.safetensors");
    const bytes = encodeSafetensors(tensors, { format: "pt" });
    await Deno.writeFile(path, bytes);
    const py = await pythonJson<{
      header_len: number;
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; values: string[] }>;
    }>(PY_READ, [path]);
    assertEquals(py.header_len % 8, 0, "the header is padded to 8 bytes");
    assertEquals(py.metadata, { format: "pt" });
    assertEquals(Object.keys(py.tensors), tensors.map((t) => t.name));
    const f = await SafetensorsFile.open(path);
    try {
      assertEquals(f.metadata, { format: "pt" });
      for (const t of tensors) {
        const ours = await f.float32(t.name);
        assertEquals(py.tensors[t.name].shape, t.shape);
        assertEquals(f.entries.get(t.name)!.shape, t.shape);
        // each value, sign of zero and NaN included, as numpy decoded it
        const theirs = py.tensors[t.name].values;
        assertEquals(theirs.length, ours.length);
        ours.forEach((v, i) => {
          assert(
            Object.is(v, fromRepr(theirs[i])),
            `${t.name}[${i}]: ours ${v}, numpy ${theirs[i]}`,
          );
        });
      }
      // F32 keeps float32 values exactly; F16 rounds as Math.f16round; 70000 overflows to inf
      assertEquals(await f.float32("a.f32"), Float32Array.from(values));
      const f16 = await f.float32("b.f16");
      assertEquals(f16[5], 65504);
      assertEquals(f16[6], Infinity);
      assertEquals(f16[4], Math.f16round(1 / 3));
    } finally {
      f.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("safetensors: bfloat16 rounds to nearest, ties to even", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // bfloat16 keeps 7 fraction bits: neighbours of 1 are 1 + 2^-7 and 1 - 2^-8.
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: the tie goes to the even one, 1.
    // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up, to 1 + 2^-6.
    // 1 + 2^-8 + 2^-20 is past halfway: up, to 1 + 2^-7.
    const inputs = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, -(1 + 2 ** -8), NaN];
    const want = [1, 1 + 2 ** -6, 1 + 2 ** -7, -1, NaN];
    const path = join(dir, "bf16.safetensors");
    await Deno.writeFile(
      path,
      encodeSafetensors([{
        name: "w",
        dtype: "BF16",
        shape: [5],
        data: Float32Array.from(inputs),
      }]),
    );
    const f = await SafetensorsFile.open(path);
    assertEquals(Array.from(await f.float32("w")), want);
    f.close();
  } finally {
    await cleanup();
  }
});

Deno.test("safetensors: a file Python wrote, tensors out of header order, reads by name", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const path = join(dir, "open_clip_model.safetensors");
    await pythonJson(`${PY_WRITE}\nprint("null")`, [path]);
    const f = await SafetensorsFile.open(path);
    try {
      assertEquals([...f.entries.keys()], [
        "visual.proj",
        "token_embedding",
        "ln.bias",
        "position_ids",
      ]);
      assertEquals(f.metadata, { format: "pt" });
      assertEquals(Array.from(await f.float32("visual.proj")), [0, 0.25, 0.5, 0.75, 1, 1.25]);
      assertEquals(
        Array.from(await f.float32("token_embedding")),
        [0.5, -1.5, 65504, Math.f16round(1e-7)],
      );
      assertEquals(Array.from(await f.float32("ln.bias")), [1, -2, Infinity]);
      assertEquals(f.entries.get("position_ids")!.dtype, "I64");
      await assertRejects(
        () => f.float32("position_ids"),
        `${path}: tensor position_ids is I64; only F32, F16 and BF16 weights are read`,
      );
      await assertRejects(() => f.float32("missing"), `${path}: no tensor missing`);
    } finally {
      f.close();
    }
  } finally {
    await cleanup();
  }
});

/** A file from a header object and a data section of `dataLen` bytes. */
function rawFile(
  header: unknown,
  dataLen: number,
  headerText = JSON.stringify(header),
): Uint8Array {
  const head = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + head.length + dataLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  return out;
}

Deno.test("safetensors: damaged headers are refused in one line naming the file", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const f32 = (shape: number[], off: [number, number]) => ({
      dtype: "F32",
      shape,
      data_offsets: off,
    });
    const good = encodeSafetensors([{
      name: "w",
      dtype: "F32",
      shape: [2],
      data: Float32Array.of(1, 2),
    }]);
    const longHeader = good.slice();
    new DataView(longHeader.buffer).setBigUint64(0, 1n << 40n, true);
    const badUtf8 = rawFile(null, 0, '{"w":1}');
    badUtf8[9] = 0xff;
    const cases: [string, Uint8Array, string][] = [
      ["short", new Uint8Array(5), "5 bytes, shorter than the 8-byte header length"],
      ["truncated", good.subarray(0, 12), "header length"],
      ["huge_len", longHeader, `header length ${2 ** 40} does not fit`],
      ["not_json", rawFile(null, 0, "{tensors}"), "header is not JSON"],
      ["bad_utf8", badUtf8, "header is not JSON"],
      ["array", rawFile([1, 2], 0), "header is not a JSON object"],
      ["entry", rawFile({ w: 3 }, 0), "entry w is not an object"],
      [
        "dtype",
        rawFile({ w: { dtype: "F8", shape: [1], data_offsets: [0, 1] } }, 1),
        'tensor w has unknown dtype "F8"',
      ],
      ["shape", rawFile({ w: f32([-1], [0, 4]) }, 4), "tensor w has shape [-1]"],
      [
        "outside",
        rawFile({ w: f32([2], [0, 8]) }, 4),
        "tensor w has data_offsets [0,8] outside the 4-byte data",
      ],
      [
        "size",
        rawFile({ w: f32([3], [0, 8]) }, 8),
        "tensor w (F32 [3]) needs 12 bytes, its range holds 8",
      ],
      [
        "overlap",
        rawFile({ a: f32([2], [0, 8]), b: f32([1], [4, 8]) }, 8),
        "tensor b starts at byte 4, expected 8",
      ],
      [
        "gap",
        rawFile({ a: f32([1], [4, 8]) }, 8),
        "tensor a starts at byte 4, expected 0 (overlap or gap)",
      ],
      [
        "tail",
        rawFile({ a: f32([1], [0, 4]) }, 12),
        "tensors end at byte 4 of a 12-byte data section",
      ],
      ["meta", rawFile({ __metadata__: 5 }, 0), "__metadata__ is not an object"],
    ];
    for (const [name, bytes, why] of cases) {
      const path = join(dir, `${name}.safetensors`);
      await Deno.writeFile(path, bytes);
      const e = await assertRejects(
        () => SafetensorsFile.open(path),
        `${path}: not a valid safetensors file: ${why}`,
      );
      assert(e instanceof FormatError, name);
      assert(!e.message.includes("\n") && e.message.length < 300, `${name}: ${e.message}`);
    }
    await assertRejects(
      () =>
        encodeSafetensors([{ name: "w", dtype: "F16", shape: [2, 2], data: new Float32Array(3) }]),
      "tensor w: shape 2,2 holds 4 values, not 3",
    );
  } finally {
    await cleanup();
  }
});
