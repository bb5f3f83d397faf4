/**
 * `GroupNorm` with PyTorch semantics (Wu & He, 2018): per sample, channels in
 * `numGroups` groups, each normalised with its own mean and biased variance
 * over (H, W, channels of the group); per-channel affine. eps 1e-5. The same
 * in training and eval, which is why detection heads trained from scratch use
 * it: it does not depend on the batch.
 */
import { tf } from '../runtime/tf';
import { Layer } from './module';

export class GroupNorm extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly numGroups: number, readonly numChannels: number, readonly eps = 1e-5) {
    super();
    if (numChannels % numGroups) throw new Error(`GroupNorm: ${numChannels} channels do not split into ${numGroups} groups`);
    this.weight = this.param('weight', tf.ones([numChannels]));
    this.bias = this.param('bias', tf.zeros([numChannels]));
  }

  /**
   * `[N, H, W, C]` → same shape. Closed-form gradient per (sample, group)
   * dx = σ⁻¹·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ: the autodiff of the
   * moments goes through wasm's per-element Tile.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    const grouped = [n, h * w, this.numGroups, c / this.numGroups];
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, gamma, beta] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const xg = tf.reshape(input, grouped);
      const { mean, variance } = tf.moments(xg, [1, 3], true);
      const invStd = tf.rsqrt(tf.add(variance, this.eps));
      const xHat = tf.mul(tf.sub(xg, mean), invStd);
      save([xHat, invStd, gamma]);
      return {
        value: tf.add(tf.mul(tf.reshape(xHat, x.shape), gamma), beta),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const d = dy as tf.Tensor;
          const [xh, inv, gm] = saved;
          const g = tf.reshape(tf.mul(d, gm), grouped);
          const centred = tf.sub(tf.sub(g, tf.mean(g, [1, 3], true)), tf.mul(xh, tf.mean(tf.mul(g, xh), [1, 3], true)));
          const xhFlat = tf.reshape(xh, x.shape);
          return [tf.reshape(tf.mul(centred, inv), x.shape), tf.sum(tf.mul(d, xhFlat), [0, 1, 2]), tf.sum(d, [0, 1, 2])];
        },
      };
    });
    return f(x, this.weight, this.bias) as tf.Tensor4D;
  }
}
