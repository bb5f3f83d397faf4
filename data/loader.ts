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
import { Rng } from '../runtime/rng';
import type { CocoDataset } from './coco';
import { readImage } from './image';
import { ImageMeta, transformImage, TransformOptions, Transformed } from './transforms';
import { mosaic, MosaicOptions } from './mosaic';
import { randomAffine, RandomAffineOptions } from './random_affine';
import type { BoxedImage } from './boxed_image';
import { LoaderPool } from './loader_pool';

export interface Target {
  /** `[n·4]` xyxy in the batch image. */
  boxes: Float32Array;
  labels: Int32Array;
  ignore: Float32Array;
}

export interface Batch {
  /** `[N, H, W, 3]` normalised RGB. */
  images: Float32Array;
  shape: [number, number, number, number];
  targets: Target[];
  metas: ImageMeta[];
  /** Dataset indices of the images (for logs). */
  indices: number[];
}

/** An image that could not be read (as a batch member or a mosaic partner). */
export interface BadImage { id: number; file: string; error: string }

/** What building one batch gave: the batch (absent when every image failed) and the failures. */
export interface BuiltBatch { batch?: Batch; bad: BadImage[] }

export class TooManyBadImagesError extends Error {
  constructor(readonly bad: BadImage[], readonly epoch: number, readonly images: number, readonly maxFraction: number) {
    super(`${bad.length} of the ${images} images of epoch ${epoch + 1} could not be decoded (more than ${(maxFraction * 100).toFixed(1)}%); stopping. Fix or remove them (\`ghostdet data check\` lists every one):\n${bad.map((b) => `  image id ${b.id}: ${b.error}`).join('\n')}`);
    this.name = 'TooManyBadImagesError';
  }
}

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle and random flips (training). */
  train: boolean;
  seed?: number;
  flipProb?: number;
  transform: TransformOptions;
  /** Drop the last incomplete batch (training default true). */
  dropLast?: boolean;
  /** Training only: with probability `prob`, an image is a mosaic of itself and 3 random others (YOLOX). */
  mosaic?: MosaicOptions & { prob: number };
  /** Training only: a random affine warp after the mosaic (it crops the 2× mosaic canvas back to `size`). */
  randomAffine?: RandomAffineOptions;
  /** Worker threads that decode and augment (0: on this thread). */
  workers?: number;
  /** Batches made ahead at most (with workers); bounds the loader's memory. */
  prefetch?: number;
  /** Fraction of an epoch's images that may fail to decode before the epoch stops (default 0.01). */
  maxBadFraction?: number;
  /** Told of each image that fails (default: a line on stderr). */
  warn?: (msg: string) => void;
}

export class DataLoader {
  /** Mosaic / affine on (YOLOX switches them off for its last epochs). */
  augment = true;
  /** Images that failed to decode in the current (or last) epoch, by id. */
  readonly badImages = new Map<number, BadImage>();
  /** Most batches that were requested and not yet consumed at once (a test checks the bound). */
  maxInFlight = 0;
  private pool?: LoaderPool;
  private cachedPlan?: { epoch: number; plan: Array<{ index: number; flip: boolean }> };

  constructor(readonly dataset: CocoDataset, readonly o: LoaderOptions) {}

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.images.length, b = this.o.batchSize;
    return (this.o.dropLast ?? this.o.train) ? Math.floor(n / b) : Math.ceil(n / b);
  }

  /** Image order and flips of an epoch: a pure function of (seed, epoch). */
  plan(epoch: number): Array<{ index: number; flip: boolean }> {
    if (this.cachedPlan?.epoch === epoch) return this.cachedPlan.plan;
    const idx = this.dataset.images.map((_, i) => i);
    let plan = idx.map((index) => ({ index, flip: false }));
    if (this.o.train) {
      const rng = new Rng(((this.o.seed ?? 0) * 1000003 + epoch) >>> 0);
      rng.shuffle(idx);
      plan = idx.map((index) => ({ index, flip: rng.next() < (this.o.flipProb ?? 0.5) }));
    }
    this.cachedPlan = { epoch, plan };
    return plan;
  }

  private read(index: number, bad: BadImage[]): BoxedImage | undefined {
    const im = this.dataset.images[index];
    try {
      return { img: readImage(im.file), boxes: im.boxes, labels: im.labels, ignore: im.ignore };
    } catch (e) {
      bad.push({ id: im.id, file: im.file, error: (e as Error).message });
      return undefined;
    }
  }

  private load(index: number, flip: boolean, rng: Rng, augment: boolean, bad: BadImage[]): Transformed | undefined {
    const useMosaic = this.o.train && augment && this.o.mosaic && rng.next() < this.o.mosaic.prob;
    let x = this.read(index, bad);
    if (!x) return undefined;
    if (useMosaic) {
      // Three partners drawn from the whole set; an unreadable one is counted and replaced by the image itself.
      const parts = [x, ...[0, 1, 2].map(() => this.read(rng.int(this.dataset.images.length), bad) ?? x!)];
      x = mosaic(parts, this.o.mosaic!, rng);
      if (this.o.randomAffine) x = randomAffine(x, this.o.randomAffine, rng);
    }
    const id = this.dataset.images[index].id;
    const t = transformImage(x.img, { id, boxes: x.boxes, ignore: x.ignore }, this.o.transform, flip);
    return useMosaic ? { ...t, labels: x.labels } : t;
  }

  /** Pads transformed images to the largest in the batch and packs them NHWC. */
  private collate(items: Array<{ t: Transformed; index: number }>): Batch {
    const H = Math.max(...items.map((i) => i.t.padHeight)), W = Math.max(...items.map((i) => i.t.padWidth));
    const images = new Float32Array(items.length * H * W * 3);
    items.forEach(({ t }, n) => {
      for (let y = 0; y < t.padHeight; y++) {
        images.set(t.data.subarray(y * t.padWidth * 3, (y + 1) * t.padWidth * 3), ((n * H + y) * W) * 3);
      }
    });
    return {
      images, shape: [items.length, H, W, 3],
      targets: items.map(({ t, index }) => ({ boxes: t.boxes, labels: t.labels ?? this.dataset.images[index].labels, ignore: t.ignore })),
      metas: items.map(({ t }) => t.meta),
      indices: items.map((i) => i.index),
    };
  }

  /** Batch `k` of `epoch`; `augment` is passed explicitly so worker threads build exactly what this thread would. */
  buildBatch(epoch: number, k: number, augment = this.augment): BuiltBatch {
    const b = this.o.batchSize;
    const items: Array<{ t: Transformed; index: number }> = [];
    const bad: BadImage[] = [];
    for (const [j, p] of this.plan(epoch).slice(k * b, (k + 1) * b).entries()) {
      // Augmentation draws are a pure function of (seed, epoch, position): resume and reruns see the same images.
      const rng = new Rng((((this.o.seed ?? 0) * 1000003 + epoch) * 7919 + k * b + j) >>> 0);
      const t = this.load(p.index, p.flip, rng, augment, bad);
      if (t) items.push({ t, index: p.index });
    }
    return { batch: items.length ? this.collate(items) : undefined, bad };
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
