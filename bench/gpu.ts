/**
 * `npm run bench:gpu`: the detectors on the WebGPU adapter present
 * (`BENCH_BACKEND`, default webgpu; a software adapter such as SwiftShader is
 * named as such in the results). For each config, a training step as the
 * trainer runs it (`prepareLoss`, one step, one asynchronous read) in ms and
 * images/s, and inference FPS at batch 1 with post-processing:
 * - the main job (configs/retinanet_gghost_cpu_shapes.json) at 128², batch 8;
 * - the COCO RetinaNet with G-Ghost RegNetX-3.2GF
 *   (configs/retinanet_gghost_regnetx032_fpn_1x_coco.json) at 1333×800
 *   padded to 1408×896 (its size divisor, 128), batch 2. On a software
 *   adapter it is skipped unless BENCH_COCO=1 (minutes per step).
 * Writes bench/results/gpu.json with the adapter, backend and machine.
 */
import * as path from 'path';
import { tf } from '../engine/tf';
import { initBackend, describeBackend, BackendName } from '../backend/init_backend';
import { seedInit } from '../util/rng';
import { buildDetector } from '../detectors/build';
import { loadConfig } from '../configs/schema';
import { measureFps } from '../eval/fps';
import { modelCost } from '../eval/report';
import { AdamW } from '../train/adamw';
import { trainStep } from '../train/step';
import { medianMs, writeResults } from './report';

interface Case { config: string; width: number; height: number; batch: number }

const CASES: Case[] = [
  { config: 'retinanet_gghost_cpu_shapes', width: 128, height: 128, batch: 8 },
  { config: 'retinanet_gghost_regnetx032_fpn_1x_coco', width: 1408, height: 896, batch: 2 },
];

async function measure(c: Case, runs: number, warmup: number): Promise<Record<string, unknown>> {
  const { config } = loadConfig(path.resolve(__dirname, '..', '..', 'configs', `${c.config}.json`));
  seedInit(0);
  const model = buildDetector(config.model);
  const cost = modelCost(model, c.height, c.width);
  model.train();
  const vars = model.trainableVariables();
  const opt = new AdamW({ lr: 1e-5 });
  const x = tf.randomUniform([c.batch, c.height, c.width, 3], -2, 2, 'float32', 1) as tf.Tensor4D;
  const s = c.width / 128;
  const targets = Array.from({ length: c.batch }, () => ({ boxes: Float32Array.of(10 * s, 12 * s, 50 * s, 60 * s, 60 * s, 64 * s, 110 * s, 120 * s), labels: Int32Array.of(0, 2), ignore: new Float32Array(0) }));
  const stepMs = await medianMs(async () => {
    await model.prepareLoss(x, targets);
    await trainStep(() => model.loss(model.forward(x), targets), vars, opt, config.train.gradClip);
  }, runs, warmup);
  x.dispose();
  opt.dispose();
  model.eval();
  const fps = await measureFps(model, c.height, c.width, runs, warmup);
  model.dispose();
  return {
    config: c.config, inputSize: `${c.width}x${c.height}`, params: cost.params, gmacs: +(cost.macs / 1e9).toFixed(2),
    trainBatch: c.batch, trainStepMs: +stepMs.toFixed(1), trainImagesPerSecond: +((c.batch * 1000) / stepMs).toFixed(2),
    forwardFps: fps.forwardFps, inferenceFps: fps.inferenceFps,
  };
}

async function main(): Promise<void> {
  const info = await initBackend((process.env.BENCH_BACKEND as BackendName | undefined) ?? 'webgpu');
  const line = describeBackend(info);
  console.error(line);
  const software = info.adapter?.software ?? info.name !== 'webgpu';
  const runs = Number(process.env.BENCH_RUNS ?? (software ? 2 : 5)), warmup = software ? 1 : 2;
  const rows: Record<string, unknown>[] = [], skipped: string[] = [];
  for (const c of CASES) {
    if (c.width > 128 && software && process.env.BENCH_COCO !== '1') {
      skipped.push(`${c.config}: skipped on a software adapter (BENCH_COCO=1 runs it)`);
      console.error(skipped[skipped.length - 1]);
      continue;
    }
    const row = await measure(c, runs, warmup);
    console.log(JSON.stringify(row));
    rows.push(row);
  }
  const file = writeResults('gpu', 'npm run bench:gpu', {
    backend: line, adapter: info.adapter ?? null, software,
    what: `training step (prepareLoss + one step with one asynchronous read, AdamW) median of ${runs} after ${warmup} warm-up; inference batch 1 with decode + NMS, BN folded`,
    rows, skipped,
  });
  console.error(`wrote ${file}`);
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
