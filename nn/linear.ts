import { tf } from '../engine/tf';
import { initRng } from '../util/rng';
import { Module } from './module';
import { recordMacs } from './macs';

/** `torch.nn.Linear`: `[N, in]` → `[N, out]`; weight stored `[in, out]`. */
export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', tf.tensor2d(initRng.fill(inFeatures * outFeatures, (r) => r.uniform(-bound, bound)), [inFeatures, outFeatures]), 'linear');
    if (bias) this.bias = this.param('bias', tf.tensor1d(initRng.fill(outFeatures, (r) => r.uniform(-bound, bound))));
  }

  forward(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const y = tf.matMul(x, this.weight as tf.Tensor2D);
      recordMacs(x.shape[0] * this.inFeatures * this.outFeatures);
      return (this.bias ? tf.add(y, this.bias) : y) as tf.Tensor2D;
    });
  }
}
