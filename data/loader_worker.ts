/** A worker thread of `LoaderPool`: holds a copy of the dataset and builds the batches it is asked for. */
import { parentPort } from 'worker_threads';
import { BatchBuilder } from './batch_builder';
import type { LoaderInit, LoaderReply, LoaderRequest } from './loader_pool';

let builder: BatchBuilder | undefined;

parentPort!.on('message', (m: LoaderInit | LoaderRequest) => {
  if (m.type === 'init') {
    builder = new BatchBuilder(m.dataset, m.options);
    return;
  }
  try {
    const built = builder!.buildBatch(m.epoch, m.k, m.augment);
    const reply: LoaderReply = { id: m.id, built };
    // The image buffer moves to the main thread instead of being copied.
    parentPort!.postMessage(reply, built.batch ? [built.batch.images.buffer as ArrayBuffer] : []);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: (e as Error).stack ?? String(e) } satisfies LoaderReply);
  }
});
