/**
 * The end of both post-processing graphs, as `ops/nms.ts` `batchedNms`
 * does it: class-aware NMS, then the best `maxPerImage` by score, in
 * mmdeploy's output convention.
 *
 * Each candidate has one label, so its score is put in its class's row of a
 * `[N, C, M]` score tensor (zeros elsewhere) and ONNX NonMaxSuppression runs
 * per class over that, exactly as boxes of different classes never suppress
 * each other in `batchedNms` (no coordinate-offset trick, whose large offsets
 * would round the IoUs). The kept candidates' scores are scattered back into
 * `[N, M]` and TopK picks the best, ties to the lower index as `batchedNms`
 * sorts them.
 */
import type { OnnxGraph } from './onnx_graph';

export interface Candidates {
  /** `[N, M, 4]` xyxy in input pixels. */
  boxes: string;
  /** `[N, M]` scores. */
  scores: string;
  /** `[N, M]` int64 class indices. */
  labels: string;
  /** M, fixed by the graph. */
  count: number;
}

export interface NmsOptions {
  numClasses: number;
  scoreThr: number;
  iouThr: number;
  maxPerImage: number;
}

/** `dets` `[N, T, 5]` (x1, y1, x2, y2, score) and `labels` `[N, T]`; rows past an image's detections are zeros with label −1. */
export function classAwareNms(g: OnnxGraph, c: Candidates, o: NmsOptions): { dets: string; labels: string; maxDets: number } {
  const perClass = g.op('Mul', [
    g.op('OneHot', [c.labels, g.int64s([o.numClasses]), g.floats([0, 1], [2])], { axis: { i: 1 } }, 'class_rows'),
    g.op('Unsqueeze', [c.scores, g.int64s([1])], {}, 'scores_row'),
  ], {}, 'class_scores');
  const selected = g.op('NonMaxSuppression', [c.boxes, perClass, g.int64s([o.maxPerImage]), g.floats([o.iouThr], [1]), g.floats([o.scoreThr], [1])], {}, 'selected');
  const batchBox = g.op('Gather', [selected, g.int64s([0, 2])], { axis: { i: 1 } }, 'selected_boxes');
  const keptScores = g.op('GatherND', [c.scores, batchBox], {}, 'kept_scores');
  const kept = g.op('ScatterND', [g.op('ConstantOfShape', [g.op('Shape', [c.scores])], {}, 'zeros'), batchBox, keptScores], {}, 'kept');
  const maxDets = Math.min(o.maxPerImage, c.count);
  const [scores, index] = g.node('TopK', [kept, g.int64s([maxDets])], { axis: { i: 1 }, largest: { i: 1 }, sorted: { i: 1 } }, 2, 'top');
  const at = g.op('Unsqueeze', [index, g.int64s([2])], {}, 'top_index');
  const boxes = g.op('GatherND', [c.boxes, at], { batch_dims: { i: 1 } }, 'top_boxes');
  const labels = g.op('GatherND', [c.labels, at], { batch_dims: { i: 1 } }, 'top_labels');
  const valid = g.op('Greater', [scores, g.scalar(0)], {}, 'valid');
  const dets = g.op('Concat', [boxes, g.op('Unsqueeze', [scores, g.int64s([2])])], { axis: { i: 2 } }, 'top_dets');
  return {
    dets: g.op('Where', [g.op('Unsqueeze', [valid, g.int64s([2])]), dets, g.scalar(0)], {}, 'dets_padded'),
    labels: g.op('Where', [valid, labels, g.int64s([-1], [])], {}, 'labels_padded'),
    maxDets,
  };
}
