/**
 * mmdetection `DeltaXYWHBBoxCoder` (means 0, stds 1 for RetinaNet): targets are
 * (dx, dy, dw, dh) = ((gx−px)/pw, (gy−py)/ph, log(gw/pw), log(gh/ph)); decoding
 * clamps dw, dh to ±log(1000/16) and clips to the image.
 */
export const MAX_RATIO = Math.abs(Math.log(16 / 1000));

export interface CoderOptions {
  means?: [number, number, number, number];
  stds?: [number, number, number, number];
}

/** Encodes gt boxes against anchors (both `[n·4]` xyxy) into `[n·4]` deltas. */
export function encodeDeltas(anchors: ArrayLike<number>, gts: ArrayLike<number>, o: CoderOptions = {}): Float32Array {
  const m = o.means ?? [0, 0, 0, 0], s = o.stds ?? [1, 1, 1, 1];
  const out = new Float32Array(anchors.length);
  for (let i = 0; i < anchors.length; i += 4) {
    const pw = anchors[i + 2] - anchors[i], ph = anchors[i + 3] - anchors[i + 1];
    const px = (anchors[i] + anchors[i + 2]) * 0.5, py = (anchors[i + 1] + anchors[i + 3]) * 0.5;
    const gw = gts[i + 2] - gts[i], gh = gts[i + 3] - gts[i + 1];
    const gx = (gts[i] + gts[i + 2]) * 0.5, gy = (gts[i + 1] + gts[i + 3]) * 0.5;
    out[i] = ((gx - px) / pw - m[0]) / s[0];
    out[i + 1] = ((gy - py) / ph - m[1]) / s[1];
    out[i + 2] = (Math.log(gw / pw) - m[2]) / s[2];
    out[i + 3] = (Math.log(gh / ph) - m[3]) / s[3];
  }
  return out;
}

/** Decodes `[n·4]` deltas against anchors into xyxy boxes clipped to `[0, width] × [0, height]`. */
export function decodeDeltas(anchors: ArrayLike<number>, deltas: ArrayLike<number>, width: number, height: number, o: CoderOptions = {}): Float32Array {
  const m = o.means ?? [0, 0, 0, 0], s = o.stds ?? [1, 1, 1, 1];
  const out = new Float32Array(anchors.length);
  const clip = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  for (let i = 0; i < anchors.length; i += 4) {
    const dx = deltas[i] * s[0] + m[0], dy = deltas[i + 1] * s[1] + m[1];
    const dw = Math.min(Math.max(deltas[i + 2] * s[2] + m[2], -MAX_RATIO), MAX_RATIO);
    const dh = Math.min(Math.max(deltas[i + 3] * s[3] + m[3], -MAX_RATIO), MAX_RATIO);
    const pw = anchors[i + 2] - anchors[i], ph = anchors[i + 3] - anchors[i + 1];
    const px = (anchors[i] + anchors[i + 2]) * 0.5, py = (anchors[i + 1] + anchors[i + 3]) * 0.5;
    const gw = pw * Math.exp(dw), gh = ph * Math.exp(dh), gx = px + pw * dx, gy = py + ph * dy;
    out[i] = clip(gx - gw * 0.5, width); out[i + 1] = clip(gy - gh * 0.5, height);
    out[i + 2] = clip(gx + gw * 0.5, width); out[i + 3] = clip(gy + gh * 0.5, height);
  }
  return out;
}
