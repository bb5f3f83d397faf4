import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { geometry } from '../../kernels/conv_geometry';
import { MIN_OUTPUTS, winogradFits } from '../../kernels/winograd';
import { onBackend, relErr, seeded, withEnv } from '../helpers';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
/** `directDx`: the input gradient reads cout channels, not a multiple of 4, so it stays on the direct GEMM. */
type Case = { n: number; h: number; w: number; cin: number; cout: number; pad: Pad; directDx?: boolean };

// 3×3 stride-1 convs that take the Winograd route (≥ 512 output pixels, channels ≥ 16, the channels
// read a multiple of 4): odd map sizes (half-empty edge tiles), output channels off the 4- and
// 8-lane blocks (the heads' 27 and 36), named, asymmetric and over-wide explicit pads, a last
// chunk of tiles that is not a multiple of 4.
const cases: Case[] = [
  { n: 1, h: 24, w: 24, cin: 32, cout: 32, pad: 'same' },
  { n: 2, h: 16, w: 16, cin: 32, cout: 27, pad: 'same', directDx: true },
  { n: 1, h: 23, w: 25, cin: 16, cout: 36, pad: 'same' },
  { n: 3, h: 19, w: 14, cin: 20, cout: 28, pad: 'valid' },
  { n: 2, h: 17, w: 21, cin: 32, cout: 24, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  { n: 1, h: 29, w: 31, cin: 24, cout: 16, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
];

/** y = conv(x, w) and the gradients of Σ y ⊙ r w.r.t. x and w. */
function results(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.n * c.h * c.w * c.cin, 11), [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(seeded(9 * c.cin * c.cout, 12), [3, 3, c.cin, c.cout]);
    const conv = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor4D => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, c.pad);
    const y = conv(x, w);
    const r = tf.tensor(seeded(y.size, 13), y.shape);
    const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), r)))([x, w]);
    return [y, gx, gw].map((t) => t.dataSync() as Float32Array);
  });
}

const label = (c: Case): string => `${c.n}x${c.h}x${c.w}x${c.cin} → ${c.cout} pad ${JSON.stringify(c.pad)}`;

describe('Winograd F(2×2, 3×3) convs', () => {
  it('take 3×3 stride-1 dilation-1 ungrouped convs with enough channels and outputs, nothing else', () => {
    const g = (k: number, s = 1, d = 1) => geometry([4, 16, 16, 64], [k, k, 64, 64], s, d, 'same', undefined, false);
    assert.ok(winogradFits(g(3), 64, 64, 1, 1024, MIN_OUTPUTS.conv));
    assert.ok(!winogradFits(g(3), 64, 64, 1, 256, MIN_OUTPUTS.conv), 'too few outputs for the forward');
    assert.ok(winogradFits(g(3), 64, 64, 1, 256, MIN_OUTPUTS.filterGrad), 'the filter gradient pays off sooner');
    assert.ok(!winogradFits(g(1), 64, 64, 1, 1024, MIN_OUTPUTS.conv), '1×1');
    assert.ok(!winogradFits(g(5), 64, 64, 1, 1024, MIN_OUTPUTS.conv), '5×5');
    assert.ok(!winogradFits(g(3, 2), 64, 64, 1, 1024, MIN_OUTPUTS.conv), 'stride 2');
    assert.ok(!winogradFits(g(3, 1, 2), 64, 64, 1, 1024, MIN_OUTPUTS.conv), 'dilation 2');
    assert.ok(!winogradFits(g(3), 64, 64, 2, 1024, MIN_OUTPUTS.conv), 'grouped');
    assert.ok(!winogradFits(g(3), 18, 64, 1, 1024, MIN_OUTPUTS.conv), 'channels read not a multiple of 4');
    assert.ok(!winogradFits(g(3), 8, 64, 1, 1024, MIN_OUTPUTS.conv), 'too few channels');
    assert.ok(!withEnv({ GHOSTDET_WINOGRAD: '0' }, () => winogradFits(g(3), 64, 64, 1, 1024, MIN_OUTPUTS.conv)), 'GHOSTDET_WINOGRAD=0');
  });

  for (const relaxed of [true, false]) {
    for (const c of cases) {
      it(`${relaxed ? 'fused' : 'mul+add'} ${label(c)}: output, input and filter gradients match cpu within 1e-4`, async () => {
        const ref = await onBackend('cpu', () => results(c));
        const env = { GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0', GHOSTDET_RELAXED_SIMD: relaxed ? undefined : '0' };
        const got = await onBackend('wasm', () => withEnv(env, () => results(c)));
        // The direct GEMMs on the same inputs: Winograd must have run (its float rounding differs) for each of the three.
        const direct = await onBackend('wasm', () => withEnv({ ...env, GHOSTDET_WINOGRAD: '0' }, () => results(c)));
        ['y', 'dx', 'dw'].forEach((name, i) => {
          assert.ok(relErr(got[i], ref[i]) <= 1e-4, `${name} rel err ${relErr(got[i], ref[i])}`);
          const ran = got[i].some((v, j) => v !== direct[i][j]);
          if (name === 'dx' && c.directDx) assert.ok(!ran, 'dx: expected the direct GEMM');
          else assert.ok(ran, `${name}: identical to the direct GEMM, so Winograd did not run`);
        });
      });
    }
  }

  it('leave no tensors or heap buffers behind', async () => {
    await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' }, () => {
      results(cases[2]);
      const before = tf.memory().numTensors, buffers = tf.backend().numDataIds();
      for (let i = 0; i < 3; i++) for (const c of cases.slice(0, 3)) results(c);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.backend().numDataIds(), buffers);
    }));
  });
});

// Maps of 4096 output pixels and more take F(4×4, 3×3) for the output and the input gradient (the
// filter gradient stays on F(2×2)): odd sizes (partial 4×4 edge tiles), output channels off the
// 8-lane blocks, "valid" and asymmetric explicit pads.
const largeCases: Case[] = [
  { n: 1, h: 66, w: 70, cin: 16, cout: 20, pad: 'same' },
  { n: 2, h: 66, w: 69, cin: 16, cout: 36, pad: 'valid' },
  { n: 1, h: 66, w: 63, cin: 20, cout: 16, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] },
];

describe('Winograd F(4×4, 3×3) convs on large maps', function () {
  this.timeout(120000);
  for (const c of largeCases) {
    it(`${label(c)}: output and input gradient match cpu within 1e-4, and differ from F(2×2)'s rounding`, async () => {
      const ref = await onBackend('cpu', () => results(c));
      const env = { GHOSTDET_CONV_GEMM: '1', GHOSTDET_DNNL: '0' };
      const got = await onBackend('wasm', () => withEnv(env, () => results(c)));
      const f2 = await onBackend('wasm', () => withEnv({ ...env, GHOSTDET_WINOGRAD: '2' }, () => results(c)));
      ['y', 'dx', 'dw'].forEach((name, i) => {
        assert.ok(relErr(got[i], ref[i]) <= 1e-4, `${name} rel err ${relErr(got[i], ref[i])}`);
        assert.ok(relErr(f2[i], ref[i]) <= 1e-4, `${name} (F(2×2)) rel err ${relErr(f2[i], ref[i])}`);
      });
      assert.ok(got[0].some((v, j) => v !== f2[0][j]), 'y: identical to F(2×2), so F(4×4) did not run');
      assert.ok(got[1].some((v, j) => v !== f2[1][j]), 'dx: identical to F(2×2), so F(4×4) did not run');
    });
  }
});
