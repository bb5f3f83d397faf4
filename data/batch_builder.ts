/**
 * Batch k of an epoch as a pure function of (seed, epoch, k): the seeded
 * shuffle and flips of `plan(epoch)`, then decode, augment, transform and
 * pad. No state but a cached plan, so a worker thread holding a copy of the
 * dataset builds exactly the batch this thread would.
 */
import { Rng } from '../util/rng';
import type { CocoDataset } from './coco';
import { readImage } from './image';
import { transformImage, Transformed } from './transforms';
import { mosaic } from './mosaic';
import { randomAffine } from './random_affine';
import type { BoxedImage } from './boxed_image';
import type { BadImage, Batch, BuiltBatch, LoaderOptions } from './batch';

export class BatchBuilder {
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
      return { img: readImage(im.file, this.dataset.limits), boxes: im.boxes, labels: im.labels, ignore: im.ignore };
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
  buildBatch(epoch: number, k: number, augment: boolean): BuiltBatch {
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
}
