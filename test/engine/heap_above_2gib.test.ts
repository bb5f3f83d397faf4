import { strict as assert } from 'assert';
import { tf } from '../../engine/tf';
import { simdFor } from '../../engine/simd_module';
import { dnnl } from '../../engine/dnnl';
import { applyGrads } from '../../train/step';
import { AdamW } from '../../train/adamw';
import { onBackend, relErr, seeded, withEnv } from '../helpers';
import { detectorStep } from '../detector_step';

/**
 * A wasm heap grows to 4 GiB, and its addresses past 2 GiB are negative as
 * the i32 malloc returns them. A RetinaNet-R50 training step at batch 4,
 * 320×192, gets there; our kernels' scratch used to be viewed at a negative
 * offset.
 */
interface HeapBackend { wasm: { _malloc(bytes: number): number; _free(ptr: number): void } }

const cases = [
  { n: 2, h: 16, w: 16, cin: 64, cout: 64, k: 3, s: 1 }, // 3×3 stride 1: Winograd where it fits
  { n: 2, h: 32, w: 32, cin: 24, cout: 24, k: 3, s: 2 }, // stride 2: the GEMM
];

/** y, dx and dw of Σ conv(x, w) ⊙ r. */
function convGrads(c: typeof cases[0]): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.n * c.h * c.w * c.cin, 1), [c.n, c.h, c.w, c.cin]);
    const w = tf.tensor4d(seeded(c.k * c.k * c.cin * c.cout, 2), [c.k, c.k, c.cin, c.cout]);
    const conv = (xx: tf.Tensor, ww: tf.Tensor): tf.Tensor4D => tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.s, 'same');
    const y = conv(x, w);
    const r = tf.tensor(seeded(y.size, 3), y.shape);
    const [gx, gw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(conv(xx, ww), r)))([x, w]);
    return [y, gx, gw].map((t) => t.dataSync() as Float32Array);
  });
}

/** The losses and every weight after one AdamW training step of a config's detector at 64², from seed 0. */
function trainedWeights(config: string): Promise<Float32Array[]> {
  return detectorStep(config, async (model, vars, g) => {
    await applyGrads(vars, g.grads, g.losses.loss, new AdamW({ lr: 1e-3, weightDecay: 1e-4 }));
    return [Float32Array.from(Object.keys(g.losses).sort().map((k) => g.losses[k])), ...model.namedTensors().map((t) => t.variable.dataSync() as Float32Array)];
  });
}

/**
 * Runs `fn` with the wasm heap below 2 GiB taken (blocks that are never
 * written, so never resident): 16 MiB blocks until one lands past 2 GiB,
 * then 1 MiB and 64 KiB ones for the holes earlier tests left. Most of
 * what `fn` allocates then lies above 2 GiB; malloc does not promise all of
 * it (it may split a block above before it fills a hole below), so the
 * tests check results, not addresses. Run alone, the step tests failed
 * without the unsigned-address fix, on the first kernel scratch up there.
 */
async function aboveTwoGiB<T>(fn: () => T | Promise<T>): Promise<T> {
  const heap = (tf.backend() as unknown as HeapBackend).wasm;
  const blocks: number[] = [];
  try {
    for (const size of [16 * 2 ** 20, 2 ** 20, 64 * 2 ** 10]) {
      for (let p = 0; p < 2 ** 31;) {
        p = heap._malloc(size) >>> 0;
        assert.notEqual(p, 0, 'the wasm heap has room past 2 GiB');
        blocks.push(p);
      }
    }
    return await fn();
  } finally {
    for (const p of blocks) heap._free(p);
  }
}

describe('wasm heap above 2 GiB', function () {
  before(function () {
    if (process.arch !== 'x64' && process.arch !== 'arm64') this.skip(); // needs a 64-bit host for a 4 GiB wasm memory
  });

  for (const route of ['our kernels', 'oneDNN'] as const) {
    it(`convolutions and their gradients on ${route}, with the heap below 2 GiB taken, match cpu`, async function () {
      if (route === 'oneDNN' && !dnnl()) this.skip();
      const refs = await onBackend('cpu', () => cases.map((c) => convGrads(c)));
      await onBackend('wasm', async () => {
        assert.ok(simdFor(tf.backend()), 'our SIMD kernels are on');
        await aboveTwoGiB(() => withEnv({ GHOSTDET_DNNL: route === 'oneDNN' ? undefined : '0' }, () => {
          cases.forEach((c, i) => {
            const out = convGrads(c);
            ['y', 'dx', 'dw'].forEach((name, j) => assert.ok(relErr(out[j], refs[i][j]) <= 1e-4, `${name}: rel err ${relErr(out[j], refs[i][j])}`));
          });
        }));
      });
    });
  }

  // Norms, depthwise convs (GhostNet), SiLU and the AdamW kernel too: a whole step, the same above as below.
  for (const config of ['retinanet_gghost_cpu_shapes.json', 'yolox_gghost_cpu_shapes.json', 'retinanet_ghostnet100_fpn_1x_coco.json']) {
    it(`${config}: one training step gives the same losses and weights above 2 GiB as below`, async function () {
      this.timeout(300000);
      await onBackend('wasm', async () => {
        const below = await trainedWeights(config);
        const above = await aboveTwoGiB(() => trainedWeights(config));
        assert.equal(above.length, below.length);
        below.forEach((b, i) => assert.ok(relErr(above[i], b) <= 1e-6, `${i ? `weight ${i}` : 'losses'}: rel err ${relErr(above[i], b)}`));
      });
    });
  }
});
