import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { AdamW } from '../../train/adamw';
import { applyGrads } from '../../train/step';
import * as optimizerKernels from '../../kernels/optimizer';
import { sumOfSquares } from '../../kernels/optimizer';
import { onBackend, seeded, withEnv } from '../helpers';

/** torch.optim.AdamW's update, element by element in float64, with the gradient scaled first (clip_grad_norm_). */
function torchAdamW(p: number[], grads: number[][], o: { lr: number; wd: number; scales: number[] }): number[] {
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const m = p.map(() => 0), v = p.map(() => 0), x = [...p];
  grads.forEach((gRaw, t0) => {
    const t = t0 + 1, bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
    x.forEach((_, i) => {
      const g = gRaw[i] * o.scales[t0];
      x[i] *= 1 - o.lr * o.wd;
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      x[i] -= (o.lr / bc1) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps));
    });
  });
  return x;
}

describe('AdamW (torch.optim.AdamW semantics)', () => {
  const start = Array.from(seeded(37, 3));
  const grads = [0, 1, 2, 3].map((s) => Array.from(seeded(37, 10 + s)).map((g) => 4 * g));

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`four steps with decay and clipping on ${backend} equal the float64 reference (1e-6)`, async () => {
      const got = await onBackend(backend, async () => {
        const p = tf.variable(tf.tensor1d(start));
        const opt = new AdamW({ lr: 0.01, weightDecay: 0.05 });
        const scales: number[] = [];
        for (const g of grads) {
          const gt = tf.tensor1d(g);
          const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
          scales.push(norm > 5 ? 5 / (norm + 1e-6) : 1);
          // applyGrads disposes the gradient it is given.
          await applyGrads([p], [gt], 1, opt, 5);
        }
        const out = Array.from(p.dataSync());
        opt.dispose();
        p.dispose();
        return { out, scales };
      });
      const ref = torchAdamW(start, grads, { lr: 0.01, wd: 0.05, scales: got.scales });
      assert.ok(got.scales.some((s) => s < 1), 'the case should clip at least once');
      got.out.forEach((x, i) => assert.ok(Math.abs(x - ref[i]) <= 1e-6 * Math.max(1, Math.abs(ref[i])), `p[${i}] ${x} vs ${ref[i]}`));
    });
  }

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`${backend}: the step written over the variables equals the kernel's new tensors bit for bit, and spares a clone`, async () => {
      await onBackend(backend, async () => {
        const run = async (inPlace: boolean): Promise<{ out: Float32Array; clone: Float32Array; sameData: boolean }> => {
          const p = tf.variable(tf.tensor1d(start));
          // A clone shares p's data: p must take the kernel route (a new tensor) on the step that sees it.
          const clone = inPlace ? p.clone() : undefined;
          const opt = new AdamW({ lr: 0.01, weightDecay: 0.05 });
          const route = optimizerKernels.adamwInPlace;
          const spy = inPlace ? route : (): boolean => false;
          (optimizerKernels as { adamwInPlace: typeof route }).adamwInPlace = spy;
          const ids: tf.DataId[] = [];
          try {
            for (const g of grads) {
              await applyGrads([p], [tf.tensor1d(g)], 1, opt, 5);
              ids.push(p.dataId);
            }
          } finally {
            (optimizerKernels as { adamwInPlace: typeof route }).adamwInPlace = route;
          }
          const out = p.dataSync() as Float32Array, kept = clone ? (clone.dataSync() as Float32Array) : new Float32Array(0);
          tf.dispose([p, ...(clone ? [clone] : [])]);
          opt.dispose();
          return { out, clone: kept, sameData: ids.slice(1).every((id) => id === ids[0]) };
        };
        const a = await run(true), b = await run(false);
        assert.ok(a.sameData, 'after the first step p kept its storage (updated in place)');
        assert.ok(!b.sameData, 'the kernel route gives p new storage each step');
        assert.deepEqual(Array.from(a.out), Array.from(b.out));
        assert.deepEqual(Array.from(a.clone), Array.from(Float32Array.from(start)), 'the clone kept the starting values');
      });
    });
  }

  it('wasm: a filter updated in place is not read stale from XNNPACK\'s operator cache', async () => {
    await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: '0' }, async () => {
      const x = tf.tensor4d(seeded(2 * 6 * 6 * 4, 5), [2, 6, 6, 4]);
      const f = tf.tidy(() => tf.variable(tf.tensor4d(seeded(3 * 3 * 4 * 8, 6), [3, 3, 4, 8])));
      const dw = tf.tidy(() => tf.variable(tf.tensor4d(seeded(3 * 3 * 4 * 1, 7), [3, 3, 4, 1])));
      const opt = new AdamW({ lr: 0.1 });
      const outputs = (): number[][] => tf.tidy(() => [Array.from(tf.conv2d(x, f, 1, 'same').dataSync()), Array.from(tf.depthwiseConv2d(x, dw, 1, 'same').dataSync())]);
      for (let i = 0; i < 3; i++) {
        outputs();
        await applyGrads([f, dw], [tf.onesLike(f), tf.onesLike(dw)], 1, opt);
      }
      const ids = [f.dataId, dw.dataId];
      outputs();
      await applyGrads([f, dw], [tf.onesLike(f), tf.onesLike(dw)], 1, opt);
      assert.deepEqual([f.dataId, dw.dataId], ids, 'updated in place');
      const fresh = tf.tidy(() => [Array.from(tf.conv2d(x, tf.add(f, 0) as tf.Tensor4D, 1, 'same').dataSync()), Array.from(tf.depthwiseConv2d(x, tf.add(dw, 0) as tf.Tensor4D, 1, 'same').dataSync())]);
      assert.deepEqual(outputs(), fresh);
      opt.dispose();
      tf.dispose([x, f, dw]);
    }));
  });

  it('sumOfSquares over several tensors equals Σx² (one kernel on wasm/cpu)', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const s = await onBackend(backend, () => sumOfSquares([tf.tensor1d([1, 2]), tf.tensor2d([[3], [-4]]), tf.scalar(0.5)]));
      assert.ok(Math.abs(s - 30.25) < 1e-6, `${backend}: ${s}`);
    }
  });

  it('keeps tf.memory().numTensors flat over steps', async () => {
    await onBackend('wasm', async () => {
      const p = tf.variable(tf.tensor1d(start));
      const opt = new AdamW({ lr: 0.01 });
      await applyGrads([p], [tf.tensor1d(grads[0])], 1, opt, 5);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) await applyGrads([p], [tf.tensor1d(grads[i % 4])], 1, opt, 5);
      assert.equal(tf.memory().numTensors, before);
      opt.dispose();
      p.dispose();
    });
  });
});
