/**
 * Batches for training and evaluation: seeded shuffle and flips per epoch,
 * decode + transform per image, padding to a common size per batch, targets
 * per image. A batch is a pure function of (seed, epoch, batch index), so the
 * same batches come out whether they are made on this thread or on any number
 * of worker threads (`workers`, with `prefetch` batches in flight at most), on
 * a rerun and on resume. An epoch never needs the dataset in memory.
 *
 * An image that fails to decode is skipped and counted (`badImages`); more
 * than `maxBadFraction` of an epoch's images failing stops it with the list.
 */
import type { CocoDataset } from './coco';
import { BadImage, Batch, BuiltBatch, LoaderOptions, TooManyBadImagesError } from './batch';
import { BatchBuilder } from './batch_builder';
import { LoaderPool } from './loader_pool';

export type { BadImage, Batch, BuiltBatch, LoaderOptions, Target } from './batch';
export { TooManyBadImagesError } from './batch';

export class DataLoader {
  /** Mosaic / affine on (YOLOX switches them off for its last epochs). */
  augment = true;
  /** Images that failed to decode in the current (or last) epoch, by id. */
  readonly badImages = new Map<number, BadImage>();
  /** Most batches that were requested and not yet consumed at once (a test checks the bound). */
  maxInFlight = 0;
  private pool?: LoaderPool;
  private readonly builder: BatchBuilder;

  constructor(readonly dataset: CocoDataset, readonly o: LoaderOptions) {
    this.builder = new BatchBuilder(dataset, o);
  }

  /** Batches per epoch. */
  get length(): number {
    return this.builder.length;
  }

  /** Image order and flips of an epoch: a pure function of (seed, epoch). */
  plan(epoch: number): Array<{ index: number; flip: boolean }> {
    return this.builder.plan(epoch);
  }

  /** Batch `k` of `epoch` (see `BatchBuilder`). */
  buildBatch(epoch: number, k: number, augment = this.augment): BuiltBatch {
    return this.builder.buildBatch(epoch, k, augment);
  }

  /** Counts failures; throws once the epoch has more than the allowed fraction. */
  private noteBad(bad: BadImage[], epoch: number): void {
    for (const b of bad) {
      if (this.badImages.has(b.id)) continue;
      this.badImages.set(b.id, b);
      (this.o.warn ?? ((m: string) => console.error(m)))(`skipping image id ${b.id}: ${b.error}`);
    }
    const frac = this.o.maxBadFraction ?? 0.01;
    if (this.badImages.size > frac * this.dataset.images.length) {
      throw new TooManyBadImagesError([...this.badImages.values()], epoch, this.dataset.images.length, frac);
    }
  }

  /** The batches of one epoch on this thread, in order; `start` skips batches already done (resume). */
  *batches(epoch: number, start = 0): Generator<Batch> {
    this.badImages.clear();
    for (let k = start; k < this.length; k++) {
      const r = this.buildBatch(epoch, k);
      this.noteBad(r.bad, epoch);
      if (r.batch) yield r.batch;
    }
  }

  /**
   * The batches of one epoch, made on `workers` threads with at most
   * `prefetch` batches requested ahead; in order, identical to `batches`.
   */
  async *stream(epoch: number, start = 0): AsyncGenerator<Batch> {
    const workers = this.o.workers ?? 0;
    if (workers <= 0) {
      yield* this.batches(epoch, start);
      return;
    }
    this.badImages.clear();
    this.pool ??= new LoaderPool(workers, this.dataset, { ...this.o, workers: 0, warn: undefined });
    const prefetch = Math.max(1, this.o.prefetch ?? 2 * workers);
    const pending = new Map<number, Promise<BuiltBatch>>();
    let next = start;
    for (let k = start; k < this.length; k++) {
      for (; next < this.length && pending.size < prefetch; next++) {
        const p = this.pool.build(epoch, next, this.augment);
        // Batches abandoned by a consumer that stopped early must not surface as unhandled rejections.
        p.catch(() => undefined);
        pending.set(next, p);
      }
      this.maxInFlight = Math.max(this.maxInFlight, pending.size);
      const r = await pending.get(k)!;
      pending.delete(k);
      this.noteBad(r.bad, epoch);
      if (r.batch) yield r.batch;
    }
  }

  /** Stops the worker threads (a later `stream` starts them again). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.close();
  }
}
