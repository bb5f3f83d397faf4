/**
 * The ONNX value behind each traced tfjs tensor, in either of two layouts.
 *
 * tfjs runs NHWC; ONNX's Conv, pooling and Resize want NCHW. A 4-D value is
 * kept in whichever layout its producer wrote (`nchw`: the ONNX value is the
 * tfjs tensor transposed by (0, 3, 1, 2); `plain`: the same element order as
 * tfjs). A consumer asks for the layout it needs and a Transpose is added
 * once, the first time, so a chain of NCHW operators has none between them.
 * Constants (weights, scalars the forward made) are written as initializers
 * directly in the layout asked for.
 */
import type { tf } from '../engine/tf';
import type { OnnxGraph } from './onnx_graph';
import type { Trace, TracedTensor } from './trace_forward';

export type Layout = 'nchw' | 'plain';

/** NHWC axis → NCHW axis. */
export const NCHW_AXIS = [0, 2, 3, 1] as const;
/** Transposes between the layouts (ONNX `perm`). */
const TO_NCHW = [0, 3, 1, 2];
const TO_PLAIN = [0, 2, 3, 1];

/** `values` of `shape` permuted by `perm` (row-major). */
export function permute(values: ArrayLike<number>, shape: number[], perm: number[]): { values: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(values.length);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d] * strides[perm[d]];
    out[o] = values[src];
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { values: out, shape: outShape };
}

/** An op the export cannot write, with where it came from. */
export class UnsupportedOpError extends Error {}

export class TracedValues {
  private readonly names = new Map<number, Partial<Record<Layout, string>>>();
  private readonly constantNames = new Map<number, Partial<Record<Layout, string>>>();

  constructor(readonly graph: OnnxGraph, private readonly trace: Trace) {}

  /** Records that `t` is the ONNX value `name` in `layout`. */
  set(t: TracedTensor, name: string, layout: Layout): void {
    this.names.set(t.id, { [layout]: name });
  }

  isConstant(t: TracedTensor): boolean {
    return this.trace.constants.has(t.id) && !this.names.has(t.id);
  }

  /** A constant's values (weights, scalars). */
  constantValues(t: TracedTensor, what: string): tf.TypedArray {
    const c = this.trace.constants.get(t.id);
    if (!c) throw new UnsupportedOpError(`${what} is computed by the graph; the export needs it constant`);
    return c.values;
  }

  /** The layout `t` is available in without a Transpose (4-D values only can be nchw). */
  layoutOf(t: TracedTensor): Layout | 'constant' {
    const have = this.names.get(t.id);
    if (!have) return 'constant';
    return have.nchw ? 'nchw' : 'plain';
  }

  /** The ONNX value for `t` in `layout` (`nchw` applies to 4-D tensors; others are always plain). */
  get(t: TracedTensor, layout: Layout): string {
    const want: Layout = t.shape.length === 4 ? layout : 'plain';
    const have = this.names.get(t.id);
    if (!have) return this.constant(t, want);
    const hit = have[want];
    if (hit) return hit;
    const from = want === 'nchw' ? have.plain! : have.nchw!;
    const name = this.graph.op('Transpose', [from], { perm: { ints: want === 'nchw' ? TO_NCHW : TO_PLAIN } }, want === 'nchw' ? 'to_nchw' : 'to_nhwc');
    have[want] = name;
    return name;
  }

  /**
   * `t` as an operand of a broadcasting op whose 4-D result is NCHW: lower
   * ranks are right-aligned to NHWC, then moved to NCHW, as numpy
   * broadcasting of the tfjs operand would place them.
   */
  broadcastNchw(t: TracedTensor): string {
    if (t.shape.length === 4) return this.get(t, 'nchw');
    if (t.shape.length === 0) return this.get(t, 'plain');
    const shape4 = [...new Array<number>(4 - t.shape.length).fill(1), ...t.shape];
    if (this.isConstant(t)) {
      const p = permute(this.constantValues(t, 'operand'), shape4, TO_NCHW);
      return this.graph.floats(p.values, p.shape, 'const');
    }
    const r = this.graph.op('Reshape', [this.get(t, 'plain'), this.graph.int64s(shape4)]);
    return this.graph.op('Transpose', [r], { perm: { ints: TO_NCHW } }, 'to_nchw');
  }

  private constant(t: TracedTensor, layout: Layout): string {
    const cached = this.constantNames.get(t.id) ?? {};
    this.constantNames.set(t.id, cached);
    return (cached[layout] ??= this.writeConstant(t, layout));
  }

  private writeConstant(t: TracedTensor, layout: Layout): string {
    const values = this.constantValues(t, `tensor ${t.id}`);
    if (t.dtype !== 'float32') {
      if (t.dtype === 'int32') return this.graph.int64s(values, t.shape);
      throw new UnsupportedOpError(`a ${t.dtype} constant`);
    }
    if (layout === 'nchw') {
      const p = permute(values, t.shape, TO_NCHW);
      return this.graph.floats(p.values, p.shape);
    }
    return this.graph.floats(values, t.shape);
  }
}
