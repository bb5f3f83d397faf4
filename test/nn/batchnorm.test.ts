import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { BatchNorm2d } from '../../nn/batchnorm';

describe('BatchNorm2d (PyTorch semantics)', () => {
  // One channel, values 1..4 over N=1, H=2, W=2: mean 2.5, biased var 1.25, unbiased 5/3.
  const x = (): tf.Tensor4D => tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);

  it('training: normalises with the biased batch variance', () => {
    const bn = new BatchNorm2d(1);
    const y = bn.forward(x()).dataSync();
    const expected = [1, 2, 3, 4].map((v) => (v - 2.5) / Math.sqrt(1.25 + 1e-5));
    expected.forEach((e, i) => assert.ok(Math.abs(y[i] - e) < 1e-6, `${y[i]} vs ${e}`));
  });

  it('training: running stats move by momentum 0.1 with the unbiased variance', () => {
    const bn = new BatchNorm2d(1);
    bn.forward(x()).dispose();
    assert.ok(Math.abs(bn.runningMean.dataSync()[0] - 0.25) < 1e-7);
    assert.ok(Math.abs(bn.runningVar.dataSync()[0] - (0.9 + 0.1 * 5 / 3)) < 1e-6);
  });

  it('eval: uses running stats and leaves them unchanged', () => {
    const bn = new BatchNorm2d(1).eval();
    bn.runningMean.assign(tf.tensor1d([1]));
    bn.runningVar.assign(tf.tensor1d([4]));
    bn.weight.assign(tf.tensor1d([2]));
    bn.bias.assign(tf.tensor1d([0.5]));
    const y = bn.forward(x()).dataSync();
    [1, 2, 3, 4].forEach((v, i) => assert.ok(Math.abs(y[i] - ((v - 1) / Math.sqrt(4 + 1e-5) * 2 + 0.5)) < 1e-6));
    assert.equal(bn.runningMean.dataSync()[0], 1);
  });

  it('a frozen BN stays in eval mode after train()', () => {
    const bn = new BatchNorm2d(2).freeze();
    bn.train();
    assert.equal(bn.training, false);
    assert.equal(bn.weight.trainable, false);
  });

  it('training gradients (closed form) equal autodiff of the moments-based formula', () => {
    const bn = new BatchNorm2d(3);
    bn.weight.assign(tf.tensor1d([0.5, 1.5, -2]));
    bn.bias.assign(tf.tensor1d([0.1, 0, -0.3]));
    const xs = tf.randomNormal([2, 5, 4, 3], 1, 2, 'float32', 7) as tf.Tensor4D;
    const w = tf.randomNormal([2, 5, 4, 3], 0, 1, 'float32', 8);
    const reference = tf.grads((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      return tf.sum(tf.mul(y, w));
    });
    const g = tf.tensor1d([0.5, 1.5, -2]), b = tf.tensor1d([0.1, 0, -0.3]);
    const a = tf.grads((x: tf.Tensor) => tf.sum(tf.mul(bn.forward(x as tf.Tensor4D), w)))([xs]);
    const r = reference([xs, g, b]);
    const close = (p: tf.Tensor, q: tf.Tensor): void => {
      const d = tf.max(tf.abs(tf.sub(p, q))).dataSync()[0];
      assert.ok(d < 1e-4, `max difference ${d}`);
    };
    close(a[0], r[0]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.forward(xs), w)), [bn.weight, bn.bias]);
    close(grads[bn.weight.name], r[1]);
    close(grads[bn.bias.name], r[2]);
  });
});
