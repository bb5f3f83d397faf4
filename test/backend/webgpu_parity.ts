/**
 * Run by test/backend/webgpu.test.ts in a child process (WebGPU state is
 * per process): the backbone features and raw head maps of small detectors on webgpu and on cpu,
 * built from the same seeded weights, read asynchronously (a synchronous
 * read of a webgpu tensor needs a canvas, which Node has not). Prints one
 * JSON line: the backend line and the largest relative difference per model.
 */
import { tf } from '../../engine/tf';
import { releaseGpu } from '../../backend/webgpu';
import { initBackend, describeBackend } from '../../backend/init_backend';
import { registerAllKernels } from '../../kernels/register_all_kernels';
import { seedInit } from '../../util/rng';
import { computeGrads } from '../../train/step';
import { buildDetector } from '../../detectors/build';
import type { ModelConfig } from '../../detectors/build';
import { tinyRetinaConfig, tinyYoloxConfig } from '../fixtures';
import { relErr, seeded } from '../helpers';

const MODELS: Record<string, ModelConfig> = {
  'retinanet+fpn g_ghost_regnetx_002': tinyRetinaConfig(3),
  'yolox+pafpn g_ghost_regnetx_002': { ...tinyYoloxConfig(3), neck: { type: 'pafpn', outChannels: 32, numCspBlocks: 1 } },
  'retinanet+fpn ghostnet_050': { ...tinyRetinaConfig(3), backbone: { name: 'ghostnet_050' } },
  'retinanet+fpn ese_vovnet19b_slim_dw': { ...tinyRetinaConfig(3), backbone: { name: 'ese_vovnet19b_slim_dw' } },
};

/** The backbone's feature maps and every head map of the model on the current backend, in eval mode (what predict and evaluation run). */
async function maps(c: ModelConfig, images: Float32Array): Promise<Float32Array[]> {
  seedInit(7);
  const model = buildDetector(c);
  model.eval();
  const x = tf.tensor4d(images, [2, 64, 64, 3]);
  const features = model.backbone.forward(x);
  const heads = Object.values(model.forward(x)).flat();
  const all = [...features, ...heads];
  const values = await Promise.all(all.map((m) => m.data() as Promise<Float32Array>));
  tf.dispose([x, ...all]);
  model.dispose();
  return values;
}

/** Every trainable parameter's gradient of the detector's loss on two images with boxes of every class. */
async function grads(c: ModelConfig, images: Float32Array): Promise<Float32Array[]> {
  seedInit(7);
  const model = buildDetector(c);
  model.eval();
  const x = tf.tensor4d(images, [2, 64, 64, 3]);
  const targets = [0, 1].map(() => ({ boxes: new Float32Array([6, 8, 34, 40, 28, 30, 60, 56]), labels: new Int32Array([0, 2]), ignore: new Float32Array(0) }));
  const vars = model.trainableVariables();
  await model.prepareLoss(x, targets);
  const g = await computeGrads(() => model.loss(model.forward(x), targets), vars);
  const values = await Promise.all(g.grads.map((t, i) => (t ? (t.data() as Promise<Float32Array>) : Promise.reject(new Error(`no gradient for ${vars[i].name}`)))));
  tf.dispose([x, ...g.grads.filter((t): t is tf.Tensor => t !== undefined)]);
  model.dispose();
  return values;
}

/** The largest, over maps, of the suite's relative error (max |a − b| / max |b|), each map on its own scale. */
function worstRelErr(a: Float32Array[], b: Float32Array[]): number {
  return Math.max(...a.map((x, k) => relErr(x, b[k])));
}

async function main(): Promise<void> {
  const info = await initBackend('webgpu');
  registerAllKernels('cpu');
  const images = seeded(2 * 64 * 64 * 3, 5);
  const result: Record<string, number> = {}, gradErr: Record<string, number> = {};
  for (const [name, c] of Object.entries(MODELS)) {
    const on = async <T>(backend: string, f: () => Promise<T>): Promise<T> => { await tf.setBackend(backend); return f(); };
    result[name] = worstRelErr(await on('webgpu', () => maps(c, images)), await on('cpu', () => maps(c, images)));
    gradErr[name] = worstRelErr(await on('webgpu', () => grads(c, images)), await on('cpu', () => grads(c, images)));
  }
  process.stdout.write(JSON.stringify({ backend: describeBackend(info), relErr: result, gradRelErr: gradErr }) + '\n');
  releaseGpu();
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ error: e instanceof Error ? e.message : String(e) }) + '\n');
  process.exit(1);
});
