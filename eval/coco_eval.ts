/**
 * COCO bbox evaluation with pycocotools' exact semantics (`COCOeval`,
 * iouType 'bbox'): evaluate → accumulate → summarize, the 12 standard stats and
 * per-category AP. Plain TypeScript over typed arrays, no tfjs.
 *
 * Where pycocotools has quirks we keep them, because every mAP this project
 * reports must equal the one pycocotools prints:
 * - ground-truth `ignore` is `iscrowd` (pycocotools overwrites any `ignore` field);
 * - IoU of a crowd region divides by the detection's area (maskApi `bbIou`);
 * - a detection counts as matched when the matched ground truth's id is non-zero
 *   (pycocotools stores the id in `dtMatches` and tests it for truth);
 * - equal IoUs move the match to the later ground truth (`if iou < best: continue`);
 * - recall thresholds past the last reached recall keep precision 0.
 *
 * Speed: detections are grouped per (image, category) with a counting sort,
 * IoUs are computed once per group and reused for the 4 area ranges, and
 * accumulate sorts each category's detections once; every maxDets value is a
 * filter of that order (a stable sort of a subset is the subset of the stable sort).
 */
import type { Detections, GroundTruth } from './coco_data';

export interface CocoParams {
  imgIds: number[];
  catIds: number[];
  iouThrs: number[];
  recThrs: number[];
  maxDets: number[];
  areaRng: Array<[number, number]>;
  areaRngLbl: string[];
  useCats: boolean;
}

/** numpy.linspace(start, stop, num) with its exact float arithmetic: i·step + start, last = stop. */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  out[num - 1] = stop;
  return out;
}

/** pycocotools `Params(iouType='bbox')` for this ground truth. */
export function defaultParams(gt: GroundTruth): CocoParams {
  return {
    imgIds: uniqueSorted(gt.images),
    catIds: uniqueSorted(gt.categories.map((c) => c.id)),
    iouThrs: linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1),
    recThrs: linspace(0.0, 1.0, Math.round((1.0 - 0.0) / 0.01) + 1),
    maxDets: [1, 10, 100],
    areaRng: [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]],
    areaRngLbl: ['all', 'small', 'medium', 'large'],
    useCats: true,
  };
}

function uniqueSorted(v: number[]): number[] {
  return [...new Set(v)].sort((a, b) => a - b);
}

/** numpy.spacing(1): the gap pycocotools adds to precision's denominator. */
const EPS = 2.220446049250313e-16;

/** Per category: the detections that `accumulate` concatenates, in pycocotools' order. */
interface CategoryEval {
  /** Whether any image had ground truth or detections (pycocotools' E is non-empty). */
  present: boolean;
  /** Ground truth not ignored, per area range. */
  npig: Float64Array;
  n: number;
  score: Float64Array;
  /** Position of the detection in its image's score order (for maxDets). */
  rank: Int32Array;
  /** Per (area, iouThr, detection): bit 1 = matched to a ground truth with non-zero id, bit 2 = ignored. */
  flags: Uint8Array;
}

/** pycocotools `eval` dict: precision [T,R,K,A,M], recall [T,K,A,M], scores [T,R,K,A,M], −1 where undefined. */
export interface Accumulated {
  shape: [number, number, number, number, number];
  precision: Float64Array;
  recall: Float64Array;
  scores: Float64Array;
}

export const STAT_LABELS = [
  'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl',
] as const;

export class CocoEval {
  readonly params: CocoParams;
  private cats: CategoryEval[] = [];
  private acc?: Accumulated;

  constructor(readonly gt: GroundTruth, readonly dt: Detections, params: Partial<CocoParams> = {}) {
    this.params = { ...defaultParams(gt), ...params };
  }

  /** Matches detections to ground truth per image, category and area range. */
  evaluate(): void {
    const p = this.params;
    p.imgIds = uniqueSorted(p.imgIds);
    if (p.useCats) p.catIds = uniqueSorted(p.catIds);
    p.maxDets = [...p.maxDets].sort((a, b) => a - b);
    const nImg = p.imgIds.length, nCat = p.catIds.length;
    const gtGroups = groupBy(this.gt, p.imgIds, p.catIds);
    const dtGroups = groupBy(this.dt, p.imgIds, p.catIds);
    const maxDet = p.maxDets[p.maxDets.length - 1];
    const K = p.useCats ? nCat : 1;
    const A = p.areaRng.length, T = p.iouThrs.length;
    this.cats = [];
    for (let k = 0; k < K; k++) {
      // Units of evaluation for this category, in image order.
      const units: Array<{ g: number[]; d: number[] }> = [];
      let total = 0;
      for (let i = 0; i < nImg; i++) {
        const cats = p.useCats ? [k] : Array.from({ length: nCat }, (_, c) => c);
        const g: number[] = [], d: number[] = [];
        for (const c of cats) {
          pushGroup(gtGroups, i * nCat + c, g);
          pushGroup(dtGroups, i * nCat + c, d);
        }
        if (g.length === 0 && d.length === 0) continue;
        const sorted = stableByScoreDesc(d, this.dt.score).slice(0, maxDet);
        units.push({ g, d: sorted });
        total += sorted.length;
      }
      const ce: CategoryEval = {
        present: units.length > 0, npig: new Float64Array(A), n: total,
        score: new Float64Array(total), rank: new Int32Array(total), flags: new Uint8Array(A * T * total),
      };
      let off = 0;
      for (const u of units) {
        this.evaluateUnit(u.g, u.d, ce, off);
        off += u.d.length;
      }
      this.cats.push(ce);
    }
    this.acc = undefined;
  }

  /** pycocotools `evaluateImg` for the 4 area ranges of one (image, category). */
  private evaluateUnit(g: number[], d: number[], ce: CategoryEval, off: number): void {
    const gt = this.gt, dt = this.dt, p = this.params;
    const G = g.length, D = d.length, T = p.iouThrs.length, n = ce.n;
    const ious = bboxIou(gt, g, dt, d);
    for (let j = 0; j < D; j++) {
      ce.score[off + j] = dt.score[d[j]];
      ce.rank[off + j] = j;
    }
    const gtIg = new Uint8Array(G), order = new Int32Array(G), gtm = new Uint8Array(G);
    p.areaRng.forEach(([lo, hi], a) => {
      let nKeep = 0;
      for (let q = 0; q < G; q++) {
        const ar = gt.area[g[q]];
        gtIg[q] = gt.iscrowd[g[q]] || ar < lo || ar > hi ? 1 : 0;
        if (!gtIg[q]) nKeep++;
      }
      ce.npig[a] += nKeep;
      // Stable argsort of gtIg: kept ground truth first, ignored last.
      let head = 0, tail = nKeep;
      for (let q = 0; q < G; q++) order[gtIg[q] ? tail++ : head++] = q;
      for (let t = 0; t < T; t++) {
        const base = (a * T + t) * n + off;
        gtm.fill(0);
        const thr = Math.min(p.iouThrs[t], 1 - 1e-10);
        for (let j = 0; j < D; j++) {
          let best = thr, m = -1;
          if (G > 0) {
            for (let r = 0; r < G; r++) {
              const q = order[r];
              if (gtm[r] && !gt.iscrowd[g[q]]) continue;
              if (m > -1 && gtIg[order[m]] === 0 && gtIg[q] === 1) break;
              const iou = ious[j * G + q];
              if (iou < best) continue;
              best = iou;
              m = r;
            }
          }
          let f = 0;
          if (m !== -1) {
            const q = order[m];
            if (gtIg[q]) f |= 2;
            if (gt.id[g[q]] !== 0) f |= 1;
            gtm[m] = 1; // detection ids from loadRes are ≥ 1, so always "> 0"
          }
          // Unmatched (dtm == 0) detections outside the area range are ignored.
          if (!(f & 1)) {
            const ar = dt.area[d[j]];
            if (ar < lo || ar > hi) f |= 2;
          }
          ce.flags[base + j] = f;
        }
      }
    });
  }

  /** Precision/recall tables over all images (pycocotools `accumulate`). */
  accumulate(): Accumulated {
    if (!this.cats.length && !this.params.catIds.length) throw new Error('accumulate() before evaluate()');
    const p = this.params;
    const T = p.iouThrs.length, R = p.recThrs.length, K = p.useCats ? p.catIds.length : 1, A = p.areaRng.length, M = p.maxDets.length;
    const precision = new Float64Array(T * R * K * A * M).fill(-1);
    const scores = new Float64Array(T * R * K * A * M).fill(-1);
    const recall = new Float64Array(T * K * A * M).fill(-1);
    for (let k = 0; k < K; k++) {
      const ce = this.cats[k];
      if (!ce || !ce.present) continue;
      const order = stableByScoreDesc(Array.from({ length: ce.n }, (_, i) => i), ce.score);
      const rc = new Float64Array(ce.n), pr = new Float64Array(ce.n), ss = new Float64Array(ce.n);
      for (let a = 0; a < A; a++) {
        const npig = ce.npig[a];
        if (npig === 0) continue;
        for (let m = 0; m < M; m++) {
          const maxDet = p.maxDets[m];
          for (let t = 0; t < T; t++) {
            const base = (a * T + t) * ce.n;
            let nd = 0, tp = 0, fp = 0;
            for (const i of order) {
              if (ce.rank[i] >= maxDet) continue;
              const f = ce.flags[base + i];
              if (!(f & 2)) {
                if (f & 1) tp++; else fp++;
              }
              rc[nd] = tp / npig;
              pr[nd] = tp / (fp + tp + EPS);
              ss[nd] = ce.score[i];
              nd++;
            }
            recall[((t * K + k) * A + a) * M + m] = nd ? rc[nd - 1] : 0;
            for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
            // searchsorted(rc, recThrs, 'left'); past the end pycocotools stops and leaves 0.
            let idx = 0;
            for (let r = 0; r < R; r++) {
              while (idx < nd && rc[idx] < p.recThrs[r]) idx++;
              const at = (((t * R + r) * K + k) * A + a) * M + m;
              if (idx >= nd) {
                for (let r2 = r; r2 < R; r2++) {
                  const at2 = (((t * R + r2) * K + k) * A + a) * M + m;
                  precision[at2] = 0;
                  scores[at2] = 0;
                }
                break;
              }
              precision[at] = pr[idx];
              scores[at] = ss[idx];
            }
          }
        }
      }
    }
    this.acc = { shape: [T, R, K, A, M], precision, recall, scores };
    return this.acc;
  }

  private accumulated(): Accumulated {
    return this.acc ?? this.accumulate();
  }

  /** One of pycocotools' `_summarize` numbers: mean of the defined entries, or −1. */
  summarizeOne(ap: boolean, iouThr: number | undefined, areaLbl: string, maxDets: number): number {
    const p = this.params, acc = this.accumulated();
    const [T, R, K, A, M] = acc.shape;
    const a = p.areaRngLbl.indexOf(areaLbl), m = p.maxDets.indexOf(maxDets);
    if (a < 0 || m < 0) return -1;
    let sum = 0, count = 0;
    for (let t = 0; t < T; t++) {
      if (iouThr !== undefined && p.iouThrs[t] !== iouThr) continue;
      for (let k = 0; k < K; k++) {
        if (ap) {
          for (let r = 0; r < R; r++) {
            const v = acc.precision[(((t * R + r) * K + k) * A + a) * M + m];
            if (v > -1) { sum += v; count++; }
          }
        } else {
          const v = acc.recall[((t * K + k) * A + a) * M + m];
          if (v > -1) { sum += v; count++; }
        }
      }
    }
    return count ? sum / count : -1;
  }

  /** The 12 standard stats, in pycocotools' order. */
  stats(): number[] {
    const md = this.params.maxDets;
    const last = md[2] ?? md[md.length - 1];
    return [
      this.summarizeOne(true, undefined, 'all', last),
      this.summarizeOne(true, 0.5, 'all', last),
      this.summarizeOne(true, 0.75, 'all', last),
      this.summarizeOne(true, undefined, 'small', last),
      this.summarizeOne(true, undefined, 'medium', last),
      this.summarizeOne(true, undefined, 'large', last),
      this.summarizeOne(false, undefined, 'all', md[0]),
      this.summarizeOne(false, undefined, 'all', md[1]),
      this.summarizeOne(false, undefined, 'all', last),
      this.summarizeOne(false, undefined, 'small', last),
      this.summarizeOne(false, undefined, 'medium', last),
      this.summarizeOne(false, undefined, 'large', last),
    ];
  }

  /** AP (IoU .50:.95, area all, last maxDets) per category id: mean of precision[:, :, k, 0, −1] over entries > −1, or −1. */
  perCategoryAP(): Map<number, number> {
    const acc = this.accumulated();
    const [T, R, K, A, M] = acc.shape;
    const out = new Map<number, number>();
    if (!this.params.useCats) return out;
    for (let k = 0; k < K; k++) {
      let sum = 0, count = 0;
      for (let t = 0; t < T; t++) {
        for (let r = 0; r < R; r++) {
          const v = acc.precision[(((t * R + r) * K + k) * A + 0) * M + (M - 1)];
          if (v > -1) { sum += v; count++; }
        }
      }
      out.set(this.params.catIds[k], count ? sum / count : -1);
    }
    return out;
  }
}

/** Counting sort of boxes into (image position, category position) buckets, keeping file order. */
interface Groups { start: Int32Array; items: Int32Array }

function groupBy(b: { imageId: Float64Array; categoryId: Float64Array }, imgIds: number[], catIds: number[]): Groups {
  const imgPos = new Map(imgIds.map((id, i) => [id, i]));
  const catPos = new Map(catIds.map((id, i) => [id, i]));
  const nCat = catIds.length, nKeys = imgIds.length * nCat;
  const n = b.imageId.length;
  const key = new Int32Array(n).fill(-1);
  const start = new Int32Array(nKeys + 1);
  for (let i = 0; i < n; i++) {
    const ip = imgPos.get(b.imageId[i]), cp = catPos.get(b.categoryId[i]);
    if (ip === undefined || cp === undefined) continue;
    key[i] = ip * nCat + cp;
    start[key[i] + 1]++;
  }
  for (let k = 0; k < nKeys; k++) start[k + 1] += start[k];
  const fill = start.slice(0, nKeys);
  const items = new Int32Array(start[nKeys]);
  for (let i = 0; i < n; i++) if (key[i] >= 0) items[fill[key[i]]++] = i;
  return { start, items };
}

function pushGroup(gr: Groups, key: number, out: number[]): void {
  for (let j = gr.start[key]; j < gr.start[key + 1]; j++) out.push(gr.items[j]);
}

/** numpy `argsort(-score, kind='mergesort')` over `idx`: descending, ties in input order. */
function stableByScoreDesc(idx: number[], score: Float64Array): number[] {
  const pos = new Map<number, number>();
  idx.forEach((v, i) => pos.set(v, i));
  return idx.slice().sort((a, b) => score[b] - score[a] || pos.get(a)! - pos.get(b)!);
}

/** maskApi `bbIou` for detections `d` × ground truth `g`, row-major [D, G]; crowd regions divide by the detection's area. */
function bboxIou(gt: GroundTruth, g: number[], dt: Detections, d: number[]): Float64Array {
  const G = g.length, D = d.length;
  const out = new Float64Array(D * G);
  for (let q = 0; q < G; q++) {
    const gi = g[q];
    const gx = gt.x[gi], gy = gt.y[gi], gw = gt.w[gi], gh = gt.h[gi];
    const ga = gw * gh, crowd = gt.iscrowd[gi];
    for (let j = 0; j < D; j++) {
      const di = d[j];
      const dx = dt.x[di], dy = dt.y[di], dw = dt.w[di], dh = dt.h[di];
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const da = dw * dh;
      const i = w * h;
      out[j * G + q] = i / (crowd ? da : da + ga - i);
    }
  }
  return out;
}
