/** Box math on flat xyxy arrays (`[n·4]`, pixels). */

/** IoU of a (n) × b (m), row-major `[n, m]`; area = (x2−x1)·(y2−y1) (no +1, as mmdetection ≥ 2). */
export function iouMatrix(a: ArrayLike<number>, b: ArrayLike<number>, mode: 'iou' | 'iof' = 'iou'): Float32Array {
  const n = a.length / 4, m = b.length / 4;
  const out = new Float32Array(n * m);
  for (let j = 0; j < m; j++) {
    const bx1 = b[4 * j], by1 = b[4 * j + 1], bx2 = b[4 * j + 2], by2 = b[4 * j + 3];
    const areaB = (bx2 - bx1) * (by2 - by1);
    for (let i = 0; i < n; i++) {
      const ax1 = a[4 * i], ay1 = a[4 * i + 1], ax2 = a[4 * i + 2], ay2 = a[4 * i + 3];
      const w = Math.min(ax2, bx2) - Math.max(ax1, bx1);
      const h = Math.min(ay2, by2) - Math.max(ay1, by1);
      if (w <= 0 || h <= 0) continue;
      const inter = w * h, areaA = (ax2 - ax1) * (ay2 - ay1);
      // iof: intersection over the foreground (a) box's area.
      out[i * m + j] = inter / (mode === 'iou' ? areaA + areaB - inter : areaA);
    }
  }
  return out;
}

/** xyxy → COCO xywh. */
export function xyxyToXywh(b: [number, number, number, number]): [number, number, number, number] {
  return [b[0], b[1], b[2] - b[0], b[3] - b[1]];
}
