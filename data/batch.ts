/**
 * What the loaders hand the trainer and the evaluator: a batch of padded
 * NHWC images with their targets, and what went wrong making one.
 */
import type { ImageMeta, TransformOptions } from './transforms';
import type { MosaicOptions } from './mosaic';
import type { RandomAffineOptions } from './random_affine';

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
