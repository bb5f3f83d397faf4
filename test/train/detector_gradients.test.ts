import { strict as assert } from 'assert';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { buildDetector } from '../../detectors/build';
import { loadConfig } from '../../configs/schema';
import { computeGrads } from '../../train/step';
import { onBackend, relErr, seeded, withEnv } from '../helpers';

const CONFIGS = path.resolve(__dirname, '..', '..', '..', 'configs');

/** Every parameter's gradient of the detector's loss, by module path. */
async function detectorGrads(config: string): Promise<Map<string, Float32Array>> {
  const { config: c } = loadConfig(path.join(CONFIGS, config));
  seedInit(0);
  const model = buildDetector(c.model);
  // Norms on fixed statistics: batch statistics of 2×2 maps would make the comparison a test of conditioning.
  model.eval();
  const named = model.namedParameters().filter((t) => t.variable.trainable);
  const [n, h, w] = [2, 64, 64];
  const targets = Array.from({ length: n }, () => ({ boxes: new Float32Array([6, 8, 34, 40, 28, 30, 60, 56]), labels: new Int32Array([0, 2]), ignore: new Float32Array(0) }));
  const images = tf.tensor4d(seeded(n * h * w * 3, 7), [n, h, w, 3]);
  const g = await computeGrads(() => model.loss(model.forward(images), targets), named.map((t) => t.variable));
  const out = new Map(named.map((t, i) => [t.name, g.grads[i]!.dataSync() as Float32Array]));
  tf.dispose([images, ...g.grads.filter((x): x is tf.Tensor => x !== undefined)]);
  model.dispose();
  return out;
}

// The whole chain — our wasm kernels, the necks' upsampling, the losses — against tfjs's cpu backend,
// with XNNPACK's convs and with our conv GEMMs (the route of single-threaded training replicas).
describe('detector gradients: wasm equals cpu', function () {
  this.timeout(180000);
  const cpuGrads = new Map<string, Map<string, Float32Array>>();
  for (const config of ['retinanet_gghost_cpu_shapes.json', 'yolox_gghost_cpu_shapes.json']) {
    for (const gemm of ['0', '1']) {
      it(`${config}${gemm === '1' ? ' (conv GEMMs)' : ''}: every parameter's gradient within 1e-4`, async () => {
        const wasm = await onBackend('wasm', () => withEnv({ GHOSTDET_CONV_GEMM: gemm }, () => detectorGrads(config)));
        if (!cpuGrads.has(config)) cpuGrads.set(config, await onBackend('cpu', () => detectorGrads(config)));
        const cpu = cpuGrads.get(config)!;
        assert.equal(wasm.size, cpu.size);
        for (const [name, g] of wasm) {
          const e = relErr(g, cpu.get(name)!);
          assert.ok(e <= 1e-4, `${name}: rel err ${e}`);
        }
      });
    }
  }
});
