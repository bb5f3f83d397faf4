import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { Conv2d } from '../../nn/conv2d';
import { BatchNorm2d } from '../../nn/batchnorm';
import { foldBatchNorm } from '../../nn/fold_bn';
import { hardSigmoid, hardSwish, silu } from '../../nn/activations';
import { MaxPool2d } from '../../nn/pool';
import { Sequential } from '../../nn/sequential';
import { Act } from '../../nn/activations';
import { makeDivisible } from '../../nn/squeeze_excite';
import { relErr, seeded } from '../helpers';

describe('nn layers', () => {
  it('hardSigmoid, hardSwish and SiLU follow PyTorch', () => {
    const x = tf.tensor1d([-4, -3, -1, 0, 1, 3, 4]);
    const hs = hardSigmoid(x).arraySync() as number[];
    assert.deepEqual(hs.map((v) => +v.toFixed(6)), [0, 0, +(2 / 6).toFixed(6), 0.5, +(4 / 6).toFixed(6), 1, 1]);
    const hw = hardSwish(x).arraySync() as number[];
    assert.ok(Math.abs(hw[2] - -1 * 2 / 6) < 1e-6 && hw[6] === 4);
    assert.ok(Math.abs((silu(x).arraySync() as number[])[4] - 1 / (1 + Math.exp(-1))) < 1e-6);
  });

  it('grouped Conv2d equals separate convs over channel groups', () => {
    const conv = new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: 3, groups: 2, bias: true });
    const x = tf.tensor4d(seeded(2 * 5 * 5 * 4, 9), [2, 5, 5, 4]);
    const y = conv.forward(x);
    const [x0, x1] = tf.split(x, 2, 3);
    const [w0, w1] = tf.split(conv.weight, 2, 3);
    const [b0, b1] = tf.split(conv.bias!, 2);
    const pad: tf.backend_util.ExplicitPadding = [[0, 0], [1, 1], [1, 1], [0, 0]];
    const ref = tf.concat([tf.add(tf.conv2d(x0 as tf.Tensor4D, w0 as tf.Tensor4D, 1, pad), b0), tf.add(tf.conv2d(x1 as tf.Tensor4D, w1 as tf.Tensor4D, 1, pad), b1)], 3);
    assert.deepEqual(y.shape, [2, 5, 5, 6]);
    assert.ok(relErr(y.dataSync(), ref.dataSync()) < 1e-6);
  });

  it('grouped Conv2d: the dense block-diagonal, one-call depthwise and per-group paths agree, values and gradients', () => {
    const conv = new Conv2d({ inChannels: 6, outChannels: 9, kernelSize: 3, stride: 2, groups: 3 });
    const x = tf.tensor4d(seeded(2 * 7 * 9 * 6, 11), [2, 7, 9, 6]);
    const r = tf.tensor4d(seeded(2 * 4 * 5 * 9, 12), [2, 4, 5, 9]);
    const run = (dense: number, viaDepthwise: number): Float32Array[] => {
      const saved = [Conv2d.groupedViaDenseMaxGroups, Conv2d.groupedViaDepthwiseMax];
      Conv2d.groupedViaDenseMaxGroups = dense;
      Conv2d.groupedViaDepthwiseMax = viaDepthwise;
      try {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(conv.forward(x), r)) as tf.Scalar, [conv.weight]);
        const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(conv.forward(xx as tf.Tensor4D), r)))(x);
        return [value.dataSync() as Float32Array, grads[conv.weight.name].dataSync() as Float32Array, dx.dataSync() as Float32Array, conv.forward(x).dataSync() as Float32Array];
      } finally {
        [Conv2d.groupedViaDenseMaxGroups, Conv2d.groupedViaDepthwiseMax] = saved;
      }
    };
    const perGroup = run(0, 0);
    const paths = { dense: run(8, Conv2d.groupedViaDepthwiseMax), depthwise: run(0, Conv2d.groupedViaDepthwiseMax) };
    for (const [name, got] of Object.entries(paths)) {
      ['loss', 'dW', 'dx', 'output'].forEach((what, i) => assert.ok(relErr(got[i], perGroup[i]) < 1e-5, `${name} ${what}: ${relErr(got[i], perGroup[i])}`));
    }
  });

  it('stride-2 Conv2d pads symmetrically like PyTorch (output 3 for input 5)', () => {
    const conv = new Conv2d({ inChannels: 1, outChannels: 1, kernelSize: 3, stride: 2 });
    conv.weight.assign(tf.ones([3, 3, 1, 1]));
    const y = conv.forward(tf.ones([1, 5, 5, 1]));
    // Corner windows see 2×2 ones with pad 1 on top-left; the centre sees 3×3.
    assert.deepEqual(Array.from(y.dataSync()), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  for (const groups of [1, 8]) {
    it(`foldBatchNorm reproduces conv→BN in eval within 1e-5 (groups ${groups})`, () => {
      const conv = new Conv2d({ inChannels: 8, outChannels: 8, kernelSize: 3, groups, bias: groups === 1 });
      const bn = new BatchNorm2d(8).eval();
      bn.runningMean.assign(tf.tensor1d(seeded(8, 1)));
      bn.runningVar.assign(tf.abs(tf.tensor1d(seeded(8, 2))).add(0.5));
      bn.weight.assign(tf.tensor1d(seeded(8, 3)));
      bn.bias.assign(tf.tensor1d(seeded(8, 4)));
      const x = tf.tensor4d(seeded(2 * 6 * 6 * 8, 5), [2, 6, 6, 8]);
      const ref = bn.forward(conv.forward(x));
      const got = foldBatchNorm(conv, bn).forward(x);
      assert.ok(relErr(got.dataSync(), ref.dataSync()) < 1e-5);
    });
  }

  it('MaxPool2d ceil mode gives PyTorch output sizes', () => {
    const pool = new MaxPool2d(3, 2, 0, true);
    // torch: 32 → 16, 15 → 7, 7 → 3, 8 → 4
    assert.deepEqual([32, 15, 7, 8].map((n) => pool.outSize(n)), [16, 7, 3, 4]);
    const y = pool.forward(tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]));
    assert.deepEqual(Array.from(y.dataSync()), [10, 11, 14, 15]);
    const p1 = new MaxPool2d(3, 2, 1);
    assert.deepEqual(p1.forward(tf.zeros([1, 7, 7, 1]).sub(1) as tf.Tensor4D).shape, [1, 4, 4, 1]);
  });

  it('Sequential names children 0, 1, … like torch', () => {
    const s = new Sequential([new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 1 }), new BatchNorm2d(2), new Act('relu')]);
    assert.deepEqual(s.namedTensors().map((t) => t.name), ['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var']);
    assert.equal(s.numParams(), 2 + 4);
  });

  it('makeDivisible matches the MobileNet rounding', () => {
    assert.equal(makeDivisible(16 * 0.25, 4), 4);
    assert.equal(makeDivisible(72 * 0.25, 4), 20);
    assert.equal(makeDivisible(10, 8), 16);
  });
});
