/**
 * `npm run bench:train`: training throughput of the main-job detector
 * (configs/retinanet_gghost_cpu_shapes.json: RetinaNet + G-Ghost RegNetX-200MF,
 * GN head, 128×128, batch 8) on random images with fixed boxes: forward +
 * backward + AdamW per step, with one replica and with the config's
 * data-parallel workers. Writes bench/results/train.json.
 */
import * as path from 'path';
import { tf } from '../runtime/tf';
import { initBackend, describeBackend, BackendName } from '../runtime/backend';
import { seedInit, Rng } from '../runtime/rng';
import { buildDetector } from '../detectors/build';
import { loadConfig } from '../configs/schema';
import { computeGrads, applyGrads, Gradients } from '../train/step';
import { AdamW } from '../train/adamw';
import { DataParallel } from '../train/data_parallel';
import type { Batch } from '../data/loader';
import { medianMs, writeResults } from './report';

function randomBatch(n: number, size: number): Batch {
  const rng = new Rng(n);
  const images = new Float32Array(n * size * size * 3).map(() => rng.normal());
  const targets = Array.from({ length: n }, () => ({ boxes: new Float32Array([10, 12, 50, 60, 60, 64, 110, 120]), labels: new Int32Array([0, 2]), ignore: new Float32Array(0) }));
  return { images, shape: [n, size, size, 3], targets, metas: [], indices: [] };
}

async function main(): Promise<void> {
  const info = await initBackend((process.env.BENCH_BACKEND as BackendName | undefined) ?? 'auto');
  console.error(describeBackend(info));
  const { config } = loadConfig(path.resolve(__dirname, '..', '..', 'configs', 'retinanet_gghost_cpu_shapes.json'));
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const batchSize = config.train.batchSize, size = config.data.resize.size;
  seedInit(0);
  const model = buildDetector(config.model);
  model.train();
  const vars = model.trainableVariables();
  const opt = new AdamW({ lr: 1e-4, weightDecay: 1e-4 });
  const batch = randomBatch(batchSize, size);
  const step = async (grads: () => Promise<Gradients> | Gradients): Promise<void> => {
    const g = await grads();
    applyGrads(vars, g.grads, g.losses.loss, opt, config.train.gradClip);
  };
  const rows = [];
  const single = await medianMs(() => step(() => computeGrads(() => model.loss(model.forward(tf.tensor4d(batch.images, batch.shape)), batch.targets), vars)), runs);
  rows.push({ replicas: 1, batchSize, inputSize: size, stepMs: +single.toFixed(1), imagesPerSecond: +((batchSize * 1000) / single).toFixed(2) });
  console.log(JSON.stringify(rows[0]));
  if (config.train.workers > 1 && info.name !== 'tensorflow') {
    const dp = await DataParallel.start(config.train.workers, info.name, config.model);
    const ms = await medianMs(() => step(() => dp.grads(model, vars, batch)), runs);
    await dp.stop();
    rows.push({ replicas: config.train.workers, batchSize, inputSize: size, stepMs: +ms.toFixed(1), imagesPerSecond: +((batchSize * 1000) / ms).toFixed(2) });
    console.log(JSON.stringify(rows[1]));
  }
  const file = writeResults('train', 'npm run bench:train', {
    backend: info, what: 'main-job detector (configs/retinanet_gghost_cpu_shapes.json), one training step = forward + backward + AdamW; median of runs after 2 warm-up steps', results: rows,
  });
  console.error(`wrote ${file}`);
  model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
