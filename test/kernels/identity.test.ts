import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { onBackend } from '../helpers';

/** Data buffers the backend holds (a copy adds one, a share does not). */
const buffers = (): number => tf.backend().numDataIds();

describe('wasm Identity shares data', () => {
  it('a clone takes no new buffer, reads the same values, and outlives the original', async () => {
    await onBackend('wasm', () => {
      const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
      const before = buffers();
      const y = tf.clone(x);
      assert.equal(buffers(), before);
      x.dispose();
      assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4, 5, 6]);
      const n = tf.memory().numTensors;
      y.dispose();
      assert.equal(tf.memory().numTensors, n - 1);
      assert.equal(buffers(), before - 1);
    });
  });

  it('a variable assigned after a clone leaves the clone unchanged', async () => {
    await onBackend('wasm', () => {
      const v = tf.variable(tf.tensor1d([1, 2]));
      const c = tf.clone(v);
      const t = tf.tensor1d([7, 8]);
      v.assign(t);
      t.dispose();
      assert.deepEqual(Array.from(c.dataSync()), [1, 2]);
      assert.deepEqual(Array.from(v.dataSync()), [7, 8]);
      tf.dispose([v, c]);
    });
  });
});
