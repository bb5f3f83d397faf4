import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { WASM_GRAD_KERNELS } from '../../kernels/conv_grad';
import { onBackend, relErr, seeded, withoutSimd } from '../helpers';

type Case = { n: number; h: number; w: number; cin: number; cout: number; k: number; s: number; pad: 'same' | 'valid' | number };

const cases: Case[] = [];
for (const k of [1, 3, 5]) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid', Math.floor(k / 2)] as const) {
      cases.push({ n: 2, h: 11, w: 9, cin: 3, cout: 4, k, s, pad });
    }
  }
}
cases.push({ n: 2, h: 16, w: 16, cin: 8, cout: 6, k: 3, s: 2, pad: 1 });
// Maps wide enough for the filter gradient's row runs (≥ 8 output columns), strides up to 3
// (the input gradient's stride phases, including phases no tap reaches when k < s).
for (const k of [1, 2, 3, 5]) {
  for (const s of [1, 2, 3]) {
    for (const pad of ['same', 'valid', Math.floor(k / 2)] as const) {
      cases.push({ n: 2, h: 13, w: 26, cin: 5, cout: 3, k, s, pad });
    }
  }
}
// Channels in blocks of 4 (the filter gradient's 4×4 in-register transpose at stride 1), with and without a tail.
for (const cin of [10, 12]) {
  for (const k of [1, 3]) {
    for (const pad of ['same', 'valid', 1] as const) cases.push({ n: 2, h: 7, w: 11, cin, cout: 5, k, s: 1, pad });
  }
}

function explicit(pad: Case['pad']): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  return typeof pad === 'number' ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : pad;
}

/** Gradients of Σ(conv(x, w) ⊙ r) w.r.t. x and w: r makes every output position matter differently. */
function convGrads(c: Case, depthwise: boolean): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.n * c.h * c.w * c.cin, 1), [c.n, c.h, c.w, c.cin]);
    const wShape: [number, number, number, number] = depthwise ? [c.k, c.k, c.cin, 1] : [c.k, c.k, c.cin, c.cout];
    const w = tf.tensor4d(seeded(wShape.reduce((a, b) => a * b), 2), wShape);
    const f = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor => {
      const y = depthwise
        ? tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, explicit(c.pad))
        : tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, explicit(c.pad));
      const r = tf.tensor(seeded(y.size, 3), y.shape);
      return tf.sum(tf.mul(y, r));
    };
    const [gx, gw] = tf.grads(f)([x, w]);
    return [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array];
  });
}

describe('wasm gradient kernels', () => {
  // Our own kernels: where the oneDNN addon is built it would take these convs (test/kernels/conv_dnnl.test.ts).
  let dnnlBefore: string | undefined;
  before(() => {
    dnnlBefore = process.env.GHOSTDET_DNNL;
    process.env.GHOSTDET_DNNL = '0';
  });
  after(() => {
    if (dnnlBefore === undefined) delete process.env.GHOSTDET_DNNL; else process.env.GHOSTDET_DNNL = dnnlBefore;
  });

  it('registers every kernel a conv training step needs', () => {
    for (const name of WASM_GRAD_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
  });

  // Depthwise gradients have a SIMD route and the XNNPACK route it replaces (still used where SIMD is off).
  for (const [depthwise, simd] of [[false, true], [true, true], [true, false]]) {
    for (const c of cases) {
      const label = `${depthwise ? 'depthwise' : 'conv2d'}${simd ? '' : ' (SIMD off)'} k${c.k} s${c.s} pad ${c.pad} ${c.n}x${c.h}x${c.w}x${c.cin}`;
      it(`${label}: input and filter gradients match cpu within 1e-4`, async () => {
        const ref = await onBackend('cpu', () => convGrads(c, depthwise));
        const got = await onBackend('wasm', () => (simd ? convGrads(c, depthwise) : withoutSimd(() => convGrads(c, depthwise))));
        assert.ok(relErr(got[0], ref[0]) <= 1e-4, `dx rel err ${relErr(got[0], ref[0])}`);
        assert.ok(relErr(got[1], ref[1]) <= 1e-4, `dw rel err ${relErr(got[1], ref[1])}`);
      });
    }
  }

  // Multipliers as grouped convs use them (G-Ghost: 8), odd and even sizes. (tfjs has no gradient for dilated depthwise convs.)
  for (const d of [{ m: 2, s: 2, h: 9, w: 7 }, { m: 8, s: 2, h: 10, w: 8 }, { m: 8, s: 2, h: 11, w: 9 }, { m: 3, s: 1, h: 8, w: 7 }, { m: 6, s: 1, h: 5, w: 6 }].flatMap((x) => [{ ...x, simd: true }, { ...x, simd: false }])) {
    it(`depthwise multiplier ${d.m} stride ${d.s} ${d.h}x${d.w}${d.simd ? '' : ' (SIMD off)'} matches cpu`, async () => {
      const run = (): Float32Array[] => tf.tidy(() => {
        const x = tf.tensor4d(seeded(2 * d.h * d.w * 3, 4), [2, d.h, d.w, 3]);
        const w = tf.tensor4d(seeded(3 * 3 * 3 * d.m, 5), [3, 3, 3, d.m]);
        const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => {
          const y = tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, d.s, 'same', 'NHWC');
          return tf.sum(tf.mul(y, tf.tensor(seeded(y.size, 6), y.shape)));
        })([x, w]);
        return [gx.dataSync() as Float32Array, gw.dataSync() as Float32Array];
      });
      const ref = await onBackend('cpu', run);
      const got = await onBackend('wasm', () => (d.simd ? run() : withoutSimd(run)));
      assert.ok(relErr(got[0], ref[0]) <= 1e-4, `dx rel err ${relErr(got[0], ref[0])}`);
      assert.ok(relErr(got[1], ref[1]) <= 1e-4, `dw rel err ${relErr(got[1], ref[1])}`);
    });
  }

  it('leaves no tensors behind', async () => {
    await onBackend('wasm', () => {
      const c = cases[cases.length - 1];
      convGrads(c, false);
      const before = tf.memory().numTensors;
      const buffers = tf.backend().numDataIds();
      convGrads(c, false);
      convGrads(c, true);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.backend().numDataIds(), buffers);
    });
  });
});
