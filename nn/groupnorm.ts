/**
 * `GroupNorm` with PyTorch semantics (Wu & He, 2018): per sample, channels in
 * `numGroups` groups, each normalised with its own mean and biased variance
 * over (H, W, channels of the group); per-channel affine. eps 1e-5. The same
 * in training and eval, which is why detection heads trained from scratch use
 * it: it does not depend on the batch.
 */
import { tf } from '../engine/tf';
import { Layer } from './module';
import { normAffine } from './norm_affine';
import type { NormAct } from '../kernels/norm';

export class GroupNorm extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly numGroups: number, readonly numChannels: number, readonly eps = 1e-5) {
    super();
    if (numChannels % numGroups) throw new Error(`GroupNorm: ${numChannels} channels do not split into ${numGroups} groups`);
    this.weight = this.param('weight', tf.ones([numChannels]));
    this.bias = this.param('bias', tf.zeros([numChannels]));
  }

  /** `[N, H, W, C]` → same shape (`act` 'relu': relu(GN(x)), inside the kernel); one fused kernel each way where the backend has it (see `normAffine`). */
  forward(x: tf.Tensor4D, act: NormAct = 'identity'): tf.Tensor4D {
    return normAffine(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, { groups: this.numGroups, perSample: true, eps: this.eps, act });
  }
}
