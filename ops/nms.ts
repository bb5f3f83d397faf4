/**
 * Greedy NMS in TypeScript: boxes by descending score (ties keep input order),
 * a box is dropped when its IoU with a kept one is > the threshold (as mmcv's
 * `nms`), stopping once `maxKeep` are kept. Class-aware: boxes of different classes never suppress each other.
 * Measured against tfjs' NonMaxSuppressionV5 kernel in bench:detector; the
 * candidates here are few (≤ 5 levels × 1000), where plain loops win by
 * avoiding a tensor round trip.
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThr: number, order?: number[], maxKeep = Infinity): number[] {
  const idx = order ?? Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  const keep: number[] = [];
  // Each candidate is tested against the boxes kept so far (x1, y1, x2, y2, area), stopping at the first overlap:
  // the same decisions as suppressing forward from each kept box, with the inner loop over at most maxKeep boxes.
  const kept = new Float64Array(Math.min(idx.length, maxKeep) * 5);
  for (const i of idx) {
    const x1 = boxes[4 * i], y1 = boxes[4 * i + 1], x2 = boxes[4 * i + 2], y2 = boxes[4 * i + 3];
    const area = (x2 - x1) * (y2 - y1);
    let suppressed = false;
    for (let k = 0, o = 0; k < keep.length; k++, o += 5) {
      const w = Math.min(x2, kept[o + 2]) - Math.max(x1, kept[o]);
      if (w <= 0) continue;
      const h = Math.min(y2, kept[o + 3]) - Math.max(y1, kept[o + 1]);
      if (h <= 0) continue;
      const inter = w * h;
      if (inter / (kept[o + 4] + area - inter) > iouThr) { suppressed = true; break; }
    }
    if (suppressed) continue;
    kept.set([x1, y1, x2, y2, area], keep.length * 5);
    keep.push(i);
    if (keep.length >= maxKeep) break;
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
    // A class's boxes past its first maxPerImage kept cannot make the overall top maxPerImage.
    for (const k of nms(boxes, scores, iouThr, idx, maxPerImage)) kept.push(k);
  }
  kept.sort((a, b) => scores[b] - scores[a] || a - b);
  return kept.slice(0, maxPerImage);
}
