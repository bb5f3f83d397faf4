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
}

export class DataLoader {
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

  private load(index: number, flip: boolean): Transformed | undefined {
    const im = this.dataset.images[index];
    let img;
    try {
      img = readImage(im.file);
    } catch (e) {
      (this.o.onBadImage ?? ((d, err) => console.error(`skipping image id ${d.id}: ${err.message}`)))(im, e as Error);
      return undefined;
    }
    return transformImage(img, im, this.o.transform, flip);
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
      targets: items.map(({ t, index }) => ({ boxes: t.boxes, labels: this.dataset.images[index].labels, ignore: t.ignore })),
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
      for (const p of plan.slice(k * b, (k + 1) * b)) {
        const t = this.load(p.index, p.flip);
        if (t) items.push({ t, index: p.index });
      }
      if (items.length) yield this.collate(items);
    }
  }
}
