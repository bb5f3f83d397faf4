/**
 * y = act(γ·x̂ + β), x̂ standardised per (sample or batch, channel group): the
 * shared training path of BatchNorm and GroupNorm. On wasm and cpu it runs as
 * one fused kernel each way (`runtime/norm_kernels.ts`); elsewhere (native
 * TensorFlow, WebGL) as tfjs ops with the closed-form gradient of
 * `standardize`.
 */
import { tf } from '../runtime/tf';
import { NORM_AFFINE, NORM_AFFINE_GRAD, NORM_KERNEL_BACKENDS, NormAct, NormAttrs, registerNormKernels } from '../runtime/norm_kernels';
import { standardize } from './standardize';

registerNormKernels();

export interface NormAffineOptions {
  /** Channel groups sharing statistics (C for BatchNorm). */
  groups: number;
  /** Statistics per sample (GroupNorm) or over the whole batch (BatchNorm). */
  perSample: boolean;
  eps: number;
  act?: NormAct;
  /** Receives the biased mean and variance, `[groups]` (batch statistics only). */
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

function fusedHere(): boolean {
  return (NORM_KERNEL_BACKENDS as readonly string[]).includes(tf.getBackend()) && tf.getKernel(NORM_AFFINE, tf.getBackend()) !== undefined;
}

function composed(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, o: NormAffineOptions): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  let xHat: tf.Tensor;
  if (o.perSample) {
    xHat = tf.reshape(standardize(tf.reshape(x, [n, h * w, o.groups, c / o.groups]), [1, 3], o.eps), x.shape);
  } else {
    if (o.groups !== c) throw new Error('normAffine: batch statistics are per channel (groups = C)');
    xHat = standardize(x, [0, 1, 2], o.eps, (mean, variance) => o.onStats?.(tf.reshape(mean, [c]), tf.reshape(variance, [c])));
  }
  const y = tf.add(tf.mul(xHat, gamma), beta) as tf.Tensor4D;
  return o.act === 'relu' ? tf.relu(y) : y;
}

let gradientRegistered = false;

/**
 * The fused kernel's gradient, registered with tfjs as its own kernels'
 * are: the tape saves x, γ, β and the kernel's mean and 1/σ outputs as
 * shared handles (runtime/tape_saves.ts), where a `customGrad` wrapper
 * cloned five tensors through `Identity` per norm and wrapped the call in
 * scopes of its own. tfjs hands the two statistics outputs that no loss
 * reads a zero gradient, which the kernel ignores.
 */
function registerGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: NORM_AFFINE,
    inputsToSave: ['x', 'gamma', 'beta'],
    outputsToSave: [false, true, true, false],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
      const [x, gamma, beta, mean, invStd] = saved;
      const d = Array.isArray(dy) ? dy[0] : dy;
      const [dx, dg, db] = tf.engine().runKernel(NORM_AFFINE_GRAD, { dy: d, x, gamma, beta, mean, invStd }, attrs!) as tf.Tensor[];
      return { x: () => dx, gamma: () => dg, beta: () => db };
    },
  });
}

/** `[N, H, W, C]` → same shape. */
export function normAffine(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, o: NormAffineOptions): tf.Tensor4D {
  if (!fusedHere()) return composed(x, gamma, beta, o);
  registerGradient();
  const [n, h, w, c] = x.shape;
  const attrs: NormAttrs = o.perSample
    ? { b: n, m: h * w, c, groups: o.groups, eps: o.eps, act: o.act ?? 'identity' }
    : { b: 1, m: n * h * w, c, groups: o.groups, eps: o.eps, act: o.act ?? 'identity' };
  const [y, mean, invStd, variance] = tf.engine().runKernel(NORM_AFFINE, { x, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  if (!o.perSample) o.onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
  // The tape holds its own handles on what backward needs.
  tf.dispose([mean, invStd, variance]);
  return y as tf.Tensor4D;
}
