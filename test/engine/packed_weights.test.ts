import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { packedWeightsHeld } from '../../engine/packed_weights';
import { overwritable, storageOf, written } from '../../engine/in_place';
import { onBackend, relErr } from '../helpers';

/** conv(x, w) on cpu, the reference. */
async function cpuConv(x: Float32Array, xs: number[], w: Float32Array, ws: number[]): Promise<Float32Array> {
  return onBackend('cpu', () => tf.tidy(() => tf.conv2d(tf.tensor4d(x, xs as [number, number, number, number]), tf.tensor4d(w, ws as [number, number, number, number]), 1, 'same').dataSync() as Float32Array));
}

describe('packed filters kept between inference calls', () => {
  const xs = [1, 24, 22, 16], ws = [3, 3, 16, 16], ws1 = [1, 1, 16, 16]; // 528 outputs, 16 channels: Winograd's minimums
  const rand = (n: number, seed: number): Float32Array => tf.tidy(() => tf.randomNormal([n], 0, 1, 'float32', seed).dataSync() as Float32Array);

  for (const [name, shape] of [['GEMM (1×1)', ws1], ['Winograd (3×3)', ws]] as const) {
    it(`${name}: packed once, dropped when written in place or disposed, never under a tape`, async () => {
      await onBackend('wasm', async () => {
        const prev = process.env.GHOSTDET_CONV_GEMM, prevDnnl = process.env.GHOSTDET_DNNL;
        process.env.GHOSTDET_CONV_GEMM = '1'; // our kernels at any thread count, not oneDNN's
        process.env.GHOSTDET_DNNL = '0';
        try {
          const x0 = rand(xs.reduce((a, b) => a * b), 1), w0 = rand(shape.reduce((a, b) => a * b), 2), w1 = rand(w0.length, 3);
          const x = tf.tensor4d(x0, xs as [number, number, number, number]);
          const init = tf.tensor4d(w0, shape as unknown as [number, number, number, number]);
          const w = tf.variable(init);
          init.dispose(); // as Module.param does: the variable then owns its data
          const held = packedWeightsHeld();
          const conv = (): Float32Array => tf.tidy(() => tf.conv2d(x, w as tf.Tensor4D, 1, 'same').dataSync() as Float32Array);
          const a = conv();
          assert.equal(packedWeightsHeld(), held + 1, 'one packed copy');
          assert.deepEqual(conv(), a, 'the cached copy gives the same values');
          assert.equal(packedWeightsHeld(), held + 1);
          assert.ok(relErr(a, await cpuConv(x0, xs, w0, [...shape])) < 1e-4);

          // The optimizer's route: new values written over the variable's storage.
          const owner = overwritable([w]);
          assert.ok(owner, 'the variable owns its data');
          storageOf(owner).read(w).set(w1);
          written([w]);
          assert.equal(packedWeightsHeld(), held, 'a write in place drops the packed copy');
          assert.ok(relErr(conv(), await cpuConv(x0, xs, w1, [...shape])) < 1e-4, 'the new weights are used');

          // Under a tape (training) nothing is kept.
          w.dispose();
          assert.equal(packedWeightsHeld(), held, 'disposal drops the packed copy');
          const v = tf.tensor4d(w0, shape as unknown as [number, number, number, number]);
          let heldWhileTaped = -1;
          const g = tf.grad((xx: tf.Tensor) => {
            const y = tf.conv2d(xx as tf.Tensor4D, v, 1, 'same');
            heldWhileTaped = packedWeightsHeld();
            return tf.sum(y);
          })(x);
          assert.equal(heldWhileTaped, held, 'the taped forward packed into scratch');
          tf.dispose([g, v, x]);
          assert.equal(packedWeightsHeld(), held, 'nothing left once the tensors are gone');
        } finally {
          if (prev === undefined) delete process.env.GHOSTDET_CONV_GEMM; else process.env.GHOSTDET_CONV_GEMM = prev;
          if (prevDnnl === undefined) delete process.env.GHOSTDET_DNNL; else process.env.GHOSTDET_DNNL = prevDnnl;
        }
      });
    });
  }
});
