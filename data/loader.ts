/**
 * Batches for training and evaluation: seeded shuffle and flips per epoch,
 * decode + transform per image, padding to a common size per batch, targets
 * per image. Deterministic given the seed. Images stream from disk, one batch
 * ahead, so an epoch never needs the dataset in memory.
 */
import { Rng } from '../runtime/rng';
import type { CocoDataset, DatasetImage } from './coco';
import { readImage } from './image';
import { ImageMeta, transformImage, TransformOptions, Transformed } from './transforms';
import { mosaic, MosaicOptions } from './mosaic';
import { randomAffine, RandomAffineOptions } from './random_affine';
import type { BoxedImage } from './boxed_image';

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

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle and random flips (training). */
  train: boolean;
  seed?: number;
  flipProb?: number;
  transform: TransformOptions;
  /** Drop the last incomplete batch (training default true). */
  dropLast?: boolean;
  /** Called when an image fails to decode; it is skipped. */
  onBadImage?: (im: DatasetImage, err: Error) => void;
  /** Training only: with probability `prob`, an image is a mosaic of itself and 3 random others (YOLOX). */
  mosaic?: MosaicOptions & { prob: number };
  /** Training only: a random affine warp after the mosaic (it crops the 2× mosaic canvas back to `size`). */
  randomAffine?: RandomAffineOptions;
}

export class DataLoader {
  /** Mosaic / affine on (YOLOX switches them off for its last epochs). */
  augment = true;

  constructor(readonly dataset: CocoDataset, readonly o: LoaderOptions) {}

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.images.length, b = this.o.batchSize;
    return (this.o.dropLast ?? this.o.train) ? Math.floor(n / b) : Math.ceil(n / b);
  }

  /** Image order and flips of an epoch: a pure function of (seed, epoch). */
  plan(epoch: number): Array<{ index: number; flip: boolean }> {
    const idx = this.dataset.images.map((_, i) => i);
    if (!this.o.train) return idx.map((index) => ({ index, flip: false }));
    const rng = new Rng(((this.o.seed ?? 0) * 1000003 + epoch) >>> 0);
    rng.shuffle(idx);
    return idx.map((index) => ({ index, flip: rng.next() < (this.o.flipProb ?? 0.5) }));
  }

  private read(index: number): BoxedImage | undefined {
    const im = this.dataset.images[index];
    try {
      return { img: readImage(im.file), boxes: im.boxes, labels: im.labels, ignore: im.ignore };
    } catch (e) {
      (this.o.onBadImage ?? ((d, err) => console.error(`skipping image id ${d.id}: ${err.message}`)))(im, e as Error);
      return undefined;
    }
  }

  private load(index: number, flip: boolean, rng: Rng): Transformed | undefined {
    const useMosaic = this.o.train && this.augment && this.o.mosaic && rng.next() < this.o.mosaic.prob;
    let x = this.read(index);
    if (!x) return undefined;
    if (useMosaic) {
      // Three partners drawn from the whole set; an unreadable one is reported and replaced by the image itself.
      const parts = [x, ...[0, 1, 2].map(() => this.read(rng.int(this.dataset.images.length)) ?? x!)];
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

  /** The batches of one epoch, in order; `start` skips batches already done (resume). */
  *batches(epoch: number, start = 0): Generator<Batch> {
    const plan = this.plan(epoch);
    const b = this.o.batchSize;
    for (let k = start; k < this.length; k++) {
      const items: Array<{ t: Transformed; index: number }> = [];
      for (const [j, p] of plan.slice(k * b, (k + 1) * b).entries()) {
        // Augmentation draws are a pure function of (seed, epoch, position): resume and reruns see the same images.
        const rng = new Rng((((this.o.seed ?? 0) * 1000003 + epoch) * 7919 + k * b + j) >>> 0);
        const t = this.load(p.index, p.flip, rng);
        if (t) items.push({ t, index: p.index });
      }
      if (items.length) yield this.collate(items);
    }
  }
}
