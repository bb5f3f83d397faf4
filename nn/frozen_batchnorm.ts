/**
 * BatchNorm on fixed (running) statistics: y = γ·(x − μ)/√(σ² + eps) + β,
 * a per-channel affine map. The forward is tfjs's one `batchNorm` kernel;
 * the gradient is written here because tfjs's tiles σ⁻¹ to the whole
 * activation (one `Tile` per norm, on wasm a per-element loop). That is the
 * BatchNorm of backbones trained with `normEval` (every COCO RetinaNet
 * config): at 640×384 it took 2.8 s of a 9.6 s step and most of the step's
 * 3.2 GB peak. Here dx = dy·γσ⁻¹ broadcasts a `[C]` vector, and dγ, dβ are
 * reductions.
 */
import { tf } from '../engine/tf';

type Args = Array<tf.Tensor | tf.GradSaveFunc>;

/**
 * `[N, H, W, C]` → same shape. `trainAffine`: γ and β get gradients (false
 * for frozen stages, whose γ and β are not trained, so none are computed).
 */
export function frozenBatchNorm(x: tf.Tensor4D, mean: tf.Tensor1D, variance: tf.Tensor1D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number, trainAffine: boolean): tf.Tensor4D {
  const forward = (input: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor4D => tf.batchNorm(input, mean, variance, b, g, eps);
  /** γσ⁻¹ per channel: the whole map's derivative. */
  const scale = (g: tf.Tensor): tf.Tensor => tf.mul(g, tf.rsqrt(tf.add(variance, eps)));
  if (!trainAffine) {
    const f = tf.customGrad((...args: Args) => {
      const input = args[0] as tf.Tensor4D;
      return { value: forward(input, gamma, beta), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.mul(dy as tf.Tensor, scale(gamma))] };
    });
    return f(x) as tf.Tensor4D;
  }
  const f = tf.customGrad((...args: Args) => {
    const [input, g, b] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    save([input, g]);
    return {
      value: forward(input, g, b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = dy as tf.Tensor;
        const [xs, gs] = saved;
        const axes = [0, 1, 2];
        // (x − μ) before the product, not Σdy·x − μΣdy: activations with a large mean would cancel.
        const dGamma = tf.mul(tf.sum(tf.mul(d, tf.sub(xs, mean)), axes), tf.rsqrt(tf.add(variance, eps)));
        return [tf.mul(d, scale(gs)), dGamma, tf.sum(d, axes)];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}
