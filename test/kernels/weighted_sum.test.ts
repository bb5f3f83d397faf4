import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { weightedSums, weightedSumsInPlace } from '../../kernels/weighted_sum';
import { onBackend, seeded, withoutSimd } from '../helpers';

/** The composed ops the kernel replaces: Σ_j w_j·x_j, left to right. */
function composed(g: tf.Tensor[], w: number[]): Float32Array {
  return tf.tidy(() => g.map((t, j) => tf.mul(t, w[j])).reduce((a, b) => tf.add(a, b)).dataSync() as Float32Array);
}

function groups(sizes: number[], k: number, seed: number): tf.Tensor[][] {
  return sizes.map((n, i) => Array.from({ length: k }, (_, j) => tf.tensor1d(seeded(n, seed + 10 * i + j))));
}

function checkAgainstComposed(k: number, weights: number[]): void {
  // Odd sizes: the SIMD loop's 4-lane body and its scalar tail.
  const gs = groups([1, 3, 5, 8, 1027], k, 7 * k);
  const before = tf.memory().numTensors;
  const out = weightedSums(gs, weights);
  assert.equal(out.length, gs.length);
  assert.equal(tf.memory().numTensors, before + gs.length);
  out.forEach((o, i) => {
    assert.deepEqual(o.shape, gs[i][0].shape);
    // Bit for bit: the same float32 roundings as the composed ops.
    assert.deepEqual(Array.from(o.dataSync()), Array.from(composed(gs[i], weights)), `group ${i}`);
  });
  tf.dispose(out);
  tf.dispose(gs.flat());
}

describe('weightedSums (the EMA and replica-average kernel)', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [k, weights] of [[2, [1 - 0.37, 0.37]], [2, [0.5, 0.5]], [3, [1 / 3, 1 / 3, 1 / 3]]] as const) {
      it(`${backend}: k=${k}, weights ${weights.map((v) => v.toFixed(2)).join(" ")}: equals the composed ops exactly`, async () => {
        await onBackend(backend, () => checkAgainstComposed(k, [...weights]));
      });
    }
  }

  it('wasm with the SIMD kernels off (the JS loop) gives the same values', async () => {
    await onBackend('wasm', () => withoutSimd(() => checkAgainstComposed(3, [0.2, 0.3, 0.5])));
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: a term read from a run of a flat tensor equals the tensor it was cut from`, async () => {
      await onBackend(backend, () => {
        const own = [tf.tensor2d(seeded(6, 1), [2, 3]), tf.tensor1d(seeded(5, 2)), tf.tensor1d(seeded(1, 3))];
        const other = [tf.tensor2d(seeded(6, 4), [2, 3]), tf.tensor1d(seeded(5, 5)), tf.tensor1d(seeded(1, 6))];
        // other's tensors end to end after 3 leading values: offsets 3, 9, 14.
        const flat = tf.concat([tf.tensor1d([7, 8, 9]), ...other.map((t) => tf.reshape(t, [-1]))]);
        const out = weightedSums(own.map((t, i) => [t, { flat, offset: [3, 9, 14][i] }]), [0.5, 0.5]);
        out.forEach((o, i) => {
          assert.deepEqual(o.shape, own[i].shape);
          assert.deepEqual(Array.from(o.dataSync()), Array.from(composed([own[i], other[i]], [0.5, 0.5])));
        });
        assert.throws(() => weightedSums([[own[0], { flat, offset: 10 }]], [0.5, 0.5]), /group 0, term 1 \(elements 10\.\.16 of float32\[15\]\) does not match float32\[2,3\]/);
        assert.throws(() => weightedSums([[{ flat, offset: 0 }, own[0]]], [0.5, 0.5]), /the first term must be a tensor/);
        tf.dispose([...own, ...other, flat, ...out]);
      });
    });
  }

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: in place, a first term that owns its data takes the sum (same bits); a shared one gets a new tensor`, async () => {
      await onBackend(backend, () => {
        const gs = groups([3, 1027, 5], 3, 40);
        const want = gs.map((g) => Array.from(composed(g, [0.2, 0.3, 0.5])));
        const ids = gs.map((g) => g[0].dataId);
        // Group 1's first term shares its data with a clone, which must keep its values.
        const clone = gs[1][0].clone();
        const cloneValues = Array.from(clone.dataSync());
        const flat = tf.concat([tf.tensor1d([9]), tf.reshape(gs[2][2], [-1])]);
        const before = tf.memory().numTensors;
        const out = weightedSumsInPlace([gs[0], gs[1], [gs[2][0], gs[2][1], { flat, offset: 1 }]], [0.2, 0.3, 0.5]);
        assert.equal(out[0], gs[0][0]);
        assert.equal(out[0].dataId, ids[0]);
        assert.notEqual(out[1], gs[1][0], 'shared data: a new tensor');
        assert.equal(out[2], gs[2][0]);
        assert.equal(tf.memory().numTensors, before + 1);
        out.forEach((o, i) => assert.deepEqual(Array.from(o.dataSync()), want[i], `group ${i}`));
        assert.deepEqual(Array.from(clone.dataSync()), cloneValues);
        tf.dispose([out[1], clone, flat, ...gs.flat()]);
      });
    });
  }

  it('in place, with the SIMD kernels off (the JS loop), gives the same values', async () => {
    await onBackend('wasm', () => withoutSimd(() => {
      const gs = groups([7, 130], 2, 70);
      const want = gs.map((g) => Array.from(composed(g, [0.6, 0.4])));
      const out = weightedSumsInPlace(gs, [0.6, 0.4]);
      out.forEach((o, i) => {
        assert.equal(o, gs[i][0]);
        assert.deepEqual(Array.from(o.dataSync()), want[i]);
      });
      tf.dispose(gs.flat());
    }));
  });

  it('keeps a non-finite input non-finite, as the composed ops', async () => {
    await onBackend('wasm', () => {
      const a = tf.tensor1d([NaN, 1, Infinity, 2, 3]), b = tf.tensor1d([1, NaN, 1, 2, -Infinity]);
      const [o] = weightedSums([[a, b]], [0.9, 0.1]);
      assert.deepEqual(Array.from(o.dataSync()), Array.from(composed([a, b], [0.9, 0.1])));
      tf.dispose([a, b, o]);
    });
  });

  it('refuses one weight, a group of the wrong size and mixed shapes, naming the group', async () => {
    await onBackend('cpu', () => {
      const a = tf.zeros([2]), b = tf.zeros([3]);
      assert.throws(() => weightedSums([[a]], [1]), /at least two weights/);
      assert.throws(() => weightedSums([[a, a], [a]], [0.5, 0.5]), /group 1 has 1 terms for 2 weights/);
      assert.throws(() => weightedSums([[a, b]], [0.5, 0.5]), /group 0, term 1 .* does not match/);
      tf.dispose([a, b]);
    });
  });
});
