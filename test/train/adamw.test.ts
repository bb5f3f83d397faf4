import { strict as assert } from 'assert';
import { tf } from '../../runtime/tf';
import { AdamW } from '../../train/adamw';
import { applyGrads } from '../../train/step';
import { sumOfSquares } from '../../runtime/optimizer_kernels';
import { onBackend, seeded } from '../helpers';

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
      const got = await onBackend(backend, () => {
        const p = tf.variable(tf.tensor1d(start));
        const opt = new AdamW({ lr: 0.01, weightDecay: 0.05 });
        const scales: number[] = [];
        for (const g of grads) {
          const gt = tf.tensor1d(g);
          const norm = Math.sqrt(g.reduce((s, x) => s + x * x, 0));
          scales.push(norm > 5 ? 5 / (norm + 1e-6) : 1);
          // applyGrads disposes the gradient it is given.
          applyGrads([p], [gt], 1, opt, 5);
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

  it('sumOfSquares over several tensors equals Σx² (one kernel on wasm/cpu)', async () => {
    for (const backend of ['wasm', 'cpu'] as const) {
      const s = await onBackend(backend, () => tf.tidy(() => sumOfSquares([tf.tensor1d([1, 2]), tf.tensor2d([[3], [-4]]), tf.scalar(0.5)])));
      assert.ok(Math.abs(s - 30.25) < 1e-6, `${backend}: ${s}`);
    }
  });

  it('keeps tf.memory().numTensors flat over steps', async () => {
    await onBackend('wasm', () => {
      const p = tf.variable(tf.tensor1d(start));
      const opt = new AdamW({ lr: 0.01 });
      applyGrads([p], [tf.tensor1d(grads[0])], 1, opt, 5);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 10; i++) applyGrads([p], [tf.tensor1d(grads[i % 4])], 1, opt, 5);
      assert.equal(tf.memory().numTensors, before);
      opt.dispose();
      p.dispose();
    });
  });
});
