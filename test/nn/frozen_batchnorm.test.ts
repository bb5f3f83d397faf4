import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { frozenBatchNorm } from '../../nn/frozen_batchnorm';
import { onBackend, relErr, seeded } from '../helpers';

/** y, dx, dγ, dβ of Σ BN(x) ⊙ r on running statistics, by `bn` (ours or tfjs's `batchNorm`, whose gradient is the reference). */
function results(bn: (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor4D): Float32Array[] {
  return tf.tidy(() => {
    const shape: [number, number, number, number] = [2, 5, 7, 6];
    // An offset mean, as activations have.
    const x = tf.add(tf.tensor4d(seeded(2 * 5 * 7 * 6, 1), shape), 4) as tf.Tensor4D;
    const g = tf.tensor1d(seeded(6, 2)), b = tf.tensor1d(seeded(6, 3));
    const r = tf.tensor4d(seeded(2 * 5 * 7 * 6, 4), shape);
    const f = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor): tf.Scalar => tf.sum(tf.mul(bn(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D), r));
    const y = bn(x, g, b);
    return [y, ...tf.grads(f)([x, g, b])].map((t) => t.dataSync() as Float32Array);
  });
}

const mean = (): tf.Tensor1D => tf.tensor1d([3.5, 4, 4.5, 3.9, 4.2, 3.7]);
const variance = (): tf.Tensor1D => tf.tensor1d([0.5, 1.2, 0.9, 2, 0.3, 1]);

describe('frozenBatchNorm (BatchNorm on running statistics, as normEval backbones train)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: output and the gradients of x, γ and β equal tfjs's batchNorm within 1e-5`, async () => {
      await onBackend(backend, () => {
        const m = mean(), v = variance();
        const theirs = results((x, g, b) => tf.batchNorm(x, m, v, b, g, 1e-5));
        const ours = results((x, g, b) => frozenBatchNorm(x, m, v, g, b, 1e-5, true));
        ['y', 'dx', 'dγ', 'dβ'].forEach((name, i) => assert.ok(relErr(ours[i], theirs[i]) <= 1e-5, `${name}: rel err ${relErr(ours[i], theirs[i])}`));
        tf.dispose([m, v]);
      });
    });
  }

  it('runs its gradient without Tile (tfjs tiles σ⁻¹ to the whole map), and without γ, β gradients when they are frozen', async () => {
    await onBackend('wasm', async () => {
      const m = mean(), v = variance();
      const x = tf.tensor4d(seeded(2 * 5 * 7 * 6, 1), [2, 5, 7, 6]);
      const g = tf.tensor1d(seeded(6, 2)), b = tf.tensor1d(seeded(6, 3));
      const kernelsOf = async (trainAffine: boolean): Promise<string[]> => {
        const prof = await tf.profile(() => {
          const grads = tf.grads((xx: tf.Tensor) => tf.sum(frozenBatchNorm(xx as tf.Tensor4D, m, v, g, b, 1e-5, trainAffine)))([x]);
          tf.dispose(grads);
        });
        return prof.kernels.map((k) => k.name);
      };
      const withAffine = await kernelsOf(true), frozen = await kernelsOf(false);
      assert.ok(!withAffine.includes('Tile') && !frozen.includes('Tile'), `kernels: ${withAffine.join(' ')}`);
      // Frozen: dx = dy·γσ⁻¹ only; no sums over the map for γ and β.
      assert.ok(frozen.filter((k) => k === 'Sum').length < withAffine.filter((k) => k === 'Sum').length, `frozen: ${frozen.join(' ')}`);
      const theirs = await tf.profile(() => tf.dispose(tf.grads((xx: tf.Tensor) => tf.sum(tf.batchNorm(xx as tf.Tensor4D, m, v, b, g, 1e-5)))([x])));
      assert.ok(theirs.kernels.some((k) => k.name === 'Tile'), "tfjs's own batchNorm gradient tiles (the reason for this op)");
      tf.dispose([m, v, x, g, b]);
    });
  });
});
