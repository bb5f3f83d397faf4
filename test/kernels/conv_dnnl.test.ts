import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { dnnl } from '../../engine/dnnl';
import { simdFor } from '../../engine/simd_module';
import { wasmThreadCount } from '../../engine/wasm_thread_count';
import { dnnlFor } from '../../kernels/conv_dnnl';
import { groupedConv2d } from '../../kernels/grouped_conv';
import { onBackend, relErr, seeded, withEnv } from '../helpers';

/**
 * oneDNN's convolutions (packages/dnnl) against the cpu backend, where the
 * addon is built (CI installs libdnnl-dev); pending elsewhere, where our own
 * kernels run and their tests cover them.
 */
type Case = { n: number; h: number; w: number; cin: number; cout: number; k: number; s: number; d?: number; groups?: number; pad: 'same' | 'valid' | number };

// The stem's 3 inputs, 1×1 and 3×3 at strides 1 and 2, 'valid' windows that leave rows unread
// (k2 s3), a kernel smaller than its stride, dilation, and grouped convs as RegNetX and G-Ghost
// use them (group widths 8 and 6, strides 1 and 2).
const cases: Case[] = [
  { n: 2, h: 9, w: 7, cin: 5, cout: 6, k: 3, s: 1, pad: 1 },
  { n: 1, h: 11, w: 13, cin: 3, cout: 32, k: 3, s: 2, pad: 1 },
  { n: 2, h: 8, w: 8, cin: 12, cout: 27, k: 1, s: 1, pad: 0 },
  { n: 1, h: 10, w: 9, cin: 8, cout: 16, k: 3, s: 2, pad: 'same' },
  { n: 1, h: 13, w: 26, cin: 7, cout: 9, k: 2, s: 3, pad: 'valid' },
  { n: 2, h: 9, w: 8, cin: 6, cout: 10, k: 1, s: 2, pad: 0 },
  { n: 2, h: 16, w: 16, cin: 64, cout: 64, k: 3, s: 1, pad: 1 },
  { n: 1, h: 12, w: 10, cin: 6, cout: 10, k: 3, s: 1, d: 2, pad: 'same' },
  { n: 2, h: 6, w: 10, cin: 72, cout: 72, k: 3, s: 1, groups: 12, pad: 1 },
  { n: 2, h: 9, w: 11, cin: 24, cout: 24, k: 3, s: 2, groups: 3, pad: 1 },
  { n: 2, h: 8, w: 6, cin: 32, cout: 64, k: 1, s: 2, groups: 4, pad: 0 },
];

function explicit(pad: Case['pad']): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  return typeof pad === 'number' ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : pad;
}

/** A grouped conv as tfjs's own ops: one dense conv per group, concatenated (the cpu reference). */
function composedGrouped(x: tf.Tensor4D, w: tf.Tensor4D, s: number, pad: ReturnType<typeof explicit>, groups: number): tf.Tensor4D {
  const gout = w.shape[3] / groups;
  const xs = tf.split(x, groups, 3) as tf.Tensor4D[];
  return tf.concat(xs.map((xi, i) => tf.conv2d(xi, tf.slice(w, [0, 0, 0, gout * i], [-1, -1, -1, gout]) as tf.Tensor4D, s, pad)), 3);
}

/** y and the gradients of Σ y ⊙ r w.r.t. x and w (dilated: y only, tfjs has no dilated conv gradient). */
function convResults(c: Case, grouped: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D): Float32Array[] {
  return tf.tidy(() => {
    const g = c.groups ?? 1;
    const x = tf.tensor4d(seeded(c.n * c.h * c.w * c.cin, 1), [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(seeded(c.k * c.k * (c.cin / g) * c.cout, 2), [c.k, c.k, c.cin / g, c.cout]);
    const conv = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor4D => g > 1 ? grouped(xx as tf.Tensor4D, ww as tf.Tensor4D)
      : tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, explicit(c.pad), 'NHWC', c.d ?? 1);
    const y = conv(x, w);
    if (c.d) return [y.dataSync() as Float32Array];
    const r = tf.tensor(seeded(y.size, 3), y.shape);
    const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), r)))([x, w]);
    return [y, gx, gw].map((t) => t.dataSync() as Float32Array);
  });
}

const label = (c: Case): string => `k${c.k} s${c.s}${c.d ? ` d${c.d}` : ''}${c.groups ? ` G${c.groups}` : ''} pad ${c.pad} ${c.n}x${c.h}x${c.w}x${c.cin} → ${c.cout}`;

describe('oneDNN convolutions (@ghostdet/dnnl)', function () {
  before(function () {
    if (!dnnl()) this.skip(); // not built here: apt-get install libdnnl-dev && npm rebuild @ghostdet/dnnl
  });

  it('take the convs on wasm at any thread count, and GHOSTDET_DNNL=0 turns them off', async () => {
    await onBackend('wasm', () => {
      assert.ok(dnnlFor(tf.backend()));
      assert.match(dnnl()?.version() ?? '', /^\d+\.\d+\.\d+$/);
      assert.equal(withEnv({ GHOSTDET_DNNL: '0' }, () => dnnlFor(tf.backend())), undefined);
    });
  });

  for (const c of cases) {
    it(`${label(c)}: output${c.d ? '' : ', input and filter gradients'} match cpu within 1e-4, run by oneDNN`, async () => {
      const ref = await onBackend('cpu', () => convResults(c, (x, w) => composedGrouped(x, w, c.s, explicit(c.pad), c.groups ?? 1)));
      const addon = dnnl();
      assert.ok(addon);
      const got = await onBackend('wasm', () => {
        const before = addon.runs();
        const out = convResults(c, (x, w) => groupedConv2d(x, w, c.s, explicit(c.pad) as Parameters<typeof groupedConv2d>[3], c.groups ?? 1));
        // Every pass goes through oneDNN: y's forward, and where gradients are taken the forward
        // inside tf.grads and both gradients. Runs, not builds, are counted: an earlier test in the
        // same process may have cached this shape.
        assert.equal(addon.runs() - before, c.d ? 1 : 4, 'passes run by oneDNN');
        return out;
      });
      ['y', 'dx', 'dw'].slice(0, ref.length).forEach((name, i) => {
        assert.ok(relErr(got[i], ref[i]) <= 1e-4, `${name} rel err ${relErr(got[i], ref[i])}`);
      });
    });
  }

  // Depthwise (GhostNet's cheap operations): one input channel per group, multipliers 1 and 2.
  const depthwise: Array<Case & { m: number }> = [
    { n: 2, h: 9, w: 7, cin: 16, cout: 16, m: 1, k: 3, s: 1, pad: 'same' },
    { n: 1, h: 12, w: 11, cin: 8, cout: 16, m: 2, k: 5, s: 2, pad: 'same' },
    { n: 2, h: 8, w: 10, cin: 12, cout: 12, m: 1, k: 3, s: 2, pad: 'valid' },
    { n: 1, h: 11, w: 9, cin: 6, cout: 6, m: 1, k: 3, s: 1, d: 2, pad: 'same' },
  ];
  for (const c of depthwise) {
    it(`depthwise ${label(c)} (×${c.m}): output${c.d ? '' : ', input and filter gradients'} match cpu within 1e-4, run by oneDNN`, async () => {
      const results = (): Float32Array[] => tf.tidy(() => {
        const x = tf.tensor4d(seeded(c.n * c.h * c.w * c.cin, 4), [c.n, c.h, c.w, c.cin]);
        const w = tf.tensor4d(seeded(c.k * c.k * c.cin * c.m, 5), [c.k, c.k, c.cin, c.m]);
        const conv = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor4D =>
          tf.depthwiseConv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, c.pad as 'same' | 'valid', 'NHWC', c.d ?? 1);
        const y = conv(x, w);
        if (c.d) return [y.dataSync() as Float32Array];
        const r = tf.tensor(seeded(y.size, 6), y.shape);
        const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), r)))([x, w]);
        return [y, gx, gw].map((t) => t.dataSync() as Float32Array);
      });
      const ref = await onBackend('cpu', results);
      const addon = dnnl();
      assert.ok(addon);
      const got = await onBackend('wasm', () => {
        const before = addon.runs();
        const out = results();
        assert.equal(addon.runs() - before, c.d ? 1 : 4, 'passes run by oneDNN');
        return out;
      });
      ['y', 'dx', 'dw'].slice(0, ref.length).forEach((name, i) => {
        assert.ok(relErr(got[i], ref[i]) <= 1e-4, `${name} rel err ${relErr(got[i], ref[i])}`);
      });
    });
  }

  it('give the same values on two OpenMP threads as on one', async () => {
    const addon = dnnl();
    assert.ok(addon);
    const c = cases[6];
    const run = (threads: number): Promise<Float32Array[]> => onBackend('wasm', () => {
      dnnlFor(tf.backend()); // sets the backend's count once; ours below then stands
      addon.setThreads(threads);
      return convResults(c, (x) => x);
    });
    try {
      const one = await run(1), two = await run(2);
      one.forEach((v, i) => assert.ok(relErr(two[i], v) <= 1e-5, `${i}: ${relErr(two[i], v)}`));
    } finally {
      await onBackend('wasm', () => addon.setThreads(wasmThreadCount(tf.backend())));
    }
  });

  it('refuse offsets past the heap view, impossible geometry and wrong arguments before touching memory', async () => {
    const addon = dnnl();
    assert.ok(addon);
    await onBackend('wasm', () => {
      const simd = simdFor(tf.backend());
      assert.ok(simd);
      const heap = new Uint8Array(simd.memory.buffer);
      // n, h, w, cin, outH, outW, cout, kh, kw, sh, sw, dh, dw, top, left, groups
      const geo = Int32Array.from([1, 4, 4, 8, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1]);
      const end = heap.byteLength;
      assert.throws(() => addon.conv(0, heap, end - 100, 0, 0, geo), /runs past the end of the heap view/);
      assert.throws(() => addon.conv(2, heap, 0, 0, end, geo), /runs past the end of the heap view/);
      assert.throws(() => addon.conv(0, heap.subarray(0, 64), 0, 0, 0, geo), /runs past the end/);
      // A 2^30 × 2^30 × 16 input is 2^66 bytes, which wraps to 0 in 64-bit arithmetic; a 1×1 output keeps y and W small.
      const huge = Int32Array.from([1, 2 ** 30, 2 ** 30, 16, 1, 1, 8, 1, 1, 2 ** 30, 2 ** 30, 1, 1, 0, 0, 1]);
      assert.throws(() => addon.conv(0, heap, 0, 0, 0, huge), /runs past the end/);
      const badOut = Int32Array.from(geo);
      badOut[4] = 9;
      assert.throws(() => addon.conv(0, heap, 0, 0, 0, badOut), /output size does not follow/);
      const badGroups = Int32Array.from(geo);
      badGroups[15] = 3;
      assert.throws(() => addon.conv(0, heap, 0, 0, 0, badGroups), /multiple of the groups/);
      const zero = Int32Array.from(geo);
      zero[9] = 0;
      assert.throws(() => addon.conv(0, heap, 0, 0, 0, zero), /whole numbers/);
      assert.throws(() => addon.conv(3 as 0, heap, 0, 0, 0, geo), TypeError);
      assert.throws(() => addon.conv(0, heap, -4, 0, 0, geo), TypeError);
      assert.throws(() => addon.conv(0, heap, 0, 0, 0, Float32Array.from(geo) as unknown as Int32Array), TypeError);
      assert.throws(() => addon.setThreads(0), TypeError);
    });
  });

  it('keep at most 1,024 primitives per thread, dropping the least recently used', () => {
    const addon = dnnl();
    assert.ok(addon);
    // 1×1 convs of one channel over 1,100 map heights: 1,100 distinct shapes.
    const geo = (h: number, w = 1): Int32Array => Int32Array.from([1, h, w, 1, h, w, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1]);
    // Fill the cache with other shapes first, so none of the 1,100 is left from an earlier test.
    for (let h = 1; h <= 1024; h++) addon.implementation(0, geo(h, 2));
    const built = addon.built();
    for (let h = 1; h <= 1100; h++) assert.match(addon.implementation(0, geo(h)), /\S/);
    assert.equal(addon.built() - built, 1100);
    assert.equal(addon.cached(), 1024);
    addon.implementation(0, geo(1100)); // recent: still cached
    assert.equal(addon.built() - built, 1100);
    addon.implementation(0, geo(1)); // evicted: built again
    assert.equal(addon.built() - built, 1101);
  });

  it('leave no tensors or heap buffers behind', async () => {
    await onBackend('wasm', () => {
      convResults(cases[2], (x) => x);
      const before = tf.memory().numTensors, buffers = tf.backend().numDataIds();
      for (let i = 0; i < 5; i++) for (const c of cases.slice(0, 4)) convResults(c, (x) => x);
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.backend().numDataIds(), buffers);
    });
  });
});
