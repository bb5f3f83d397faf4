import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { onBackend, seeded, withoutSimd } from '../helpers';

// Splits and concats along every axis of a 4-D map, even and uneven parts, an empty part, int32 (wasm's own kernel).
const shape: [number, number, number, number] = [2, 5, 3, 13];
const splits: Array<{ axis: number; parts: number | number[] }> = [
  { axis: 3, parts: [4, 9] }, { axis: 3, parts: [5, 0, 8] }, { axis: 1, parts: 5 }, { axis: 0, parts: 2 }, { axis: 2, parts: [1, 2] }, { axis: -1, parts: [6, 7] },
];

function splitAndConcat(axis: number, parts: number | number[], dtype: 'float32' | 'int32'): number[][] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(shape.reduce((a, b) => a * b), 5), shape).mul(100).cast(dtype);
    const pieces = tf.split(x, parts, axis);
    // Concat the pieces in reverse (a real permutation), and the gradient of concat (a split) through tf.grads.
    const back = tf.concat(pieces.slice().reverse(), axis);
    const g = dtype === 'float32' ? tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.concat(tf.split(t, parts, axis), axis), x)))(x) : x;
    return [...pieces, back, g].map((t) => Array.from(t.dataSync()));
  });
}

describe('SplitV and Concat kernels on wasm', () => {
  for (const { axis, parts } of splits) {
    for (const dtype of ['float32', 'int32'] as const) {
      it(`axis ${axis}, parts ${JSON.stringify(parts)}, ${dtype}: equal cpu's (SIMD on and off)`, async () => {
        const ref = await onBackend('cpu', () => splitAndConcat(axis, parts, dtype));
        assert.deepEqual(await onBackend('wasm', () => splitAndConcat(axis, parts, dtype)), ref);
        assert.deepEqual(await onBackend('wasm', () => withoutSimd(() => splitAndConcat(axis, parts, dtype))), ref);
      });
    }
  }
});
