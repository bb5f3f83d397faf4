/**
 * x̂ = (x − mean) / √(var + eps) over `axes` (biased variance), with the
 * closed-form gradient dx = σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)). The shared core
 * of BatchNorm (axes N, H, W) and GroupNorm (axes H·W and the group's
 * channels): tfjs's own gradients of `batchNorm` and of `moments` broadcast
 * with `Tile`, which on wasm is a per-element loop (a quarter of a detector's
 * training step); this uses only reductions and broadcasting arithmetic.
 */
import { tf } from '../engine/tf';

/** `onStats` receives the batch mean and variance (keepDims shape) inside the op, e.g. for running statistics. */
export function standardize(x: tf.Tensor, axes: number[], eps: number, onStats?: (mean: tf.Tensor, variance: tf.Tensor) => void): tf.Tensor {
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const { mean, variance } = tf.moments(input, axes, true);
    onStats?.(mean, variance);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    const xHat = tf.mul(tf.sub(input, mean), invStd);
    save([xHat, invStd]);
    return {
      value: xHat,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const g = dy as tf.Tensor;
        const [xh, inv] = saved;
        const centred = tf.sub(tf.sub(g, tf.mean(g, axes, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), axes, true)));
        return [tf.mul(centred, inv)];
      },
    };
  });
  return f(x);
}
