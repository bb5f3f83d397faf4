/**
 * `BatchNorm2d` with PyTorch semantics: in training, normalise with the batch's
 * biased variance and update running statistics with momentum 0.1 and the
 * unbiased variance; in eval, use the running statistics. eps 1e-5.
 */
import { tf } from '../runtime/tf';
import { Layer } from './module';

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
      return tf.batchNorm(x, this.runningMean, this.runningVar, this.bias, this.weight, this.eps) as tf.Tensor4D;
    }
    return this.trainForward(x);
  }

  /**
   * Batch-statistics normalisation with its closed-form gradient
   * dx = γ·σ⁻¹·(dy − mean(dy) − x̂·mean(dy·x̂)). tfjs's own gradient of
   * `batchNorm` broadcasts with `tile`, which on wasm is a per-element loop
   * (a quarter of a detector's training step); this uses only reductions and
   * broadcasting arithmetic.
   */
  private trainForward(x: tf.Tensor4D): tf.Tensor4D {
    const n = x.size / x.shape[3];
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, gamma, beta] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const { mean, variance } = tf.moments(input, [0, 1, 2]);
      this.updateRunningStats(mean, variance, n);
      const invStd = tf.rsqrt(tf.add(variance, this.eps));
      const xHat = tf.mul(tf.sub(input, mean), invStd);
      save([xHat, invStd, gamma]);
      return {
        value: tf.add(tf.mul(xHat, gamma), beta),
        gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
          const g = dy as tf.Tensor;
          const [xh, inv, gm] = saved;
          const dBeta = tf.sum(g, [0, 1, 2]);
          const dGamma = tf.sum(tf.mul(g, xh), [0, 1, 2]);
          const centred = tf.sub(tf.sub(g, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n)));
          return [tf.mul(centred, tf.mul(gm, inv)), dGamma, dBeta];
        },
      };
    });
    return f(x, this.weight, this.bias) as tf.Tensor4D;
  }

  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    const m = this.momentum;
    const unbiased = n > 1 ? n / (n - 1) : 1;
    tf.tidy(() => {
      // Not on the loss path, so the tape never differentiates through it.
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, m * unbiased)));
    });
  }
}
