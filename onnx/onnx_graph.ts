/**
 * An ONNX graph under construction, and its encoding as a `ModelProto`.
 * The protobuf messages and their encoding come from `onnx-proto` (ONNX's
 * own `onnx.proto`, compiled by protobufjs); this file only names values,
 * collects nodes and initializers, and writes tensors as little-endian
 * `raw_data`.
 */
import { onnx } from 'onnx-proto';

/** An attribute value, typed the way ONNX stores it. */
export type Attr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };

/** ONNX element types the export writes. */
export const ElemType = { float: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;
export type ElemTypeName = keyof typeof ElemType;

/** A dimension: a size, or a name for a size fixed only at run time. */
export type Dim = number | string;

export interface ModelInfo {
  opset: number;
  producerVersion: string;
  docString: string;
  metadata: Record<string, string>;
}

/** The ONNX IR version `onnx-proto` describes (ONNX 1.10; read by ONNX ≥ 1.10 and every current runtime). */
const IR_VERSION = 8;

function attribute(name: string, a: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: T.FLOATS, floats: a.floats };
  return { name, type: T.STRING, s: Buffer.from(a.s, 'utf8') };
}

function valueInfo(name: string, elem: ElemTypeName, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: ElemType[elem], shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export class OnnxGraph {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  /** Names kept for graph outputs: `fresh` never hands them out. */
  private readonly reserved = new Set<string>();
  /** Operator types the graph uses (for messages and docs). */
  readonly opTypes = new Set<string>();

  /** A value name not used yet, from `base`. */
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_.:/-]/g, '_') || 'v';
    let name = clean;
    for (let k = 1; this.used.has(name) || this.reserved.has(name); k++) name = `${clean}_${k}`;
    this.used.add(name);
    return name;
  }

  /** Adds a node; returns its `nOut` output names (named after `base`, or the op). */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, nOut = 1, base = op.toLowerCase()): string[] {
    const outs = Array.from({ length: nOut }, () => this.fresh(base));
    this.nodes.push({
      opType: op, input: inputs, output: outs, name: this.fresh(`${op}_node`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    this.opTypes.add(op);
    return outs;
  }

  /** A node with one output. */
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, base?: string): string {
    return this.node(op, inputs, attrs, 1, base)[0];
  }

  /** A float32 initializer. */
  floats(values: ArrayLike<number>, dims: number[], base = 'const'): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.initializer(base, ElemType.float, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64s(values: ArrayLike<number>, dims: number[] = [values.length], base = 'const'): string {
    const data = BigInt64Array.from(Array.from(values, (v) => BigInt(v)));
    return this.initializer(base, ElemType.int64, dims, new Uint8Array(data.buffer));
  }

  /** A float32 scalar initializer. */
  scalar(v: number, base = 'scalar'): string {
    return this.floats([v], [], base);
  }

  private initializer(base: string, dataType: number, dims: number[], raw: Uint8Array): string {
    const name = this.fresh(base);
    // ONNX raw_data is little-endian, as typed arrays are on every platform Node runs on.
    this.initializers.push({ name, dataType, dims, rawData: raw });
    return name;
  }

  /** Keeps `names` free for `output`. */
  reserve(names: string[]): void {
    for (const n of names) this.reserved.add(n);
  }

  input(name: string, elem: ElemTypeName, dims: Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** Declares `value` a graph output named `name` (through an Identity when the names differ). */
  output(value: string, name: string, elem: ElemTypeName, dims: Dim[]): void {
    if (value !== name) {
      if (this.used.has(name)) throw new Error(`ONNX output name "${name}" is already taken`);
      this.used.add(name);
      this.nodes.push({ opType: 'Identity', input: [value], output: [name], name: this.fresh('Identity_node') });
    }
    this.outputs.push(valueInfo(name, elem, dims));
  }

  /** The encoded `ModelProto`. */
  encode(info: ModelInfo): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: info.opset }],
      producerName: 'ghostdet',
      producerVersion: info.producerVersion,
      docString: info.docString,
      graph: { name: 'ghostdet', node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      metadataProps: Object.entries(info.metadata).map(([key, value]) => ({ key, value })),
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}
