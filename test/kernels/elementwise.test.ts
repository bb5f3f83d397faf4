import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { simdActive } from '../../engine/simd_module';
import { onBackend } from '../helpers';

/** Values of `f()` on `backend`, from the same inputs. */
async function on(backend: 'wasm' | 'cpu', f: () => tf.Tensor): Promise<Float32Array> {
  return onBackend(backend, () => {
    const y = f();
    const v = y.dataSync() as Float32Array;
    y.dispose();
    return v;
  });
}

describe('wasm Add and Relu (one thread, SIMD module)', () => {
  const t = (shape: number[], seed: number): (() => tf.Tensor) => () => tf.randomNormal(shape, 0, 1, 'float32', seed);

  const cases: Array<[string, () => tf.Tensor]> = [
    ['same shape (residual)', () => tf.tidy(() => tf.add(t([2, 5, 7, 12], 1)(), t([2, 5, 7, 12], 2)()))],
    ['per-channel vector (conv bias)', () => tf.tidy(() => tf.add(t([2, 5, 7, 13], 3)(), t([13], 4)()))],
    ['vector first', () => tf.tidy(() => tf.add(t([13], 5)(), t([3, 4, 13], 6)()))],
    ['[1, 1, 1, C] vector', () => tf.tidy(() => tf.add(t([2, 3, 3, 8], 7)(), t([1, 1, 1, 8], 8)()))],
    ['other broadcasts fall back (SE-style [N, 1, 1, C])', () => tf.tidy(() => tf.add(t([2, 3, 3, 8], 9)(), t([2, 1, 1, 8], 10)()))],
    ['a scalar falls back', () => tf.tidy(() => tf.add(t([4, 6], 11)(), tf.scalar(3)))],
    ['relu over channels', () => tf.tidy(() => tf.relu(t([2, 5, 7, 13], 12)()))],
    ['relu of a vector falls back', () => tf.tidy(() => tf.relu(t([17], 13)()))],
  ];
  it('runs where the SIMD module is bound (the wasm backend here)', async () => {
    assert.ok(await onBackend('wasm', () => simdActive()));
  });

  for (const [name, f] of cases) {
    it(`${name}: the cpu backend's values exactly`, async () => {
      const [w, c] = [await on('wasm', f), await on('cpu', f)];
      assert.deepEqual(Array.from(w), Array.from(c));
    });
  }

  it('leaves no tensor behind, and the gradient of a biased relu is unchanged', async () => {
    await onBackend('wasm', () => {
      const before = tf.memory().numTensors;
      const x = tf.tensor2d([[-1, 2], [3, -4]]), b = tf.tensor1d([0.5, 5]);
      const g = tf.grads((xx: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.relu(tf.add(xx, bb))))([x, b]);
      assert.deepEqual(Array.from(g[0].dataSync()), [0, 1, 1, 1]);
      assert.deepEqual(Array.from(g[1].dataSync()), [1, 2]);
      tf.dispose([x, b, ...g]);
      assert.equal(tf.memory().numTensors, before);
    });
  });
});
