import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { repeatRows } from '../../kernels/repeat';
import { onBackend, seeded, withoutSimd } from '../helpers';

describe('repeatRows kernel', () => {
  // Rows with and without a tail past the last 4-lane vector.
  for (const [outer, reps, inner] of [[5, 3, 8], [7, 4, 6], [2, 1, 13], [3, 8, 1]]) {
    const run = (): Float32Array => tf.tidy(() => repeatRows(tf.tensor2d(seeded(outer * inner, 7), [outer, inner]), reps).dataSync() as Float32Array);
    const want = (): Float32Array => tf.tidy(() => tf.broadcastTo(tf.tensor3d(seeded(outer * inner, 7), [outer, 1, inner]), [outer, reps, inner]).dataSync() as Float32Array);
    it(`[${outer}, ${inner}] × ${reps} equals broadcastTo on wasm (SIMD on and off) and cpu`, async () => {
      const ref = await onBackend('cpu', want);
      assert.deepEqual(await onBackend('wasm', run), ref);
      assert.deepEqual(await onBackend('wasm', () => withoutSimd(run)), ref);
      assert.deepEqual(await onBackend('cpu', run), ref);
    });
  }

  it('leaves no tensors behind', async () => {
    await onBackend('wasm', () => {
      const x = tf.tensor2d(seeded(12, 1), [3, 4]);
      const before = tf.memory().numTensors;
      tf.dispose(repeatRows(x, 5));
      assert.equal(tf.memory().numTensors, before);
      x.dispose();
    });
  });
});
