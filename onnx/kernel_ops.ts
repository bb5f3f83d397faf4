/**
 * tfjs kernels → ONNX operators (opset 13–17), one entry per kernel the
 * forward passes of ghostdet's model zoo run, plus the common elementwise and
 * shape kernels a new module is likely to use. A kernel missing here stops
 * the export with its name and the module it ran in.
 *
 * Each handler reads the traced inputs in the layout it needs (NCHW for
 * spatial operators; see traced_values.ts) and records its outputs.
 */
import { NCHW_AXIS, permute, TracedValues, UnsupportedOpError } from './traced_values';
import type { Attr } from './onnx_graph';
import type { KernelRecord, TracedTensor } from './trace_forward';

type Handler = (v: TracedValues, r: KernelRecord) => void;

const pair = (x: unknown): [number, number] => (Array.isArray(x) ? [Number(x[0]), Number(x[1])] : [Number(x), Number(x)]);
const rank = (t: TracedTensor): number => t.shape.length;
const norm = (axis: number, r: number): number => (axis < 0 ? axis + r : axis);

/** An input by name, or the error that names what is missing. */
function input(r: KernelRecord, name: string): TracedTensor {
  const t = r.inputs[name];
  if (!t) throw new UnsupportedOpError(`${r.name} without input "${name}"`);
  return t;
}

/** Ops that map one to one and keep their input's layout. */
function unary(op: string, attrs: (r: KernelRecord) => Record<string, Attr> = () => ({})): Handler {
  return (v, r) => {
    const x = input(r, 'x');
    const layout = v.layoutOf(x) === 'nchw' ? 'nchw' : 'plain';
    v.set(r.outputs[0], v.graph.op(op, [v.get(x, layout)], attrs(r), op.toLowerCase()), layout);
  };
}

/** Broadcasting binary ops: NCHW when the result is 4-D and an operand already is. */
function binary(op: string): Handler {
  return (v, r) => {
    const ins = [input(r, 'a'), input(r, 'b')];
    const nchw = rank(r.outputs[0]) === 4 && ins.some((t) => v.layoutOf(t) === 'nchw');
    const names = ins.map((t) => (nchw ? v.broadcastNchw(t) : v.get(t, 'plain')));
    v.set(r.outputs[0], v.graph.op(op, names, {}, op.toLowerCase()), nchw ? 'nchw' : 'plain');
  };
}

function clip(v: TracedValues, r: KernelRecord, lo: number, hi: number): void {
  const x = input(r, 'x');
  const layout = v.layoutOf(x) === 'nchw' ? 'nchw' : 'plain';
  v.set(r.outputs[0], v.graph.op('Clip', [v.get(x, layout), v.graph.scalar(lo), v.graph.scalar(hi)], {}, 'clip'), layout);
}

/** ONNX conv/pool padding attributes for a tfjs `pad`. */
function padAttrs(pad: unknown, what: string): Record<string, Attr> {
  if (pad === 'valid') return { pads: { ints: [0, 0, 0, 0] } };
  // tfjs 'same' puts the odd pixel at the end, as SAME_UPPER does.
  if (pad === 'same') return { auto_pad: { s: 'SAME_UPPER' } };
  if (typeof pad === 'number') return { pads: { ints: [pad, pad, pad, pad] } };
  if (Array.isArray(pad) && pad.length === 4) {
    const [[n0, n1], [t, b], [l, rr], [c0, c1]] = pad as number[][];
    if (n0 || n1 || c0 || c1) throw new UnsupportedOpError(`${what} padding over the batch or channel axis`);
    return { pads: { ints: [t, l, b, rr] } };
  }
  throw new UnsupportedOpError(`${what} padding ${JSON.stringify(pad)}`);
}

function noRounding(r: KernelRecord): void {
  if (r.attrs.dimRoundingMode != null) throw new UnsupportedOpError(`${r.name} with dimRoundingMode "${String(r.attrs.dimRoundingMode)}"`);
}

/** tf.conv2d / tf.depthwiseConv2d with a constant filter → Conv (NCHW, OIHW weights). */
function conv(depthwise: boolean): Handler {
  return (v, r) => {
    if (r.attrs.dataFormat && r.attrs.dataFormat !== 'NHWC') throw new UnsupportedOpError(`${r.name} in ${String(r.attrs.dataFormat)}`);
    noRounding(r);
    const x = input(r, 'x'), f = input(r, 'filter');
    const [kh, kw, cin, m] = f.shape;
    const values = v.constantValues(f, `${r.name} filter`);
    // HWIO → OIHW; depthwise [kh, kw, C, m] → [C·m, 1, kh, kw] (output channel c·m + j).
    const w = depthwise ? permute(values, f.shape, [2, 3, 0, 1]) : permute(values, f.shape, [3, 2, 0, 1]);
    const dims = depthwise ? [cin * m, 1, kh, kw] : w.shape;
    const y = v.graph.op('Conv', [v.get(x, 'nchw'), v.graph.floats(w.values, dims, 'weight')], {
      kernel_shape: { ints: [kh, kw] }, strides: { ints: pair(r.attrs.strides) }, dilations: { ints: pair(r.attrs.dilations ?? 1) },
      group: { i: depthwise ? cin : 1 }, ...padAttrs(r.attrs.pad, r.name),
    }, 'conv');
    v.set(r.outputs[0], y, 'nchw');
  };
}

function pool(op: string): Handler {
  return (v, r) => {
    noRounding(r);
    const x = input(r, 'x');
    const attrs: Record<string, Attr> = { kernel_shape: { ints: pair(r.attrs.filterSize) }, strides: { ints: pair(r.attrs.strides) }, ...padAttrs(r.attrs.pad, r.name) };
    // tfjs averages over the window's pixels inside the input, ONNX's default.
    v.set(r.outputs[0], v.graph.op(op, [v.get(x, 'nchw')], attrs, op.toLowerCase()), 'nchw');
  };
}

/** ReduceMean/ReduceMax (axes an attribute up to opset 17) and ReduceSum (axes an input since 13). */
function reduce(op: 'ReduceMean' | 'ReduceMax' | 'ReduceSum', axisAttr: string): Handler {
  return (v, r) => {
    const x = input(r, 'x');
    const raw = r.attrs[axisAttr];
    const axes = (raw == null ? x.shape.map((_, i) => i) : Array.isArray(raw) ? (raw as number[]) : [Number(raw)]).map((a) => norm(a, rank(x)));
    const keep = Boolean(r.attrs.keepDims);
    const nchw = keep && rank(x) === 4 && v.layoutOf(x) === 'nchw';
    const onnxAxes = nchw ? axes.map((a) => NCHW_AXIS[a]) : axes;
    const data = v.get(x, nchw ? 'nchw' : 'plain');
    const y = op === 'ReduceSum'
      ? v.graph.op(op, [data, v.graph.int64s(onnxAxes)], { keepdims: { i: keep ? 1 : 0 } }, 'sum')
      : v.graph.op(op, [data], { axes: { ints: onnxAxes }, keepdims: { i: keep ? 1 : 0 } }, op.toLowerCase());
    v.set(r.outputs[0], y, nchw ? 'nchw' : 'plain');
  };
}

const concat: Handler = (v, r) => {
  const ins = Object.keys(r.inputs).sort((a, b) => Number(a) - Number(b)).map((k) => r.inputs[k]);
  const out = r.outputs[0];
  const axis = norm(Number(r.attrs.axis), rank(out));
  const nchw = rank(out) === 4 && ins.some((t) => v.layoutOf(t) === 'nchw');
  const names = ins.map((t) => v.get(t, nchw ? 'nchw' : 'plain'));
  v.set(out, v.graph.op('Concat', names, { axis: { i: nchw ? NCHW_AXIS[axis] : axis } }, 'concat'), nchw ? 'nchw' : 'plain');
};

const split: Handler = (v, r) => {
  const x = input(r, 'x');
  const axis = norm(Number(r.attrs.axis), rank(x));
  const sizes = r.outputs.map((o) => o.shape[axis]);
  const nchw = rank(x) === 4 && v.layoutOf(x) === 'nchw';
  const outs = v.graph.node('Split', [v.get(x, nchw ? 'nchw' : 'plain'), v.graph.int64s(sizes)], { axis: { i: nchw ? NCHW_AXIS[axis] : axis } }, sizes.length, 'split');
  r.outputs.forEach((o, i) => v.set(o, outs[i], nchw ? 'nchw' : 'plain'));
};

/** Slice over the axes that are cut; untouched axes (the batch, dynamic in the graph) are left out. */
const slice: Handler = (v, r) => {
  const x = input(r, 'x');
  const R = rank(x);
  const asList = (a: unknown, fill: number): number[] => (Array.isArray(a) ? (a as number[]) : [Number(a), ...new Array<number>(R - 1).fill(fill)]);
  const begin = asList(r.attrs.begin, 0), size = asList(r.attrs.size, -1);
  const nchw = R === 4 && v.layoutOf(x) === 'nchw';
  const axes: number[] = [], starts: number[] = [], ends: number[] = [];
  for (let a = 0; a < R; a++) {
    const b = begin[a] ?? 0, s = size[a] ?? -1;
    const end = s < 0 ? x.shape[a] : b + s;
    if (b === 0 && end === x.shape[a]) continue;
    axes.push(nchw ? NCHW_AXIS[a] : a); starts.push(b); ends.push(end);
  }
  const data = v.get(x, nchw ? 'nchw' : 'plain');
  const y = axes.length ? v.graph.op('Slice', [data, v.graph.int64s(starts), v.graph.int64s(ends), v.graph.int64s(axes)], {}, 'slice') : data;
  v.set(r.outputs[0], y, nchw ? 'nchw' : 'plain');
};

const pad: Handler = (v, r) => {
  const x = input(r, 'x');
  const p = r.attrs.paddings as number[][];
  const nchw = rank(x) === 4 && v.layoutOf(x) === 'nchw';
  const order = nchw ? [0, 3, 1, 2] : p.map((_, i) => i);
  const pads = [...order.map((a) => p[a][0]), ...order.map((a) => p[a][1])];
  const y = v.graph.op('Pad', [v.get(x, nchw ? 'nchw' : 'plain'), v.graph.int64s(pads), v.graph.scalar(Number(r.attrs.constantValue ?? 0))], { mode: { s: 'constant' } }, 'pad');
  v.set(r.outputs[0], y, nchw ? 'nchw' : 'plain');
};

/** Resize to a fixed size; the batch and channel sizes come from the input at run time. */
function resize(mode: 'nearest' | 'linear'): Handler {
  return (v, r) => {
    const x = input(r, 'images');
    const g = v.graph;
    const [h, w] = r.attrs.size as number[];
    const align = Boolean(r.attrs.alignCorners), half = Boolean(r.attrs.halfPixelCenters);
    const attrs: Record<string, Attr> = { mode: { s: mode } };
    if (align) attrs.coordinate_transformation_mode = { s: 'align_corners' };
    else if (half) attrs.coordinate_transformation_mode = { s: mode === 'nearest' ? 'tf_half_pixel_for_nn' : 'half_pixel' };
    else attrs.coordinate_transformation_mode = { s: 'asymmetric' };
    // tfjs: nearest source = floor(dst · in / out) (round when aligning corners).
    if (mode === 'nearest') attrs.nearest_mode = { s: align ? 'round_prefer_ceil' : 'floor' };
    const data = v.get(x, 'nchw');
    const nc = g.op('Slice', [g.op('Shape', [data], {}, 'shape'), g.int64s([0]), g.int64s([2])], {}, 'nc');
    const sizes = g.op('Concat', [nc, g.int64s([h, w])], { axis: { i: 0 } }, 'sizes');
    v.set(r.outputs[0], g.op('Resize', [data, '', '', sizes], attrs, 'resize'), 'nchw');
  };
}

/** Reshape in tfjs's element order; a leading dimension equal to the input's is copied at run time (the batch). */
const reshape: Handler = (v, r) => {
  const x = input(r, 'x'), out = r.outputs[0];
  const dims = [...out.shape];
  if (dims.length && rank(x) && dims[0] === x.shape[0]) dims[0] = 0;
  v.set(out, v.graph.op('Reshape', [v.get(x, 'plain'), v.graph.int64s(dims)], {}, 'reshape'), 'plain');
};

const transpose: Handler = (v, r) => {
  const x = input(r, 'x');
  v.set(r.outputs[0], v.graph.op('Transpose', [v.get(x, 'plain')], { perm: { ints: r.attrs.perm as number[] } }, 'transpose'), 'plain');
};

/** Inference BatchNorm (running statistics) → BatchNormalization, NCHW. */
const batchNorm: Handler = (v, r) => {
  const x = input(r, 'x');
  const c = x.shape[x.shape.length - 1];
  if (rank(x) !== 4) throw new UnsupportedOpError(`${r.name} on a rank-${rank(x)} tensor`);
  const vec = (name: string, fill: number): string => {
    const t = r.inputs[name];
    return t ? v.get(t, 'plain') : v.graph.floats(new Float32Array(c).fill(fill), [c], name);
  };
  const y = v.graph.op('BatchNormalization', [v.get(x, 'nchw'), vec('scale', 1), vec('offset', 0), vec('mean', 0), vec('variance', 1)],
    { epsilon: { f: Number(r.attrs.varianceEpsilon) } }, 'bn');
  v.set(r.outputs[0], y, 'nchw');
};

/** The last two axes swapped (MatMul's transposeA/B). */
const swapLast = (r: number): number[] => [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];

const matMul: Handler = (v, r) => {
  const operand = (name: string, flag: unknown): string => {
    const t = input(r, name), s = v.get(t, 'plain');
    return flag ? v.graph.op('Transpose', [s], { perm: { ints: swapLast(rank(t)) } }, 'transpose') : s;
  };
  v.set(r.outputs[0], v.graph.op('MatMul', [operand('a', r.attrs.transposeA), operand('b', r.attrs.transposeB)], {}, 'matmul'), 'plain');
};

const identity: Handler = (v, r) => {
  const x = input(r, 'x');
  const layout = v.layoutOf(x) === 'nchw' ? 'nchw' : 'plain';
  v.set(r.outputs[0], v.get(x, layout), layout);
};

const square: Handler = (v, r) => {
  const x = input(r, 'x');
  const layout = v.layoutOf(x) === 'nchw' ? 'nchw' : 'plain';
  const s = v.get(x, layout);
  v.set(r.outputs[0], v.graph.op('Mul', [s, s], {}, 'square'), layout);
};

const addN: Handler = (v, r) => {
  const ins = Object.values(r.inputs);
  const nchw = rank(r.outputs[0]) === 4 && ins.some((t) => v.layoutOf(t) === 'nchw');
  v.set(r.outputs[0], v.graph.op('Sum', ins.map((t) => (nchw ? v.broadcastNchw(t) : v.get(t, 'plain'))), {}, 'sum'), nchw ? 'nchw' : 'plain');
};

/** tfjs kernel name → how it is written. */
export const KERNEL_OPS: Readonly<Record<string, Handler>> = {
  Conv2D: conv(false),
  DepthwiseConv2dNative: conv(true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Mean: reduce('ReduceMean', 'axis'),
  Max: reduce('ReduceMax', 'reductionIndices'),
  Sum: reduce('ReduceSum', 'axis'),
  Concat: concat,
  SplitV: split,
  Slice: slice,
  PadV2: pad,
  ResizeNearestNeighbor: resize('nearest'),
  ResizeBilinear: resize('linear'),
  Reshape: reshape,
  Transpose: transpose,
  FusedBatchNorm: batchNorm,
  BatchMatMul: matMul,
  Identity: identity,
  Add: binary('Add'),
  Sub: binary('Sub'),
  Multiply: binary('Mul'),
  RealDiv: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Pow: binary('Pow'),
  AddN: addN,
  Relu: unary('Relu'),
  Relu6: (v, r) => clip(v, r, 0, 6),
  ClipByValue: (v, r) => clip(v, r, Number(r.attrs.clipValueMin), Number(r.attrs.clipValueMax)),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Exp: unary('Exp'),
  Log: unary('Log'),
  Sqrt: unary('Sqrt'),
  Abs: unary('Abs'),
  Neg: unary('Neg'),
  Reciprocal: unary('Reciprocal'),
  Elu: unary('Elu'),
  Softplus: unary('Softplus'),
  LeakyRelu: unary('LeakyRelu', (r) => ({ alpha: { f: Number(r.attrs.alpha) } })),
  Square: square,
};
