/**
 * A small typed API for building ONNX models (opset 17 by default) over `npm:onnx-proto`:
 * initializers, nodes with typed attributes, graph inputs and outputs with symbolic dims, and
 * serialisation to bytes. Also reads a model's initializers back, e.g. to count parameters.
 * onnx-proto itself loads when a model is first serialised or read, not when this is imported.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { attr, OnnxGraph, readModel } from "./onnx_graph.ts";
 * const g = new OnnxGraph({ name: "scale" });
 * const x = g.input("x", "float32", ["N", 4]);
 * const w = g.initializer("w", "float32", [4, 2], new Float32Array(8).fill(0.5));
 * const y = g.node("MatMul", [x, w]);
 * g.node("Softmax", [y], { axis: attr.int(-1) }, { out: "probs" });
 * g.output("probs", "float32", ["N", 2]);
 * const bytes: Uint8Array = await g.serialize();
 * deepStrictEqual((await readModel(bytes)).ops, ["MatMul", "Softmax"]);
 * ```
 * @module
 */
import type { onnx } from "onnx-proto";

/** onnx-proto's message classes. */
type OnnxProto = typeof onnx;

let protoModule: OnnxProto | undefined;

/** onnx-proto, loaded on first use so that importing kinembed does not load it. */
async function loadProto(): Promise<OnnxProto> {
  protoModule ??= (await import("onnx-proto")).default.onnx;
  return protoModule;
}

/** Element types the builder writes. */
export type TensorDataType = "float32" | "float16" | "int64" | "int32" | "uint8" | "bool";

/** Element types of graph inputs and outputs: those of tensors, and float64 (no data to hold). */
export type ValueDataType = TensorDataType | "float64";

/**
 * The values of a tensor, by element type: float16 as raw bits in a `Uint16Array`, bool as 0/1
 * bytes in a `Uint8Array`.
 */
export type TensorData = Float32Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/** A dense tensor: element type, shape, values (row-major). */
export interface TensorValue {
  /** Element type. */
  dtype: TensorDataType;
  /** Shape; `[]` for a scalar. */
  dims: number[];
  /** Values, row-major; their count is the product of `dims`. */
  data: TensorData;
}

/** A dimension of a graph input or output: a fixed size, or a symbolic name such as `"N"`. */
export type Dim = number | string;

/** A node attribute with its ONNX type made explicit (an ONNX int and float differ on the wire). */
export type AttributeValue =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "ints"; value: number[] }
  | { kind: "floats"; value: number[] }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: TensorValue };

/** Constructors of typed node attributes: `{ axis: attr.int(-1), epsilon: attr.float(1e-5) }`. */
export const attr = {
  /** An INT attribute. */
  int: (value: number): AttributeValue => ({ kind: "int", value }),
  /** A FLOAT attribute (e.g. LayerNormalization's `epsilon`, which must not be an INT). */
  float: (value: number): AttributeValue => ({ kind: "float", value }),
  /** An INTS attribute (e.g. `perm`, `strides`). */
  ints: (value: number[]): AttributeValue => ({ kind: "ints", value }),
  /** A FLOATS attribute. */
  floats: (value: number[]): AttributeValue => ({ kind: "floats", value }),
  /** A STRING attribute (UTF-8). */
  string: (value: string): AttributeValue => ({ kind: "string", value }),
  /** A TENSOR attribute (e.g. `Constant`'s or `ConstantOfShape`'s `value`). */
  tensor: (value: TensorValue): AttributeValue => ({ kind: "tensor", value }),
};

/** Options of a node. */
export interface NodeOptions {
  /** Output names; by default one fresh name. A number asks for that many fresh names. */
  out?: string | string[] | number;
  /** Node name; by default a fresh one. */
  name?: string;
  /** Operator domain; default the ONNX domain (""). */
  domain?: string;
}

/** Options of a graph. */
export interface OnnxGraphOptions {
  /** Graph name. */
  name: string;
  /** ONNX opset of the default domain (default 17). */
  opset?: number;
  /** Producer name written into the model (default "kinembed"). */
  producer?: string;
  /** A sentence describing the model, written as the graph's doc string. */
  doc?: string;
}

/** onnx.proto's `TensorProto.DataType` numbers of the element types written here. */
export const ONNX_DATA_TYPE: Readonly<Record<ValueDataType, number>> = {
  float32: 1,
  uint8: 2,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

/** onnx.proto's `AttributeProto.AttributeType` numbers of the attribute kinds written here. */
export const ONNX_ATTRIBUTE_TYPE: Readonly<Record<AttributeValue["kind"], number>> = {
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  floats: 6,
  ints: 7,
};

const DATA_TYPE_NAME = new Map<number, TensorDataType>(
  Object.entries(ONNX_DATA_TYPE).filter(([k]) => k !== "float64")
    .map(([k, v]) => [v, k as TensorDataType]),
);

/** IR version 8 is the newest the onnx-proto schema knows; ONNX Runtime accepts it with opset 17. */
const IR_VERSION = 8;

/** Builds one ONNX graph and serialises it as a model. */
export class OnnxGraph {
  readonly #opts: Required<Omit<OnnxGraphOptions, "doc">> & { doc: string };
  readonly #nodes: onnx.INodeProto[] = [];
  readonly #initializers: onnx.ITensorProto[] = [];
  readonly #inputs: onnx.IValueInfoProto[] = [];
  readonly #outputs: onnx.IValueInfoProto[] = [];
  readonly #metadata: onnx.IStringStringEntryProto[] = [];
  readonly #names = new Set<string>();
  readonly #counters = new Map<string, number>();
  #parameters = 0;

  /**
   * Starts an empty graph.
   * @param opts graph name, opset, producer and doc string
   */
  constructor(opts: OnnxGraphOptions) {
    this.#opts = {
      name: opts.name,
      opset: opts.opset ?? 17,
      producer: opts.producer ?? "kinembed",
      doc: opts.doc ?? "",
    };
  }

  /**
   * A value name not used yet in this graph, made from a prefix (`matmul_3`).
   * @param prefix the stem of the name
   * @returns the fresh name (reserved)
   */
  fresh(prefix: string): string {
    let n = this.#counters.get(prefix) ?? 0;
    let name: string;
    do name = `${prefix}_${n++}`; while (this.#names.has(name));
    this.#counters.set(prefix, n);
    this.#names.add(name);
    return name;
  }

  /**
   * Declares a graph input.
   * @param name value name
   * @param dtype element type
   * @param dims shape; strings are symbolic dims (e.g. `"N"` for the batch)
   * @returns the name
   */
  input(name: string, dtype: ValueDataType, dims: Dim[]): string {
    this.#claim(name);
    this.#inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /**
   * Declares a graph output (the value must be produced by a node).
   * @param name value name
   * @param dtype element type
   * @param dims shape; strings are symbolic dims
   * @returns the name
   */
  output(name: string, dtype: ValueDataType, dims: Dim[]): string {
    this.#outputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /**
   * Adds an initializer (a weight or constant stored in the model). Floating-point initializers
   * count as parameters (see {@linkcode OnnxGraph.parameterCount}).
   * @param name value name (unique)
   * @param dtype element type
   * @param dims shape
   * @param data values, row-major (not copied: do not change them before `serialize`)
   * @returns the name
   */
  initializer(name: string, dtype: TensorDataType, dims: number[], data: TensorData): string {
    this.#claim(name);
    this.#pushInitializer(name, { dtype, dims, data });
    return name;
  }

  /**
   * Adds an INT64 initializer, as shape-like inputs (Reshape's shape, Unsqueeze's axes) need.
   * @param values the integers
   * @param dims shape (default a vector of `values.length`)
   * @returns the fresh name
   */
  int64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh("const_i64");
    this.#pushInitializer(name, {
      dtype: "int64",
      dims,
      data: BigInt64Array.from(values, (v) => BigInt(v)),
    });
    return name;
  }

  /**
   * Adds a constant through a `Constant` node, so that it is not counted as a parameter (for scalars
   * such as an attention scale or a mask).
   * @param value the tensor
   * @param name output name (default fresh)
   * @returns the output name
   */
  constant(value: TensorValue, name?: string): string {
    return this.node("Constant", [], { value: attr.tensor(value) }, { out: name });
  }

  /**
   * A float32 scalar or vector constant (a `Constant` node).
   * @param values the numbers
   * @param dims shape (default a scalar for one number, else a vector)
   * @returns the output name
   */
  floats(values: number[], dims?: number[]): string {
    const shape = dims ?? (values.length === 1 ? [] : [values.length]);
    return this.constant({ dtype: "float32", dims: shape, data: Float32Array.from(values) });
  }

  /**
   * Adds a node with one output.
   * @param opType ONNX operator (`MatMul`, `LayerNormalization`, ...)
   * @param inputs input value names (`""` for an omitted optional input)
   * @param attrs typed attributes (see {@linkcode attr})
   * @param opts output name, node name, domain
   * @returns the first output's name
   */
  node(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttributeValue> = {},
    opts: NodeOptions = {},
  ): string {
    return this.nodeOutputs(opType, inputs, attrs, opts)[0];
  }

  /**
   * Adds a node and returns all its outputs (for `Split`, `TopK`, ...).
   * @param opType ONNX operator
   * @param inputs input value names
   * @param attrs typed attributes
   * @param opts `out` as a count or names, node name, domain
   * @returns the output names
   */
  nodeOutputs(
    opType: string,
    inputs: string[],
    attrs: Record<string, AttributeValue> = {},
    opts: NodeOptions = {},
  ): string[] {
    const stem = opType.toLowerCase();
    let outputs: string[];
    if (typeof opts.out === "string" || Array.isArray(opts.out)) {
      outputs = typeof opts.out === "string" ? [opts.out] : opts.out;
      for (const o of outputs) this.#claim(o);
    } else {
      outputs = Array.from({ length: opts.out ?? 1 }, () => this.fresh(stem));
    }
    this.#nodes.push({
      name: opts.name ?? `${opType}_${this.#nodes.length}`,
      opType,
      domain: opts.domain ?? "",
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([name, a]) => attributeProto(name, a)),
    });
    return outputs;
  }

  /**
   * Adds a `key: value` entry to the model's metadata (readable by ONNX Runtime as custom metadata).
   * @param key entry name
   * @param value entry text
   */
  metadata(key: string, value: string): void {
    this.#metadata.push({ key, value });
  }

  /** Number of elements in floating-point initializers: the model's parameter count. */
  parameterCount(): number {
    return this.#parameters;
  }

  /** The model as an onnx-proto message. */
  #modelProto(): onnx.IModelProto {
    return {
      irVersion: IR_VERSION,
      producerName: this.#opts.producer,
      opsetImport: [{ domain: "", version: this.#opts.opset }],
      metadataProps: this.#metadata,
      graph: {
        name: this.#opts.name,
        docString: this.#opts.doc,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    };
  }

  /**
   * Encodes the model as ONNX protobuf bytes, ready for a file or `InferenceSession.create`.
   * @returns the model bytes
   */
  async serialize(): Promise<Uint8Array> {
    const proto = await loadProto();
    // encode takes the plain message objects as they are, without copying the weights first.
    const bytes = proto.ModelProto.encode(this.#modelProto()).finish();
    // Under Node compatibility protobufjs returns a Buffer; hand out a plain Uint8Array view.
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #pushInitializer(name: string, t: TensorValue): void {
    this.#initializers.push({ name, ...tensorProto(t) });
    if (t.dtype === "float32" || t.dtype === "float16") this.#parameters += t.data.length;
  }

  #claim(name: string): void {
    if (name === "") throw new RangeError("onnx graph: empty value name");
    if (this.#names.has(name)) throw new RangeError(`onnx graph: value ${name} defined twice`);
    this.#names.add(name);
  }
}

/** What {@linkcode readModel} finds in a model file. */
export interface ModelSummary {
  /** Opset of the default domain. */
  opset: number;
  /** Graph inputs (initializers excluded) with their element types and dims. */
  inputs: { name: string; dtype: TensorDataType | "other"; dims: Dim[] }[];
  /** Graph outputs. */
  outputs: { name: string; dtype: TensorDataType | "other"; dims: Dim[] }[];
  /** Initializers by name. */
  initializers: Map<string, TensorValue>;
  /** Number of elements in floating-point initializers. */
  parameterCount: number;
  /** Operator type of each node, in order. */
  ops: string[];
  /** Model metadata entries. */
  metadata: Record<string, string>;
}

/**
 * Decodes ONNX model bytes: I/O signatures, initializers (values copied out of the buffer), ops.
 * @param bytes the model file's content
 * @returns the model's summary
 */
export async function readModel(bytes: Uint8Array): Promise<ModelSummary> {
  const proto = await loadProto();
  const model = proto.ModelProto.decode(bytes);
  // Decoded sub-messages are class instances with their repeated fields filled in.
  const graph = (model.graph ?? proto.GraphProto.create()) as onnx.GraphProto;
  const initializers = new Map<string, TensorValue>();
  let parameterCount = 0;
  for (const t of graph.initializer) {
    const value = tensorValue(t);
    initializers.set(t.name ?? "", value);
    if (value.dtype === "float32" || value.dtype === "float16") parameterCount += value.data.length;
  }
  const signature = (v: onnx.IValueInfoProto) => {
    const tt = v.type?.tensorType;
    return {
      name: v.name ?? "",
      dtype: DATA_TYPE_NAME.get(tt?.elemType ?? -1) ?? "other" as const,
      dims: (tt?.shape?.dim ?? []).map((d): Dim =>
        d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)
      ),
    };
  };
  return {
    opset: Number(model.opsetImport.find((o) => !o.domain)?.version ?? 0),
    inputs: graph.input.filter((v) => !initializers.has(v.name ?? "")).map(signature),
    outputs: graph.output.map(signature),
    initializers,
    parameterCount,
    ops: graph.node.map((n) => n.opType ?? ""),
    metadata: Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value])),
  };
}

/**
 * Reads only a model's metadata entries (no initializer values are copied).
 * @param bytes the model file's content
 * @returns the metadata, key to value
 */
export async function readModelMetadata(bytes: Uint8Array): Promise<Record<string, string>> {
  const model = (await loadProto()).ModelProto.decode(bytes);
  return Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value]));
}

function valueInfo(name: string, dtype: ValueDataType, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPE[dtype],
        shape: {
          dim: dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }),
        },
      },
    },
  };
}

function tensorProto(t: TensorValue): onnx.ITensorProto {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new RangeError(
      `onnx graph: ${t.data.length} values for shape [${t.dims.join(",")}] (${count} expected)`,
    );
  }
  // Typed arrays are little-endian on every platform Deno runs on, as raw_data requires.
  return {
    dataType: ONNX_DATA_TYPE[t.dtype],
    dims: t.dims,
    rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  };
}

function tensorValue(t: onnx.ITensorProto): TensorValue {
  const dtype = DATA_TYPE_NAME.get(t.dataType ?? -1);
  if (!dtype) {
    throw new RangeError(`onnx model: initializer ${t.name} has element type ${t.dataType}`);
  }
  const dims = (t.dims ?? []).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  // Copy to an aligned buffer: the decoded bytes are a view at an arbitrary offset (and a Node
  // Buffer, whose slice() is a view too, so copy through the Uint8Array constructor).
  const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : undefined;
  let data: TensorData;
  switch (dtype) {
    case "float32":
      data = raw ? new Float32Array(raw.buffer) : Float32Array.from(t.floatData ?? []);
      break;
    case "float16":
      data = raw ? new Uint16Array(raw.buffer) : Uint16Array.from(t.int32Data ?? []);
      break;
    case "int64":
      data = raw
        ? new BigInt64Array(raw.buffer)
        : BigInt64Array.from(t.int64Data ?? [], (v) => BigInt(v.toString()));
      break;
    case "int32":
      data = raw ? new Int32Array(raw.buffer) : Int32Array.from(t.int32Data ?? []);
      break;
    default:
      data = raw ?? Uint8Array.from(t.int32Data ?? []);
  }
  if (data.length !== count) {
    throw new RangeError(`onnx model: initializer ${t.name} has ${data.length} of ${count} values`);
  }
  return { dtype, dims, data };
}

function attributeProto(name: string, a: AttributeValue): onnx.IAttributeProto {
  switch (a.kind) {
    case "int":
      if (!Number.isInteger(a.value)) throw new RangeError(`attribute ${name}: ${a.value} not int`);
      return { name, type: ONNX_ATTRIBUTE_TYPE.int, i: a.value };
    case "float":
      return { name, type: ONNX_ATTRIBUTE_TYPE.float, f: a.value };
    case "ints":
      return { name, type: ONNX_ATTRIBUTE_TYPE.ints, ints: a.value };
    case "floats":
      return { name, type: ONNX_ATTRIBUTE_TYPE.floats, floats: a.value };
    case "string":
      return { name, type: ONNX_ATTRIBUTE_TYPE.string, s: new TextEncoder().encode(a.value) };
    case "tensor":
      return { name, type: ONNX_ATTRIBUTE_TYPE.tensor, t: tensorProto(a.value) };
  }
}
