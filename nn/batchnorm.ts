/**
 * `BatchNorm2d` with PyTorch semantics: in training, normalise with the batch's
 * biased variance and update running statistics with momentum 0.1 and the
 * unbiased variance; in eval, use the running statistics (`frozenBatchNorm`,
 * which `normEval` backbones also train through). eps 1e-5.
 */
import { tf } from '../engine/tf';
import { Layer } from './module';
import { normAffine } from './norm_affine';
import { frozenBatchNorm } from './frozen_batchnorm';
import { NormAct } from '../kernels/norm';
import { blendInto } from '../kernels/weighted_sum';

let statisticsFrozen = 0;

/**
 * Runs `fn` with training-mode BatchNorms normalising by batch statistics as
 * usual but leaving their running statistics alone: for a second forward
 * pass of the same batch (YOLOX's assignment pre-pass) that must not count
 * twice.
 */
export function withFrozenStatistics<T>(fn: () => T): T {
  statisticsFrozen++;
  try {
    return fn();
  } finally {
    statisticsFrozen--;
  }
}

export class BatchNorm2d extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super();
    this.weight = this.param('weight', tf.ones([numFeatures]));
    this.bias = this.param('bias', tf.zeros([numFeatures]));
    this.runningMean = this.buffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.buffer('running_var', tf.ones([numFeatures]));
  }

  /** Set by `foldBatchNorms`: the preceding conv already applies this BN (eval only). */
  folded = false;

  /** `[N, H, W, C]` → same shape. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (this.folded) {
      if (this.training) throw new Error('a folded BatchNorm2d cannot train; fold only for inference');
      return x;
    }
    if (!this.training) {
      return frozenBatchNorm(x, this.runningMean as tf.Tensor1D, this.runningVar as tf.Tensor1D, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps, this.weight.trainable);
    }
    return this.trainForward(x);
  }

  /** relu(BN(x)): in training the ReLU runs inside the fused norm kernels (no extra pass either way). */
  forwardRelu(x: tf.Tensor4D): tf.Tensor4D {
    if (this.training && !this.folded) return this.trainForward(x, 'relu');
    return tf.relu(this.forward(x));
  }

  /** Batch statistics; one fused kernel each way where the backend has it (see `normAffine`). */
  private trainForward(x: tf.Tensor4D, act: NormAct = 'identity'): tf.Tensor4D {
    const c = x.shape[3];
    return normAffine(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, {
      groups: c, perSample: false, eps: this.eps, act,
      onStats: (mean, variance) => this.updateRunningStats(mean, variance, x.size / c),
    });
  }

  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    if (statisticsFrozen > 0) return;
    const m = this.momentum;
    const unbiased = n > 1 ? n / (n - 1) : 1;
    tf.tidy(() => {
      // Not on the loss path, so the tape never differentiates through it. Written over the
      // buffers where they own their data (six kernel calls a norm otherwise, 300 a step).
      const shape = this.runningMean.shape;
      blendInto([[this.runningMean, tf.reshape(mean, shape)]], [1 - m, m]);
      blendInto([[this.runningVar, tf.reshape(variance, shape)]], [1 - m, m * unbiased]);
    });
  }
}
