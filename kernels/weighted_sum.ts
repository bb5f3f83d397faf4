/**
 * Many weighted sums in one kernel call: output i = Σ_j w_j · term(i, j)
 * over k = weights.length terms per output, each product rounded to float32
 * and the sum taken left to right, so the values are those of the composed
 * `tf.add(tf.mul(a, wa), tf.mul(b, wb))`. The weight EMA (k = 2) and the
 * replicas' gradient average (k = replicas) run over every tensor of the model
 * after each step; composed, that is three or four kernel calls and as many
 * new tensors per model tensor, ~400 of them, and the calls cost more than
 * the arithmetic (18 ms a step for the EMA of the YOLOX job on one thread).
 *
 * A term is a tensor, or a run of elements of a flat tensor (a worker
 * replica's gradients arrive as one buffer: one upload instead of one tensor
 * per variable).
 */
import { tf } from '../engine/tf';
import { jsKernelBackend, jsKernelConfigs, runsHere, storage } from '../engine/kernel_storage';
import { simdFor } from '../engine/simd_module';
import { overwritable, written } from '../engine/in_place';

type TensorInfo = tf.TensorInfo;

export const WEIGHTED_SUMS = 'GhostdetWeightedSums';

/** `size(shape)` elements of `flat` from element `offset`, read as a tensor of that shape. */
export interface FlatRun { flat: tf.Tensor; offset: number }
export type SumTerm = tf.Tensor | FlatRun;

export interface WeightedSumsAttrs {
  /** One weight per term of an output; at least two. */
  weights: number[];
  /** Output shapes. */
  shapes: number[][];
  /** Per output, per term: (input index, element offset), flattened. */
  terms: number[];
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

function weightedSumsKernel(name: 'wasm' | 'cpu') {
  return (args: KernelArgs): TensorInfo[] => {
    const a = args.attrs as unknown as WeightedSumsAttrs;
    const w = a.weights.map((v) => Math.fround(v));
    const k = w.length;
    const input = (i: number, j: number): TensorInfo => args.inputs[`t${a.terms[2 * (i * k + j)]}`] as TensorInfo;
    const offset = (i: number, j: number): number => a.terms[2 * (i * k + j) + 1];
    const st = storage(args.backend, name);
    const out = st.alloc(a.shapes);
    const simd = name === 'wasm' ? simdFor(args.backend) : undefined;
    if (simd) {
      const at = (i: number, j: number): number => simd.ptr(input(i, j)) + 4 * offset(i, j);
      out.infos.forEach((o, i) => {
        const n = tf.util.sizeFromShape(o.shape), dst = simd.ptr(o);
        simd.k.weightedSum2(at(i, 0), at(i, 1), dst, n, w[0], w[1]);
        for (let j = 2; j < k; j++) simd.k.weightedSum2(dst, at(i, j), dst, n, 1, w[j]);
      });
      return out.infos;
    }
    const views = out.views();
    const read = (i: number, j: number, n: number): Float32Array => st.read(input(i, j)).subarray(offset(i, j), offset(i, j) + n);
    views.forEach((dst, i) => sumInto(dst, w.map((_, j) => read(i, j, dst.length)), w));
    return out.infos;
  };
}

/** dst = Σ_j w_j · xs[j] in float32 steps (dst may be xs[0]: each element is read before it is written). */
function sumInto(dst: Float32Array, xs: Float32Array[], w: number[]): void {
  const x0 = xs[0], x1 = xs[1];
  for (let e = 0; e < dst.length; e++) dst[e] = Math.fround(Math.fround(x0[e] * w[0]) + Math.fround(x1[e] * w[1]));
  for (let j = 2; j < xs.length; j++) {
    const x = xs[j];
    for (let e = 0; e < dst.length; e++) dst[e] = Math.fround(dst[e] + Math.fround(x[e] * w[j]));
  }
}

/** The kernel's config for `backendName` (wasm and cpu; none elsewhere). */
export function weightedSumConfigs(backendName: string): tf.KernelConfig[] {
  return jsKernelConfigs({ [WEIGHTED_SUMS]: weightedSumsKernel }, backendName);
}

const isTensor = (t: SumTerm): t is tf.Tensor => t instanceof tf.Tensor;

/** Checks a group and returns its output shape (that of its first term, which must be a tensor). */
function groupShape(g: SumTerm[], i: number, k: number): number[] {
  if (g.length !== k) throw new Error(`weightedSums: group ${i} has ${g.length} terms for ${k} weights`);
  const first = g[0];
  if (!isTensor(first)) throw new Error(`weightedSums: group ${i}: the first term must be a tensor (it gives the shape)`);
  const n = first.size;
  g.forEach((t, j) => {
    const src = isTensor(t) ? t : t.flat;
    const bad = src.dtype !== 'float32' || (isTensor(t) ? !tf.util.arraysEqual(t.shape, first.shape) : t.offset < 0 || t.offset + n > t.flat.size);
    if (bad) {
      const what = isTensor(t) ? `${t.dtype}[${t.shape}]` : `elements ${t.offset}..${t.offset + n} of ${t.flat.dtype}[${t.flat.size}]`;
      throw new Error(`weightedSums: group ${i}, term ${j} (${what}) does not match float32[${first.shape}]`);
    }
  });
  return first.shape;
}

function composedSum(g: SumTerm[], weights: number[]): tf.Tensor {
  const shape = (g[0] as tf.Tensor).shape;
  return tf.tidy(() => g
    .map((t, j) => tf.mul(isTensor(t) ? t : tf.reshape(tf.slice(t.flat.flatten(), t.offset, tf.util.sizeFromShape(shape)), shape), weights[j]))
    .reduce((a, b) => tf.add(a, b)));
}

/**
 * For each group of k terms with the element count of its first term,
 * Σ_j weights[j] · group[j] as a new tensor shaped like that first term. One
 * kernel call for all groups on wasm and cpu; composed ops elsewhere.
 */
export function weightedSums(groups: SumTerm[][], weights: number[]): tf.Tensor[] {
  const k = weights.length;
  if (k < 2) throw new Error(`weightedSums: needs at least two weights, got ${k}`);
  const shapes = groups.map((g, i) => groupShape(g, i, k));
  if (!groups.length) return [];
  if (!runsHere(WEIGHTED_SUMS)) return groups.map((g) => composedSum(g, weights));
  const inputs: Record<string, tf.Tensor> = {};
  const index = new Map<tf.Tensor, number>();
  const terms: number[] = [];
  for (const g of groups) {
    for (const t of g) {
      const src = isTensor(t) ? t : t.flat;
      let at = index.get(src);
      if (at === undefined) {
        at = index.size;
        index.set(src, at);
        inputs[`t${at}`] = src;
      }
      terms.push(at, isTensor(t) ? 0 : t.offset);
    }
  }
  const attrs: WeightedSumsAttrs = { weights, shapes, terms };
  const out = tf.engine().runKernel(WEIGHTED_SUMS, inputs, attrs as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out as tf.Tensor];
}

/**
 * As `weightedSums`, with each group's sum written over its first term
 * where that tensor owns its data (engine/in_place.ts; the same values),
 * and that tensor returned; the other groups get new tensors. So a caller
 * keeps what is returned and disposes the first terms that were not.
 */
export function weightedSumsInPlace(groups: SumTerm[][], weights: number[]): tf.Tensor[] {
  const k = weights.length;
  if (k < 2) throw new Error(`weightedSums: needs at least two weights, got ${k}`);
  groups.forEach((g, i) => groupShape(g, i, k));
  const name = jsKernelBackend();
  if (!name) return weightedSums(groups, weights);
  const w = weights.map((v) => Math.fround(v));
  const backend = tf.backend();
  const simd = name === 'wasm' ? simdFor(backend) : undefined;
  const st = storage(backend, name);
  const out: Array<tf.Tensor | undefined> = groups.map((g) => {
    const dst = g[0] as tf.Tensor;
    // A later term aliasing the first would be read after it is overwritten.
    const aliased = g.slice(1).some((t) => (isTensor(t) ? t : t.flat).dataId === dst.dataId);
    if (aliased || !overwritable([dst])) return undefined;
    const n = dst.size;
    if (simd) {
      const at = (t: SumTerm): number => (isTensor(t) ? simd.ptr(t) : simd.ptr(t.flat) + 4 * t.offset);
      const d = simd.ptr(dst);
      simd.k.weightedSum2(d, at(g[1]), d, n, w[0], w[1]);
      for (let j = 2; j < k; j++) simd.k.weightedSum2(d, at(g[j]), d, n, 1, w[j]);
    } else {
      const view = (t: SumTerm): Float32Array => (isTensor(t) ? st.read(t) : st.read(t.flat).subarray(t.offset, t.offset + n));
      const d = st.read(dst);
      sumInto(d, [d, ...g.slice(1).map(view)], w);
    }
    written([dst]);
    return dst;
  });
  const rest = groups.filter((_, i) => !out[i]);
  const fresh = weightedSums(rest, weights);
  let j = 0;
  return out.map((t) => t ?? fresh[j++]);
}

/**
 * Each variable ← Σ_j weights[j] · group[j], the variable itself the first
 * term: written over it where it owns its data, else assigned the new sum.
 */
export function blendInto(groups: Array<[tf.Variable, ...SumTerm[]]>, weights: number[]): void {
  const out = weightedSumsInPlace(groups, weights);
  groups.forEach(([v], i) => {
    if (out[i] === v) return;
    v.assign(out[i]);
    out[i].dispose();
  });
}
