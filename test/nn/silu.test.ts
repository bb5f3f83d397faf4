import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { silu } from '../../nn/activations';
import { onBackend, relErr, seeded, withoutSimd } from '../helpers';

/** Input spread over the sigmoid's whole range, odd length (the SIMD tail). */
const input = (): tf.Tensor => tf.mul(tf.tensor4d(seeded(2 * 3 * 5 * 7, 3), [2, 3, 5, 7]), 8);

/** d/dx of Σ r·silu(x), from the definition: r · (σ + x·σ·(1 − σ)) in float64. */
function expectedGrad(x: Float32Array, r: Float32Array): number[] {
  return Array.from(x, (v, i) => {
    const s = 1 / (1 + Math.exp(-v));
    return r[i] * (s + v * s * (1 - s));
  });
}

function check(): void {
  const x = input(), r = tf.tensor4d(seeded(x.size, 4), x.shape as [number, number, number, number]);
  const xs = x.dataSync() as Float32Array;
  const y = silu(x);
  const yWant = Array.from(xs, (v) => v / (1 + Math.exp(-v)));
  assert.ok(relErr(Array.from(y.dataSync()), yWant) <= 1e-6, `forward rel err ${relErr(Array.from(y.dataSync()), yWant)}`);
  const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(silu(xx), r)))(x);
  const err = relErr(Array.from(g.dataSync()), expectedGrad(xs, r.dataSync() as Float32Array));
  assert.ok(err <= 1e-6, `gradient rel err ${err}`);
  tf.dispose([x, r, y, g]);
}

describe('SiLU (one-kernel gradient)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: forward and gradient equal the definition (1e-6)`, async () => {
      await onBackend(backend, check);
    });
  }

  it('wasm with the SIMD kernels off gives the same', async () => {
    await onBackend('wasm', () => withoutSimd(check));
  });

  it('leaves no tensors behind over repeated gradient steps', async () => {
    await onBackend('wasm', () => {
      const x = input();
      const step = (): void => tf.dispose(tf.grad((xx: tf.Tensor) => tf.sum(silu(xx)))(x));
      step();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) step();
      assert.equal(tf.memory().numTensors, before);
      x.dispose();
    });
  });
});
