/**
 * Worker threads that build batches for a `DataLoader` (decode, mosaic,
 * affine, resize, normalise, pad): batch k goes to worker k mod n, so each
 * worker's share of an epoch is fixed and results come back in any order
 * while the loader yields them in order.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { CocoDataset } from './coco';
import type { BuiltBatch, LoaderOptions } from './batch';

/** The messages between the pool and `loader_worker.ts`. */
export interface LoaderInit { type: 'init'; dataset: CocoDataset; options: LoaderOptions }
export interface LoaderRequest { type: 'build'; id: number; epoch: number; k: number; augment: boolean }
export type LoaderReply = { id: number; built: BuiltBatch } | { id: number; error: string };

export class LoaderPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: (b: BuiltBatch) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure?: Error;
  private closing = false;

  constructor(n: number, dataset: CocoDataset, options: LoaderOptions) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(path.join(__dirname, 'loader_worker.js'));
      w.on('message', (r: LoaderReply) => this.settle(r));
      w.on('error', (e) => this.fail(new Error(`data loader worker ${i}: ${e.message}`)));
      w.on('exit', (code) => { if (code !== 0 && !this.closing) this.fail(new Error(`data loader worker ${i} exited with code ${code}`)); });
      w.postMessage({ type: 'init', dataset, options } satisfies LoaderInit);
      // After the listeners (adding one refs the port again): an idle loader nobody closed must not keep the process alive.
      w.unref();
      this.workers.push(w);
    }
  }

  private settle(r: LoaderReply): void {
    const p = this.waiting.get(r.id);
    if (!p) return;
    this.waiting.delete(r.id);
    if (this.waiting.size === 0) this.setRef(false);
    if ('error' in r) p.reject(new Error(`data loader worker: ${r.error}`));
    else p.resolve(r.built);
  }

  private setRef(on: boolean): void {
    for (const w of this.workers) if (on) w.ref(); else w.unref();
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const p of this.waiting.values()) p.reject(e);
    this.waiting.clear();
  }

  build(epoch: number, k: number, augment: boolean): Promise<BuiltBatch> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Pending work keeps the process alive (an awaited promise alone does not).
      if (this.waiting.size === 0) this.setRef(true);
      this.waiting.set(id, { resolve, reject });
      this.workers[k % this.workers.length].postMessage({ type: 'build', id, epoch, k, augment } satisfies LoaderRequest);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.waiting.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
