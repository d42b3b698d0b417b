import { join } from "node:path";
import { FormatError } from "./errors.ts";
import {
  float16ToFloat32,
  float32ToFloat16,
  type NpyArray,
  type NpyDtype,
  readNpy,
  readNpyHeader,
  toFloat32,
  writeNpy,
} from "./npy.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { pythonJson, runPython } from "../../tests/support/python.ts";

function hex(data: ArrayBufferView): string {
  return Array.from(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** Arrays of every dtype and awkward shapes: a scalar, empty, 1-D, 3-D; floats with NaN, ±inf, -0 and subnormals. */
function fixtures(): Record<string, NpyArray> {
  const specials = [0, -0, 1, -2.5, Infinity, -Infinity, NaN, 1e-40, 65504, 3.4e38];
  return {
    u1_2x3: { dtype: "<u1", shape: [2, 3], data: Uint8Array.of(0, 1, 127, 128, 254, 255) },
    u1_scalar: { dtype: "<u1", shape: [], data: Uint8Array.of(7) },
    f2_1d: {
      dtype: "<f2",
      shape: [specials.length],
      data: float32ToFloat16(specials.map((v) => (Math.abs(v) > 65504 ? v / 1e34 : v))),
    },
    f2_empty: { dtype: "<f2", shape: [0, 512], data: new Uint16Array(0) },
    f4_3d: {
      dtype: "<f4",
      shape: [2, specials.length, 1],
      data: Float32Array.from([...specials, ...specials.map((v) => v / 3)]),
    },
    f8_1d: { dtype: "<f8", shape: [specials.length], data: Float64Array.from(specials) },
    f8_one: { dtype: "<f8", shape: [1], data: Float64Array.of(Math.PI) },
  };
}

// numpy reads every file we wrote and reports dtype, shape, data bytes and where the data starts
const PY_READ = `
import json, sys, numpy as np
out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        np.lib.format._read_array_header(f, version)
        offset = f.tell()
    a = np.load(path)
    out[path] = {"dtype": a.dtype.str, "shape": list(a.shape), "hex": a.tobytes().hex(),
                 "version": list(version), "offset": offset}
print(json.dumps(out))
`;

Deno.test("npy: files we write load in numpy with the same dtype, shape and bytes", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const arrays = fixtures();
    const paths: string[] = [];
    for (const [name, arr] of Object.entries(arrays)) {
      paths.push(join(dir, `${name}.npy`));
      await Deno.writeFile(paths.at(-1)!, writeNpy(arr));
    }
    const got = await pythonJson<Record<string, Record<string, unknown>>>(PY_READ, paths);
    for (const [i, [name, arr]] of Object.entries(arrays).entries()) {
      const want = arr.dtype === "<u1" ? "|u1" : arr.dtype;
      assertEquals(got[paths[i]], {
        dtype: want,
        shape: arr.shape,
        hex: hex(arr.data),
        version: [1, 0],
        offset: readNpyHeader(writeNpy(arr)).dataOffset,
      }, name);
      assertEquals((got[paths[i]].offset as number) % 64, 0, `${name}: data 64-byte aligned`);
    }
  } finally {
    await cleanup();
  }
});

// numpy writes each dtype in format versions 1.0, 2.0 and 3.0 (3.0: a utf-8 header)
const PY_WRITE = `
import json, sys, numpy as np
out = {}
vals = [0.0, -0.0, 1.0, -2.5, np.inf, -np.inf, np.nan, 1e-40, 65504.0, 1e-7, 0.1]
arrays = {"|u1": np.arange(250, 256, dtype="|u1").reshape(2, 3),
          "<f2": np.array(vals, "<f2").reshape(1, 11), "<f4": np.array(vals, "<f4").reshape(11),
          "<f8": np.array(vals, "<f8").reshape(11, 1, 1), "<f4e": np.zeros((0, 3), "<f4")}
for key, a in arrays.items():
    for v in ((1, 0), (2, 0), (3, 0)):
        path = f"{sys.argv[1]}/{key[1:]}_{v[0]}.npy"
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=v)
        out[path] = {"dtype": a.dtype.str, "shape": list(a.shape), "hex": a.tobytes().hex()}
print(json.dumps(out))
`;

Deno.test("npy: files numpy writes (versions 1, 2, 3) read back as numpy holds them", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const written = await pythonJson<
      Record<string, { dtype: string; shape: number[]; hex: string }>
    >(
      PY_WRITE,
      [dir],
    );
    assertEquals(Object.keys(written).length, 15);
    for (const [path, want] of Object.entries(written)) {
      const arr = readNpy(await Deno.readFile(path));
      assertEquals(
        { dtype: arr.dtype, shape: arr.shape, hex: hex(arr.data) },
        { ...want, dtype: want.dtype === "|u1" ? "<u1" : want.dtype },
        path,
      );
    }
  } finally {
    await cleanup();
  }
});

Deno.test("npy: float16 conversions agree with numpy's astype on every half and on rounding ties", async () => {
  // every float16 bit pattern, decoded
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const ours32 = float16ToFloat32(all);
  // numbers around each rounding decision: exact halves between neighbouring halves (ties go to
  // even), a hair either side, the overflow edge (65520 rounds to inf), the subnormal range
  const probes: number[] = [65519.99, 65520, 65536, 1e5, -65520, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9];
  for (let bits = 0x0001; bits < 0x7c00; bits += 97) {
    const lo = ours32[bits], hi = ours32[bits + 1];
    const mid = (lo + hi) / 2;
    probes.push(mid, -mid, Math.fround(mid * (1 + 2 ** -20)), Math.fround(mid * (1 - 2 ** -20)));
  }
  const f32 = Float32Array.from(probes);
  const { dir, cleanup } = await tempDir();
  try {
    await Deno.writeFile(join(dir, "f32.bin"), new Uint8Array(f32.buffer));
    const py = await runPython(
      `import sys, numpy as np
f = np.fromfile(sys.argv[1] + "/f32.bin", "<f4")
np.arange(65536, dtype="<u2").view("<f2").astype("<f4").tofile(sys.argv[1] + "/widened.bin")
f.astype("<f2").tofile(sys.argv[1] + "/narrowed.bin")
print(len(f))`,
      [dir],
    );
    assertEquals(Number(py), f32.length);
    const widened = new Float32Array((await Deno.readFile(join(dir, "widened.bin"))).buffer);
    const narrowed = new Uint16Array((await Deno.readFile(join(dir, "narrowed.bin"))).buffer);
    for (let i = 0; i < 65536; i++) {
      const same = Object.is(ours32[i], widened[i]) || (isNaN(ours32[i]) && isNaN(widened[i]));
      assert(same, `half 0x${i.toString(16)}: ${ours32[i]} vs numpy ${widened[i]}`);
    }
    const ours16 = float32ToFloat16(f32);
    for (let i = 0; i < f32.length; i++) {
      assertEquals(ours16[i], narrowed[i], `${f32[i]} -> 0x${narrowed[i].toString(16)}`);
    }
  } finally {
    await cleanup();
  }
});

Deno.test("npy: headers that lie, big-endian, Fortran order, other dtypes and bad magic are refused", async () => {
  const good = writeNpy({ dtype: "<f4", shape: [2, 3], data: new Float32Array(6) });
  const refuse = async (bytes: Uint8Array, pattern: RegExp | string) => {
    const e = await assertRejects(() => readNpy(bytes), pattern);
    assert(e instanceof FormatError);
  };
  await refuse(
    good.subarray(0, good.length - 4),
    "npy: header says <f4 (2,3) = 24 bytes, file holds 20",
  );
  await refuse(good.subarray(0, 40), "npy: truncated header");
  await refuse(
    new TextEncoder().encode("PK\x03\x04 a zip file"),
    "npy: not a .npy file (bad magic)",
  );
  const header = (text: string) => {
    const bytes = good.slice();
    const at = new TextDecoder("latin1").decode(bytes).indexOf("{");
    bytes.set(new TextEncoder().encode(text.padEnd(good.length - 24 - at - 1, " ")), at);
    return bytes;
  };
  assertEquals(
    readNpy(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")).shape,
    [2, 3],
  );
  await refuse(
    header("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }"),
    "unsupported dtype >f4",
  );
  await refuse(
    header("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }"),
    "unsupported dtype <i4",
  );
  await refuse(
    header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }"),
    "Fortran order",
  );
  await refuse(
    header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"),
    "bad shape entry -3",
  );
  await refuse(header("{'descr': '<f4', 'shape': (2, 3), }"), "header is not a dict");
  const v9 = good.slice();
  v9[6] = 9;
  await refuse(v9, "unsupported version 9.0");
  // writing checks the element count too
  await assertRejects(
    () => writeNpy({ dtype: "<f2", shape: [2, 512], data: new Uint16Array(512) }),
    "npy: shape (2,512) needs 1024 elements, got 512",
  );
  const bytes = writeNpy({ dtype: "<u1", shape: [1], data: Uint8Array.of(1) });
  await assertRejects(() => toFloat32(readNpy(bytes)), "expected a float array, got <u1");
  // readNpyHeader on the header alone, with the file's length
  const h = readNpyHeader(good.subarray(0, 128), good.length);
  assertEquals(h, { dtype: "<f4" as NpyDtype, shape: [2, 3], dataOffset: 128 });
});
