import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { groupedConvHere } from '../../kernels/grouped_conv';
import { Conv2d } from '../../nn/conv2d';
import { seedInit } from '../../util/rng';
import { onBackend, relErr, seeded, withEnv } from '../helpers';

type Case = { cin: number; cout: number; groups: number; k: number; stride: number; h: number; w: number };

// RegNetX's group width 8 (G = 3 … 46), G-Ghost's cheap ops (6 → 6 per group), groups off the
// GEMM tiles (3 → 5), wider groups, strides 1 and 2, 1×1 and 3×3, odd maps.
const cases: Case[] = [
  { cin: 72, cout: 72, groups: 12, k: 3, stride: 1, h: 6, w: 10 },
  { cin: 9, cout: 15, groups: 3, k: 3, stride: 2, h: 7, w: 5 },
  { cin: 24, cout: 24, groups: 3, k: 3, stride: 2, h: 9, w: 11 },
  { cin: 152, cout: 152, groups: 19, k: 3, stride: 1, h: 6, w: 5 },
  { cin: 16, cout: 32, groups: 2, k: 3, stride: 1, h: 7, w: 7 },
  { cin: 32, cout: 64, groups: 4, k: 1, stride: 2, h: 8, w: 6 },
];

/** The case's Conv2d, built from seed 0. */
function layer(c: Case): Conv2d {
  seedInit(0);
  return new Conv2d({ inChannels: c.cin, outChannels: c.cout, kernelSize: c.k, stride: c.stride, groups: c.groups });
}

/** Output, dW and dx of Σ conv(x) ⊙ r. */
function results(c: Case, conv: Conv2d): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(2 * c.h * c.w * c.cin, 1), [2, c.h, c.w, c.cin]);
    const y = conv.forward(x);
    const r = tf.tensor(seeded(y.size, 2), y.shape);
    const f = (xx: tf.Tensor): tf.Scalar => tf.sum(tf.mul(conv.forward(xx as tf.Tensor4D), r));
    const { grads } = tf.variableGrads(() => f(x), [conv.weight]);
    const dx = tf.grad(f)(x);
    return [y, grads[conv.weight.name], dx].map((t) => t.dataSync() as Float32Array);
  });
}

describe('grouped conv on the conv GEMMs', () => {
  it('runs on wasm with the GEMMs, undilated', async () => {
    await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' }, () => {
      assert.ok(groupedConvHere(152, 152, 19, 1));
      assert.ok(groupedConvHere(18, 30, 3, 1));
      assert.ok(!groupedConvHere(24, 24, 3, 2), 'dilated');
    }));
    await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: '0' }, () => assert.ok(!groupedConvHere(152, 152, 19, 1))));
    await onBackend('cpu', () => assert.ok(!groupedConvHere(152, 152, 19, 1)));
  });

  for (const c of cases) {
    it(`G ${c.groups} (${c.cin} → ${c.cout}) k${c.k} s${c.stride}: output, dW and dx match cpu's composed grouped conv within 1e-4`, async () => {
      const ref = await onBackend('cpu', () => {
        const conv = layer(c);
        try { return results(c, conv); } finally { conv.weight.dispose(); }
      });
      const got = await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' }, () => {
        assert.ok(groupedConvHere(c.cin, c.cout, c.groups, 1));
        const conv = layer(c);
        try { return results(c, conv); } finally { conv.weight.dispose(); }
      }));
      ['y', 'dW', 'dx'].forEach((name, i) => assert.ok(relErr(got[i], ref[i]) <= 1e-4, `${name} rel err ${relErr(got[i], ref[i])}`));
    });
  }

  it('leaves no tensors behind', async () => {
    await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' }, () => {
      const conv = layer(cases[1]);
      results(cases[1], conv);
      const before = tf.memory().numTensors, buffers = tf.backend().numDataIds();
      for (let i = 0; i < 3; i++) results(cases[1], conv);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.backend().numDataIds(), buffers);
      conv.weight.dispose();
    }));
  });
});
