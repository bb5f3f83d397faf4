/**
 * Run by test/backend/webgpu.test.ts in a child process: a training run on
 * webgpu whose device is destroyed during its third step (as a driver reset
 * would take it). Prints one JSON line: the error the run stopped with, and
 * whether the checkpoint written before it still reads.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tf } from '../../engine/tf';
import { releaseGpu } from '../../backend/webgpu';
import { initBackend } from '../../backend/init_backend';
import { loadConfig, applySet } from '../../configs/schema';
import { prepareTraining } from '../../train/run';
import { readCheckpoint, saveCheckpoint } from '../../train/checkpoint';
import { tinyShapes } from '../fixtures';

async function main(): Promise<void> {
  await initBackend('webgpu');
  const d = tinyShapes();
  let c = loadConfig(path.resolve(__dirname, '..', '..', '..', 'configs', 'retinanet_gghost_cpu_shapes.json')).config;
  for (const s of ['data.kind=coco', `data.root=${d.root}`, 'data.trainAnn=annotations/instances_train.json', 'data.trainImages=train',
    'data.valAnn=annotations/instances_val.json', 'data.valImages=val', 'data.filterEmpty=false', 'data.resize.size=64', 'data.workers=0',
    'model.neck.outChannels=16', 'model.head.featChannels=16', 'model.head.stackedConvs=1', 'model.head.gnGroups=8',
    'train.epochs=1', 'train.batchSize=2', 'train.workers=1', 'train.warmupIters=1', 'train.evalEvery=100']) c = applySet(c, s);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-lost-'));
  const run = prepareTraining(c, dir, undefined, () => undefined);
  const file = path.join(dir, 'last.safetensors');
  await saveCheckpoint(file, run.model, run.optimizer(), { epoch: 0, batchInEpoch: 2, iter: 2, config: c });
  const loss = run.model.loss.bind(run.model);
  let calls = 0;
  run.model.loss = (out, t) => {
    if (++calls === 3) (tf.backend() as unknown as { device: { destroy(): void } }).device.destroy();
    return loss(out, t);
  };
  let error = '';
  try {
    await run.trainer.run();
  } catch (e) {
    error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  const checkpointEpoch = readCheckpoint(file).state.batchInEpoch;
  process.stdout.write(JSON.stringify({ error, calls, checkpointBatch: checkpointEpoch }) + '\n');
  releaseGpu();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ error: `unexpected: ${e instanceof Error ? e.stack : String(e)}` }) + '\n');
  process.exit(1);
});
