/**
 * RetinaNet: backbone → FPN → RetinaHead, with the detection logic the head
 * leaves out (detectron2's meta-architecture split): anchors, max-IoU
 * assignment, focal + L1 losses, and post-processing (score threshold, per-level
 * top-k, decode, class-aware NMS, top-N, back to original pixels).
 * Semantics follow mmdetection's `retinanet_r50_fpn_1x_coco`.
 */
import { tf } from '../engine/tf';
import { HeadOutput, RetinaHead } from '../heads/retinanet_head';
import { Detection, Detector, DetectorParts, LevelPriors, levelSizes, readAll } from './detector';
import { AnchorOptions, gridAnchors } from '../ops/anchors';
import { assignMaxIou, AssignOptions } from '../ops/assign';
import { decodeDeltas, encodeDeltas } from '../ops/coder';
import { giouLoss, l1Loss, sigmoidFocalLoss } from '../ops/losses';
import { batchedNms } from '../ops/nms';
import { topScoresAbove } from '../ops/top_scores';
import type { Target } from '../data/loader';
import { boxToOriginal, ImageMeta } from '../data/transforms';

export interface RetinaTestOptions {
  scoreThr?: number;
  /** Candidates kept per level before NMS. */
  nmsPre?: number;
  iouThr?: number;
  maxPerImage?: number;
}

export interface RetinaLossOptions {
  alpha?: number;
  gamma?: number;
  /** Box regression loss: L1 on deltas (mmdetection default) or GIoU on decoded boxes. */
  bbox?: 'l1' | 'giou';
}

export interface RetinaNetParts extends DetectorParts<RetinaHead> {
  anchors: AnchorOptions;
  assign?: AssignOptions;
  loss?: RetinaLossOptions;
  test?: RetinaTestOptions;
}

export type { Detection } from './detector';

export class RetinaNet extends Detector<HeadOutput, RetinaHead> {
  readonly kind = 'RetinaNet';
  private readonly p: RetinaNetParts;

  constructor(p: RetinaNetParts) {
    super(p);
    this.p = p;
    const strides = p.neck.outputs.map((o) => o.stride);
    if (strides.join() !== p.anchors.strides.join()) throw new Error(`anchor strides ${p.anchors.strides} differ from the neck's levels ${strides}`);
  }

  /** Anchors for the level sizes of `out` (cached per input size). */
  anchors(out: HeadOutput): LevelPriors {
    return this.anchorsFor(levelSizes(out.cls));
  }

  /** Anchors for per-level map sizes `[h, w]`. */
  anchorsFor(sizes: Array<[number, number]>): LevelPriors {
    return this.levelPriors(sizes, (h, w, i) => gridAnchors(h, w, this.p.anchors.strides[i], this.p.anchors));
  }

  /** The test settings with mmdetection's defaults filled in. */
  testOptions(): Required<RetinaTestOptions> {
    const o = this.p.test ?? {};
    return { scoreThr: o.scoreThr ?? 0.05, nmsPre: o.nmsPre ?? 1000, iouThr: o.iouThr ?? 0.5, maxPerImage: o.maxPerImage ?? 100 };
  }

  /** Per-anchor training targets of a batch, as plain arrays (see `loss`). */
  buildTargets(anchors: Float32Array, targets: Target[]): { onehot: Float32Array; weight: Float32Array; posWeight: Float32Array; deltas: Float32Array; gtBoxes: Float32Array; numPos: number } {
    const n = anchors.length / 4, K = this.numClasses, B = targets.length;
    const onehot = new Float32Array(B * n * K), weight = new Float32Array(B * n), posWeight = new Float32Array(B * n);
    const deltas = new Float32Array(B * n * 4), gtBoxes = new Float32Array(B * n * 4);
    let numPos = 0;
    targets.forEach((t, b) => {
      const { assigned } = assignMaxIou(anchors, t.boxes, t.ignore, this.p.assign);
      const posA: number[] = [], posG: number[] = [];
      for (let i = 0; i < n; i++) {
        const a = assigned[i];
        if (a < 0) continue;
        weight[b * n + i] = 1;
        if (a === 0) continue;
        const g = a - 1;
        onehot[(b * n + i) * K + t.labels[g]] = 1;
        posWeight[b * n + i] = 1;
        numPos++;
        posA.push(...anchors.subarray(4 * i, 4 * i + 4));
        posG.push(...t.boxes.subarray(4 * g, 4 * g + 4));
        gtBoxes.set(t.boxes.subarray(4 * g, 4 * g + 4), (b * n + i) * 4);
      }
      const enc = encodeDeltas(posA, posG);
      let k = 0;
      for (let i = 0; i < n; i++) if (posWeight[b * n + i]) { deltas.set(enc.subarray(4 * k, 4 * k + 4), (b * n + i) * 4); k++; }
    });
    return { onehot, weight, posWeight, deltas, gtBoxes, numPos };
  }

  /** Focal classification loss and box loss, each divided by max(#positives, 1). */
  loss(out: HeadOutput, targets: Target[]): Record<string, tf.Scalar> {
    const anchors = this.anchors(out);
    const t = this.buildTargets(anchors.all, targets);
    const B = targets.length, n = anchors.all.length / 4, K = this.numClasses;
    const avg = Math.max(t.numPos, 1);
    const lo = this.p.loss ?? {};
    return tf.tidy(() => {
      const cls = this.flatten(out.cls, K), reg = this.flatten(out.reg, 4);
      const lossCls = sigmoidFocalLoss(cls, tf.tensor3d(t.onehot, [B, n, K]), tf.tensor2d(t.weight, [B, n]), avg, lo.alpha ?? 0.25, lo.gamma ?? 2);
      const posW = tf.tensor2d(t.posWeight, [B, n]);
      let lossBox: tf.Scalar;
      if ((lo.bbox ?? 'l1') === 'l1') {
        lossBox = l1Loss(reg, tf.tensor3d(t.deltas, [B, n, 4]), posW, avg);
      } else {
        lossBox = giouLoss(decodeTensor(tf.tensor3d(anchors.all, [1, n, 4]), reg), tf.tensor3d(t.gtBoxes, [B, n, 4]), posW, avg);
      }
      return { loss_cls: lossCls, loss_bbox: lossBox };
    });
  }

  /** Decode + NMS per image; boxes in original image pixels via `metas`. Reads the maps asynchronously; `out` stays the caller's. */
  async predict(out: HeadOutput, metas: ImageMeta[]): Promise<Detection[][]> {
    const { scoreThr: thr, nmsPre, iouThr, maxPerImage: maxPer } = this.testOptions();
    const anchors = this.anchors(out);
    const K = this.numClasses;
    const sig = out.cls.map((c) => tf.sigmoid(c));
    const [levelScores, levelDeltas] = await Promise.all([readAll(sig), readAll(out.reg)]);
    tf.dispose(sig);
    return metas.map((meta, b) => {
      const boxes: number[] = [], scores: number[] = [], labels: number[] = [];
      let anchorOff = 0;
      anchors.counts.forEach((count, l) => {
        const s = levelScores[l], d = levelDeltas[l];
        const base = b * count * K;
        // Candidates above the threshold, then the top nmsPre of them (mmdetection's filter_scores_and_topk).
        const top = topScoresAbove(s, base, count * K, thr, nmsPre);
        const anc = new Float32Array(top.length * 4), del = new Float32Array(top.length * 4);
        top.forEach((i, j) => {
          const a = Math.floor(i / K);
          anc.set(anchors.all.subarray((anchorOff + a) * 4, (anchorOff + a) * 4 + 4), j * 4);
          del.set(d.subarray((b * count + a) * 4, (b * count + a) * 4 + 4), j * 4);
        });
        const dec = decodeDeltas(anc, del, meta.width, meta.height);
        top.forEach((i, j) => {
          boxes.push(dec[4 * j], dec[4 * j + 1], dec[4 * j + 2], dec[4 * j + 3]);
          scores.push(s[base + i]);
          labels.push(i % K);
        });
        anchorOff += count;
      });
      return batchedNms(boxes, scores, labels, iouThr, maxPer).map((i) => ({
        box: boxToOriginal([boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]], meta),
        score: scores[i],
        label: labels[i],
      }));
    });
  }
}

/** Delta decoding as a differentiable op (for the GIoU loss): `[.., n, 4]` anchors and deltas → xyxy. */
function decodeTensor(anchors: tf.Tensor3D, deltas: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [ax1, ay1, ax2, ay2] = tf.unstack(anchors, -1);
    const [dx, dy, dw, dh] = tf.unstack(deltas, -1);
    const pw = tf.sub(ax2, ax1), ph = tf.sub(ay2, ay1);
    const px = tf.mul(tf.add(ax1, ax2), 0.5), py = tf.mul(tf.add(ay1, ay2), 0.5);
    const lim = Math.abs(Math.log(16 / 1000));
    const gw = tf.mul(pw, tf.exp(tf.clipByValue(dw, -lim, lim))), gh = tf.mul(ph, tf.exp(tf.clipByValue(dh, -lim, lim)));
    const gx = tf.add(px, tf.mul(pw, dx)), gy = tf.add(py, tf.mul(ph, dy));
    return tf.stack([tf.sub(gx, tf.mul(gw, 0.5)), tf.sub(gy, tf.mul(gh, 0.5)), tf.add(gx, tf.mul(gw, 0.5)), tf.add(gy, tf.mul(gh, 0.5))], -1) as tf.Tensor3D;
  });
}
