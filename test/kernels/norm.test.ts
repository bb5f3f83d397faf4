import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { NORM_AFFINE, NORM_AFFINE_GRAD, NORM_KERNEL_BACKENDS, NormAct } from '../../kernels/norm';
import { normAffine } from '../../nn/norm_affine';
import { onBackend, relErr, seeded } from '../helpers';

type Case = { n: number; h: number; w: number; c: number; groups: number; perSample: boolean; act: NormAct };

const cases: Case[] = [
  { n: 2, h: 5, w: 3, c: 6, groups: 6, perSample: false, act: 'identity' }, // BatchNorm
  { n: 3, h: 7, w: 5, c: 5, groups: 5, perSample: false, act: 'relu' }, // BatchNorm + ReLU, odd sizes
  { n: 2, h: 6, w: 4, c: 8, groups: 2, perSample: true, act: 'identity' }, // GroupNorm
  { n: 3, h: 5, w: 7, c: 12, groups: 3, perSample: true, act: 'relu' },
  { n: 2, h: 3, w: 3, c: 6, groups: 1, perSample: true, act: 'identity' }, // LayerNorm-like: one group
  { n: 2, h: 4, w: 4, c: 6, groups: 6, perSample: true, act: 'identity' }, // InstanceNorm-like
];

const label = (k: Case): string =>
  `${k.perSample ? 'per-sample' : 'batch'} ${k.n}x${k.h}x${k.w}x${k.c} groups ${k.groups} ${k.act}`;

/** The tfjs-ops formula (moments + affine) whose autodiff is the reference. */
function reference(x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D, k: Case): tf.Tensor4D {
  const grouped = tf.reshape(x, [k.n, k.h * k.w, k.groups, k.c / k.groups]);
  const axes = k.perSample ? [1, 3] : [0, 1, 3];
  const { mean, variance } = tf.moments(grouped, axes, true);
  const xHat = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, 1e-5))), x.shape);
  const y = tf.add(tf.mul(xHat, g), b) as tf.Tensor4D;
  return k.act === 'relu' ? tf.relu(y) : y;
}

/** Output, dx, dγ, dβ of Σ(f(x) ⊙ r) and the batch statistics handed to onStats. */
function run(k: Case, fused: boolean): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(k.n * k.h * k.w * k.c, 11).map((v, i) => 3 * v + (i % k.c)), [k.n, k.h, k.w, k.c]);
    const g = tf.tensor1d(seeded(k.c, 12).map((v) => v + 0.5));
    const b = tf.tensor1d(seeded(k.c, 13));
    const r = tf.tensor4d(seeded(x.size, 14), x.shape);
    const stats: Float32Array[] = [];
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Tensor => {
      const y = fused
        ? normAffine(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, {
          groups: k.groups, perSample: k.perSample, eps: 1e-5, act: k.act,
          onStats: (m, v) => stats.push(m.dataSync() as Float32Array, v.dataSync() as Float32Array),
        })
        : reference(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, k);
      return tf.sum(tf.mul(y, r));
    };
    const y = fused
      ? normAffine(x, g, b, { groups: k.groups, perSample: k.perSample, eps: 1e-5, act: k.act })
      : reference(x, g, b, k);
    const grads = tf.grads(f)([x, g, b]);
    return [y.dataSync() as Float32Array, ...grads.map((t) => t.dataSync() as Float32Array), ...stats];
  });
}

describe('fused norm + affine kernels', () => {
  it('are registered on wasm and cpu', () => {
    for (const backend of NORM_KERNEL_BACKENDS) {
      assert.ok(tf.getKernel(NORM_AFFINE, backend), `${NORM_AFFINE} on ${backend}`);
      assert.ok(tf.getKernel(NORM_AFFINE_GRAD, backend), `${NORM_AFFINE_GRAD} on ${backend}`);
    }
  });

  for (const k of cases) {
    for (const backend of NORM_KERNEL_BACKENDS) {
      it(`${label(k)} on ${backend}: output and gradients match autodiff of the moments formula on cpu (1e-4)`, async () => {
        const ref = await onBackend('cpu', () => run(k, false));
        const got = await onBackend(backend, () => run(k, true));
        const names = ['y', 'dx', 'dgamma', 'dbeta'];
        names.forEach((name, i) => {
          const e = relErr(got[i], ref[i]);
          assert.ok(e <= 1e-4, `${name} rel err ${e}`);
        });
      });
    }
  }

  it('hands BatchNorm the biased per-channel batch mean and variance', async () => {
    const k: Case = { n: 2, h: 3, w: 2, c: 3, groups: 3, perSample: false, act: 'identity' };
    for (const backend of NORM_KERNEL_BACKENDS) {
      const got = await onBackend(backend, () => run(k, true));
      const x = seeded(k.n * k.h * k.w * k.c, 11).map((v, i) => 3 * v + (i % k.c));
      for (let ch = 0; ch < k.c; ch++) {
        const vals = Array.from(x).filter((_, i) => i % k.c === ch);
        const mean = vals.reduce((s, v) => s + v, 0) / vals.length;
        const variance = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / vals.length;
        assert.ok(Math.abs(got[4][ch] - mean) < 1e-5, `${backend} mean[${ch}] ${got[4][ch]} vs ${mean}`);
        assert.ok(Math.abs(got[5][ch] - variance) < 1e-4 * variance, `${backend} var[${ch}] ${got[5][ch]} vs ${variance}`);
      }
    }
  });

  // Two values per channel: x̂ = ±a with a² = v/(v+ε), so dx₁ = −dx₂ = σ⁻¹·γ·(dy₁ − dy₂)/2·(1 − a²). The values
  // sit 2√ε apart so that ε matters (with v ≫ ε the gradient is all cancellation, in any float32 implementation).
  it('two values per channel: dx equals the closed form σ⁻¹·γ·(dy₁ − dy₂)/2·ε/(v + ε)', async () => {
    const eps = 1e-5;
    const x = [Math.fround(0.3), Math.fround(0.3 + 2 * Math.sqrt(eps))], dy = [0.9, -0.4], gamma = 1.3;
    const v = ((x[0] - x[1]) / 2) ** 2;
    const expected = (1 / Math.sqrt(v + eps)) * gamma * ((dy[0] - dy[1]) / 2) * (eps / (v + eps));
    for (const backend of NORM_KERNEL_BACKENDS) {
      const dx = await onBackend(backend, () => tf.tidy(() => {
        const f = (xx: tf.Tensor): tf.Tensor => tf.sum(tf.mul(
          normAffine(xx as tf.Tensor4D, tf.tensor1d([gamma]), tf.tensor1d([0.2]), { groups: 1, perSample: false, eps }),
          tf.tensor4d(dy, [1, 1, 2, 1])));
        return tf.grad(f)(tf.tensor4d(x, [1, 1, 2, 1])).dataSync();
      }));
      assert.ok(Math.abs(dx[0] - expected) <= 1e-4 * Math.abs(expected), `${backend} dx₁ ${dx[0]} vs ${expected}`);
      assert.ok(Math.abs(dx[1] + expected) <= 1e-4 * Math.abs(expected), `${backend} dx₂ ${dx[1]} vs ${-expected}`);
    }
  });

  it('keeps tf.memory().numTensors flat over repeated training steps', async () => {
    await onBackend('wasm', () => {
      const k = cases[4];
      run(k, true);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) run(k, true);
      assert.equal(tf.memory().numTensors, before);
    });
  });
});
