import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { simdActive } from '../../engine/simd_module';
import { normAffine } from '../../nn/norm_affine';
import { ADAMW_UPDATE, sumOfSquaresTensor } from '../../kernels/optimizer';
import { onBackend, relErr, seeded, withoutSimd } from '../helpers';

const DIST = path.resolve(__dirname, '..', '..');

/** Section ids of a wasm binary, in order (the module must own no memory: no data, global or start section). */
function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++];
    let size = 0, shift = 0, b: number;
    do {
      b = bytes[i++];
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    ids.push(id);
    i += size;
  }
  return ids;
}

/** Output, dx, dγ, dβ of the fused norm with a weighting r that makes every output matter differently. */
function normResults(shape: [number, number, number, number], groups: number, perSample: boolean, act: 'relu' | 'identity'): Float32Array[] {
  return tf.tidy(() => {
    const n = shape.reduce((a, b) => a * b);
    const c = shape[3];
    // An offset mean, as activations have: the float64 sums must keep the variance.
    const x = tf.add(tf.tensor4d(seeded(n, 11), shape), 3);
    const gamma = tf.tensor1d(seeded(c, 12)), beta = tf.tensor1d(seeded(c, 13));
    const r = tf.tensor4d(seeded(n, 14), shape);
    const f = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(normAffine(xx as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, { groups, perSample, eps: 1e-5, act }), r));
    const y = normAffine(x as tf.Tensor4D, gamma, beta, { groups, perSample, eps: 1e-5, act });
    const [dx, dg, db] = tf.grads(f)([x, gamma, beta]);
    return [y, dx, dg, db].map((t) => t.dataSync() as Float32Array);
  });
}

describe('SIMD kernels in the tfjs-wasm heap', () => {
  for (const file of ['kernels.wasm', 'kernels_shared.wasm', 'kernels_relaxed.wasm', 'kernels_shared_relaxed.wasm']) {
    it(`${file} imports only the heap and owns no memory of its own`, async () => {
      // Binding the kernels turns relaxed SIMD on in Node 20's engine (see engine/simd_module.ts).
      await onBackend('wasm', () => simdActive());
      const bytes = fs.readFileSync(path.join(DIST, 'simd', file));
      const mod = new WebAssembly.Module(bytes);
      assert.deepEqual(WebAssembly.Module.imports(mod), [{ module: 'env', name: 'memory', kind: 'memory' }]);
      const ids = sectionIds(bytes);
      for (const [id, name] of [[6, 'global'], [8, 'start'], [11, 'data']] as const) assert.ok(!ids.includes(id), `${file} has a ${name} section`);
    });
  }

  it('run on the wasm backend the tests use', async () => {
    await onBackend('wasm', () => assert.ok(simdActive(), 'SIMD kernels are off on wasm'));
  });

  // Channel counts with and without a tail past the last 4-lane vector; BatchNorm and GroupNorm layouts.
  const normCases: Array<{ shape: [number, number, number, number]; groups: number; perSample: boolean }> = [
    { shape: [2, 5, 7, 8], groups: 8, perSample: false },
    { shape: [3, 4, 6, 7], groups: 7, perSample: false },
    { shape: [2, 6, 5, 12], groups: 3, perSample: true },
    { shape: [2, 3, 9, 13], groups: 1, perSample: true },
  ];
  for (const c of normCases) {
    for (const act of ['relu', 'identity'] as const) {
      it(`norm ${c.shape.join('x')} groups ${c.groups} ${c.perSample ? 'per sample' : 'batch'} ${act}: SIMD equals the JS loops (1e-5)`, async () => {
        const simd = await onBackend('wasm', () => normResults(c.shape, c.groups, c.perSample, act));
        const js = await onBackend('wasm', () => withoutSimd(() => normResults(c.shape, c.groups, c.perSample, act)));
        ['y', 'dx', 'dγ', 'dβ'].forEach((name, i) => assert.ok(relErr(simd[i], js[i]) <= 1e-5, `${name} rel err ${relErr(simd[i], js[i])}`));
      });
    }
  }

  it('AdamW step: SIMD equals the JS loop bit for bit (float32 throughout); sum of squares within 1e-6; odd lengths included', async () => {
    const run = (): { steps: number[][]; sums: number[] } => tf.tidy(() => {
      const steps: number[][] = [], sums: number[] = [];
      for (const n of [1, 7, 64, 1001]) {
        const [p, g, m, v] = [21, 22, 23, 24].map((s) => tf.tensor1d(seeded(n, s)));
        const vPos = tf.abs(v);
        const attrs = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 1 - 0.01 * 0.05, bc1: 1 - 0.9 ** 3, bc2: 1 - 0.999 ** 3, gradScale: 0.7 };
        const res = tf.engine().runKernel(ADAMW_UPDATE, { p, g, m, v: vPos }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        for (const t of res) steps.push(Array.from(t.dataSync()));
        sums.push(sumOfSquaresTensor([p, g, m]).dataSync()[0]);
      }
      return { steps, sums };
    });
    const simd = await onBackend('wasm', run);
    const js = await onBackend('wasm', () => withoutSimd(run));
    const cpu = await onBackend('cpu', run);
    simd.steps.forEach((a, i) => {
      assert.deepEqual(a, js.steps[i], `step output ${i}: SIMD vs JS`);
      assert.deepEqual(a, cpu.steps[i], `step output ${i}: wasm vs cpu`);
    });
    assert.ok(relErr(simd.sums, js.sums) <= 1e-6, `sums: rel err ${relErr(simd.sums, js.sums)}`);
  });

  it('the single-threaded wasm build (its heap is not shared) runs them too, with the same results', function () {
    this.timeout(60000);
    const script = `
      const { initBackend } = require(${JSON.stringify(path.join(DIST, 'backend', 'init_backend'))});
      const { tf } = require(${JSON.stringify(path.join(DIST, 'engine', 'tf'))});
      const { simdActive } = require(${JSON.stringify(path.join(DIST, 'engine', 'simd_module'))});
      const { normAffine } = require(${JSON.stringify(path.join(DIST, 'nn', 'norm_affine'))});
      (async () => {
        await initBackend('wasm');
        const x = tf.tensor4d(Array.from({ length: 2 * 5 * 6 * 12 }, (_, i) => Math.sin(i) + 2), [2, 5, 6, 12]);
        const f = (xx) => tf.sum(tf.square(normAffine(xx, tf.ones([12]), tf.zeros([12]), { groups: 12, perSample: false, eps: 1e-5, act: 'relu' })));
        const shared = tf.backend().wasm.HEAPF32.buffer instanceof SharedArrayBuffer;
        console.log(JSON.stringify({ simd: simdActive(), shared, grad: Array.from(tf.grad(f)(x).dataSync()) }));
      })();`;
    const probe = (env: Record<string, string>): { simd: boolean; shared: boolean; grad: number[] } => {
      const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000 });
      return JSON.parse(out.trim().split('\n').pop() as string) as { simd: boolean; shared: boolean; grad: number[] };
    };
    const one = probe({ GHOSTDET_THREADS: '1' });
    const js = probe({ GHOSTDET_THREADS: '1', GHOSTDET_SIMD: '0' });
    assert.equal(one.simd, true);
    assert.equal(one.shared, false);
    assert.equal(js.simd, false);
    assert.ok(relErr(one.grad, js.grad) <= 1e-5, `rel err ${relErr(one.grad, js.grad)}`);
  });

  it('keeps tf.memory().numTensors and the heap flat', async () => {
    await onBackend('wasm', () => {
      normResults([2, 4, 4, 8], 4, true, 'relu');
      const before = tf.memory().numTensors;
      const buffers = tf.backend().numDataIds();
      normResults([2, 4, 4, 8], 4, true, 'relu');
      assert.equal(tf.memory().numTensors, before);
      assert.equal(tf.backend().numDataIds(), buffers);
    });
  });
});
