import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { offsetsOf, packTensors, unpackInto, unpackViews } from '../../train/flat_tensors';
import { onBackend, seeded } from '../helpers';

describe('flat tensor buffers (what replicas exchange)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: pack then unpack gives every tensor back, absent ones included`, async () => {
      await onBackend(backend, () => {
        const ts: Array<tf.Tensor | undefined> = [tf.tensor2d(seeded(6, 1), [3, 2]), undefined, tf.tensor1d(seeded(5, 2)), tf.scalar(4)];
        const p = packTensors(ts);
        assert.deepEqual(p.sizes, [6, -1, 5, 1]);
        assert.equal(p.flat.length, 12);
        const views = unpackViews(p);
        ts.forEach((t, i) => {
          if (!t) return assert.equal(views[i], undefined);
          assert.deepEqual(Array.from(views[i]!), Array.from(t.dataSync()));
        });
        // A copy: the tensors' own storage is untouched by writes to the buffer.
        p.flat.fill(0);
        assert.deepEqual(Array.from(ts[0]!.dataSync()), Array.from(seeded(6, 1)));
        tf.dispose(ts.filter((t): t is tf.Tensor => t !== undefined));
      });
    });
  }

  it('packs into a given (shared) buffer, and refuses one too small', async () => {
    await onBackend('wasm', () => {
      const ts: Array<tf.Tensor | undefined> = [tf.tensor1d(seeded(5, 3)), undefined, tf.tensor2d(seeded(4, 4), [2, 2])];
      const into = new Float32Array(new SharedArrayBuffer(12 * 4));
      const p = packTensors(ts, into);
      assert.equal(p.flat.buffer, into.buffer);
      assert.equal(p.flat.length, 9);
      assert.deepEqual(Array.from(p.flat), [...seeded(5, 3), ...seeded(4, 4)].map((v) => Math.fround(v)));
      assert.throws(() => packTensors(ts, new Float32Array(8)), /holds 8 floats, the tensors 9/);
      tf.dispose(ts.filter((t): t is tf.Tensor => t !== undefined));
    });
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: unpacks into variables, over their own storage unless another tensor shares it`, async () => {
      await onBackend(backend, () => {
        // Made inside tidy: the zeros they start from are released, so each variable owns its data.
        const vars = tf.tidy(() => [tf.variable(tf.zeros([2, 3])), tf.variable(tf.zeros([4]))]);
        const alias = vars[1].reshape([2, 2]);
        const ids = vars.map((v) => v.dataId);
        const p = packTensors([tf.tensor2d(seeded(6, 8), [2, 3]), tf.tensor1d(seeded(4, 9))]);
        unpackInto(vars, p);
        assert.equal(vars[0].dataId, ids[0], 'owned: written in place');
        assert.notEqual(vars[1].dataId, ids[1], 'shared with a reshape: assigned anew');
        assert.deepEqual(Array.from(vars[0].dataSync()), Array.from(p.flat.subarray(0, 6)));
        assert.deepEqual(Array.from(vars[1].dataSync()), Array.from(p.flat.subarray(6)));
        assert.deepEqual(Array.from(alias.dataSync()), [0, 0, 0, 0], 'the reshape kept its values');
        assert.throws(() => unpackInto([vars[1]], { flat: new Float32Array(3), sizes: [3] }), /tensor 0 has 4 elements, the buffer 3/);
        tf.dispose([...vars, alias]);
      });
    });
  }

  it('offsets skip absent tensors', () => {
    assert.deepEqual(offsetsOf([3, -1, 2, 0, 4]), [0, -1, 3, 5, 5]);
  });

  it('refuses a tensor that is not float32, naming it', async () => {
    await onBackend('cpu', () => {
      const a = tf.zeros([2]), b = tf.zeros([2], 'int32');
      assert.throws(() => packTensors([a, b]), /tensor 1 is int32, not float32/);
      tf.dispose([a, b]);
    });
  });
});
