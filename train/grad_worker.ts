/**
 * A gradient replica in a worker thread (data-parallel training on CPU
 * backends, which run one thread each): it reads the current weights and
 * gets half a batch, and writes the gradients of its half; weights and
 * gradients live in memory shared with the main replica, allocated once. BN batch statistics are
 * per replica, running statistics are kept by the main replica only (as
 * PyTorch DDP without SyncBN).
 */
import { parentPort } from 'worker_threads';
import { tf } from '../engine/tf';
import { initBackend, BackendName } from '../backend/init_backend';
import { buildDetector, ModelConfig } from '../detectors/build';
import type { Detector } from '../detectors/detector';
import type { Target } from '../data/loader';
import { computeGrads } from './step';
import { packTensors, Packed, unpackInto } from './flat_tensors';

/** `threads`: XNNPACK threads of this replica (the main replica's share of the cores). */
export interface WorkerInit { type: 'init'; backend: BackendName; model: ModelConfig; threads: number }
export interface WorkerStep {
  type: 'step';
  /** Every parameter and buffer, in `namedTensors()` order, end to end (a view of memory shared with the main replica). */
  weights: Packed;
  /** Shared memory the worker writes its gradients into (the main replica reads them before the next step). */
  gradsInto: Float32Array;
  images: Float32Array;
  shape: [number, number, number, number];
  targets: Target[];
  /** The main replica's `trainFlags` (e.g. YOLOX's L1 switch). */
  flags: Record<string, boolean>;
}
export type WorkerReply = { type: 'ready' } | { type: 'grads'; losses: Record<string, number>; grads: Packed; numTensors: number } | { type: 'error'; message: string };

let model: Detector | undefined;

async function handle(msg: WorkerInit | WorkerStep): Promise<WorkerReply> {
  if (msg.type === 'init') {
    await initBackend(msg.backend, msg.threads);
    model = buildDetector(msg.model);
    return { type: 'ready' };
  }
  if (!model) throw new Error('worker not initialised');
  const m = model;
  unpackInto(m.namedTensors().map((t) => t.variable), msg.weights);
  m.train();
  m.trainFlags = { ...msg.flags };
  const vars = m.trainableVariables();
  const g = await computeGrads(() => m.loss(m.forward(tf.tensor4d(msg.images, msg.shape)), msg.targets), vars);
  const grads = packTensors(g.grads, msg.gradsInto);
  tf.dispose(g.grads.filter((t): t is tf.Tensor => t !== undefined));
  return { type: 'grads', losses: g.losses, grads, numTensors: tf.memory().numTensors };
}

parentPort?.on('message', (msg: WorkerInit | WorkerStep) => {
  handle(msg).then(
    (r) => parentPort!.postMessage(r),
    (e: unknown) => parentPort!.postMessage({ type: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }),
  );
});
