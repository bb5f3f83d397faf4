/**
 * Add and Relu on wasm, on the calling thread in our SIMD module, for the
 * shapes a conv net makes: a tensor plus a same-shape tensor (residuals) or
 * plus a per-channel vector (conv biases), and Relu of a tensor whose last
 * axis is its channels. Other shapes and dtypes go to tfjs's kernels.
 *
 * Why: the threaded tfjs-wasm build hands even a 16K-element add to
 * XNNPACK's thread pool, and waking the pool costs more than the add. The
 * main job's forward at 128² spent 9.7 ms in 79 Adds and 4.1 ms in 44 Relus
 * on 2 threads, against 1.4 and 0.7 ms on 1 thread.
 *
 * The sums are exact float32 additions (x·1 + b), as tfjs computes them.
 */
import { tf } from '../engine/tf';
import { storage } from '../engine/kernel_storage';
import { simdFor, Simd } from '../engine/simd_module';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

/** Widest channel axis served here; wider ones go to tfjs (the constant vectors below are kept per width). */
const MAX_CHANNELS = 1 << 16;

/** Per module, per width: `ones` and `zeros` vectors on the heap (never freed: a few widths per model). */
const constants = new WeakMap<Simd, Map<number, { ones: number; zeros: number }>>();

function vectors(simd: Simd, c: number): { ones: number; zeros: number } {
  let byWidth = constants.get(simd);
  if (!byWidth) constants.set(simd, (byWidth = new Map()));
  let v = byWidth.get(c);
  if (!v) {
    v = { ones: simd.malloc(4 * c), zeros: simd.malloc(4 * c) };
    simd.f32(v.ones, c).fill(1);
    simd.f32(v.zeros, c).fill(0);
    byWidth.set(c, v);
  }
  return v;
}

const size = (t: TensorInfo): number => tf.util.sizeFromShape(t.shape);

/** `v` broadcasts over `x` as one value per channel (last axis) and the result has `x`'s shape. */
function isChannelVector(v: TensorInfo, x: TensorInfo): boolean {
  const c = x.shape[x.shape.length - 1];
  return x.shape.length >= 1 && v.shape.length <= x.shape.length && size(v) === c && v.shape[v.shape.length - 1] === c && c <= MAX_CHANNELS;
}

function addKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    const backend = args.backend as Backend;
    const simd = simdFor(backend);
    if (!simd || a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const st = storage(backend, 'wasm');
    if (tf.util.arraysEqual(a.shape, b.shape)) {
      const out = st.alloc([a.shape]).infos[0];
      simd.k.weightedSum2(simd.ptr(a), simd.ptr(b), simd.ptr(out), size(a), 1, 1);
      return out;
    }
    const [x, v] = isChannelVector(b, a) ? [a, b] : isChannelVector(a, b) ? [b, a] : [undefined, undefined];
    if (!x || !v) return fallback(args);
    const c = x.shape[x.shape.length - 1];
    const out = st.alloc([x.shape]).infos[0];
    simd.k.normApply(simd.ptr(x), simd.ptr(out), size(x) / c, c, vectors(simd, c).ones, simd.ptr(v), 0);
    return out;
  };
}

function reluKernel(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const backend = args.backend as Backend;
    const simd = simdFor(backend);
    const c = x.shape[x.shape.length - 1];
    if (!simd || x.dtype !== 'float32' || x.shape.length < 2 || c > MAX_CHANNELS || size(x) === 0) return fallback(args);
    const out = storage(backend, 'wasm').alloc([x.shape]).infos[0];
    const v = vectors(simd, c);
    simd.k.normApply(simd.ptr(x), simd.ptr(out), size(x) / c, c, v.ones, v.zeros, 1);
    return out;
  };
}

/** Add and Relu in front of wasm's own (which stay the fallback); none on other backends. */
export function elementwiseConfigs(backendName: string): tf.KernelConfig[] {
  if (backendName !== 'wasm') return [];
  const configs: tf.KernelConfig[] = [];
  for (const [name, make] of [['Add', addKernel], ['Relu', reluKernel]] as const) {
    const tfjs = tf.getKernel(name, backendName);
    if (tfjs) configs.push({ kernelName: name, backendName, setupFunc: tfjs.setupFunc, disposeFunc: tfjs.disposeFunc, kernelFunc: make(tfjs.kernelFunc) });
  }
  return configs;
}
