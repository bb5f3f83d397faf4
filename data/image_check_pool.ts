/**
 * Checks many image files on worker threads, one per core by default: decoding
 * is CPU-bound (jpeg-js is pure JS), so a COCO-sized check scales with cores.
 * Work goes out in small chunks to whichever worker is free, so one slow file
 * never idles the others.
 */
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { checkImageFile, FileCheckMode, FileCheckResult, ImageRecord } from './image_check';
import type { ImageLimits } from './image_file';
import type { CheckChunk, CheckChunkReply } from './image_check_worker';

export interface CheckPoolOptions {
  /** Worker threads (default: the number of cores); 0 checks on this thread. */
  workers?: number;
  /** Images per message (default 16). */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** Every record's result by image id. */
export async function checkImagesParallel(images: ImageRecord[], mode: FileCheckMode, limits: ImageLimits, o: CheckPoolOptions = {}): Promise<Map<number, FileCheckResult>> {
  const out = new Map<number, FileCheckResult>();
  const n = Math.min(o.workers ?? defaultWorkers(), Math.ceil(images.length / (o.chunk ?? 16)));
  if (n <= 0) {
    images.forEach((im, i) => {
      out.set(im.id, checkImageFile(im, mode, limits));
      o.onProgress?.(i + 1, images.length);
    });
    return out;
  }
  const size = o.chunk ?? 16;
  let next = 0;
  const workers = Array.from({ length: n }, () => new Worker(path.join(__dirname, 'image_check_worker.js')));
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      const send = (): void => {
        if (next >= images.length) return resolve();
        const msg: CheckChunk = { mode, limits, images: images.slice(next, next + size) };
        next += size;
        w.postMessage(msg);
      };
      w.on('message', (r: CheckChunkReply) => {
        r.ids.forEach((id, i) => out.set(id, r.results[i]));
        o.onProgress?.(out.size, images.length);
        send();
      });
      w.once('error', reject);
      w.once('exit', (code) => { if (code !== 0) reject(new Error(`image check worker exited with code ${code}`)); });
      send();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
