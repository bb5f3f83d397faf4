/** A worker thread of `LoaderPool`: holds a copy of the dataset and builds the batches it is asked for. */
import { parentPort } from 'worker_threads';
import { DataLoader, LoaderOptions, BuiltBatch } from './loader';
import type { CocoDataset } from './coco';

export interface LoaderInit { type: 'init'; dataset: CocoDataset; options: LoaderOptions }
export interface LoaderRequest { type: 'build'; id: number; epoch: number; k: number; augment: boolean }
export type LoaderReply = { id: number; built: BuiltBatch } | { id: number; error: string };

let loader: DataLoader | undefined;

parentPort!.on('message', (m: LoaderInit | LoaderRequest) => {
  if (m.type === 'init') {
    loader = new DataLoader(m.dataset, m.options);
    return;
  }
  try {
    const built = loader!.buildBatch(m.epoch, m.k, m.augment);
    const reply: LoaderReply = { id: m.id, built };
    // The image buffer moves to the main thread instead of being copied.
    parentPort!.postMessage(reply, built.batch ? [built.batch.images.buffer as ArrayBuffer] : []);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) } satisfies LoaderReply);
  }
});
