import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { GroupNorm } from '../../nn/groupnorm';

describe('GroupNorm (PyTorch semantics)', () => {
  it('normalises each sample and group over (H, W, group channels) with the biased variance', () => {
    // N=2, H=1, W=2, C=4, 2 groups: sample 0 group 0 holds channels 0,1 at both pixels.
    const v = [1, 2, 10, 20, 3, 4, 30, 40, -1, -2, 5, 5, 1, 2, 5, 5];
    const gn = new GroupNorm(2, 4);
    gn.weight.assign(tf.tensor1d([1, 2, 1, 1]));
    gn.bias.assign(tf.tensor1d([0, 0, 0.5, 0]));
    const y = gn.forward(tf.tensor4d(v, [2, 1, 2, 4])).dataSync();
    const at = (n: number, wi: number, c: number): number => v[(n * 2 + wi) * 4 + c];
    for (let n = 0; n < 2; n++) {
      for (let g = 0; g < 2; g++) {
        const xs = [at(n, 0, 2 * g), at(n, 0, 2 * g + 1), at(n, 1, 2 * g), at(n, 1, 2 * g + 1)];
        const mean = xs.reduce((a, b) => a + b) / 4;
        const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 4;
        for (let wi = 0; wi < 2; wi++) {
          for (let k = 0; k < 2; k++) {
            const c = 2 * g + k;
            const want = ((at(n, wi, c) - mean) / Math.sqrt(variance + 1e-5)) * [1, 2, 1, 1][c] + [0, 0, 0.5, 0][c];
            const got = y[(n * 2 + wi) * 4 + c];
            assert.ok(Math.abs(got - want) < 1e-5, `n${n} w${wi} c${c}: ${got} vs ${want}`);
          }
        }
      }
    }
  });

  it('gradients (closed form) equal autodiff of the moments-based formula', () => {
    const gn = new GroupNorm(4, 8);
    gn.weight.assign(tf.randomNormal([8], 1, 0.5, 'float32', 3) as tf.Tensor1D);
    gn.bias.assign(tf.randomNormal([8], 0, 0.5, 'float32', 4) as tf.Tensor1D);
    const x = tf.randomNormal([2, 3, 5, 8], 1, 2, 'float32', 5) as tf.Tensor4D;
    const r = tf.randomNormal([2, 3, 5, 8], 0, 1, 'float32', 6);
    const reference = tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const xg = tf.reshape(xx, [2, 15, 4, 2]);
      const { mean, variance } = tf.moments(xg, [1, 3], true);
      const y = tf.add(tf.mul(tf.reshape(tf.div(tf.sub(xg, mean), tf.sqrt(tf.add(variance, 1e-5))), xx.shape), g), b);
      return tf.sum(tf.mul(y, r));
    })([x, gn.weight, gn.bias]);
    const [dx] = tf.grads((xx: tf.Tensor) => tf.sum(tf.mul(gn.forward(xx as tf.Tensor4D), r)))([x]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(gn.forward(x), r)), [gn.weight, gn.bias]);
    const maxDiff = (p: tf.Tensor, q: tf.Tensor): number => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0];
    assert.ok(maxDiff(dx, reference[0]) < 1e-4, `dx ${maxDiff(dx, reference[0])}`);
    assert.ok(maxDiff(grads[gn.weight.name], reference[1]) < 1e-4);
    assert.ok(maxDiff(grads[gn.bias.name], reference[2]) < 1e-4);
  });

  it('refuses channels that do not split into the groups', () => {
    assert.throws(() => new GroupNorm(3, 8), /8 channels do not split into 3 groups/);
  });
});
