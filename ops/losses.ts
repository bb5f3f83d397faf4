/**
 * Detection losses as tfjs functions (mmdetection semantics; all sums are
 * divided by the caller's `avgFactor`, the number of positive anchors ≥ 1).
 */
import { tf } from '../engine/tf';

/**
 * Sigmoid focal loss (Lin et al. 2017), as mmdetection `py_sigmoid_focal_loss`:
 * BCE-with-logits(x, t) · (α t + (1−α)(1−t)) · pt^γ with pt = (1−p) t + p (1−t).
 * @param logits `[..., K]`; @param targets one-hot `[..., K]` (all zero = background);
 * @param weight `[...]` 1 for anchors that count, 0 for ignored ones.
 */
export function sigmoidFocalLoss(logits: tf.Tensor, targets: tf.Tensor, weight: tf.Tensor, avgFactor: number, alpha = 0.25, gamma = 2): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.sigmoid(logits);
    const pt = tf.add(tf.mul(tf.sub(1, p), targets), tf.mul(p, tf.sub(1, targets)));
    const alphaT = tf.add(tf.mul(targets, alpha), tf.mul(tf.sub(1, targets), 1 - alpha));
    const focal = tf.mul(alphaT, gamma === 2 ? tf.square(pt) : tf.pow(pt, gamma));
    // Stable BCE with logits: max(x, 0) − x t + log(1 + e^(−|x|)).
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const w = tf.expandDims(weight, -1);
    return tf.div(tf.sum(tf.mul(tf.mul(bce, focal), w)), avgFactor) as tf.Scalar;
  });
}

/** L1 on box deltas: Σ |pred − target| · weight / avgFactor; weight `[...]` is 1 on positives. */
export function l1Loss(pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor, avgFactor: number): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(tf.abs(tf.sub(pred, target)), tf.expandDims(weight, -1))), avgFactor) as tf.Scalar);
}

/** Areas and intersection of aligned xyxy box pairs `[..., 4]` (as tensors `[...]`), plus the coordinates. */
function alignedOverlap(pred: tf.Tensor, target: tf.Tensor): { areaP: tf.Tensor; areaT: tf.Tensor; inter: tf.Tensor; p: tf.Tensor[]; t: tf.Tensor[] } {
  const p = tf.unstack(pred, -1), t = tf.unstack(target, -1);
  const areaP = tf.mul(tf.sub(p[2], p[0]), tf.sub(p[3], p[1])), areaT = tf.mul(tf.sub(t[2], t[0]), tf.sub(t[3], t[1]));
  const iw = tf.relu(tf.sub(tf.minimum(p[2], t[2]), tf.maximum(p[0], t[0])));
  const ih = tf.relu(tf.sub(tf.minimum(p[3], t[3]), tf.maximum(p[1], t[1])));
  return { areaP, areaT, inter: tf.mul(iw, ih), p, t };
}

/**
 * GIoU loss (Rezatofighi et al. 2019) on xyxy boxes: Σ (1 − GIoU) · weight / avgFactor.
 * @param pred, target `[..., 4]` xyxy.
 */
export function giouLoss(pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor, avgFactor: number, eps = 1e-6): tf.Scalar {
  return tf.tidy(() => {
    const { areaP, areaT, inter, p: [px1, py1, px2, py2], t: [tx1, ty1, tx2, ty2] } = alignedOverlap(pred, target);
    const union = tf.add(tf.sub(tf.add(areaP, areaT), inter), eps);
    const iou = tf.div(inter, union);
    const ew = tf.sub(tf.maximum(px2, tx2), tf.minimum(px1, tx1)), eh = tf.sub(tf.maximum(py2, ty2), tf.minimum(py1, ty1));
    const enclose = tf.add(tf.mul(ew, eh), eps);
    const giou = tf.sub(iou, tf.div(tf.sub(enclose, union), enclose));
    return tf.div(tf.sum(tf.mul(tf.sub(1, giou), weight)), avgFactor) as tf.Scalar;
  });
}

/** Σ BCE-with-logits(x, t) · weight (stable form); `weight` broadcasts against the logits. */
export function bceWithLogitsSum(logits: tf.Tensor, targets: tf.Tensor, weight: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.sum(tf.mul(bce, weight)) as tf.Scalar;
  });
}

/**
 * IoU loss as mmdetection's `IoULoss` on xyxy boxes: IoU of aligned pairs
 * (union clamped at 1e-6, IoU clamped at `eps`), loss 1 − IoU² for mode
 * `square` (YOLOX) or 1 − IoU for `linear`; Σ loss · weight.
 * @param pred, target `[..., 4]`; @param weight `[...]`.
 */
export function iouLossSum(pred: tf.Tensor, target: tf.Tensor, weight: tf.Tensor, mode: 'square' | 'linear' = 'square', eps = 1e-16): tf.Scalar {
  return tf.tidy(() => {
    const { areaP, areaT, inter } = alignedOverlap(pred, target);
    const union = tf.maximum(tf.sub(tf.add(areaP, areaT), inter), 1e-6);
    const iou = tf.maximum(tf.div(inter, union), eps);
    const loss = mode === 'square' ? tf.sub(1, tf.square(iou)) : tf.sub(1, iou);
    return tf.sum(tf.mul(loss, weight)) as tf.Scalar;
  });
}
