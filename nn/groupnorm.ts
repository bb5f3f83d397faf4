/**
 * `GroupNorm` with PyTorch semantics (Wu & He, 2018): per sample, channels in
 * `numGroups` groups, each normalised with its own mean and biased variance
 * over (H, W, channels of the group); per-channel affine. eps 1e-5. The same
 * in training and eval, which is why detection heads trained from scratch use
 * it: it does not depend on the batch.
 */
import { tf } from '../runtime/tf';
import { Layer } from './module';
import { standardize } from './standardize';

export class GroupNorm extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly numGroups: number, readonly numChannels: number, readonly eps = 1e-5) {
    super();
    if (numChannels % numGroups) throw new Error(`GroupNorm: ${numChannels} channels do not split into ${numGroups} groups`);
    this.weight = this.param('weight', tf.ones([numChannels]));
    this.bias = this.param('bias', tf.zeros([numChannels]));
  }

  /** `[N, H, W, C]` → same shape; the gradient is closed-form (see `standardize`). */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    const xHat = standardize(tf.reshape(x, [n, h * w, this.numGroups, c / this.numGroups]), [1, 3], this.eps);
    return tf.add(tf.mul(tf.reshape(xHat, x.shape), this.weight), this.bias) as tf.Tensor4D;
  }
}
