/**
 * A small ONNX graph writer: build nodes, constant initializers and typed inputs /
 * outputs, then serialize a ModelProto with protobufjs from the onnx.proto subset in onnx.proto.json.
 * No onnx package and no download: the field numbers are those of onnx/onnx.proto (IR version 8).
 */
import { Root, type Type } from 'protobufjs';
import descriptor from './onnx.proto.json';

/** TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type ElemType = (typeof DT)[keyof typeof DT];

/** Attribute values: number = INT unless listed in `floats`, number[] = INTS, string = STRING. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

type Dim = number | string; // fixed size or symbolic name ('batch')

let modelType: Type | undefined;
function ModelProto(): Type {
  modelType ??= Root.fromJSON(descriptor as never).lookupType('onnx.ModelProto');
  return modelType;
}

function attribute(name: string, v: AttrValue): Record<string, unknown> {
  if (typeof v === 'string') return { name, type: 3, s: Buffer.from(v, 'utf8') };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer (use { float: ${v} })`);
    return { name, type: 2, i: v };
  }
  if ('float' in v) return { name, type: 1, f: v.float };
  return { name, type: 6, floats: v.floats };
}

function valueInfo(name: string, elem: ElemType, dims: Dim[]): Record<string, unknown> {
  return {
    name,
    type: {
      tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } },
    },
  };
}

function rawBytes(data: Float32Array | Int32Array | BigInt64Array | Uint8Array): Uint8Array {
  // ONNX raw_data is little-endian, as are typed arrays on every platform Node runs on here.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

export class OnnxGraph {
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly inits: Record<string, unknown>[] = [];
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  private fresh(base: string): string {
    let n = base;
    while (this.names.has(n)) n = `${base}_${++this.counter}`;
    this.names.add(n);
    return n;
  }

  /** Declare a graph input. */
  input(name: string, elem: ElemType, dims: Dim[]): string {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.name}: name "${name}" used twice`);
    this.names.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  /** Declare `value` (a node output) as a graph output named `name` (through Identity when names differ). */
  output(value: string, name: string, elem: ElemType, dims: Dim[]): void {
    const out = value === name ? value : this.node('Identity', [value], {}, name);
    this.outputs.push(valueInfo(out, elem, dims));
  }

  /** A float32 constant. */
  float(name: string, data: Float32Array | number[], dims: number[]): string {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    const n = dims.reduce((a, b) => a * b, 1);
    if (arr.length !== n) throw new Error(`initializer ${name}: ${arr.length} values for shape [${dims}]`);
    const nm = this.fresh(name);
    this.inits.push({ name: nm, data_type: DT.FLOAT, dims, raw_data: rawBytes(arr) });
    return nm;
  }

  /** An int64 constant (shapes, axes, indices). */
  int64(name: string, data: number[], dims: number[] = [data.length]): string {
    const nm = this.fresh(name);
    this.inits.push({ name: nm, data_type: DT.INT64, dims, raw_data: rawBytes(BigInt64Array.from(data, (v) => BigInt(v))) });
    return nm;
  }

  /** A bool constant. */
  bool(name: string, data: boolean[], dims: number[]): string {
    const nm = this.fresh(name);
    this.inits.push({ name: nm, data_type: DT.BOOL, dims, raw_data: Uint8Array.from(data, (b) => (b ? 1 : 0)) });
    return nm;
  }

  /** Add a node with one output; returns the output's name. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    return this.nodeN(op, inputs, 1, attrs, outName ? [outName] : undefined)[0];
  }

  /** Add a node with `nOut` outputs. */
  nodeN(op: string, inputs: string[], nOut: number, attrs: Record<string, AttrValue> = {}, outNames?: string[]): string[] {
    for (const i of inputs)
      if (i !== '' && !this.names.has(i)) throw new Error(`ONNX graph ${this.name}: ${op} input "${i}" is not defined`);
    const outs = Array.from({ length: nOut }, (_, k) =>
      this.fresh(outNames?.[k] ?? `${op}_${this.nodes.length}${nOut > 1 ? `_${k}` : ''}`),
    );
    this.nodes.push({
      name: `${op}_${this.nodes.length}`,
      op_type: op,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Serialize as an ONNX ModelProto (default opset 17, IR version 8). */
  toBytes(opts: { opset?: number; producer?: string; doc?: string; metadata?: Record<string, string> } = {}): Uint8Array {
    const M = ModelProto();
    const model = {
      ir_version: 8,
      opset_import: [{ domain: '', version: opts.opset ?? 17 }],
      producer_name: opts.producer ?? 'flowloop',
      producer_version: '0.1.0',
      doc_string: opts.doc ?? '',
      graph: { name: this.name, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
      metadata_props: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
    const err = M.verify(model);
    if (err) throw new Error(`ONNX model ${this.name}: ${err}`);
    return M.encode(M.fromObject(model)).finish();
  }
}
