/**
 * Max-IoU assignment (mmdetection `MaxIoUAssigner` as RetinaNet configures it):
 * IoU ≥ 0.5 positive, < 0.4 negative, in between ignored; each ground truth's
 * best anchors (all anchors tying for its maximum) are made positive too
 * (low-quality matches), later ground truth winning ties as in mmdetection.
 * Anchors whose IoF with a crowd region is ≥ 0.5 are ignored, never negatives.
 */
import { iouMatrix } from './boxes';

export interface AssignOptions {
  posIou?: number;
  negIou?: number;
  /** Minimum IoU for a low-quality match. mmdetection's RetinaNet uses 0, which would match
   * every zero-overlap anchor to a ground truth that overlaps nothing; we require > 0. */
  minPosIou?: number;
  ignoreIof?: number;
}

export interface Assignment {
  /** Per anchor: −1 ignored, 0 negative, i + 1 positive for ground truth i. */
  assigned: Int32Array;
  /** Per anchor: its best IoU (−1 where a crowd region made it ignored). */
  maxIou: Float32Array;
  numPos: number;
}

/** @param anchors `[n·4]` xyxy; @param gts `[m·4]` xyxy; @param ignore `[k·4]` xyxy crowd regions. */
export function assignMaxIou(anchors: Float32Array, gts: Float32Array, ignore: Float32Array = new Float32Array(0), o: AssignOptions = {}): Assignment {
  const pos = o.posIou ?? 0.5, neg = o.negIou ?? 0.4, minPos = o.minPosIou ?? 0, iofThr = o.ignoreIof ?? 0.5;
  const n = anchors.length / 4, m = gts.length / 4;
  const assigned = new Int32Array(n).fill(-1);
  const maxIou = new Float32Array(n);
  if (m === 0) {
    // No ground truth: every anchor is a negative unless a crowd region covers it.
    assigned.fill(0);
  }
  const ious = m ? iouMatrix(anchors, gts) : new Float32Array(0);
  const ignored = new Uint8Array(n);
  if (ignore.length && iofThr > 0) {
    const k = ignore.length / 4;
    const iof = iouMatrix(anchors, ignore, 'iof');
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) if (iof[i * k + j] >= iofThr) { ignored[i] = 1; break; }
  }
  const argmax = new Int32Array(n);
  const gtMax = new Float32Array(m).fill(-1);
  for (let i = 0; i < n; i++) {
    if (ignored[i]) {
      assigned[i] = -1;
      maxIou[i] = -1;
      continue;
    }
    if (!m) continue;
    let best = -1, bj = 0;
    for (let j = 0; j < m; j++) {
      const v = ious[i * m + j];
      if (v > best) { best = v; bj = j; }
      if (v > gtMax[j]) gtMax[j] = v;
    }
    maxIou[i] = best;
    argmax[i] = bj;
    if (best >= 0 && best < neg) assigned[i] = 0;
    if (best >= pos) assigned[i] = bj + 1;
  }
  for (let j = 0; j < m; j++) {
    if (!(gtMax[j] > minPos)) continue;
    for (let i = 0; i < n; i++) if (!ignored[i] && ious[i * m + j] === gtMax[j]) assigned[i] = j + 1;
  }
  let numPos = 0;
  for (let i = 0; i < n; i++) if (assigned[i] > 0) numPos++;
  return { assigned, maxIou, numPos };
}
