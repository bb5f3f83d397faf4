/**
 * Run by test/backend/webgpu.test.ts in a child process: training steps of
 * a tiny RetinaNet and a tiny YOLOX on webgpu, as the trainer runs them
 * (`prepareLoss`, then one step with one asynchronous read). Any synchronous
 * read would throw here: tfjs-webgpu's `readSync` needs a canvas, which Node
 * has not. Prints one JSON line: per model, the losses of the first and last
 * steps, and `numTensors` and `numBytesInGPU` after every step.
 */
import { tf } from '../../engine/tf';
import { releaseGpu } from '../../backend/webgpu';
import { initBackend } from '../../backend/init_backend';
import { seedInit } from '../../util/rng';
import { buildDetector, ModelConfig } from '../../detectors/build';
import { AdamW } from '../../train/adamw';
import { trainStep } from '../../train/step';
import { tinyRetinaConfig, tinyYoloxConfig } from '../fixtures';
import { seeded } from '../helpers';

interface Memory { numTensors: number; numBytesInGPU: number }

const gpuMemory = (): Memory => {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  return { numTensors: m.numTensors, numBytesInGPU: m.numBytesInGPU ?? -1 };
};

async function train(c: ModelConfig, steps: number): Promise<{ first: number; last: number; at5: Memory; end: Memory; series: Memory[] }> {
  seedInit(3);
  const model = buildDetector(c);
  model.train();
  const opt = new AdamW({ lr: 0.004, weightDecay: 1e-4 });
  const vars = model.trainableVariables();
  const x = tf.tensor4d(seeded(2 * 32 * 32 * 3, 9), [2, 32, 32, 3]);
  const targets = [0, 1].map((b) => ({ boxes: new Float32Array([4 + b, 4, 20, 22 - b, 14, 12, 30, 30]), labels: new Int32Array([b, 2]), ignore: new Float32Array(0) }));
  let first = NaN, last = NaN, at5: Memory = gpuMemory();
  const series: Memory[] = [];
  for (let i = 1; i <= steps; i++) {
    await model.prepareLoss(x, targets);
    const r = await trainStep(() => model.loss(model.forward(x), targets), vars, opt, 35);
    if (i === 1) first = r.losses.loss;
    if (i === 5) at5 = gpuMemory();
    series.push(gpuMemory());
    last = r.losses.loss;
  }
  const end = gpuMemory();
  x.dispose();
  opt.dispose();
  model.dispose();
  return { first, last, at5, end, series };
}

async function main(): Promise<void> {
  await initBackend('webgpu');
  const [retinaSteps, yoloxSteps] = [Number(process.argv[2] ?? 50), Number(process.argv[3] ?? 10)];
  const result = {
    retinanet: await train(tinyRetinaConfig(3), retinaSteps),
    yolox: await train({ ...tinyYoloxConfig(3), neck: { type: 'pafpn', outChannels: 32, numCspBlocks: 1 } }, yoloxSteps),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  releaseGpu();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ error: e instanceof Error ? e.stack ?? e.message : String(e) }) + '\n');
  process.exit(1);
});
