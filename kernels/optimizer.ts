/**
 * One-pass optimizer kernels for wasm and cpu. Composed from tfjs ops, an
 * AdamW update is ~10 kernel calls and as many passes per parameter tensor,
 * and the global gradient norm two more per tensor; with ~200 tensors the
 * calls themselves cost more than the arithmetic. Here: one call per tensor
 * for the update, one call for the norm of all of them.
 */
import { tf } from '../engine/tf';
import { JS_KERNEL_BACKENDS, jsKernelConfigs, runsHere, storage } from '../engine/kernel_storage';
import { simdFor } from '../engine/simd_module';
import { overwritable, written } from '../engine/in_place';

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend;

export const ADAMW_UPDATE = 'GhostdetAdamWUpdate';
export const SUM_OF_SQUARES = 'GhostdetSumOfSquares';
export const OPTIMIZER_KERNEL_BACKENDS = JS_KERNEL_BACKENDS;

/** `torch.optim.AdamW`'s step for one tensor, with the gradient scaled first (clipping). */
export interface AdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 − lr·weight_decay (1 where the tensor takes no decay). */
  decay: number;
  /** 1 − beta1^t and 1 − beta2^t. */
  bc1: number;
  bc2: number;
  gradScale: number;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: Backend; attrs?: tf.NamedAttrMap };

function adamwKernel(name: 'wasm' | 'cpu') {
  return (args: KernelArgs): TensorInfo[] => {
    const { p, g, m, v } = args.inputs as Record<string, TensorInfo>;
    const a = args.attrs as unknown as AdamWAttrs;
    const st = storage(args.backend, name);
    const out = st.alloc([p.shape, p.shape, p.shape]);
    const simd = name === 'wasm' ? simdFor(args.backend) : undefined;
    if (simd) {
      const [p2, m2, v2] = out.infos.map((t) => simd.ptr(t));
      simd.k.adamwStep(simd.ptr(p), simd.ptr(g), simd.ptr(m), simd.ptr(v), p2, m2, v2, tf.util.sizeFromShape(p.shape),
        a.lr, a.beta1, a.beta2, a.eps, a.decay, a.bc1, a.bc2, a.gradScale);
      return out.infos;
    }
    const [p2, m2, v2] = out.views();
    adamwLoop(st.read(p), st.read(g), st.read(m), st.read(v), p2, m2, v2, a);
    return out.infos;
  };
}

/**
 * The step in JS, every operation rounded to float32 in the order of
 * simd/optimizer.ts (so both give the same bits); the outputs may be the
 * inputs (each element is read before it is written).
 */
function adamwLoop(ps: Float32Array, gs: Float32Array, ms: Float32Array, vs: Float32Array, p2: Float32Array, m2: Float32Array, v2: Float32Array, a: AdamWAttrs): void {
  const f = Math.fround;
  const step = f(a.lr / a.bc1), sqrtBc2 = f(Math.sqrt(a.bc2));
  const b1 = f(a.beta1), c1 = f(1 - a.beta1), b2 = f(a.beta2), c2 = f(1 - a.beta2);
  const scale = f(a.gradScale), decay = f(a.decay), eps = f(a.eps);
  for (let i = 0; i < ps.length; i++) {
    const gi = f(gs[i] * scale);
    const mi = f(f(b1 * ms[i]) + f(c1 * gi));
    const vi = f(f(b2 * vs[i]) + f(c2 * f(gi * gi)));
    const pi = ps[i];
    m2[i] = mi;
    v2[i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) / sqrtBc2) + eps);
    p2[i] = f(f(pi * decay) - f(step * f(mi / denom)));
  }
}

/**
 * The same step written over p, m and v where they own their data (see
 * engine/in_place.ts): the values of the kernel, no new tensors. False
 * where they do not (the caller runs the kernel).
 */
export function adamwInPlace(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, a: AdamWAttrs): boolean {
  const name = overwritable([p, m, v]);
  if (!name || g.dtype !== 'float32') return false;
  const backend = tf.backend();
  const simd = name === 'wasm' ? simdFor(backend) : undefined;
  if (simd) {
    const [pp, mp, vp] = [p, m, v].map((t) => simd.ptr(t));
    simd.k.adamwStep(pp, simd.ptr(g), mp, vp, pp, mp, vp, p.size, a.lr, a.beta1, a.beta2, a.eps, a.decay, a.bc1, a.bc2, a.gradScale);
  } else {
    const st = storage(backend, name);
    const [ps, ms, vs] = [p, m, v].map((t) => st.read(t));
    adamwLoop(ps, st.read(g), ms, vs, ps, ms, vs, a);
  }
  written([p, m, v]);
  return true;
}

function sumOfSquaresKernel(name: 'wasm' | 'cpu') {
  return (args: KernelArgs): TensorInfo => {
    const st = storage(args.backend, name);
    const out = st.alloc([[]]);
    const simd = name === 'wasm' ? simdFor(args.backend) : undefined;
    let s = 0;
    for (const t of Object.values(args.inputs)) {
      if (simd) {
        s += simd.k.sumSquares(simd.ptr(t as TensorInfo), tf.util.sizeFromShape((t as TensorInfo).shape));
        continue;
      }
      const x = st.read(t as TensorInfo);
      for (let i = 0; i < x.length; i++) s += x[i] * x[i];
    }
    out.views()[0][0] = s;
    return out.infos[0];
  };
}

/** The optimizer kernels' configs for `backendName` (wasm and cpu; none elsewhere). */
export function optimizerConfigs(backendName: string): tf.KernelConfig[] {
  return jsKernelConfigs({ [ADAMW_UPDATE]: adamwKernel, [SUM_OF_SQUARES]: sumOfSquaresKernel }, backendName);
}

/** Whether the current backend runs these kernels. */
export function optimizerKernelsHere(): boolean {
  return runsHere(ADAMW_UPDATE);
}

/**
 * Σ of same-shaped tensors, at most 4 inputs a kernel: WebGPU binds each
 * input as a storage buffer, and a shader may have as few as 8 (tfjs-webgpu's
 * AddN of ~180 gradient norms fails to compile, and with it the whole step).
 */
function addMany(ts: tf.Tensor[]): tf.Tensor {
  let level = ts;
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 4) next.push(level.length - i === 1 ? level[i] : tf.addN(level.slice(i, i + 4)));
    level = next;
  }
  return level[0];
}

/**
 * Σ x² over every element of every tensor as a float32 scalar tensor: one
 * kernel call where ours runs (float64 accumulation), composed ops
 * elsewhere. Nothing is read: the caller reads it with whatever else it
 * needs from the device, in one asynchronous read.
 */
export function sumOfSquaresTensor(ts: tf.Tensor[]): tf.Scalar {
  if (!ts.length) return tf.scalar(0);
  if (!optimizerKernelsHere()) return tf.tidy(() => addMany(ts.map((g) => tf.sum(tf.square(g)))) as tf.Scalar);
  const inputs = Object.fromEntries(ts.map((t, i) => [`t${i}`, t]));
  return tf.engine().runKernel(SUM_OF_SQUARES, inputs) as tf.Scalar;
}

/** Σ x² read back (asynchronously). */
export async function sumOfSquares(ts: tf.Tensor[]): Promise<number> {
  const r = sumOfSquaresTensor(ts);
  const s = (await r.data())[0];
  r.dispose();
  return s;
}
