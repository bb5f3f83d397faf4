import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { simdFor } from '../../engine/simd_module';
import { dnnl } from '../../engine/dnnl';
import { onBackend, relErr, seeded, withEnv } from '../helpers';

/**
 * A wasm heap grows to 4 GiB, and its addresses past 2 GiB are negative as
 * the i32 malloc returns them. A RetinaNet-R50 training step at batch 4,
 * 320×192, gets there; our kernels' scratch used to be viewed at a negative
 * offset. Here a 2.1 GiB block that is never written (so never resident)
 * pushes the convs' tensors and scratch above 2 GiB.
 */
interface HeapBackend { wasm: { _malloc(bytes: number): number; _free(ptr: number): void } }

const cases = [
  { n: 2, h: 16, w: 16, cin: 64, cout: 64, k: 3, s: 1 }, // 3×3 stride 1: Winograd where it fits
  { n: 2, h: 32, w: 32, cin: 24, cout: 24, k: 3, s: 2 }, // stride 2: the GEMM
];

/** y, dx and dw of Σ conv(x, w) ⊙ r, and where y lies in the heap (wasm only). */
function convGrads(c: typeof cases[0]): { out: Float32Array[]; yAddress: number } {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.n * c.h * c.w * c.cin, 1), [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(seeded(c.k * c.k * c.cin * c.cout, 2), [c.k, c.k, c.cin, c.cout]);
    const conv = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor4D => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, 'same');
    const y = conv(x, w);
    const r = tf.tensor(seeded(y.size, 3), y.shape);
    const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), r)))([x, w]);
    const simd = simdFor(tf.backend());
    return { out: [y, gx, gw].map((t) => t.dataSync() as Float32Array), yAddress: simd ? simd.ptr(y) : -1 };
  });
}

describe('wasm heap above 2 GiB', function () {
  before(function () {
    if (process.arch !== 'x64' && process.arch !== 'arm64') this.skip(); // needs a 64-bit host for a 4 GiB wasm memory
  });

  for (const route of ['our kernels', 'oneDNN'] as const) {
    it(`convolutions and their gradients on ${route} read and write tensors and scratch past 2 GiB`, async function () {
      if (route === 'oneDNN' && !dnnl()) this.skip();
      const refs = await onBackend('cpu', () => cases.map((c) => convGrads(c).out));
      await onBackend('wasm', () => {
        assert.ok(simdFor(tf.backend()), 'our SIMD kernels are on');
        const heap = (tf.backend() as unknown as HeapBackend).wasm;
        const block = heap._malloc(2.1 * 2 ** 30) >>> 0;
        assert.notEqual(block, 0, 'the wasm heap grew by 2.1 GiB');
        try {
          withEnv({ GHOSTDET_DNNL: route === 'oneDNN' ? undefined : '0' }, () => {
            cases.forEach((c, i) => {
              const { out, yAddress } = convGrads(c);
              assert.ok(yAddress >= 2 ** 31, `y at ${yAddress}, past 2 GiB`);
              ['y', 'dx', 'dw'].forEach((name, j) => assert.ok(relErr(out[j], refs[i][j]) <= 1e-4, `${name}: rel err ${relErr(out[j], refs[i][j])}`));
            });
          });
        } finally {
          heap._free(block);
        }
      });
    });
  }
});
