/**
 * Bilinear resampling of packed RGB bytes with half-pixel centres (as
 * cv2.INTER_LINEAR), shared by the resize of every image and the mosaic's
 * per-tile resize. `emit` receives each output pixel's interpolated float
 * channels, so callers decide how to store them (normalised floats, bytes).
 * The sample positions are computed once per axis (`bilinearTaps`) and shared
 * with the normalising resize in transforms.ts.
 */
import type { RgbImage } from './image';

/** Per output index along one axis: the two source indices and the weight of the second (float64: the same numbers as computing them per pixel). */
export interface Taps { i0: Int32Array; i1: Int32Array; w: Float64Array }

export function bilinearTaps(src: number, dst: number): Taps {
  const s = src / dst, t: Taps = { i0: new Int32Array(dst), i1: new Int32Array(dst), w: new Float64Array(dst) };
  for (let i = 0; i < dst; i++) {
    const f = Math.min(Math.max((i + 0.5) * s - 0.5, 0), src - 1);
    const i0 = Math.floor(f);
    t.i0[i] = i0; t.i1[i] = Math.min(i0 + 1, src - 1); t.w[i] = f - i0;
  }
  return t;
}

export function bilinear(img: RgbImage, w: number, h: number, emit: (x: number, y: number, r: number, g: number, b: number) => void): void {
  const tx = bilinearTaps(img.width, w), ty = bilinearTaps(img.height, h), src = img.data, iw = img.width;
  for (let y = 0; y < h; y++) {
    const y0 = ty.i0[y], y1 = ty.i1[y], wy = ty.w[y];
    for (let x = 0; x < w; x++) {
      const x0 = tx.i0[x], x1 = tx.i1[x], wx = tx.w[x];
      const a = (y0 * iw + x0) * 3, b = (y0 * iw + x1) * 3, d = (y1 * iw + x0) * 3, e = (y1 * iw + x1) * 3;
      const v = (c: number): number => (src[a + c] * (1 - wx) + src[b + c] * wx) * (1 - wy) + (src[d + c] * (1 - wx) + src[e + c] * wx) * wy;
      emit(x, y, v(0), v(1), v(2));
    }
  }
}

/** `img` resized to `w × h`, as bytes. */
export function resizeRgb(img: RgbImage, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3);
  bilinear(img, w, h, (x, y, r, g, b) => {
    const o = (y * w + x) * 3;
    out[o] = Math.round(r); out[o + 1] = Math.round(g); out[o + 2] = Math.round(b);
  });
  return { width: w, height: h, data: out };
}
