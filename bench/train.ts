/**
 * `npm run bench:train`: training throughput of the main-job detector
 * (configs/retinanet_gghost_cpu_shapes.json: RetinaNet + G-Ghost RegNetX-200MF,
 * GN head, batch 8) on random images with fixed boxes, at 128×128 and
 * 320×192 (W×H; `BENCH_SIZES=128x128` picks): forward + backward + AdamW per
 * step, with one replica and with the config's data-parallel workers. Each
 * size also gets where one step's time goes: wall time of forward + loss,
 * backward and optimizer, and the ten kernels with the largest share of
 * `tf.profile`'s kernel time. Writes bench/results/train.json.
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

function randomBatch(n: number, h: number, w: number): Batch {
  const rng = new Rng(n);
  const images = new Float32Array(n * h * w * 3).map(() => rng.normal());
  const targets = Array.from({ length: n }, () => ({ boxes: new Float32Array([10, 12, 50, 60, 60, 64, 110, 120]), labels: new Int32Array([0, 2]), ignore: new Float32Array(0) }));
  return { images, shape: [n, h, w, 3], targets, metas: [], indices: [] };
}

/** `WxH` pairs from BENCH_SIZES (default the two sizes PyTorch was measured at). */
function sizes(): Array<{ w: number; h: number }> {
  return (process.env.BENCH_SIZES ?? '128x128,320x192').split(',').map((t) => {
    const m = /^(\d+)x(\d+)$/.exec(t.trim());
    if (!m) throw new Error(`BENCH_SIZES: "${t}" is not WxH (e.g. 320x192)`);
    return { w: +m[1], h: +m[2] };
  });
}

interface KernelShare { kernel: string; ms: number; share: number; calls: number }

/** The ten kernels with the most time in one profiled call of `fn`, with their share of all kernel time. */
async function topKernels(fn: () => void): Promise<{ totalKernelMs: number; top: KernelShare[] }> {
  const prof = await tf.profile(fn);
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of prof.kernels) {
    const a = byName.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    a.calls++;
    byName.set(k.name, a);
  }
  const total = [...byName.values()].reduce((s, a) => s + a.ms, 0);
  const top = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)
    .map(([kernel, a]) => ({ kernel, ms: +a.ms.toFixed(1), share: +(a.ms / total).toFixed(3), calls: a.calls }));
  return { totalKernelMs: +total.toFixed(1), top };
}

async function main(): Promise<void> {
  const info = await initBackend((process.env.BENCH_BACKEND as BackendName | undefined) ?? 'auto');
  console.error(describeBackend(info));
  const { config } = loadConfig(path.resolve(__dirname, '..', '..', 'configs', 'retinanet_gghost_cpu_shapes.json'));
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const batchSize = config.train.batchSize;
  seedInit(0);
  const model = buildDetector(config.model);
  model.train();
  const vars = model.trainableVariables();
  const opt = new AdamW({ lr: 1e-4, weightDecay: 1e-4 });
  const rows = [];
  const profiles = [];
  const dp = config.train.workers > 1 && info.name !== 'tensorflow' ? await DataParallel.start(config.train.workers, info.name, config.model) : undefined;
  for (const { w, h } of sizes()) {
    const batch = randomBatch(batchSize, h, w);
    const inputSize = `${w}x${h}`;
    const lossFn = (): Record<string, tf.Scalar> => model.loss(model.forward(tf.tensor4d(batch.images, batch.shape)), batch.targets);
    const apply = (g: Gradients): void => {
      applyGrads(vars, g.grads, g.losses.loss, opt, config.train.gradClip);
    };
    const single = await medianMs(() => apply(computeGrads(lossFn, vars)), runs);
    rows.push({ replicas: 1, batchSize, inputSize, stepMs: +single.toFixed(1), imagesPerSecond: +((batchSize * 1000) / single).toFixed(2) });
    console.log(JSON.stringify(rows[rows.length - 1]));
    if (dp) {
      const ms = await medianMs(async () => apply(await dp.grads(model, vars, batch)), runs);
      rows.push({ replicas: dp.replicas, batchSize, inputSize, stepMs: +ms.toFixed(1), imagesPerSecond: +((batchSize * 1000) / ms).toFixed(2) });
      console.log(JSON.stringify(rows[rows.length - 1]));
    }
    const forwardMs = await medianMs(() => tf.tidy(() => tf.addN(Object.values(lossFn())).dataSync()), runs, 1);
    let gradsMs = 0, optMs = 0;
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      const g = computeGrads(lossFn, vars);
      const t1 = process.hrtime.bigint();
      apply(g);
      gradsMs += Number(t1 - t0) / 1e6 / runs;
      optMs += Number(process.hrtime.bigint() - t1) / 1e6 / runs;
    }
    const kernels = await topKernels(() => apply(computeGrads(lossFn, vars)));
    const profile = {
      inputSize, replicas: 1,
      wallMs: { forwardAndLoss: +forwardMs.toFixed(1), backward: +Math.max(0, gradsMs - forwardMs).toFixed(1), optimizer: +optMs.toFixed(1) },
      ...kernels,
    };
    profiles.push(profile);
    console.log(JSON.stringify(profile));
  }
  await dp?.stop();
  const file = writeResults('train', 'npm run bench:train', {
    backend: info,
    what: 'main-job detector (configs/retinanet_gghost_cpu_shapes.json), one training step = forward + backward + AdamW at batch 8; inputSize is W×H; median of `runs` steps (BENCH_RUNS) after 2 warm-up steps; profile: one replica, wall ms per phase (backward = gradient step − forward) and the top-10 kernels of tf.profile',
    runs, results: rows, profiles,
  });
  console.error(`wrote ${file}`);
  model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
