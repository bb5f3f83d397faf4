/**
 * YOLOX (Ge et al., arXiv 2107.08430): backbone → neck (FPN or PAFPN) →
 * YoloxHead, with the logic mmdetection's `YOLOXHead` carries beside the
 * convolutions: prior points per level (offset 0), box decoding
 * ((dx, dy)·s + prior, exp(w, h)·s), SimOTA assignment on detached
 * predictions, losses and post-processing.
 *
 * Losses (mmdetection `loss_by_feat`), each divided by max(#positives, 1):
 * objectness BCE over all priors (crowd regions ignored), class BCE on
 * positives against one-hot · IoU, IoU loss (square by default, weight 5) on decoded
 * boxes, and an optional L1 on the raw offsets (`trainFlags.l1`, YOLOX's last
 * no-augmentation epochs).
 */
import { tf } from '../engine/tf';
import { YoloxHead, YoloxOutput } from '../heads/yolox_head';
import { gridPoints } from '../ops/points';
import { simOtaAssign, SimOtaOptions } from '../ops/simota';
import { bceWithLogitsSum, iouLossSum } from '../ops/losses';
import { batchedNms } from '../ops/nms';
import type { Target } from '../data/loader';
import { boxToOriginal, ImageMeta } from '../data/transforms';
import { Detection, Detector, DetectorParts, headTensors, LevelPriors, levelSizes, readAll } from './detector';
import { readsOnHost } from '../engine/kernel_storage';
import { withFrozenStatistics } from '../nn/batchnorm';

export interface YoloxLossOptions {
  /** Weight of the IoU loss (mmdetection 5.0). */
  bboxWeight?: number;
  objWeight?: number;
  clsWeight?: number;
  l1Weight?: number;
  /** IoU loss 1 − IoU² (`square`, mmdetection's YOLOX) or 1 − IoU (`linear`, whose gradient does not fade at low IoU). */
  iouMode?: 'square' | 'linear';
}

export const IOU_MODES = ['square', 'linear'] as const;

export interface YoloxTestOptions {
  /** Keep predictions with obj · max class score ≥ this (mmdetection 0.01). */
  scoreThr?: number;
  /** Class-aware NMS IoU threshold (mmdetection 0.65). */
  iouThr?: number;
  maxPerImage?: number;
}

export interface YoloxParts extends DetectorParts<YoloxHead> {
  simota?: SimOtaOptions;
  loss?: YoloxLossOptions;
  test?: YoloxTestOptions;
}

/** Per-prior training targets of a batch, flat over (image, prior). */
export interface YoloxTargets {
  /** `[B·n]` 1 on positives. */
  pos: Float32Array;
  /** `[B·n]` objectness weight: 0 inside crowd regions (unless positive), else 1. */
  objWeight: Float32Array;
  /** `[B·n·K]` one-hot of the matched class × the IoU of the prediction with its gt. */
  cls: Float32Array;
  /** `[B·n·4]` matched gt boxes, xyxy. */
  box: Float32Array;
  /** `[B·n·4]` L1 targets: ((cx, cy) − prior)/s, log((w, h)/s + 1e-8). */
  l1: Float32Array;
  numPos: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export class Yolox extends Detector<YoloxOutput, YoloxHead> {
  readonly kind = 'YOLOX';
  private readonly p: YoloxParts;

  constructor(p: YoloxParts) {
    super(p);
    const mode = p.loss?.iouMode ?? 'square';
    if (!(IOU_MODES as readonly string[]).includes(mode)) throw new Error(`model.yolox.loss.iouMode "${String(mode)}" is not built; choose one of: ${IOU_MODES.join(', ')}`);
    this.p = p;
    this.trainFlags = { l1: false };
  }

  /** Prior points (x, y, strideW, strideH) for the level sizes of `out` (cached per input size). */
  priors(out: YoloxOutput): LevelPriors {
    return this.priorsFor(levelSizes(out.cls));
  }

  /** Prior points for per-level map sizes `[h, w]`. */
  priorsFor(sizes: Array<[number, number]>): LevelPriors {
    return this.levelPriors(sizes, (h, w, i) => gridPoints(h, w, this.neck.outputs[i].stride));
  }

  /** The test settings with mmdetection's defaults filled in. */
  testOptions(): Required<YoloxTestOptions> {
    const o = this.p.test ?? {};
    return { scoreThr: o.scoreThr ?? 0.01, iouThr: o.iouThr ?? 0.65, maxPerImage: o.maxPerImage ?? 100 };
  }

  /** Decoded xyxy boxes `[B, n, 4]` from raw offsets `[B, n, 4]` and priors `[1, n, 4]` (x, y, sw, sh). */
  static decode(reg: tf.Tensor3D, priors: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const xy = tf.add(tf.mul(tf.slice(reg, [0, 0, 0], [-1, -1, 2]), tf.slice(priors, [0, 0, 2], [-1, -1, 2])), tf.slice(priors, [0, 0, 0], [-1, -1, 2]));
      const wh = tf.mul(tf.exp(tf.slice(reg, [0, 0, 2], [-1, -1, 2])), tf.slice(priors, [0, 0, 2], [-1, -1, 2]));
      const half = tf.mul(wh, 0.5);
      return tf.concat([tf.sub(xy, half), tf.add(xy, half)], -1) as tf.Tensor3D;
    });
  }

  /** Decoding on plain arrays (post-processing and targets): row `i` of `reg` with prior `i`. */
  private static decodeRow(reg: ArrayLike<number>, r: number, pts: ArrayLike<number>, i: number, out: Float32Array, o: number): void {
    const s0 = pts[4 * i + 2], s1 = pts[4 * i + 3];
    const cx = reg[r] * s0 + pts[4 * i], cy = reg[r + 1] * s1 + pts[4 * i + 1];
    const w = Math.exp(reg[r + 2]) * s0, h = Math.exp(reg[r + 3]) * s1;
    out[o] = cx - w / 2; out[o + 1] = cy - h / 2; out[o + 2] = cx + w / 2; out[o + 3] = cy + h / 2;
  }

  /**
   * SimOTA targets from detached predictions (mmdetection `_get_targets_single`):
   * assignment sees prior centres (points + stride/2) and √(σ(cls)·σ(obj)).
   * @param cls `[B·n·K]` logits; @param reg `[B·n·4]` raw offsets; @param obj `[B·n]` logits.
   */
  buildTargets(points: Float32Array, cls: ArrayLike<number>, reg: ArrayLike<number>, obj: ArrayLike<number>, targets: Target[]): YoloxTargets {
    const n = points.length / 4, K = this.numClasses, B = targets.length;
    const t: YoloxTargets = { pos: new Float32Array(B * n), objWeight: new Float32Array(B * n).fill(1), cls: new Float32Array(B * n * K), box: new Float32Array(B * n * 4), l1: new Float32Array(B * n * 4), numPos: 0 };
    const centres = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) {
      centres[4 * i] = points[4 * i] + points[4 * i + 2] * 0.5;
      centres[4 * i + 1] = points[4 * i + 1] + points[4 * i + 3] * 0.5;
      centres[4 * i + 2] = points[4 * i + 2];
      centres[4 * i + 3] = points[4 * i + 3];
    }
    targets.forEach((tg, b) => {
      const boxes = new Float32Array(n * 4), scores = new Float32Array(n * K);
      for (let i = 0; i < n; i++) {
        Yolox.decodeRow(reg, (b * n + i) * 4, points, i, boxes, 4 * i);
        const so = sigmoid(obj[b * n + i]);
        for (let c = 0; c < K; c++) scores[i * K + c] = Math.sqrt(sigmoid(cls[(b * n + i) * K + c]) * so);
      }
      const r = simOtaAssign(centres, boxes, scores, K, tg.boxes, tg.labels, this.p.simota);
      for (let i = 0; i < n; i++) {
        const j = r.assigned[i], row = b * n + i;
        if (j < 0) continue;
        t.pos[row] = 1;
        t.cls[row * K + tg.labels[j]] = r.ious[i];
        const x1 = tg.boxes[4 * j], y1 = tg.boxes[4 * j + 1], x2 = tg.boxes[4 * j + 2], y2 = tg.boxes[4 * j + 3];
        t.box.set([x1, y1, x2, y2], row * 4);
        const s0 = points[4 * i + 2], s1 = points[4 * i + 3];
        t.l1.set([((x1 + x2) / 2 - points[4 * i]) / s0, ((y1 + y2) / 2 - points[4 * i + 1]) / s1, Math.log((x2 - x1) / s0 + 1e-8), Math.log((y2 - y1) / s1 + 1e-8)], row * 4);
      }
      t.numPos += r.numPos;
      // Crowd regions: priors whose centre falls inside one are neither positive nor negative.
      const ig = tg.ignore;
      for (let i = 0; i < n && ig.length; i++) {
        if (t.pos[b * n + i]) continue;
        const x = centres[4 * i], y = centres[4 * i + 1];
        for (let k = 0; k < ig.length; k += 4) {
          if (x > ig[k] && x < ig[k + 2] && y > ig[k + 1] && y < ig[k + 3]) { t.objWeight[b * n + i] = 0; break; }
        }
      }
    });
    return t;
  }

  /** SimOTA's targets for the next `loss` of these `targets`, made by `prepareLoss`. */
  private prepared?: { targets: Target[]; t: YoloxTargets };

  /**
   * On a backend that cannot read synchronously, assigns from a forward pass
   * of the same batch before the taped one: the same weights and batch
   * statistics give the same predictions the taped pass will (mmdetection
   * assigns from detached predictions too), read asynchronously. Running
   * statistics are left alone so they update once per step. On wasm, cpu and
   * tensorflow `loss` reads its own predictions instead (no second pass).
   */
  override async prepareLoss(images: tf.Tensor4D, targets: Target[]): Promise<void> {
    this.prepared = undefined;
    if (readsOnHost()) return;
    const out = withFrozenStatistics(() => this.forward(images));
    const K = this.numClasses;
    const points = this.priors(out).all;
    const flat = [this.flatten(out.cls, K), this.flatten(out.reg, 4), this.flatten(out.obj, 1)];
    tf.dispose(headTensors(out));
    const [cls, reg, obj] = await readAll(flat);
    tf.dispose(flat);
    this.prepared = { targets, t: this.buildTargets(points, cls, reg, obj, targets) };
  }

  loss(out: YoloxOutput, targets: Target[]): Record<string, tf.Scalar> {
    const pr = this.priors(out);
    const B = targets.length, n = pr.all.length / 4, K = this.numClasses;
    const lo = this.p.loss ?? {};
    // One tidy: intermediates the tape saved for backward must not be disposed by hand.
    return tf.tidy(() => {
      const cls = this.flatten(out.cls, K), reg = this.flatten(out.reg, 4), obj = this.flatten(out.obj, 1);
      const t = this.prepared?.targets === targets ? this.prepared.t : this.buildTargets(pr.all, cls.dataSync(), reg.dataSync(), obj.dataSync(), targets);
      this.prepared = undefined;
      const avg = Math.max(t.numPos, 1);
      const pos = tf.tensor2d(t.pos, [B, n]);
      const losses: Record<string, tf.Scalar> = {};
      losses.loss_cls = tf.mul(bceWithLogitsSum(cls, tf.tensor3d(t.cls, [B, n, K]), tf.expandDims(pos, -1)), (lo.clsWeight ?? 1) / avg);
      // Offsets of non-positive priors are replaced by 0 before exp(), so a huge one there cannot make 0·∞.
      const posMask = tf.cast(tf.expandDims(pos, -1), 'bool');
      const safeReg = tf.where(tf.tile(posMask, [1, 1, 4]), reg, tf.zerosLike(reg)) as tf.Tensor3D;
      const boxes = Yolox.decode(safeReg, tf.tensor3d(pr.all, [1, n, 4]));
      losses.loss_bbox = tf.mul(iouLossSum(boxes, tf.tensor3d(t.box, [B, n, 4]), pos, lo.iouMode ?? 'square'), (lo.bboxWeight ?? 5) / avg);
      losses.loss_obj = tf.mul(bceWithLogitsSum(tf.squeeze(obj, [2]), pos, tf.tensor2d(t.objWeight, [B, n])), (lo.objWeight ?? 1) / avg);
      if (this.trainFlags.l1) {
        const l1 = tf.sum(tf.mul(tf.abs(tf.sub(reg, tf.tensor3d(t.l1, [B, n, 4]))), tf.expandDims(pos, -1)));
        losses.loss_l1 = tf.mul(l1, (lo.l1Weight ?? 1) / avg);
      }
      return losses;
    });
  }

  /** Decode + NMS per image; boxes in original image pixels via `metas`. Reads the maps asynchronously; `out` stays the caller's. */
  async predict(out: YoloxOutput, metas: ImageMeta[]): Promise<Detection[][]> {
    const { scoreThr: thr, iouThr, maxPerImage: maxPer } = this.testOptions();
    const pr = this.priors(out);
    const n = pr.all.length / 4, K = this.numClasses;
    const flat = [this.flatten(out.cls, K), this.flatten(out.reg, 4), this.flatten(out.obj, 1)];
    const [cls, reg, obj] = await readAll(flat);
    tf.dispose(flat);
    return metas.map((meta, b) => {
      const boxes: number[] = [], scores: number[] = [], labels: number[] = [];
      const box = new Float32Array(4);
      for (let i = 0; i < n; i++) {
        const row = b * n + i;
        let best = 0, label = 0;
        for (let c = 0; c < K; c++) {
          const v = cls[row * K + c];
          if (c === 0 || v > best) { best = v; label = c; }
        }
        const score = sigmoid(best) * sigmoid(obj[row]);
        if (score < thr) continue;
        Yolox.decodeRow(reg, row * 4, pr.all, i, box, 0);
        boxes.push(box[0], box[1], box[2], box[3]);
        scores.push(score);
        labels.push(label);
      }
      return batchedNms(boxes, scores, labels, iouThr, maxPer).map((i) => ({
        box: boxToOriginal([boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]], meta),
        score: scores[i],
        label: labels[i],
      }));
    });
  }
}
