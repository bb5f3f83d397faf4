/**
 * Prior points of anchor-free heads, as mmdetection's `MlvlPointGenerator`
 * with offset 0: for each level of stride s, the points (x·s, y·s) of its
 * H×W grid in row-major (y, then x) order — the order of an NHWC map
 * flattened — each with its stride.
 */

/** `[H·W·4]` rows (x, y, strideW, strideH) for one level, in pixels. */
export function gridPoints(h: number, w: number, stride: number, offset = 0): Float32Array {
  const out = new Float32Array(h * w * 4);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i += 4) {
      out[i] = (x + offset) * stride;
      out[i + 1] = (y + offset) * stride;
      out[i + 2] = stride;
      out[i + 3] = stride;
    }
  }
  return out;
}
