/**
 * Random affine warp as YOLOX's `random_perspective` (the transform of
 * mmdetection's `RandomAffine` in the YOLOX recipe): the input centre moves to
 * the origin, then scale ∈ `scaleRange` and rotation ∈ ±`maxRotate`°, shear ∈
 * ±`maxShear`°, and a translation to (0.5 ± `maxTranslate`) of the output
 * size. Pixels by inverse bilinear sampling, grey 114 outside. Each box's
 * corners are warped, the box is their bounding box, clipped to the output, and
 * filtered (data/boxed_image.ts) against its warped, unclipped area.
 */
import type { Rng } from '../util/rng';
import { BoxedImage, BoxFilter, clipAndFilter, pick } from './boxed_image';

export interface RandomAffineOptions {
  /** Output (w, h). */
  size: [number, number];
  maxRotate?: number;
  scaleRange?: [number, number];
  maxShear?: number;
  maxTranslate?: number;
  padValue?: number;
}

/** 2×3 affine matrix [a, b, c, d, e, f]: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = [number, number, number, number, number, number];

const mul = (p: Affine, q: Affine): Affine => [
  p[0] * q[0] + p[1] * q[3], p[0] * q[1] + p[1] * q[4], p[0] * q[2] + p[1] * q[5] + p[2],
  p[3] * q[0] + p[4] * q[3], p[3] * q[1] + p[4] * q[4], p[3] * q[2] + p[4] * q[5] + p[5],
];

/** The random matrix for an input of `inW × inH` (drawn in a fixed order: rotation, scale, shear x, y, translation x, y). */
export function randomAffineMatrix(inW: number, inH: number, o: RandomAffineOptions, rng: Rng): Affine {
  const rad = Math.PI / 180;
  const angle = rng.uniform(-(o.maxRotate ?? 10), o.maxRotate ?? 10) * rad;
  const [s0, s1] = o.scaleRange ?? [0.1, 2];
  const s = rng.uniform(s0, s1);
  const shx = Math.tan(rng.uniform(-(o.maxShear ?? 2), o.maxShear ?? 2) * rad), shy = Math.tan(rng.uniform(-(o.maxShear ?? 2), o.maxShear ?? 2) * rad);
  const t = o.maxTranslate ?? 0.1;
  const tx = rng.uniform(0.5 - t, 0.5 + t) * o.size[0], ty = rng.uniform(0.5 - t, 0.5 + t) * o.size[1];
  const C: Affine = [1, 0, -inW / 2, 0, 1, -inH / 2];
  const R: Affine = [s * Math.cos(angle), -s * Math.sin(angle), 0, s * Math.sin(angle), s * Math.cos(angle), 0];
  const S: Affine = [1, shx, 0, shy, 1, 0];
  const T: Affine = [1, 0, tx, 0, 1, ty];
  return mul(T, mul(S, mul(R, C)));
}

/** Warps boxes by `m`: the bounding box of each box's four warped corners. */
export function warpBoxes(boxes: Float32Array, m: Affine): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    const xs: number[] = [], ys: number[] = [];
    for (const [x, y] of [[boxes[i], boxes[i + 1]], [boxes[i + 2], boxes[i + 1]], [boxes[i], boxes[i + 3]], [boxes[i + 2], boxes[i + 3]]]) {
      xs.push(m[0] * x + m[1] * y + m[2]);
      ys.push(m[3] * x + m[4] * y + m[5]);
    }
    out.set([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], i);
  }
  return out;
}

/** Applies the affine `m` to the image and its boxes. */
export function applyAffine(x: BoxedImage, m: Affine, o: RandomAffineOptions, filter: BoxFilter = {}): BoxedImage {
  const [W, H] = o.size, pad = o.padValue ?? 114;
  // Inverse map: output pixel centre → input coordinates.
  const det = m[0] * m[4] - m[1] * m[3];
  const inv: Affine = [m[4] / det, -m[1] / det, (m[1] * m[5] - m[4] * m[2]) / det, -m[3] / det, m[0] / det, (m[3] * m[2] - m[0] * m[5]) / det];
  const { width: iw, height: ih, data: src } = x.img;
  const out = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let xo = 0; xo < W; xo++) {
      const sx = inv[0] * xo + inv[1] * y + inv[2], sy = inv[3] * xo + inv[4] * y + inv[5];
      const o3 = (y * W + xo) * 3;
      if (sx < 0 || sy < 0 || sx > iw - 1 || sy > ih - 1) { out[o3] = out[o3 + 1] = out[o3 + 2] = pad; continue; }
      const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(x0 + 1, iw - 1), y1 = Math.min(y0 + 1, ih - 1);
      const wx = sx - x0, wy = sy - y0;
      for (let c = 0; c < 3; c++) {
        out[o3 + c] = Math.round((src[(y0 * iw + x0) * 3 + c] * (1 - wx) + src[(y0 * iw + x1) * 3 + c] * wx) * (1 - wy)
          + (src[(y1 * iw + x0) * 3 + c] * (1 - wx) + src[(y1 * iw + x1) * 3 + c] * wx) * wy);
      }
    }
  }
  const warped = warpBoxes(x.boxes, m);
  const area = Float32Array.from({ length: warped.length / 4 }, (_, i) => (warped[4 * i + 2] - warped[4 * i]) * (warped[4 * i + 3] - warped[4 * i + 1]));
  const kept = clipAndFilter(warped, W, H, filter, area);
  const ig = clipAndFilter(warpBoxes(x.ignore, m), W, H, { ...filter, maxAspectRatio: Infinity });
  return { img: { width: W, height: H, data: out }, boxes: kept.boxes, labels: pick(x.labels, kept.keep), ignore: ig.boxes };
}

export function randomAffine(x: BoxedImage, o: RandomAffineOptions, rng: Rng, filter: BoxFilter = {}): BoxedImage {
  return applyAffine(x, randomAffineMatrix(x.img.width, x.img.height, o, rng), o, filter);
}
