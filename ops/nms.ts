/**
 * Greedy NMS in TypeScript: boxes by descending score (ties keep input order),
 * a box is dropped when its IoU with a kept one is > the threshold (as mmcv's
 * `nms`). Class-aware: boxes of different classes never suppress each other.
 * Measured against tfjs' NonMaxSuppressionV5 kernel in bench:detector; the
 * candidates here are few (≤ 5 levels × 1000), where plain loops win by
 * avoiding a tensor round trip.
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThr: number, order?: number[]): number[] {
  const idx = order ?? Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const keep: number[] = [];
  const dead = new Uint8Array(scores.length);
  for (let p = 0; p < idx.length; p++) {
    const i = idx[p];
    if (dead[i]) continue;
    keep.push(i);
    const x1 = boxes[4 * i], y1 = boxes[4 * i + 1], x2 = boxes[4 * i + 2], y2 = boxes[4 * i + 3];
    const area = (x2 - x1) * (y2 - y1);
    for (let q = p + 1; q < idx.length; q++) {
      const j = idx[q];
      if (dead[j]) continue;
      const w = Math.min(x2, boxes[4 * j + 2]) - Math.max(x1, boxes[4 * j]);
      const h = Math.min(y2, boxes[4 * j + 3]) - Math.max(y1, boxes[4 * j + 1]);
      if (w <= 0 || h <= 0) continue;
      const inter = w * h;
      const union = area + (boxes[4 * j + 2] - boxes[4 * j]) * (boxes[4 * j + 3] - boxes[4 * j + 1]) - inter;
      if (inter / union > iouThr) dead[j] = 1;
    }
  }
  return keep;
}

/** Class-aware NMS, then the top `maxPerImage` by score. Returns kept indices, best first. */
export function batchedNms(boxes: ArrayLike<number>, scores: ArrayLike<number>, labels: ArrayLike<number>, iouThr: number, maxPerImage: number): number[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < scores.length; i++) {
    const l = labels[i];
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  }
  const kept: number[] = [];
  for (const idx of byClass.values()) {
    idx.sort((a, b) => scores[b] - scores[a] || a - b);
    for (const k of nms(boxes, scores, iouThr, idx)) kept.push(k);
  }
  kept.sort((a, b) => scores[b] - scores[a] || a - b);
  return kept.slice(0, maxPerImage);
}
