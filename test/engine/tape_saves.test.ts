import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { installTapeSaves, uninstallTapeSaves } from '../../engine/tape_saves';
import { onBackend, seeded } from '../helpers';

/** Gradients of a conv → bias → relu → clone → mean-square chain w.r.t. its input and weights. */
function grads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(2 * 6 * 6 * 3, 1), [2, 6, 6, 3]);
    const w = tf.tensor4d(seeded(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
    const b = tf.tensor1d(seeded(4, 3));
    const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor): tf.Scalar => {
      // A clone in the forward graph: its own tape node must still carry the gradient.
      const y = tf.relu(tf.add(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'), bb)).clone();
      return tf.mean(tf.square(tf.mul(y, tf.sigmoid(y))));
    };
    return tf.grads(f)([x, w, b]).map((g) => g.dataSync() as Float32Array);
  });
}

describe('tape saves (saved tensors as shared handles, no Identity kernel)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: gradients equal tfjs's own saves bit for bit, and leave no tensors behind`, async () => {
      await onBackend(backend, () => {
        uninstallTapeSaves();
        let theirs: Float32Array[];
        try {
          theirs = grads();
        } finally {
          installTapeSaves();
        }
        const before = tf.memory().numTensors;
        const ours = grads();
        assert.equal(tf.memory().numTensors, before);
        ours.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(theirs[i]), `gradient ${i}`));
      });
    });
  }

  it('saves without calling a kernel', async () => {
    await onBackend('wasm', () => {
      const x = tf.tensor1d([1, 2, 3]);
      const v = tf.variable(tf.tensor1d([4, 5, 6]));
      let calls = 0;
      const original = tf.getKernel('Identity', 'wasm')!;
      tf.unregisterKernel('Identity', 'wasm');
      tf.registerKernel({ ...original, kernelFunc: (a) => { calls++; return original.kernelFunc(a); } });
      try {
        const { grads: g } = tf.variableGrads(() => tf.sum(tf.mul(v, x)) as tf.Scalar, [v]);
        assert.deepEqual(Array.from(g[v.name].dataSync()), [1, 2, 3]);
        tf.dispose(Object.values(g));
      } finally {
        tf.unregisterKernel('Identity', 'wasm');
        tf.registerKernel(original);
      }
      assert.equal(calls, 0, 'Mul saves both inputs; tfjs would clone them through Identity');
      tf.dispose([x, v]);
    });
  });
});
