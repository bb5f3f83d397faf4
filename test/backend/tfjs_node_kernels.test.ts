import { strict as assert } from 'assert';
import * as fs from 'fs';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { buildDetector, ModelConfig } from '../../detectors/build';
import { AdamW } from '../../train/adamw';
import { Ema } from '../../train/ema';
import { trainStep } from '../../train/step';
import { fixture, seeded } from '../helpers';
import { tinyRetinaConfig, tinyYoloxConfig } from '../fixtures';

/**
 * The tensorflow route (@tensorflow/tfjs-node, which cannot install here)
 * gets none of our kernels, so every op takes its composed path there. A
 * backend that is tfjs's cpu under another name, with our kernels left out
 * and each dispatch recorded, runs what that route would run: a training
 * step (with the weight average and BatchNorm statistics) and predict, for
 * both heads. Every kernel it dispatches must be one tfjs-node registers.
 */
describe('the tensorflow route dispatches only kernels @tensorflow/tfjs-node registers', function () {
  this.timeout(120000);
  const PROBE = 'ghostdet-kernel-probe';
  const seen = new Set<string>();
  let previous = '';

  before(async () => {
    previous = tf.getBackend();
    const cpu = tf.findBackendFactory('cpu');
    assert.ok(cpu, 'the cpu backend factory');
    tf.registerBackend(PROBE, cpu);
    for (const k of tf.getKernelsForBackend('cpu')) {
      if (k.kernelName.startsWith('Ghostdet')) continue; // ours: the tensorflow route has none
      tf.registerKernel({ ...k, backendName: PROBE, kernelFunc: (args) => { seen.add(k.kernelName); return k.kernelFunc(args); } });
    }
    await tf.setBackend(PROBE);
  });
  after(async () => {
    await tf.setBackend(previous);
    tf.removeBackend(PROBE);
  });

  const run = async (c: ModelConfig): Promise<void> => {
    seedInit(5);
    const model = buildDetector(c);
    const ema = new Ema(model, { momentum: 0.0001, gamma: 2000 });
    const opt = new AdamW({ lr: 0.001, weightDecay: 1e-4 });
    const x = tf.tensor4d(seeded(2 * 64 * 64 * 3, 4), [2, 64, 64, 3]);
    const targets = [0, 1].map(() => ({ boxes: new Float32Array([6, 8, 34, 40, 28, 30, 60, 56]), labels: new Int32Array([0, 2]), ignore: new Float32Array([40, 0, 60, 10]) }));
    model.train();
    await model.prepareLoss(x, targets);
    await trainStep(() => model.loss(model.forward(x), targets), model.trainableVariables(), opt, 35);
    ema.update();
    model.eval();
    const out = model.forward(x);
    await model.predict(out, [0, 1].map((id) => ({ id, origWidth: 64, origHeight: 64, width: 64, height: 64, scaleX: 1, scaleY: 1, flipped: false })));
    tf.dispose([x, ...Object.values(out).flat()]);
    opt.dispose();
    model.dispose();
  };

  it('RetinaNet + FPN and YOLOX + PAFPN over G-Ghost: train step, EMA, BN statistics, predict', async () => {
    const retina = tinyRetinaConfig(3);
    await run({ ...retina, head: { ...retina.head, gnGroups: 8 } }); // the main job's GroupNorm head
    await run({ ...tinyYoloxConfig(3), neck: { type: 'pafpn', outChannels: 32, numCspBlocks: 1 } });
    const list = JSON.parse(fs.readFileSync(fixture('tfjs_node_kernels.json')!, 'utf8')) as { kernels: string[] };
    const registered = new Set(list.kernels);
    for (const k of ['Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNative']) assert.ok(seen.has(k), `the probe saw no ${k}`);
    assert.deepEqual([...seen].filter((k) => !registered.has(k)).sort(), [], 'kernels tfjs-node does not register');
  });
});
