/**
 * SimOTA assignment (Ge et al., YOLOX), as mmdetection's `SimOTAAssigner`:
 * 1. candidates: priors whose centre lies inside some gt box or within
 *    `centerRadius` strides of some gt centre;
 * 2. cost[prior, gt] = clsWeight · BCE(score, onehot(gt label)) summed over
 *    classes + iouWeight · (−log(IoU + 1e-7)) + 1e5 unless the prior is both
 *    inside the box and within the centre region;
 * 3. dynamic k per gt = max(1, ⌊Σ of its top-`candidateTopk` IoUs⌋); each gt takes
 *    its k cheapest priors; a prior taken by several gts keeps the cheapest.
 * Plain arrays in, plain arrays out (no tfjs): it runs on detached predictions.
 */
import { iouMatrix } from './boxes';

export interface SimOtaOptions {
  centerRadius?: number;
  candidateTopk?: number;
  iouWeight?: number;
  clsWeight?: number;
}

export interface SimOtaResult {
  /** Per prior: the matched gt index, or −1 (background). */
  assigned: Int32Array;
  /** Per prior: IoU of its decoded box with the matched gt (0 for background). */
  ious: Float32Array;
  numPos: number;
}

const INF = 100000.0;
const EPS = 1e-7;
/** PyTorch's binary_cross_entropy clamps each log term at −100. */
const clampedLog = (p: number): number => Math.max(Math.log(p), -100);

/**
 * @param priors `[n·4]` (cx, cy, strideW, strideH): prior centres (mmdetection passes points + stride/2).
 * @param boxes `[n·4]` decoded predicted boxes, xyxy.
 * @param scores `[n·K]` predicted scores in [0, 1] (YOLOX: √(sigmoid(cls)·sigmoid(obj))).
 * @param gtBoxes `[g·4]` xyxy; @param gtLabels `[g]` class indices.
 */
export function simOtaAssign(priors: ArrayLike<number>, boxes: ArrayLike<number>, scores: ArrayLike<number>, numClasses: number,
  gtBoxes: ArrayLike<number>, gtLabels: ArrayLike<number>, o: SimOtaOptions = {}): SimOtaResult {
  const n = priors.length / 4, g = gtBoxes.length / 4, K = numClasses;
  const radius = o.centerRadius ?? 2.5, topk = o.candidateTopk ?? 10, iouW = o.iouWeight ?? 3, clsW = o.clsWeight ?? 1;
  const assigned = new Int32Array(n).fill(-1), ious = new Float32Array(n);
  if (g === 0 || n === 0) return { assigned, ious, numPos: 0 };

  // 1. Candidate priors; per (candidate, gt) whether it is in the box and in the centre region.
  const valid: number[] = [];
  const inBoth: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const x = priors[4 * i], y = priors[4 * i + 1], sx = priors[4 * i + 2], sy = priors[4 * i + 3];
    const both = new Uint8Array(g);
    let any = false;
    for (let j = 0; j < g; j++) {
      const x1 = gtBoxes[4 * j], y1 = gtBoxes[4 * j + 1], x2 = gtBoxes[4 * j + 2], y2 = gtBoxes[4 * j + 3];
      const inBox = Math.min(x - x1, y - y1, x2 - x, y2 - y) > 0;
      const cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
      const inCtr = Math.min(x - (cx - radius * sx), y - (cy - radius * sy), cx + radius * sx - x, cy + radius * sy - y) > 0;
      if (inBox || inCtr) any = true;
      both[j] = inBox && inCtr ? 1 : 0;
    }
    if (any) { valid.push(i); inBoth.push(both); }
  }
  const v = valid.length;
  if (v === 0) return { assigned, ious, numPos: 0 };

  // 2. Cost matrix [v, g].
  const vBoxes = new Float32Array(v * 4);
  valid.forEach((i, k) => { for (let c = 0; c < 4; c++) vBoxes[4 * k + c] = boxes[4 * i + c]; });
  const pairIou = iouMatrix(vBoxes, gtBoxes);
  const cost = new Float64Array(v * g);
  for (let k = 0; k < v; k++) {
    const i = valid[k];
    // Σ_c BCE(p_c, 0) once; the gt's own class swaps its term for BCE(p, 1).
    let negSum = 0;
    for (let c = 0; c < K; c++) negSum -= clampedLog(1 - scores[i * K + c]);
    for (let j = 0; j < g; j++) {
      const p = scores[i * K + gtLabels[j]];
      const cls = negSum + clampedLog(1 - p) - clampedLog(p);
      const iouCost = -Math.log(pairIou[k * g + j] + EPS);
      cost[k * g + j] = cls * clsW + iouCost * iouW + (inBoth[k][j] ? 0 : INF);
    }
  }

  // 3. Dynamic-k matching.
  const match = new Uint8Array(v * g);
  const kTop = Math.min(topk, v);
  for (let j = 0; j < g; j++) {
    const col = Array.from({ length: v }, (_, k) => pairIou[k * g + j]).sort((a, b) => b - a);
    let s = 0;
    for (let t = 0; t < kTop; t++) s += col[t];
    const dk = Math.max(1, Math.trunc(s));
    const order = Array.from({ length: v }, (_, k) => k).sort((a, b) => cost[a * g + j] - cost[b * g + j] || a - b);
    for (let t = 0; t < Math.min(dk, v); t++) match[order[t] * g + j] = 1;
  }
  let numPos = 0;
  for (let k = 0; k < v; k++) {
    let count = 0, best = -1, bestCost = Infinity;
    for (let j = 0; j < g; j++) {
      if (match[k * g + j]) count++;
      if (cost[k * g + j] < bestCost) { bestCost = cost[k * g + j]; best = j; }
    }
    if (count === 0) continue;
    let gt = best;
    if (count === 1) for (let j = 0; j < g; j++) if (match[k * g + j]) gt = j;
    assigned[valid[k]] = gt;
    ious[valid[k]] = pairIou[k * g + gt];
    numPos++;
  }
  return { assigned, ious, numPos };
}
