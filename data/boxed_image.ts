/**
 * An image with its annotations, as the geometric augmentations pass it along
 * (boxes xyxy in this image's pixels), and the box filter they share: a box is
 * clipped to the image and dropped when too little of it is left, too thin or
 * too elongated (mmdetection 2.x `RandomAffine`: min size 2 px, area ratio
 * 0.2, aspect ratio 20) — never kept degenerate.
 */
import type { RgbImage } from './image';

export interface BoxedImage {
  img: RgbImage;
  /** `[n·4]` xyxy. */
  boxes: Float32Array;
  labels: Int32Array;
  /** `[m·4]` crowd regions, xyxy. */
  ignore: Float32Array;
}

export interface BoxFilter {
  minSize?: number;
  minAreaRatio?: number;
  maxAspectRatio?: number;
}

/**
 * Clips boxes to `width × height`; keeps a box when its clipped size is ≥
 * `minSize` on both sides, its clipped area is ≥ `minAreaRatio` of `refArea`
 * (its area before leaving the image), and its aspect ratio is < `maxAspectRatio`.
 * @param refArea `[n]` areas to compare with (the unclipped boxes by default).
 * @returns the kept boxes and their indices.
 */
export function clipAndFilter(boxes: Float32Array, width: number, height: number, f: BoxFilter = {}, refArea?: Float32Array): { boxes: Float32Array; keep: number[] } {
  const minSize = f.minSize ?? 2, minRatio = f.minAreaRatio ?? 0.2, maxAr = f.maxAspectRatio ?? 20;
  const out: number[] = [], keep: number[] = [];
  for (let i = 0; i < boxes.length / 4; i++) {
    const [x1, y1, x2, y2] = boxes.subarray(4 * i, 4 * i + 4);
    const area = refArea ? refArea[i] : Math.max(x2 - x1, 0) * Math.max(y2 - y1, 0);
    const cx1 = Math.min(Math.max(x1, 0), width), cx2 = Math.min(Math.max(x2, 0), width);
    const cy1 = Math.min(Math.max(y1, 0), height), cy2 = Math.min(Math.max(y2, 0), height);
    const w = cx2 - cx1, h = cy2 - cy1;
    if (w < minSize || h < minSize) continue;
    if (w * h < minRatio * area) continue;
    if (Math.max(w / h, h / w) >= maxAr) continue;
    out.push(cx1, cy1, cx2, cy2);
    keep.push(i);
  }
  return { boxes: Float32Array.from(out), keep };
}

/** The labels at `keep`. */
export function pick(labels: Int32Array, keep: number[]): Int32Array {
  return Int32Array.from(keep, (i) => labels[i]);
}
