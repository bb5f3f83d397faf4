/**
 * Mosaic augmentation (Bochkovskiy et al., YOLOv4; YOLOX's recipe) as
 * mmdetection's `Mosaic`: four images, each resized to fit `size` (keeping
 * its ratio), pasted around a random centre in a 2w × 2h canvas of grey 114
 * (top-left, top-right, bottom-left, bottom-right), boxes moved with them and
 * clipped to the canvas. The canvas then goes through `randomAffine`, whose
 * border of −(w/2, h/2) crops it back to w × h.
 */
import type { Rng } from '../util/rng';
import { resizeRgb } from './resize';
import { BoxedImage, BoxFilter, clipAndFilter, pick } from './boxed_image';

export interface MosaicOptions {
  /** Output size of the augmented image (w, h), before the canvas doubling. */
  size: [number, number];
  /** Canvas centre as a fraction of (w, h), drawn uniformly (mmdetection: 0.5–1.5). */
  centerRange?: [number, number];
  padValue?: number;
}

/** Paste and crop rectangles of quadrant `q` (mmdetection `_mosaic_combine`), as [x1, y1, x2, y2]. */
function combine(q: number, cx: number, cy: number, w: number, h: number, W: number, H: number): { paste: number[]; crop: number[] } {
  if (q === 0) {
    const p = [Math.max(cx - w, 0), Math.max(cy - h, 0), cx, cy];
    return { paste: p, crop: [w - (p[2] - p[0]), h - (p[3] - p[1]), w, h] };
  }
  if (q === 1) {
    const p = [cx, Math.max(cy - h, 0), Math.min(cx + w, 2 * W), cy];
    return { paste: p, crop: [0, h - (p[3] - p[1]), Math.min(w, p[2] - p[0]), h] };
  }
  if (q === 2) {
    const p = [Math.max(cx - w, 0), cy, cx, Math.min(2 * H, cy + h)];
    return { paste: p, crop: [w - (p[2] - p[0]), 0, w, Math.min(p[3] - p[1], h)] };
  }
  const p = [cx, cy, Math.min(cx + w, 2 * W), Math.min(2 * H, cy + h)];
  return { paste: p, crop: [0, 0, Math.min(w, p[2] - p[0]), Math.min(p[3] - p[1], h)] };
}

const shift = (b: Float32Array, s: number, dx: number, dy: number): Float32Array =>
  b.map((v, i) => v * s + (i % 2 === 0 ? dx : dy));

/** Four images → one 2w × 2h canvas with all their boxes (clipped; boxes left with < 2 px or < 20 % are dropped). */
export function mosaic(items: BoxedImage[], o: MosaicOptions, rng: Rng, filter: BoxFilter = {}): BoxedImage {
  if (items.length !== 4) throw new Error(`mosaic needs 4 images, got ${items.length}`);
  const [W, H] = o.size;
  const [lo, hi] = o.centerRange ?? [0.5, 1.5];
  const cx = Math.floor(rng.uniform(lo, hi) * W), cy = Math.floor(rng.uniform(lo, hi) * H);
  const canvas = new Uint8Array(4 * W * H * 3).fill(o.padValue ?? 114);
  const boxes: number[] = [], labels: number[] = [], ignore: number[] = [];
  items.forEach((it, q) => {
    const s = Math.min(H / it.img.height, W / it.img.width);
    const w = Math.max(1, Math.floor(it.img.width * s)), h = Math.max(1, Math.floor(it.img.height * s));
    const img = resizeRgb(it.img, w, h);
    const { paste, crop } = combine(q, cx, cy, w, h, W, H);
    for (let y = 0; y < paste[3] - paste[1]; y++) {
      const src = ((crop[1] + y) * w + crop[0]) * 3;
      canvas.set(img.data.subarray(src, src + (paste[2] - paste[0]) * 3), ((paste[1] + y) * 2 * W + paste[0]) * 3);
    }
    const dx = paste[0] - crop[0], dy = paste[1] - crop[1];
    const moved = shift(it.boxes, s, dx, dy);
    const kept = clipAndFilter(moved, 2 * W, 2 * H, filter);
    boxes.push(...kept.boxes);
    labels.push(...pick(it.labels, kept.keep));
    ignore.push(...clipAndFilter(shift(it.ignore, s, dx, dy), 2 * W, 2 * H, { ...filter, maxAspectRatio: Infinity }).boxes);
  });
  return { img: { width: 2 * W, height: 2 * H, data: canvas }, boxes: Float32Array.from(boxes), labels: Int32Array.from(labels), ignore: Float32Array.from(ignore) };
}
