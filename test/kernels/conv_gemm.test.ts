import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { convGemmFor } from '../../kernels/conv_gemm';
import { simdFor } from '../../engine/simd_module';
import { onBackend, relErr, seeded, withEnv } from '../helpers';

type Case = { n: number; h: number; w: number; cin: number; cout: number; k: number; s: number; d?: number; pad: 'same' | 'valid' | number };

// Channel counts on and off the GEMM tiles (4 input, 8 output channels), the stem's 3 inputs,
// kernels 1–5, strides 1–3 (input-gradient phases no tap reaches when k < s), explicit and named
// paddings, odd map sizes, a last pixel tile of 1–3 rows.
const cases: Case[] = [
  { n: 2, h: 9, w: 7, cin: 5, cout: 6, k: 3, s: 1, pad: 1 },
  { n: 2, h: 16, w: 16, cin: 64, cout: 64, k: 3, s: 1, pad: 1 },
  { n: 1, h: 11, w: 13, cin: 3, cout: 32, k: 3, s: 2, pad: 1 },
  { n: 2, h: 8, w: 8, cin: 12, cout: 27, k: 1, s: 1, pad: 0 },
  { n: 1, h: 10, w: 9, cin: 8, cout: 16, k: 3, s: 2, pad: 'same' },
  { n: 2, h: 7, w: 7, cin: 20, cout: 36, k: 5, s: 1, pad: 2 },
  { n: 1, h: 13, w: 26, cin: 7, cout: 9, k: 2, s: 3, pad: 'valid' },
  { n: 2, h: 9, w: 8, cin: 6, cout: 10, k: 1, s: 2, pad: 0 },
  { n: 2, h: 32, w: 32, cin: 24, cout: 24, k: 3, s: 2, pad: 1 },
  { n: 3, h: 5, w: 3, cin: 16, cout: 8, k: 3, s: 1, pad: 'valid' },
  { n: 1, h: 4, w: 4, cin: 96, cout: 40, k: 1, s: 1, pad: 0 },
  { n: 1, h: 12, w: 10, cin: 6, cout: 10, k: 3, s: 1, d: 2, pad: 'same' },
];

function explicit(pad: Case['pad']): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  return typeof pad === 'number' ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : pad;
}

/** y = conv(x, w) and the gradients of Σ y ⊙ r w.r.t. x and w (dilated convs: y only, tfjs has no dilated conv gradient). */
function convResults(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.n * c.h * c.w * c.cin, 1), [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(seeded(c.k * c.k * c.cin * c.cout, 2), [c.k, c.k, c.cin, c.cout]);
    const conv = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor4D => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, explicit(c.pad), 'NHWC', c.d ?? 1);
    const y = conv(x, w);
    if (c.d) return [y.dataSync() as Float32Array];
    const r = tf.tensor(seeded(y.size, 3), y.shape);
    const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), r)))([x, w]);
    return [y, gx, gw].map((t) => t.dataSync() as Float32Array);
  });
}

describe('conv GEMM kernels', () => {
  it('use the relaxed-SIMD (fused multiply-add) build under Node 20', async () => {
    await onBackend('wasm', () => assert.equal(simdFor(tf.backend())?.relaxed, true));
  });

  it('run at one XNNPACK thread, and by GHOSTDET_CONV_GEMM at any count', async () => {
    await onBackend('wasm', () => {
      assert.ok(withEnv({ GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' }, () => convGemmFor(tf.backend())));
      assert.equal(withEnv({ GHOSTDET_CONV_GEMM: '0' }, () => convGemmFor(tf.backend())), undefined);
      assert.equal(withEnv({ GHOSTDET_SIMD: '0', GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' }, () => convGemmFor(tf.backend())), undefined);
    });
  });

  for (const relaxed of [true, false]) {
    for (const c of cases) {
      const label = `${relaxed ? 'fused' : 'mul+add'} k${c.k} s${c.s}${c.d ? ` d${c.d}` : ''} pad ${c.pad} ${c.n}x${c.h}x${c.w}x${c.cin} → ${c.cout}`;
      it(`${label}: output${c.d ? '' : ', input and filter gradients'} match cpu within 1e-4`, async () => {
        const ref = await onBackend('cpu', () => convResults(c));
        const env = { GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0', GHOSTDET_RELAXED_SIMD: relaxed ? undefined : '0' };
        const got = await onBackend('wasm', () => withEnv(env, () => {
          assert.equal(convGemmFor(tf.backend())?.relaxed, relaxed);
          return convResults(c);
        }));
        ['y', 'dx', 'dw'].slice(0, ref.length).forEach((name, i) => {
          assert.ok(relErr(got[i], ref[i]) <= 1e-4, `${name} rel err ${relErr(got[i], ref[i])}`);
        });
      });
    }
  }

  it('leave no tensors or heap buffers behind', async () => {
    await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' }, () => {
      convResults(cases[3]);
      const before = tf.memory().numTensors, buffers = tf.backend().numDataIds();
      for (let i = 0; i < 5; i++) for (const c of cases.slice(0, 4)) convResults(c);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.backend().numDataIds(), buffers);
    }));
  });
});
