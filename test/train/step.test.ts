import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { Sgd } from '../../train/sgd';
import { trainStep } from '../../train/step';
import { smallConvNet, smallNetLoss } from '../../bench/small_convnet';
import { seeded, withEnv } from '../helpers';

describe('training step', () => {
  it('SGD matches torch.optim.SGD with momentum and weight decay on a quadratic', async () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    // loss = Σ p²/2 → grad p. Step 1: g = p(1.01); v = g; p -= 0.1 v.
    await trainStep(() => ({ l: tf.sum(tf.square(p)).div(2) as tf.Scalar }), [p], opt);
    assert.deepEqual(Array.from(p.dataSync()).map((v) => +v.toFixed(6)), [0.899, -1.798]);
    // Step 2: g = 1.01·p; v = 0.9·v + g; p -= 0.1 v.
    await trainStep(() => ({ l: tf.sum(tf.square(p)).div(2) as tf.Scalar }), [p], opt);
    const v = 0.9 * 1.01 + 1.01 * 0.899;
    assert.ok(Math.abs(p.dataSync()[0] - (0.899 - 0.1 * v)) < 1e-6);
  });

  for (const gemm of ['0', '1']) {
    it(`50 steps of a conv net on wasm${gemm === '1' ? ' (conv GEMMs)' : ''}: loss falls and tf.memory().numTensors stays flat`, () => withEnv({ GHOSTDET_CONV_GEMM: gemm }, async () => {
      seedInit(1);
      const net = smallConvNet();
      const x = tf.tensor4d(seeded(2 * 64 * 64 * 3, 1), [2, 64, 64, 3]);
      const target = tf.tensor2d(seeded(2 * 64, 2).map((v) => v * 0.5), [2, 64]);
      const opt = new Sgd({ lr: 0.05, momentum: 0.9 });
      const vars = net.trainableVariables();
      let first = 0, last = 0, at5 = 0;
      for (let i = 1; i <= 50; i++) {
        const r = await trainStep(() => smallNetLoss(net, x, target), vars, opt);
        if (i === 1) first = r.losses.loss;
        if (i === 5) at5 = tf.memory().numTensors;
        last = r.losses.loss;
      }
      assert.equal(tf.memory().numTensors, at5, 'tensor count after step 50 differs from after step 5');
      assert.ok(last < first * 0.5, `loss ${first} → ${last}`);
      assert.equal(tf.getBackend(), process.env.GHOSTDET_TEST_BACKEND ?? 'wasm');
    }));
  }
});
