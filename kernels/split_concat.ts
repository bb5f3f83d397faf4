/**
 * SplitV and Concat on wasm as strided row copies in our SIMD module
 * (simd/copy_runs.ts). tfjs-wasm runs both in JS, slicing row by row: a
 * channel split of an NHWC map is one small copy per pixel (G-Ghost's
 * concats, whose gradient is a split, cost 2 ms a call at 320×192).
 * float32 only; anything else, or no SIMD module, goes to wasm's own kernels.
 */
import { tf } from '../engine/tf';
import { storage } from '../engine/kernel_storage';
import { simdFor } from '../engine/simd_module';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;
type KernelArgs = { inputs: tf.NamedTensorInfoMap | TensorInfo[]; backend: Backend; attrs?: tf.NamedAttrMap };

/** [outer, axis, inner] sizes of a shape around `axis`. */
function around(shape: number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis], inner];
}

function splitV(original: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const { x } = args.inputs as { x: TensorInfo };
    const simd = simdFor(args.backend);
    if (!simd || x.dtype !== 'float32') return original(args as unknown as Parameters<tf.KernelFunc>[0]);
    const a = args.attrs as unknown as tf.SplitVAttrs;
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
    const [outer, dim, inner] = around(x.shape, axis);
    const outs = storage(args.backend, 'wasm').alloc(sizes.map((s) => x.shape.map((d, i) => (i === axis ? s : d)))).infos;
    let start = 0;
    outs.forEach((o, i) => {
      if (sizes[i] * inner * outer > 0) simd.k.copyRuns(simd.ptr(x) + start * inner * 4, simd.ptr(o), outer, sizes[i] * inner, dim * inner, sizes[i] * inner);
      start += sizes[i];
    });
    return outs;
  };
}

function concat(original: tf.KernelFunc) {
  return (args: KernelArgs): TensorInfo | TensorInfo[] => {
    const xs = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)) as TensorInfo[];
    const simd = simdFor(args.backend);
    if (!simd || xs.length === 0 || xs.some((t) => t.dtype !== 'float32')) return original(args as unknown as Parameters<tf.KernelFunc>[0]);
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, xs[0].shape)[0];
    const shape = tf.backend_util.computeOutShape(xs.map((t) => t.shape), axis);
    const [outer, dim, inner] = around(shape, axis);
    const [out] = storage(args.backend, 'wasm').alloc([shape]).infos;
    let start = 0;
    for (const t of xs) {
      const len = t.shape[axis] * inner;
      if (len * outer > 0) simd.k.copyRuns(simd.ptr(t), simd.ptr(out) + start * inner * 4, outer, len, len, dim * inner);
      start += t.shape[axis];
    }
    return out;
  };
}

/** Ours in front of wasm's SplitV and Concat (they fall back to wasm's for other dtypes); none elsewhere. */
export function splitConcatConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName !== 'wasm') return [];
  const configs: tf.KernelConfig[] = [];
  for (const [name, make] of [['SplitV', splitV], ['Concat', concat]] as const) {
    const k = tf.getKernel(name, 'wasm');
    if (k) configs.push({ ...k, kernelFunc: make(k.kernelFunc) as tf.KernelFunc });
  }
  return configs;
}
