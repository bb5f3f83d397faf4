/**
 * Bilinear resampling of packed RGB bytes with half-pixel centres (as
 * cv2.INTER_LINEAR), shared by the resize of every image and the mosaic's
 * per-tile resize. `emit` receives each output pixel's interpolated float
 * channels, so callers decide how to store them (normalised floats, bytes).
 */
import type { RgbImage } from './image';

export function bilinear(img: RgbImage, w: number, h: number, emit: (x: number, y: number, r: number, g: number, b: number) => void): void {
  const sx = img.width / w, sy = img.height / h, src = img.data, iw = img.width;
  for (let y = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, img.height - 1), wy = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), iw - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, iw - 1), wx = fx - x0;
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
