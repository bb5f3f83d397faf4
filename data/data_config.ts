/**
 * The `data` section of a config: where the images and annotations are,
 * and how they are checked, loaded and augmented. Defaults and validation
 * live in configs/schema.ts; `data/from_config.ts` turns it into datasets
 * and loaders.
 */
export interface DataConfig {
  /** `synthetic`: the built-in shapes dataset, made under the work dir if absent; `coco`: files below. */
  kind: 'synthetic' | 'coco';
  /** Root the relative paths below are resolved against (default: the config file's folder for coco). */
  root: string;
  trainAnn: string;
  trainImages: string;
  valAnn: string;
  valImages: string;
  synthetic: { images: number; val: number; size: number; seed: number };
  /** `keepRatio` with scale [long, short], or `square` letterbox of `size`. */
  resize: { mode: 'keepRatio' | 'square'; scale: [number, number]; size: number };
  sizeDivisor: number;
  flipProb: number;
  filterEmpty: boolean;
  /** `header`, `decode` or `none`: how image files are checked before use. */
  checkFiles: 'none' | 'header' | 'decode';
  /** Worker threads that decode and augment training and val images (0: on the training thread). */
  workers: number;
  /** Batches made ahead at most with workers: the loader's memory is bounded by this many batches. */
  prefetch: number;
  /** Images whose header declares more width × height are skipped before decoding (default: Pillow's limit, about 89.5 Mpx). */
  maxImagePixels: number;
  /** An epoch stops when more than this fraction of its images cannot be decoded (each is skipped and named). */
  maxBadFraction: number;
  /** YOLOX augmentation: mosaic of 4 images with probability `prob` (training only; off for the L1 epochs). */
  mosaic: { enabled: boolean; prob: number; centerRange: [number, number] };
  /** YOLOX augmentation after the mosaic: rotation ±deg, scale range, shear ±deg, translation ± fraction. */
  randomAffine: { enabled: boolean; maxRotate: number; scaleRange: [number, number]; maxShear: number; maxTranslate: number };
}
