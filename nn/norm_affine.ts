/**
 * y = act(γ·x̂ + β), x̂ standardised per (sample or batch, channel group): the
 * shared training path of BatchNorm and GroupNorm. Where `kernels/norm.ts` is
 * registered (wasm, cpu) it runs as one fused kernel each way; elsewhere
 * (native TensorFlow, WebGPU, WebGL) as tfjs ops with the closed-form gradient of
 * `standardize`.
 */
import { tf } from '../engine/tf';
import { NORM_AFFINE, NormAct, NormAttrs } from '../kernels/norm';
import { runsHere } from '../engine/kernel_storage';
import { standardize } from './standardize';

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

/** `[N, H, W, C]` → same shape. */
export function normAffine(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, o: NormAffineOptions): tf.Tensor4D {
  if (!runsHere(NORM_AFFINE)) return composed(x, gamma, beta, o);
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
